"""``python -m katib.darts``: the trial command of a Katib DARTS Experiment.

Katib's DARTS suggestion passes ``--algorithm-settings``, ``--search-space`` and ``--num-layers``; the
trial template adds the data (``--data``, Parquet with pixel columns and a label, optionally
``--stats``, the preprocessing statistics JSON). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from katib.darts.data import load_image_table
from katib.darts.errors import DartsError
from katib.darts.operations import KATIB_OPERATIONS
from katib.darts.search_space import DartsSearchSpace, unquote
from katib.darts.settings import DartsSettings
from katib.darts.trial import check_outputs, run_search, write_outputs


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m katib.darts", description="Run one DARTS architecture search (a Katib DARTS trial)."
    )
    parser.add_argument(
        "--algorithm-settings",
        default="",
        help="JSON object of DARTS settings, ' for \" allowed, as Katib sends it; missing settings take "
        f"Katib's defaults. Settings: {', '.join(DartsSettings.names())}",
    )
    parser.add_argument(
        "--search-space",
        default=json.dumps(list(KATIB_OPERATIONS)),
        help="JSON list of operation names (default: Katib's seven operations)",
    )
    parser.add_argument("--num-layers", required=True, help="number of cells of the search network")
    parser.add_argument("--data", required=True, help="Parquet file or directory: pixel columns and a label")
    parser.add_argument("--stats", help="statistics JSON naming key_column, label_column and feature_columns")
    parser.add_argument("--label-column", help="label column (default: from --stats, else 'label')")
    parser.add_argument("--key-column", help="key column, not a feature (default: from --stats, else 'key')")
    parser.add_argument("--input-shape", help="C,H,W of the features (default: a square image)")
    parser.add_argument("--output-dir", default="darts-output", help="where genotype.json and metrics go")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs already in --output-dir")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split, batches and init")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:N, ...")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except (DartsError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    settings = DartsSettings.from_katib(args.algorithm_settings)
    space = DartsSearchSpace.from_katib(args.search_space)
    num_layers = _int(args.num_layers, "--num-layers")
    shape = [_int(v, "--input-shape") for v in args.input_shape.split(",")] if args.input_shape else None
    table = load_image_table(
        args.data,
        stats_path=args.stats,
        label_column=args.label_column,
        key_column=args.key_column,
        input_shape=shape,
    )
    out_dir = Path(args.output_dir)
    check_outputs(out_dir, overwrite=args.overwrite)  # before the search, not after an hour of it
    device = _device(args.device)
    if args.threads is not None:
        torch.set_num_threads(_int(str(args.threads), "--threads"))
    print(f"settings: {json.dumps(settings.to_dict())}")
    print(f"search space: {list(space.primitives)}; layers: {num_layers}; input: {list(table.input_shape)}")
    result = run_search(table, space, settings, num_layers, seed=args.seed, device=device)
    options = {
        "genotype": result.genotype.to_dict(),
        "init_channels": settings.init_channels,
        "num_layers": num_layers,
        "stem_multiplier": settings.stem_multiplier,
        "input_shape": list(table.input_shape),
    }
    extra = {
        "settings": settings.to_dict(),
        "search_space": list(space.operations),
        "num_layers": num_layers,
        "seed": args.seed,
        "data": str(args.data),
        "classes": list(table.classes),
        "feature_columns": list(table.feature_columns),
        "model_options": options,
    }
    genotype_path, metrics_path = write_outputs(result, out_dir, extra, overwrite=args.overwrite)
    print(f"wrote {genotype_path} and {metrics_path}", file=sys.stderr)
    return 0


def _device(text: str) -> torch.device:
    """``auto`` picks CUDA when present; anything else must be a device torch knows."""
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(text)
    except RuntimeError:
        raise DartsError(f"--device {text!r} is not a torch device; use auto, cpu, cuda or cuda:N") from None


def _int(text: str, what: str) -> int:
    try:
        value = int(unquote(str(text)))
    except ValueError:
        raise DartsError(f"{what} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise DartsError(f"{what} must be a positive integer, got {text!r}")
    return value
