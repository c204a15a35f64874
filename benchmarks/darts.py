"""DARTS on scikit-learn's digits (8x8 images) on 2 CPU cores: search, then train the result from scratch.

1. The project's preprocessing standardises the 64 pixels in DuckDB and splits by key hash
   (train 70 %, validation 10 %, test 20 %).
2. ``python -m katib.darts`` runs as a Katib DARTS trial would (settings as Katib sends them, Katib's
   seven operations) on the training split, which it halves into weight and architecture data. We
   read ``Best-Genotype=...`` from its output with Katib's collector filter and time the search.
3. The derived genotype and 5 random genotypes from the same space are each trained from scratch by the
   training entry point (``components.train.api.train``, model ``darts``) with the same options and
   seed, and scored on the test split.

Prints ``darts_search_minutes``, ``darts_test_accuracy``, ``random_mean_test_accuracy`` and
``darts_vs_random_accuracy`` (targets: search <= 10 minutes, test accuracy >= 0.97).

    python benchmarks/darts.py                  # first order, 30 epochs (about 5 minutes), 6 trainings
    python benchmarks/darts.py --second-order   # unrolled gradients, 12 epochs in about the same time
    python benchmarks/darts.py --quick          # smoke run: tiny search and short trainings
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from components.preprocess.datasets import default_spec, seed
from components.preprocess.engines.duckdb import DuckDBEngine
from components.preprocess.run import run_preprocess
from components.preprocess.spec import SplitFractions
from components.train.api import train
from components.train.models import load_model
from components.train.options import TrainOptions
from katib.darts import (
    KATIB_OPERATIONS,
    DartsSearchSpace,
    DartsSettings,
    Genotype,
    parse_genotype,
    sample_genotype,
)

ROOT = Path(__file__).resolve().parents[1]
GENOTYPE_FILTER = re.compile(r"([\w-]+)=(Genotype.*)")

#: (search settings, search layers, final-training options) per size. Half of the 1246 training rows
#: makes 10 steps an epoch (CIFAR-10 makes 390), so the alphas learn 10x faster than Katib's default.
SIZES = {
    "full": (
        DartsSettings(
            num_epochs=30, batch_size=64, num_workers=0, init_channels=8, num_nodes=4,
            alpha_lr=3e-3, w_lr=0.05, print_step=1000, unrolled=False,
        ),
        3,
        {"init_channels": 16, "num_layers": 3, "epochs": 20},
    ),
    "quick": (
        DartsSettings(
            num_epochs=2, batch_size=64, num_workers=0, init_channels=4, num_nodes=2,
            alpha_lr=3e-3, w_lr=0.05, print_step=1000, unrolled=True,
        ),
        2,
        {"init_channels": 4, "num_layers": 2, "epochs": 2},
    ),
}  # fmt: skip


def preprocess(workdir: Path) -> Path:
    """train/validation/test Parquet and stats.json from the project's preprocessing on DuckDB."""
    spec = dataclasses.replace(default_spec("digits"), split=SplitFractions(0.7, 0.1, 0.2))
    with DuckDBEngine(str(workdir / "warehouse.duckdb")) as engine:
        seed(engine, "digits")
        run_preprocess(spec, engine, str(workdir / "data"))
    return workdir / "data"


def search(
    data: Path, settings: DartsSettings, layers: int, threads: int, out: Path
) -> tuple[Genotype, float, float]:
    """Run the trial command; the genotype Katib would collect, wall-clock and CPU seconds."""
    command = [
        sys.executable, "-m", "katib.darts",
        "--algorithm-settings", settings.to_katib(),
        "--search-space", DartsSearchSpace(KATIB_OPERATIONS).to_katib(),
        "--num-layers", str(layers),
        "--data", str(data / "train.parquet"), "--stats", str(data / "stats.json"),
        "--output-dir", str(out), "--device", "cpu", "--threads", str(threads),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    start, cpu_before = time.perf_counter(), _children_cpu()
    found, tail = [], collections.deque(maxlen=40)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:  # echo each epoch's validation accuracy as it comes
            line = line.rstrip("\n")
            tail.append(line)
            if line.startswith("validation-accuracy="):
                print(f"search {time.perf_counter() - start:7.1f}s {line}", flush=True)
            if match := GENOTYPE_FILTER.fullmatch(line):
                found.append(match.group(2))
    seconds = time.perf_counter() - start
    if process.returncode or not found:
        raise SystemExit("search failed:\n" + "\n".join(tail))
    return parse_genotype(found[-1]), seconds, _children_cpu() - cpu_before


def _children_cpu() -> float:
    """CPU seconds of finished child processes: on a shared machine, wall time overstates the cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train_and_test(genotype: Genotype, data: Path, final: dict, threads: int, workdir: Path) -> float:
    """Train ``genotype`` from scratch with the training entry point; accuracy on the test split."""
    options = TrainOptions(
        model="darts",
        model_options={"genotype": genotype.to_dict(), "init_channels": final["init_channels"],
                       "num_layers": final["num_layers"]},
        epochs=final["epochs"], batch_size=64, lr=0.05, optimizer="sgd", momentum=0.9,
        weight_decay=3e-4, scheduler="cosine", seed=0, tensorboard=False, num_threads=threads,
        device="cpu", stats=str(data / "stats.json"), overwrite=True,
    )  # fmt: skip
    model_dir = workdir / "model"
    train(options, str(data / "train.parquet"), str(data / "validation.parquet"), str(model_dir))
    model, config = load_model(model_dir)
    test = pq.read_table(data / "test.parquet")
    x = torch.from_numpy(np.stack([test.column(c).to_numpy() for c in config["feature_columns"]], 1)).float()
    labels = np.asarray([config["classes"].index(v) for v in test.column(config["label_column"]).to_pylist()])
    with torch.no_grad():
        predicted = model(x).argmax(1).numpy()
    return float((predicted == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for search and training")
    parser.add_argument("--random", type=int, default=5, help="random architectures to compare with")
    parser.add_argument(
        "--second-order",
        action="store_true",
        help="unrolled architecture gradients (about 3x the cost per epoch)",
    )
    args = parser.parse_args(argv)
    settings, layers, final = SIZES["quick" if args.quick else "full"]
    if args.second_order and not args.quick:
        settings = dataclasses.replace(settings, unrolled=True, num_epochs=12)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="kwp-darts-") as tmp:
        workdir = Path(tmp)
        data = preprocess(workdir)
        genotype, seconds, cpu_seconds = search(data, settings, layers, args.threads, workdir / "search")
        print(f"derived: {genotype}", flush=True)
        darts_accuracy = train_and_test(genotype, data, final, args.threads, workdir)
        print(f"derived genotype test accuracy {darts_accuracy:.4f}", flush=True)
        space = DartsSearchSpace(KATIB_OPERATIONS)
        random_accuracies = []
        for i in range(2 if args.quick else args.random):
            candidate = sample_genotype(space, settings.num_nodes, random.Random(i))
            random_accuracies.append(train_and_test(candidate, data, final, args.threads, workdir))
            print(f"random {i}: {candidate.compact()} test accuracy {random_accuracies[-1]:.4f}", flush=True)
        report = {
            "search": json.loads((workdir / "search" / "search_metrics.json").read_text())["settings"],
            "search_layers": layers,
            "final_training": final,
        }
    print(f"setup: {json.dumps(report)}")
    mean_random = statistics.mean(random_accuracies)
    print(f"darts_search_minutes={seconds / 60:.2f}")
    print(f"darts_search_cpu_minutes={cpu_seconds / 60:.2f}")
    print(f"darts_test_accuracy={darts_accuracy:.4f}")
    print(f"random_mean_test_accuracy={mean_random:.4f}")
    print(f"darts_vs_random_accuracy={darts_accuracy / mean_random:.4f}")
    print(f"darts_search_within_10_minutes={int(seconds <= 600)}")
    print(f"darts_accuracy_at_least_0_97={int(darts_accuracy >= 0.97)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
