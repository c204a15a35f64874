"""The training loop: data-parallel steps with gradient accumulation, mixed precision, checkpoints.

``fit`` works the same in one process and under torchrun: the process group (if any) is already set
up by the caller. Batches are index tensors into in-memory feature tensors, drawn by a
``DistributedSampler`` (seed + epoch), so a resumed run replays exactly the batches it had not
finished. Vocabulary: a *step* is one optimizer update (``grad_accum_steps`` micro-batches).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler

from components.train import distributed, parallel
from components.train.checkpoint import Checkpointer, rng_state, set_rng_state
from components.train.data import TensorSplit
from components.train.errors import OptionError
from components.train.options import TrainOptions
from components.train.reporting import Reporter

#: Test-only fault injection: the process of rank KWP_FAULT_RANK (default 1) exits hard with status 17
#: after optimizer step KWP_FAULT_AT_STEP, once: it first creates the file KWP_FAULT_MARKER and never
#: fails while that file exists. Proves that a restarted job resumes from its checkpoint.
FAULT_ENV = ("KWP_FAULT_AT_STEP", "KWP_FAULT_RANK", "KWP_FAULT_MARKER")
EVAL_BATCH = 4096


@dataclass
class FitResult:
    """What a run produced: per-epoch history, the full final state dict (rank 0) and resume facts."""

    history: list[dict[str, Any]]
    state_dict: dict[str, torch.Tensor]
    steps: int
    resumed_from: dict[str, int] | None = None
    train_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Progress:
    epoch: int = 0  # epochs fully done
    batch: int = 0  # micro-batches done within the current epoch
    step: int = 0  # optimizer steps done in total
    sums: torch.Tensor | None = None  # [loss*n, correct, n] of the current epoch (summed over ranks on save)


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


def _schedule(options: TrainOptions, total_steps: int):
    """Cosine decay to 0 over ``total_steps`` in closed form: stateless, so a longer resumed run
    stretches it."""
    if options.scheduler == "none":
        return lambda step: 1.0
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))


def _maybe_inject_fault(step: int) -> None:
    at, rank, marker = (os.environ.get(name) for name in FAULT_ENV)
    if not at or not marker or step != int(at) or distributed.rank() != int(rank or 1):
        return
    if os.path.exists(marker):
        return
    with open(marker, "w") as handle:
        handle.write(f"rank {distributed.rank()} failed at step {step}\n")
    os._exit(17)


def _evaluate(
    model: nn.Module, split: TensorSplit, device: torch.device, precision: str
) -> tuple[float, float]:
    """Mean loss and accuracy over the whole split, sharded over ranks.

    Every rank runs the same number of forward passes (the shards are padded; padding rows carry
    weight 0), which FSDP's collective forward requires.
    """
    world, rank = distributed.world_size(), distributed.rank()
    n = len(split)
    per_rank = math.ceil(n / world)
    index = torch.arange(per_rank * world) % n
    weight = (torch.arange(per_rank * world) < n).float()
    index, weight = index[rank::world], weight[rank::world]
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    model.eval()
    with torch.no_grad():
        for start in range(0, per_rank, EVAL_BATCH):
            idx = index[start : start + EVAL_BATCH]
            w = weight[start : start + EVAL_BATCH].to(device)
            x, y = split.features[idx].to(device), split.labels[idx].to(device)
            with _autocast(precision, device):
                logits = model(x)
            losses = F.cross_entropy(logits.float(), y, reduction="none")
            sums += torch.stack(
                [(losses * w).sum(), ((logits.argmax(1) == y).float() * w).sum(), w.sum()]
            ).double()
    model.train()
    sums = distributed.all_reduce_sum(sums)
    return (sums[0] / sums[2]).item(), (sums[1] / sums[2]).item()


class _Trainer:
    """State of one ``fit`` call; methods are the loop's phases."""

    def __init__(self, model, train, val, options, reporter, checkpointer, device) -> None:
        self.options = options
        self.device = device
        self.train, self.val = train, val
        self.reporter = reporter
        self.checkpointer = checkpointer
        self.is_main = distributed.rank() == 0
        if options.precision == "fp16" and device.type != "cuda":
            raise OptionError("--precision fp16 needs a CUDA device (GradScaler); use bf16 on CPU")
        model.to(device)
        if options.activation_checkpointing:
            parallel.enable_activation_checkpointing(model)
        self.model = parallel.wrap(model, device, fsdp=options.fsdp)
        self.optimizer = _optimizer(self.model, options)
        self.sampler = DistributedSampler(
            train,
            num_replicas=distributed.world_size(),
            rank=distributed.rank(),
            shuffle=True,
            seed=options.seed,
        )
        self.batches_per_epoch = math.ceil(len(self.sampler) / options.batch_size)
        steps_per_epoch = math.ceil(self.batches_per_epoch / options.grad_accum_steps)
        self.total_steps = min(options.epochs * steps_per_epoch, options.max_steps or math.inf)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _schedule(options, self.total_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda") if options.precision == "fp16" else None
        self.progress = _Progress()
        self.history: list[dict[str, Any]] = []
        self.resumed_from: dict[str, int] | None = None
        self.checkpoint_due = False

    # -- checkpoints -------------------------------------------------------------------------------
    def resume(self) -> None:
        state = self.checkpointer.load() if self.checkpointer else None
        if state is None:
            torch.manual_seed(self.options.seed + 7919 * distributed.rank())  # distinct dropout per rank
            return
        parallel.load_state(self.model, self.optimizer, state["model"], state["optimizer"])
        self._set_schedule_step(state["step"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        sums = state["sums"] if self.is_main else torch.zeros(3, dtype=torch.float64)
        self.progress = _Progress(state["epoch"], state["batch"], state["step"], sums.to(self.device))
        self.history = list(state["history"])
        rngs = state["rng"]
        if len(rngs) == distributed.world_size():
            set_rng_state(rngs[distributed.rank()])
        else:  # the world changed size: reseed deterministically instead of sharing one stream
            torch.manual_seed(self.options.seed + 7919 * distributed.rank() + state["step"])
        self.resumed_from = {"epoch": state["epoch"], "batch": state["batch"], "step": state["step"]}

    def _set_schedule_step(self, step: int) -> None:
        """Put the (stateless) schedule at ``step`` of this run's total, which may differ from the
        total of the run that wrote the checkpoint."""
        self.scheduler.last_epoch = step
        groups = self.optimizer.param_groups
        for group, base, lr_lambda in zip(
            groups, self.scheduler.base_lrs, self.scheduler.lr_lambdas, strict=True
        ):
            group["lr"] = base * lr_lambda(step)
        self.scheduler._last_lr = [group["lr"] for group in groups]

    def save_checkpoint(self) -> None:
        """Collective: gathers full state and RNG states from every rank; rank 0 writes."""
        if self.checkpointer is None:
            return
        p = self.progress
        sums = torch.zeros(3, dtype=torch.float64, device=self.device) if p.sums is None else p.sums.clone()
        sums = distributed.all_reduce_sum(sums).cpu()
        model_sd = parallel.model_state(self.model)
        optim_sd = parallel.optimizer_state(self.model, self.optimizer)
        rngs = _gather_objects(rng_state())
        self.checkpointer.save(
            {
                "model": model_sd,
                "optimizer": optim_sd,
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "epoch": p.epoch,
                "batch": p.batch,
                "step": p.step,
                "sums": sums,
                "history": self.history,
                "rng": rngs,
            }
        )

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> FitResult:
        self.resume()
        started = time.perf_counter()
        options = self.options
        while self.progress.epoch < options.epochs and not self._step_limit_reached():
            epoch_start = time.perf_counter()
            samples = self._train_epoch()  # a --max-steps stop ends the epoch early
            self._end_epoch(epoch_start, samples)
        seconds = time.perf_counter() - started
        return FitResult(
            self.history, parallel.model_state(self.model), self.progress.step, self.resumed_from, seconds
        )

    def _step_limit_reached(self) -> bool:
        return self.options.max_steps is not None and self.progress.step >= self.options.max_steps

    def _train_epoch(self) -> int:
        options, device, p = self.options, self.device, self.progress
        self.sampler.set_epoch(p.epoch)
        order = torch.tensor(list(iter(self.sampler)), dtype=torch.long)
        if p.sums is None:
            p.sums = torch.zeros(3, dtype=torch.float64, device=device)
        accum = options.grad_accum_steps
        n_batches = self.batches_per_epoch
        samples = 0
        self.model.train()
        for b in range(p.batch, n_batches):
            window_start = b - b % accum
            window = min(accum, n_batches - window_start)
            last = b == window_start + window - 1
            idx = order[b * options.batch_size : (b + 1) * options.batch_size]
            x = self.train.features[idx].to(device, non_blocking=True)
            y = self.train.labels[idx].to(device, non_blocking=True)
            with parallel.gradient_sync(self.model, enabled=last), _autocast(options.precision, device):
                logits = self.model(x)
                loss = F.cross_entropy(logits.float(), y)
            scaled = loss / window
            (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            with torch.no_grad():
                p.sums[0] += loss.detach() * y.shape[0]
                p.sums[1] += (logits.argmax(1) == y).sum()
                p.sums[2] += y.shape[0]
            samples += int(idx.shape[0])
            p.batch = b + 1
            if last:
                self._optimizer_step()
                if self._step_limit_reached():
                    break
        return samples

    def _optimizer_step(self) -> None:
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.progress.step += 1
        _maybe_inject_fault(self.progress.step)
        every = self.options.checkpoint_every_steps
        if every and self.progress.step % every == 0:
            if self.progress.batch < self.batches_per_epoch:
                self.save_checkpoint()
            else:  # the epoch's last step: save after its evaluation, with the epoch in the history
                self.checkpoint_due = True

    def _end_epoch(self, epoch_start: float, samples: int) -> None:
        p = self.progress
        sums = distributed.all_reduce_sum(p.sums.clone())
        val_loss, val_accuracy = _evaluate(self.model, self.val, self.device, self.options.precision)
        seconds = time.perf_counter() - epoch_start
        record = {
            "epoch": p.epoch + 1,
            "step": p.step,
            "loss": (sums[0] / sums[2]).item(),
            "accuracy": (sums[1] / sums[2]).item(),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_second": samples * distributed.world_size() / max(seconds, 1e-9),
        }
        self.history.append(record)
        p.epoch, p.batch, p.sums = p.epoch + 1, 0, None
        if self.is_main and self.reporter is not None:
            self.reporter.on_epoch_end(record)
        every = self.options.checkpoint_every_epochs
        finished = p.epoch >= self.options.epochs or self._step_limit_reached()
        if finished or self.checkpoint_due or (every and p.epoch % every == 0):
            self.save_checkpoint()
        self.checkpoint_due = False


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
    ``checkpoint_every_steps`` steps.
    """
    options.validate()
    if len(train) == 0 or len(val) == 0:
        raise OptionError(
            f"fit needs non-empty splits, got {len(train)} training and {len(val)} validation rows"
        )
    trainer = _Trainer(model, train, val, options, reporter, checkpointer, device or torch.device("cpu"))
    return trainer.run()
