"""``make demo``: the main job, end to end on this machine.

Seeds an embedded DuckDB warehouse with scikit-learn's digits, runs ``warehouse-train`` (2-process DDP
training, ONNX export with a parity check) and a small ``hyperband-tune`` through ``kfp.local``,
compiles every pipeline to ``dist/`` and prints what a user wants to see first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from pipelines.compile import compile_all
from pipelines.local import RunSummary, run_local

#: Demo-sized arguments: small enough for a 2-core laptop, real enough to mean something.
TRAIN_ARGS: dict[str, Any] = {
    "num_nodes": 1, "nproc_per_node": 2, "epochs": 12, "batch_size": 64, "lr": 0.003,
}  # fmt: skip
TUNE_ARGS: dict[str, Any] = {"max_epochs": 9, "eta": 3, "parallel_trials": 2}
QUICK_TRAIN_ARGS: dict[str, Any] = {**TRAIN_ARGS, "epochs": 3}
QUICK_TUNE_ARGS: dict[str, Any] = {"max_epochs": 3, "eta": 3, "parallel_trials": 2}


def run_demo(
    workdir: str | Path = ".kwp/demo",
    *,
    dist_dir: str | Path = "dist",
    quick: bool = False,
    out: TextIO | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run the demo and return the facts its closing summary prints (``verbose``: kfp.local's log too)."""
    out = out or sys.stdout
    workdir = Path(workdir)
    train_args, tune_args = (QUICK_TRAIN_ARGS, QUICK_TUNE_ARGS) if quick else (TRAIN_ARGS, TUNE_ARGS)
    trained = run_local("warehouse-train", train_args, workdir=workdir, out=out, verbose=verbose)
    tuned = run_local("hyperband-tune", tune_args, workdir=workdir, out=out, verbose=verbose)
    compiled = compile_all(dist_dir)
    facts = demo_facts(trained, tuned, compiled)
    print(format_facts(facts), file=out, flush=True)
    return facts


def demo_facts(trained: RunSummary, tuned: RunSummary, compiled: list[Path]) -> dict[str, Any]:
    prep = trained.task("preprocess").metrics.get("metrics", {})
    export = trained.task("export-onnx")
    train = trained.task("train")
    tune = tuned.task("tune")
    return {
        "split_rows": {k: v for k, v in prep.items() if k.startswith("rows")},
        "test_metrics": trained.task("evaluate").metrics.get("metrics", {}),
        "best_hyperparameters": tune.parameters.get("best_parameters")
        or tune.metrics.get("metrics", {}),
        "tuned_test_metrics": tuned.task("evaluate").metrics.get("metrics", {}),
        "onnx": export.metrics.get("metrics", {}),
        "onnx_file": _onnx_file(export.artifacts.get("onnx_model", "")),
        "tensorboard": train.artifacts.get("tensorboard", ""),
        "compiled": [str(p) for p in compiled],
        "seconds": trained.seconds + tuned.seconds,
    }


def _onnx_file(artifact: str) -> str:
    """The ``.onnx`` file inside the exported model artifact (a directory with its report)."""
    found = sorted(Path(artifact).glob("*.onnx")) if artifact and Path(artifact).is_dir() else []
    return str(found[0]) if found else artifact


def format_facts(facts: dict[str, Any]) -> str:
    lines = ["", "=" * 72, "kwp demo summary", "=" * 72]
    for key, value in facts.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k}={_short(v)}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            shown = ", ".join(value)
        else:
            shown = _short(value)
        lines.append(f"{key.replace('_', ' ')}: {shown}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
