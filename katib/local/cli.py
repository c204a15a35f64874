"""``kwp katib run EXPERIMENT.yaml --local``: the command-line face of :func:`run_experiment`.

``main(argv)`` takes the arguments after ``kwp katib run`` (a leading ``run`` is accepted too, so
``python -m katib.local run X.yaml --local`` works) and returns the exit code: 0 when the experiment
succeeded, 1 when it failed, 2 for an Experiment that cannot run, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from katib.experiments import ExperimentError, load_experiment
from katib.local.runner import run_experiment


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kwp katib run", description="Run a Katib Experiment YAML locally.")
    parser.add_argument("experiment", help="path to the Experiment YAML (kubeflow.org/v1beta1)")
    parser.add_argument(
        "--local", action="store_true", help="run trials as local processes (the only mode here)"
    )
    parser.add_argument(
        "--out", default=None, help="results directory (default: .kwp/katib/<experiment name>)"
    )
    parser.add_argument("--max-parallel", type=int, default=None, help="cap on concurrent trials")
    parser.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="bind ${kwp.NAME} in the trial template, e.g. --data train=train.parquet",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="extra trial environment"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the search algorithm (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["run"]:
        args_list = args_list[1:]
    args = build_parser().parse_args(args_list)
    try:
        data = _pairs(args.data, "--data")
        env = _pairs(args.env, "--env")
        out = Path(args.out) if args.out else Path(".kwp") / "katib" / _name(args.experiment)
        result = run_experiment(
            args.experiment, out, max_parallel=args.max_parallel, env=env, data=data, seed=args.seed,
            overwrite=args.overwrite,
        )  # fmt: skip
    except KeyboardInterrupt:
        print("interrupted: running trials were stopped; partial results written", file=sys.stderr)
        return 130
    except (ExperimentError, FileExistsError) as err:
        print(f"kwp: error: {err}", file=sys.stderr)
        return 2
    for name, path in result.files.items():
        print(f"{name}: {path}")
    best = result.best
    if best is not None:
        print(f"best trial {best.name}: {result.objective_metric}={best.objective} {best.parameter_text()}")
    return 0 if result.succeeded else 1


def _pairs(items: Sequence[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ExperimentError(f"{flag} expects NAME=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _name(path: str) -> str:
    try:
        return str(load_experiment(path)["metadata"]["name"])
    except (ExperimentError, KeyError, TypeError):
        return Path(path).stem
