"""Our trainer against a minimal hand-written PyTorch loop: same model, data, batch size and threads.

Data: synthetic Gaussian blobs (``--rows`` x ``--features`` float64 columns, ``--classes`` labels)
written to Parquet exactly as preprocessing leaves them. Both sides train the registry's MLP from the
same initial weights with AdamW and a per-epoch validation pass:

- ``ours``: ``components.train.api.train`` (reads the Parquet, DistributedSampler order, metrics,
  TensorBoard events, writes the model directory); its throughput counts the training loop only
  (``train_seconds`` in metrics.json), and the Parquet read and outputs are reported apart.
- ``hand``: tensors already in memory, ``randperm`` batches, forward/backward/step, an eval pass.

Rounds alternate the two, and the median of each is compared, so load on a shared machine hits both
alike. Prints ``name=value`` lines, e.g. ``train_throughput_ratio=0.97`` (ours / hand by wall time,
target >= 0.95), ``train_throughput_ratio_cpu_time`` (the same by the process's CPU time, which other
processes on a shared machine disturb less) and ``data_loading_share`` (time to gather batches from
the in-memory tensors as a share of our loop).

    python benchmarks/train.py                    # 200k rows, 3 epochs, 5 rounds, 1 thread
    python benchmarks/train.py --quick            # seconds: checks it runs end to end
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from components.train import models
from components.train.api import train
from components.train.data import load_splits
from components.train.options import TrainOptions


def write_split(path: Path, rows: int, features: int, classes: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(0).normal(size=(classes, features))
    labels = rng.integers(0, classes, rows)
    values = centers[labels] + rng.normal(scale=2.0, size=(rows, features))
    columns = {"key": pa.array(np.arange(rows).astype(str)), "label": pa.array(labels)}
    columns.update({f"x{j}": pa.array(values[:, j]) for j in range(features)})
    pq.write_table(pa.table(columns), path)


def hand_loop(config: dict, train_x, train_y, val_x, val_y, args) -> tuple[float, float]:
    """The loop a practitioner would write; returns (wall, CPU) seconds for all epochs."""
    torch.manual_seed(args.seed)
    model = models.build_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(args.seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        for start in range(0, len(order), args.batch_size):
            idx = order[start : start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[idx]), train_y[idx])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            logits = model(val_x)
            F.cross_entropy(logits, val_y).item(), (logits.argmax(1) == val_y).float().mean().item()
    return time.perf_counter() - started, time.process_time() - cpu_started


def ours(root: Path, round_no: int, args) -> tuple[float, float, float]:
    """Returns (training-loop wall seconds, training-loop CPU seconds, whole call wall seconds)."""
    options = TrainOptions(
        model="mlp",
        model_options={"hidden_sizes": args.hidden},
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        scheduler="none",
        num_threads=args.threads,
    )
    started = time.perf_counter()
    metrics = train(
        options, str(root / "train.parquet"), str(root / "val.parquet"), str(root / f"model{round_no}")
    )
    return metrics["train_seconds"], metrics["train_cpu_seconds"], time.perf_counter() - started


def gather_seconds(train_x, train_y, batch_size: int, epochs: int) -> float:
    """Time spent only indexing batches out of the in-memory tensors, for the same number of epochs."""
    started = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(train_y))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            train_x[idx], train_y[idx]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")], default=[256, 128])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20k rows, 2 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.rounds = 20_000, 2
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="kwp-bench-train-") as tmp:
        root = Path(tmp)
        write_split(root / "train.parquet", args.rows, args.features, args.classes, seed=1)
        write_split(root / "val.parquet", max(args.rows // 10, 100), args.features, args.classes, seed=2)
        read_started = time.perf_counter()
        train_split, val_split, columns, classes = load_splits(
            str(root / "train.parquet"), str(root / "val.parquet")
        )
        read_seconds = time.perf_counter() - read_started
        config = models.make_config(
            "mlp",
            {"hidden_sizes": args.hidden},
            classes=classes,
            feature_columns=columns.feature_columns,
            label_column=columns.label_column,
        )
        tensors = (train_split.features, train_split.labels, val_split.features, val_split.labels)
        warm_up = argparse.Namespace(**{**vars(args), "epochs": 1})
        hand_loop(config, *tensors, warm_up)
        ours(root, -1, warm_up)
        hand_runs, our_runs = [], []
        for round_no in range(args.rounds):
            hand_runs.append(hand_loop(config, *tensors, args))
            our_runs.append(ours(root, round_no, args))
        gather = gather_seconds(train_split.features, train_split.labels, args.batch_size, args.epochs)
        last = json.loads((root / f"model{args.rounds - 1}" / "metrics.json").read_text())
    samples = args.rows * args.epochs
    hand, hand_cpu = (statistics.median(run[i] for run in hand_runs) for i in (0, 1))
    ours_loop, ours_cpu, ours_call = (statistics.median(run[i] for run in our_runs) for i in (0, 1, 2))
    print(
        f"# {args.rows} rows x {args.features} features, MLP {args.hidden}, batch {args.batch_size}, "
        f"{args.epochs} epochs, {args.threads} thread(s), {args.rounds} rounds (medians)"
    )
    print(f"# final val-accuracy ours={last['final']['val_accuracy']:.4f}")
    print(f"hand_samples_per_second={samples / hand:.0f}")
    print(f"ours_samples_per_second={samples / ours_loop:.0f}")
    print(f"train_throughput_ratio={hand / ours_loop:.3f}")
    print(f"train_throughput_ratio_cpu_time={hand_cpu / ours_cpu:.3f}")
    print(f"data_loading_share={gather / ours_loop:.3f}")
    print(f"parquet_read_seconds={read_seconds:.3f}")
    print(f"setup_and_output_share={(ours_call - ours_loop) / ours_call:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
