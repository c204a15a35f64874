"""A DARTS search on an image table: what one Katib DARTS trial runs.

Each step first updates the alphas on a validation batch (:class:`Architect`), then the weights on a
training batch (:func:`weight_step`), the order of Liu et al. 2019, Algorithm 1. After every epoch the
search network is scored on the whole validation half and a genotype derived; the genotype of the best
epoch is the result, as in Katib's trial. Metrics go out as ``name=value`` lines for Katib's StdOut
collector, and the result last as ``Best-Genotype=<genotype without spaces>``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from katib.darts.architect import Architect, weight_step
from katib.darts.data import ImageTable, split_in_halves
from katib.darts.genotype import Genotype, save_genotype
from katib.darts.search import SearchNetwork
from katib.darts.search_space import DartsSearchSpace
from katib.darts.settings import DartsSettings

GENOTYPE_FILE = "genotype.json"
METRICS_FILE = "search_metrics.json"
BEST_GENOTYPE_METRIC = "Best-Genotype"
Log = Callable[[str], None]


@dataclass
class SearchResult:
    """The best epoch's genotype and everything measured on the way."""

    genotype: Genotype
    best_accuracy: float
    best_epoch: int
    final_genotype: Genotype
    history: list[dict[str, Any]] = field(default_factory=list)
    alphas: dict[str, list[list[float]]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "best_genotype": str(self.genotype),
            "best_validation_accuracy": self.best_accuracy,
            "best_epoch": self.best_epoch,
            "final_genotype": str(self.final_genotype),
            "search_seconds": self.seconds,
            "epochs": self.history,
            "alphas": self.alphas,
        }


def metric_line(name: str, value: float) -> str:
    """``name=value`` in the form Katib's default StdOut filter reads (no ``nan``/``inf`` spellings)."""
    return f"{name}={value:.6g}"


def run_search(
    table: ImageTable,
    space: DartsSearchSpace,
    settings: DartsSettings,
    num_layers: int,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
    log: Log = print,
) -> SearchResult:
    """Search an architecture on ``table`` (split 50/50 into weight-train and alpha-validation halves)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    train_idx, valid_idx = split_in_halves(len(table), seed)
    train_loader = _loader(table, train_idx, settings, seed, shuffle=True)
    valid_loader = _loader(table, valid_idx, settings, seed + 1, shuffle=True)
    model, w_optimizer, scheduler, architect = _make_search(table, space, settings, num_layers, device)
    log(f"search: {len(train_idx)} rows for the weights, {len(valid_idx)} for the architecture, on {device}")
    start = time.perf_counter()
    history: list[dict[str, Any]] = []
    best: tuple[float, int, Genotype] | None = None
    for epoch in range(1, settings.num_epochs + 1):
        lr = scheduler.get_last_lr()[0]
        train_loss, train_acc = _train_epoch(
            model, architect, w_optimizer, train_loader, valid_loader, lr, settings, log
        )
        scheduler.step()
        valid_loss, valid_acc = evaluate(model, valid_loader, device)
        genotype = model.genotype()
        row = {
            "epoch": epoch,
            "w-lr": lr,
            "train-loss": train_loss,
            "train-accuracy": train_acc,
            "validation-loss": valid_loss,
            "validation-accuracy": valid_acc,
        }
        for name, value in row.items():
            log(metric_line(name, value))
        log(f"genotype after epoch {epoch}: {genotype}")
        history.append({**row, "genotype": str(genotype), "seconds": time.perf_counter() - start})
        if best is None or valid_acc >= best[0]:  # a tie goes to the later epoch: longer-trained alphas
            best = (valid_acc, epoch, genotype)
    assert best is not None  # num_epochs >= 1 is validated by DartsSettings
    result = SearchResult(
        genotype=best[2],
        best_accuracy=best[0],
        best_epoch=best[1],
        final_genotype=model.genotype(),
        history=history,
        alphas=model.alpha_weights(),
        seconds=time.perf_counter() - start,
    )
    log(metric_line("best-validation-accuracy", result.best_accuracy))
    log(f"{BEST_GENOTYPE_METRIC}={result.genotype.compact()}")
    return result


def evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``loader`` in eval mode."""
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    return loss_sum / total, correct / total


def write_outputs(
    result: SearchResult, out_dir: str | Path, extra: dict[str, Any], *, overwrite: bool = False
) -> tuple[Path, Path]:
    """Save the genotype JSON and the metrics JSON; existing files are kept unless ``overwrite``."""
    genotype_path, metrics_path = check_outputs(out_dir, overwrite=overwrite)
    save_genotype(result.genotype, genotype_path, overwrite=True)
    metrics_path.write_text(json.dumps({**extra, **result.to_dict()}, indent=2) + "\n")
    return genotype_path, metrics_path


def check_outputs(out_dir: str | Path, *, overwrite: bool) -> tuple[Path, Path]:
    """The genotype and metrics paths in ``out_dir``; an error if either exists and not ``overwrite``."""
    paths = (Path(out_dir) / GENOTYPE_FILE, Path(out_dir) / METRICS_FILE)
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{existing} already exist; pass --overwrite to replace them")
    return paths


def _train_epoch(
    model: SearchNetwork,
    architect: Architect,
    w_optimizer: torch.optim.Optimizer,
    train_loader: DataLoader,
    valid_loader: DataLoader,
    lr: float,
    settings: DartsSettings,
    log: Log,
) -> tuple[float, float]:
    model.train()
    device = next(model.parameters()).device
    steps = min(len(train_loader), len(valid_loader))
    seen, loss_sum, correct = 0, 0.0, 0
    # The halves differ by at most one row, so the loaders by at most one batch: stop at the shorter.
    for step, ((tx, ty), (vx, vy)) in enumerate(zip(train_loader, valid_loader, strict=False)):
        train, valid = (tx.to(device), ty.to(device)), (vx.to(device), vy.to(device))
        arch_loss = architect.step(train, valid, lr=lr, w_optimizer=w_optimizer)
        loss, logits = weight_step(model, w_optimizer, *train, settings.w_grad_clip)
        seen += len(ty)
        loss_sum += loss * len(ty)
        correct += (logits.argmax(1) == train[1]).sum().item()
        if step % settings.print_step == 0 or step == steps - 1:
            log(
                f"step {step + 1}/{steps}: train loss {loss_sum / seen:.4f}, train accuracy "
                f"{correct / seen:.4f}, architecture validation loss {arch_loss:.4f}"
            )
    return loss_sum / seen, correct / seen


def _make_search(
    table: ImageTable, space: DartsSearchSpace, settings: DartsSettings, num_layers: int, device: torch.device
) -> tuple[SearchNetwork, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler, Architect]:
    """The search network with its two optimisers: SGD + cosine schedule for weights, Adam for alphas."""
    model = SearchNetwork(
        space,
        input_shape=table.input_shape,
        num_classes=table.num_classes,
        init_channels=settings.init_channels,
        num_layers=num_layers,
        num_nodes=settings.num_nodes,
        stem_multiplier=settings.stem_multiplier,
    ).to(device)
    if device.type == "cpu":
        # Depthwise convolutions on small images run about 25 % faster in channels-last layout on CPU.
        model = model.to(memory_format=torch.channels_last)
    w_optimizer = torch.optim.SGD(
        model.weight_parameters(),
        settings.w_lr,
        momentum=settings.w_momentum,
        weight_decay=settings.w_weight_decay,
    )
    alpha_optimizer = torch.optim.Adam(
        model.arch_parameters(),
        settings.alpha_lr,
        betas=(0.5, 0.999),
        weight_decay=settings.alpha_weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        w_optimizer, settings.num_epochs, eta_min=settings.w_lr_min
    )
    architect = Architect(
        model,
        alpha_optimizer,
        w_momentum=settings.w_momentum,
        w_weight_decay=settings.w_weight_decay,
        unrolled=settings.unrolled,
    )
    return model, w_optimizer, scheduler, architect


def _loader(table: ImageTable, rows: Any, settings: DartsSettings, seed: int, *, shuffle: bool) -> DataLoader:
    dataset = TensorDataset(torch.from_numpy(table.features[rows]), torch.from_numpy(table.labels[rows]))
    return DataLoader(
        dataset,
        batch_size=settings.batch_size or len(dataset),
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
        num_workers=settings.num_workers,
        persistent_workers=settings.num_workers > 0,
    )
