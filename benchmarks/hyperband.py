"""Hyperband against random and grid search on scikit-learn's digits, at an equal budget of epochs.

An MLP is tuned over learning rate (log scale), width and dropout; the resource is epochs. Each
method runs as one sequential worker until it has spent the budget of one Hyperband iteration
(sum of its bracket tables). Every trial trains from scratch in this process through
``components.train.train`` (the same code path as a Katib trial) and reports its best epoch's
validation loss (Katib's default "min" metric strategy). Each method's best-so-far loss, in the
order its trials ran, is averaged over seeds; we print the epochs at which that mean curve first
reaches random search's final mean best, and the ratio to random search's own epochs as
``hyperband_epochs_vs_random=...`` ("inf" when not reached within the budget).

    python benchmarks/hyperband.py                 # 5 seeds, R=27 (a few minutes on 2 cores)
    python benchmarks/hyperband.py --seeds 1 --max-epochs 9   # quick check
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from components.train.api import train
from components.train.options import TrainOptions
from katib.hyperband import HyperbandSettings, TrialRecord, brackets, suggest
from katib.space import SearchSpace, double, integer

SPACE = SearchSpace.of(
    [
        double("lr", 1e-4, 1.0, log=True),
        integer("width", 16, 256, log=True),
        double("dropout", 0.0, 0.7),
        integer("epochs", 1, 243),
    ]
)
TUNED = ("lr", "width", "dropout")
METHODS = ("random", "hyperband", "asha", "grid")  # hyperband = Algorithm 1, asha = the async variant


@dataclass(frozen=True)
class Run:
    """One trial in execution order."""

    epochs: int
    val_loss: float


class Trainer:
    """Trains one configuration for a number of epochs and returns the final validation loss."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.train_path, self.val_path = _write_digits(workdir, seed)
        self.model_dir = workdir / "model"
        self.seed = seed
        self.seconds = 0.0
        self.batch_size = 64

    def __call__(self, parameters: dict[str, str]) -> Run:
        epochs = int(parameters["epochs"])
        options = TrainOptions(
            model="mlp",
            model_options={
                "hidden_sizes": [int(parameters["width"])],
                "dropout": float(parameters["dropout"]),
            },
            epochs=epochs,
            batch_size=self.batch_size,
            lr=float(parameters["lr"]),
            seed=self.seed,
            tensorboard=False,
            num_threads=1,
            device="cpu",
            overwrite=True,
        )
        start = time.perf_counter()
        metrics = train(options, str(self.train_path), str(self.val_path), str(self.model_dir))
        self.seconds += time.perf_counter() - start
        # Katib's default metric strategy for a minimized objective is the minimum over the reported
        # epochs, so a trial's objective is its best epoch's validation loss.
        loss = float(metrics["best"]["val_loss"])
        return Run(epochs, loss if np.isfinite(loss) else float("inf"))


def _write_digits(workdir: Path, seed: int) -> tuple[Path, Path]:
    digits = load_digits()
    x = digits.data / 16.0
    x_train, x_val, y_train, y_val = train_test_split(
        x, digits.target, test_size=0.3, random_state=seed, stratify=digits.target
    )
    paths = []
    for name, features, labels in (("train", x_train, y_train), ("val", x_val, y_val)):
        columns = {"key": np.arange(len(labels)), "label": labels.astype(np.int64)}
        columns.update({f"px{i}": features[:, i].astype(np.float64) for i in range(features.shape[1])})
        path = workdir / f"{name}.parquet"
        pq.write_table(pa.table(columns), path)
        paths.append(path)
    return paths[0], paths[1]


def hyperband_runs(trainer: Trainer, max_epochs: int, eta: int, seed: int, variant: str) -> list[Run]:
    settings = HyperbandSettings("epochs", max_epochs, eta, variant=variant, seed=seed)
    budget = _budget(max_epochs, eta)
    records: list[TrialRecord] = []
    runs: list[Run] = []
    while True:
        [assignment] = suggest(SPACE, settings, records, 1, minimize=True)
        if sum(r.epochs for r in runs) + int(assignment.parameters["epochs"]) > budget:
            break  # the next trial would overspend: stop at (or just under) the budget
        run = trainer(assignment.parameters)
        runs.append(run)
        status = "succeeded" if np.isfinite(run.val_loss) else "failed"
        objective = run.val_loss if status == "succeeded" else None
        records.append(
            TrialRecord(f"t{len(records):05d}", assignment.parameters, assignment.labels, status, objective)
        )
    return runs


def random_runs(trainer: Trainer, max_epochs: int, eta: int, seed: int) -> list[Run]:
    rng = random.Random(seed)
    runs: list[Run] = []
    while sum(r.epochs for r in runs) + max_epochs <= _budget(max_epochs, eta):
        values = {k: str(v) for k, v in SPACE.sample(rng, exclude=["epochs"]).items()}
        runs.append(trainer({**values, "epochs": str(max_epochs)}))
    return runs


def grid_runs(trainer: Trainer, max_epochs: int, eta: int) -> list[Run]:
    """The largest full grid that fits the budget at R epochs per point, in order."""
    count = _budget(max_epochs, eta) // max_epochs
    points = [1] * len(TUNED)
    while True:  # add a point to the coarsest axis (learning rate first) while the grid fits the budget
        axis = points.index(min(points))
        if math.prod(points) // points[axis] * (points[axis] + 1) > count:
            break
        points[axis] += 1
    axes = [SPACE[name].grid(n) for name, n in zip(TUNED, points, strict=True)]
    runs: list[Run] = []
    for values in itertools.product(*axes):
        runs.append(
            trainer({**{k: str(v) for k, v in zip(TUNED, values, strict=True)}, "epochs": str(max_epochs)})
        )
    return runs


def best_so_far(runs: list[Run]) -> list[tuple[int, float]]:
    """(epochs spent, best validation loss so far) after each trial."""
    curve, spent, best = [], 0, float("inf")
    for run in runs:
        spent += run.epochs
        best = min(best, run.val_loss)
        curve.append((spent, best))
    return curve


def mean_curve(curves: list[list[tuple[int, float]]], budget: int) -> list[tuple[int, float]]:
    """The best-so-far loss averaged over seeds, at every epoch count where some seed's curve changes."""
    points = sorted({epochs for curve in curves for epochs, _ in curve if epochs <= budget})
    mean = []
    for epochs in points:
        values = [min((loss for e, loss in curve if e <= epochs), default=float("inf")) for curve in curves]
        mean.append((epochs, statistics.mean(values)))
    return mean


def epochs_to_reach(curve: list[tuple[int, float]], target: float) -> float:
    """First epoch count at which the curve is <= target (inf when never within the budget)."""
    return next((epochs for epochs, loss in curve if loss <= target), float("inf"))


def _budget(max_epochs: int, eta: int) -> int:
    return int(sum(b.total_resource for b in brackets(max_epochs, eta)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=27, help="R, the most epochs one trial gets")
    parser.add_argument("--eta", type=int, default=3)
    parser.add_argument("--rank-correlation", type=int, default=0, metavar="N",
                        help="instead: train N random configurations at each rung's resource and print "
                        "how well each low-budget loss ranks them like the full-budget loss")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.rank_correlation:
        rank_correlation(args.rank_correlation, args.max_epochs, args.eta)
        return
    budget = _budget(args.max_epochs, args.eta)
    print(
        f"digits MLP, R={args.max_epochs} eta={args.eta}: "
        f"budget {budget} epochs per method"
    )
    curves: dict[str, list[list[tuple[int, float]]]] = {method: [] for method in METHODS}
    started = time.perf_counter()
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory(prefix="kwp-hb-bench-") as tmp:
            trainer = Trainer(Path(tmp), seed)
            results = {
                "random": random_runs(trainer, args.max_epochs, args.eta, seed),
                "hyperband": hyperband_runs(trainer, args.max_epochs, args.eta, seed, "sync"),
                "asha": hyperband_runs(trainer, args.max_epochs, args.eta, seed, "async"),
                "grid": grid_runs(trainer, args.max_epochs, args.eta),
            }
        for method, runs in results.items():
            curves[method].append(best_so_far(runs))
            print(
                f"seed={seed} method={method} trials={len(runs)} epochs={sum(r.epochs for r in runs)} "
                f"best_val_loss={min(r.val_loss for r in runs):.4f}",
                flush=True,
            )
    print(f"elapsed_seconds={time.perf_counter() - started:.0f}")
    report(curves, budget)


def rank_correlation(count: int, max_epochs: int, eta: int, seed: int = 0) -> None:
    """Spearman correlation, over ``count`` random configurations, of each rung's loss with R's."""
    from scipy.stats import spearmanr

    resources = sorted({int(rung.resource) for b in brackets(max_epochs, eta) for rung in b.rungs})
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kwp-hb-rank-") as tmp:
        trainer = Trainer(Path(tmp), seed)
        losses: dict[int, list[float]] = {r: [] for r in resources}
        for _ in range(count):
            values = {k: str(v) for k, v in SPACE.sample(rng, exclude=["epochs"]).items()}
            for r in resources:
                losses[r].append(trainer({**values, "epochs": str(r)}).val_loss)
    for r in resources[:-1]:
        rho = spearmanr(losses[r], losses[max_epochs]).statistic
        print(f"rank_correlation_{r}_vs_{max_epochs}_epochs={rho:.2f}")


def report(curves: dict[str, list[list[tuple[int, float]]]], budget: int) -> None:
    """Epochs for each method's seed-averaged best-so-far curve to reach random search's final mean best."""
    means = {method: mean_curve(c, budget) for method, c in curves.items()}
    target = means["random"][-1][1]
    random_epochs = epochs_to_reach(means["random"], target)
    for method in METHODS:
        print(f"{method}_final_mean_best_val_loss={means[method][-1][1]:.4f}")
        print(f"{method}_epochs_to_random_final_best={epochs_to_reach(means[method], target)}")
    for method in METHODS[1:]:
        print(f"{method}_epochs_vs_random={epochs_to_reach(means[method], target) / random_epochs:.2f}")
    per_seed_report(curves)


def per_seed_report(curves: dict[str, list[list[tuple[int, float]]]]) -> None:
    """The same ratio seed by seed (each seed's own random search as the target), and its median.

    Printed next to the seed-averaged figure because the mean of best-so-far curves is sensitive to
    one unlucky seed; neither is the headline on its own.
    """
    for method in METHODS[1:]:
        ratios = []
        for random_curve, curve in zip(curves["random"], curves[method], strict=True):
            target = random_curve[-1][1]
            ratios.append(epochs_to_reach(curve, target) / epochs_to_reach(random_curve, target))
        shown = ",".join(f"{r:.2f}" for r in ratios)
        print(f"{method}_per_seed_epochs_vs_random={shown}")
        print(f"{method}_median_seed_epochs_vs_random={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
