"""The training loop: data-parallel steps with gradient accumulation, mixed precision, checkpoints.

``fit`` works the same in one process and under torchrun: the process group (if any) is already set
up by the caller. Batches are index tensors into in-memory feature tensors, in the order of a
``DistributedSampler`` (seed + epoch), so a resumed run replays exactly the batches it had not
finished. Vocabulary: a *step* is one optimizer update (``grad_accum_steps`` micro-batches).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from components.train import distributed, parallel
from components.train.batching import LRSchedule, ShardedSampler
from components.train.checkpoint import Checkpointer, rng_state, set_rng_state
from components.train.data import TensorSplit
from components.train.errors import OptionError
from components.train.faults import fault_hook
from components.train.options import TrainOptions
from components.train.reporting import Reporter

EVAL_BATCH = 4096
#: Seeds per rank differ by this prime, so dropout masks differ between replicas.
RANK_SEED_STRIDE = 7919


@dataclass
class FitResult:
    """What a run produced: per-epoch history, the full final state dict (rank 0) and resume facts."""

    history: list[dict[str, Any]]
    state_dict: dict[str, torch.Tensor]
    steps: int
    resumed_from: dict[str, int] | None = None
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0  # CPU time of this process in the loop (all its threads)


class _EpochSums:
    """Running training loss and accuracy of the current epoch on this rank, kept as tensors so the
    loop never waits for the device just to count."""

    def __init__(self, device: torch.device, start: torch.Tensor | None = None) -> None:
        start = torch.zeros(3, dtype=torch.float64) if start is None else start
        self.loss = start[0].to(device, torch.float64).clone()
        self.correct = start[1].to(device, torch.float64).clone()
        self.count = int(start[2].item())

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Only detached values and argmax enter, so no autograd bookkeeping happens here."""
        n = labels.shape[0]
        self.loss.add_(loss.detach(), alpha=n)
        self.correct.add_((logits.detach().argmax(1) == labels).sum())
        self.count += n

    def global_totals(self) -> torch.Tensor:
        """[loss * n, correct, n] summed over all ranks (a collective)."""
        local = torch.stack(
            [self.loss, self.correct, torch.tensor(float(self.count), device=self.loss.device)]
        )
        return distributed.all_reduce_sum(local.double())


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _optimizer(model: nn.Module, options: TrainOptions) -> torch.optim.Optimizer:
    if options.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=options.lr, momentum=options.momentum, weight_decay=options.weight_decay
        )
    return torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)


def evaluate(
    model: nn.Module, split: TensorSplit, device: torch.device, precision: str
) -> tuple[float, float]:
    """Mean loss and accuracy over the whole split, sharded over ranks.

    Every rank runs the same number of forward passes (the shards are padded; padding rows carry
    weight 0), which FSDP's collective forward requires.
    """
    world, rank = distributed.world_size(), distributed.rank()
    n = len(split)
    per_rank = math.ceil(n / world)
    index = (torch.arange(per_rank * world) % n)[rank::world]
    weight = (torch.arange(per_rank * world) < n).double()[rank::world]
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    model.eval()
    with torch.no_grad():
        for start in range(0, per_rank, EVAL_BATCH):
            idx = index[start : start + EVAL_BATCH]
            w = weight[start : start + EVAL_BATCH].to(device)
            x, y = split.features[idx].to(device), split.labels[idx].to(device)
            with _autocast(precision, device):
                logits = model(x)
            losses = F.cross_entropy(logits.float(), y, reduction="none").double()
            sums[0] += (losses * w).sum()
            sums[1] += ((logits.argmax(1) == y).double() * w).sum()
            sums[2] += w.sum()
    model.train()
    sums = distributed.all_reduce_sum(sums)
    return (sums[0] / sums[2]).item(), (sums[1] / sums[2]).item()


class _Trainer:
    """State of one ``fit`` call; methods are the loop's phases."""

    def __init__(self, model, train, val, options, reporter, checkpointer, device) -> None:
        self.options, self.device = options, device
        self.train, self.val = train, val
        self.reporter, self.checkpointer = reporter, checkpointer
        self.rank, self.world = distributed.rank(), distributed.world_size()
        if options.precision == "fp16" and device.type != "cuda":
            raise OptionError("--precision fp16 needs a CUDA device (GradScaler); use bf16 on CPU")
        model.to(device)
        if options.activation_checkpointing:
            parallel.enable_activation_checkpointing(model)
        self.model = parallel.wrap(model, device, fsdp=options.fsdp)
        self.optimizer = _optimizer(self.model, options)
        self.sampler = ShardedSampler(train, num_replicas=self.world, rank=self.rank, seed=options.seed)
        self.batches_per_epoch = math.ceil(len(self.sampler) / options.batch_size)
        steps_per_epoch = math.ceil(self.batches_per_epoch / options.grad_accum_steps)
        # --max-steps only pauses a run, it does not shape the schedule: a paused run resumed later
        # follows exactly the learning rates of one that never paused.
        base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.schedule = LRSchedule(options.scheduler, base_lrs, options.epochs * steps_per_epoch)
        self.scaler = torch.amp.GradScaler("cuda") if options.precision == "fp16" else None
        self.after_step = fault_hook(self.rank)
        self.epoch = self.batch = self.step = 0  # epochs done, micro-batches done in epoch, steps done
        self.sums = _EpochSums(device)
        self.history: list[dict[str, Any]] = []
        self.resumed_from: dict[str, int] | None = None
        self.checkpoint_due = False

    # -- checkpoints -------------------------------------------------------------------------------
    def resume(self) -> None:
        state = self.checkpointer.load() if self.checkpointer else None
        if state is None:
            torch.manual_seed(self.options.seed + RANK_SEED_STRIDE * self.rank)
            return
        parallel.load_state(self.model, self.optimizer, state["model"], state["optimizer"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self.sums = _EpochSums(self.device, state["sums"] if self.rank == 0 else None)
        self.history = list(state["history"])
        rngs = state["rng"]
        if len(rngs) == self.world:
            set_rng_state(rngs[self.rank])
        else:  # the world changed size: reseed deterministically instead of sharing one stream
            torch.manual_seed(self.options.seed + RANK_SEED_STRIDE * self.rank + self.step)
        self.resumed_from = {"epoch": self.epoch, "batch": self.batch, "step": self.step}

    def save_checkpoint(self) -> None:
        """Collective: gathers full state and RNG states from every rank; rank 0 writes."""
        if self.checkpointer is None:
            return
        state = {
            "sums": self.sums.global_totals().cpu(),
            "model": parallel.model_state(self.model),
            "optimizer": parallel.optimizer_state(self.model, self.optimizer),
            "rng": _gather_objects(rng_state()),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "epoch": self.epoch,
            "batch": self.batch,
            "step": self.step,
            "history": self.history,
        }
        self.checkpointer.save(state)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> FitResult:
        self.resume()
        self.schedule.apply(self.optimizer, self.step)
        started, cpu_started = time.perf_counter(), time.process_time()
        partial = None
        while self.epoch < self.options.epochs and partial is None and not self._step_limit_reached():
            epoch_start = time.perf_counter()
            samples = self._train_epoch()
            partial = self._end_epoch(epoch_start, samples)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        _write_digest_if_asked(self.model)
        history = self.history + ([partial] if partial else [])
        state = parallel.model_state(self.model)
        return FitResult(history, state, self.step, self.resumed_from, seconds, cpu_seconds)

    def _step_limit_reached(self) -> bool:
        return self.options.max_steps is not None and self.step >= self.options.max_steps

    def _train_epoch(self) -> int:
        """Micro-batches from ``self.batch`` to the end of the epoch (or the step limit)."""
        options, device = self.options, self.device
        order = self.sampler.epoch_indices(self.epoch)
        features, labels = self.train.features, self.train.labels
        accum, batch_size, n_batches = options.grad_accum_steps, options.batch_size, self.batches_per_epoch
        first = self.batch
        on_cpu = device.type == "cpu"
        autocast = _autocast(options.precision, device)  # reusable: one object serves every step
        self.model.train()
        for b in range(first, n_batches):
            window_start = b - b % accum
            window = min(accum, n_batches - window_start)
            last = b == window_start + window - 1
            idx = order[b * batch_size : (b + 1) * batch_size]
            x, y = features[idx], labels[idx]
            if not on_cpu:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with parallel.gradient_sync(self.model, enabled=last), autocast:
                logits = self.model(x)
                loss = F.cross_entropy(logits.float(), y)
            scaled = loss / window if window > 1 else loss
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            self.sums.add(loss, logits, y)
            self.batch = b + 1
            if last:
                self._optimizer_step()
                if self._step_limit_reached():
                    break
        return min(self.batch * batch_size, len(order)) - min(first * batch_size, len(order))

    def _optimizer_step(self) -> None:
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.schedule.apply(self.optimizer, self.step)
        if self.after_step is not None:
            self.after_step(self.step)
        every = self.options.checkpoint_every_steps
        if every and self.step % every == 0:
            if self.batch < self.batches_per_epoch:
                self.save_checkpoint()
            else:  # the epoch's last step: save after its evaluation, with the epoch in the history
                self.checkpoint_due = True

    def _end_epoch(self, epoch_start: float, samples: int) -> dict[str, Any] | None:
        """Evaluate, report and checkpoint; returns the record of an epoch that --max-steps cut short.

        A cut-short epoch is reported (marked ``partial``) but not counted: its checkpoint points into
        the middle of the epoch, so a later run with a higher limit continues exactly there.
        """
        partial = self.batch < self.batches_per_epoch
        totals = self.sums.global_totals()
        val_loss, val_accuracy = evaluate(self.model, self.val, self.device, self.options.precision)
        seconds = time.perf_counter() - epoch_start
        record = {
            "epoch": self.epoch + 1,
            "step": self.step,
            "loss": (totals[0] / totals[2]).item(),
            "accuracy": (totals[1] / totals[2]).item(),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_second": samples * self.world / max(seconds, 1e-9),
        }
        if partial:
            record["partial"] = True
        else:
            self.history.append(record)
            self.epoch, self.batch, self.sums = self.epoch + 1, 0, _EpochSums(self.device)
        if self.rank == 0 and self.reporter is not None:
            self.reporter.on_epoch_end(record)
        every = self.options.checkpoint_every_epochs
        finished = partial or self.epoch >= self.options.epochs or self._step_limit_reached()
        if finished or self.checkpoint_due or (every and self.epoch % every == 0):
            self.save_checkpoint()
        self.checkpoint_due = False
        return record if partial else None


def _write_digest_if_asked(model: nn.Module) -> None:
    """Test hook: with KWP_PARAM_DIGEST_DIR set, each rank writes a digest of the parameters it holds,
    so a test can prove that all DDP replicas ended identical."""
    directory = os.environ.get("KWP_PARAM_DIGEST_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f"rank{distributed.rank()}.txt"), "w") as handle:
            handle.write(parallel.local_digest(model) + "\n")


def _gather_objects(obj: Any) -> list[Any]:
    world = distributed.world_size()
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    torch.distributed.all_gather_object(out, obj)
    return out


def fit(
    model: nn.Module,
    train: TensorSplit,
    val: TensorSplit,
    options: TrainOptions,
    reporter: Reporter | None = None,
    *,
    checkpointer: Checkpointer | None = None,
    device: torch.device | None = None,
) -> FitResult:
    """Train ``model`` in place on ``train``, evaluating on ``val`` after each epoch.

    Runs on every rank of an initialised process group (DDP or FSDP per ``options``) or in a single
    process. ``reporter`` receives one record per epoch on rank 0. With a ``checkpointer`` the run
    resumes from its latest checkpoint and saves new ones every ``checkpoint_every_epochs`` epochs and
    ``checkpoint_every_steps`` steps, and always at the end.
    """
    options.validate()
    if len(train) == 0 or len(val) == 0:
        raise OptionError(
            f"fit needs non-empty splits, got {len(train)} training and {len(val)} validation rows"
        )
    trainer = _Trainer(model, train, val, options, reporter, checkpointer, device or torch.device("cpu"))
    return trainer.run()
