"""Tiny generated Parquet splits shaped like the preprocessing output, and a torchrun runner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[3]
FEATURES = [f"f{i}" for i in range(8)]


def _write_split(path: Path, rows: int, *, seed: int, classes: int = 3, label_kind: str = "int") -> Path:
    """Gaussian blobs: ``key`` (string), ``label`` and float64 features f0..f7, one file."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(1234).normal(size=(classes, len(FEATURES))) * 2.5
    labels = rng.integers(0, classes, rows)
    features = centers[labels] + rng.normal(size=(rows, len(FEATURES)))
    columns: dict[str, object] = {"key": [f"row-{seed}-{i}" for i in range(rows)]}
    columns["label"] = [f"class-{v}" for v in labels] if label_kind == "str" else labels.astype("int64")
    for j, name in enumerate(FEATURES):
        columns[name] = features[:, j].astype("float64")
    pq.write_table(pa.table(columns), path)
    return path


@dataclass(frozen=True)
class Splits:
    train: Path
    validation: Path
    stats: Path


@pytest.fixture
def splits(tmp_path: Path) -> Splits:
    """240 training and 60 validation rows, 8 features, 3 classes, plus a statistics JSON."""
    torch.set_num_threads(1)
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"key_column": "key", "label_column": "label", "feature_columns": FEATURES}))
    return Splits(
        _write_split(tmp_path / "train.parquet", 240, seed=1),
        _write_split(tmp_path / "validation.parquet", 60, seed=2),
        stats,
    )


@pytest.fixture
def tiny_splits(tmp_path: Path) -> Splits:
    """32 training and 16 validation rows: for torchrun runs, where start-up is the whole cost."""
    stats = tmp_path / "tiny-stats.json"
    stats.write_text(json.dumps({"key_column": "key", "label_column": "label", "feature_columns": FEATURES}))
    return Splits(
        _write_split(tmp_path / "tiny-train.parquet", 32, seed=1),
        _write_split(tmp_path / "tiny-validation.parquet", 16, seed=2),
        stats,
    )


@pytest.fixture
def tiny_cli_args(tiny_splits: Splits):
    """``tiny_cli_args(model_dir, *extra)``: one short epoch on ``tiny_splits`` (2 steps per rank
    with 2 processes), no TensorBoard, a small MLP; ``extra`` may override any of it."""
    quick = ("--epochs=1", "--batch-size=8", "--hidden-sizes=8", "--no-tensorboard")
    return lambda model_dir, *extra: _cli_args(tiny_splits, model_dir, *quick, *extra)


@pytest.fixture
def write_split():
    """``write_split(path, rows, seed=..., classes=3, label_kind="int"|"str")`` writes one split."""
    return _write_split


@pytest.fixture
def feature_names() -> list[str]:
    return list(FEATURES)


@pytest.fixture
def cli_args(splits: Splits):
    """``cli_args(model_dir, *extra)``: the entry point's arguments for the ``splits`` data."""
    return lambda model_dir, *extra: _cli_args(splits, model_dir, *extra)


def _cli_args(splits: Splits, model_dir: Path, *extra: str) -> list[str]:
    return [
        "--train",
        str(splits.train),
        "--validation",
        str(splits.validation),
        "--model-dir",
        str(model_dir),
        "--stats",
        str(splits.stats),
        "--num-threads",
        "1",
        *extra,
    ]


def _start_torchrun(
    args: list[str],
    *,
    nproc: int | None = 2,
    env: dict[str, str] | None = None,
    launcher_args: tuple[str, ...] = (),
    standalone: bool = True,
) -> subprocess.Popen[str]:
    """``python -m torch.distributed.run [--standalone] [--nproc_per_node=N] ... -m components.train``;
    without ``standalone`` and ``nproc`` torchrun takes its topology from the PET_* variables."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        *(["--standalone"] if standalone else []),
        *([f"--nproc_per_node={nproc}"] if nproc else []),
        *launcher_args,
        "-m",
        "components.train",
        *args,
    ]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # one process group: a timed-out run is stopped with its workers
    )


def _finish(process: subprocess.Popen[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Wait for a started torchrun; on timeout stop its whole process group and fail the test.
    ``timeout`` 0 stops it at once (a peer already failed) and returns what it printed."""
    if not timeout:
        os.killpg(process.pid, signal.SIGKILL)
    try:
        stdout, stderr = process.communicate(timeout=timeout or None)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"torchrun did not finish within {timeout:.0f} s; stderr tail:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.fixture
def start_torchrun():
    """``start_torchrun(args, nproc=2, env=..., launcher_args=(...), standalone=True)`` starts the
    entry point under torchrun and returns the Popen; ``finish_torchrun(p, timeout)`` waits for it."""
    return _start_torchrun


@pytest.fixture
def finish_torchrun():
    return _finish


@pytest.fixture
def torchrun():
    """``torchrun(nproc, args, env=..., launcher_args=(...))`` runs the entry point to the end and
    returns the CompletedProcess."""

    def launch(
        nproc: int,
        args: list[str],
        *,
        env: dict[str, str] | None = None,
        launcher_args: tuple[str, ...] = (),
        timeout: float = 240,
    ) -> subprocess.CompletedProcess[str]:
        process = _start_torchrun(args, nproc=nproc, env=env, launcher_args=launcher_args)
        return _finish(process, timeout)

    return launch
