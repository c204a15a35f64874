"""Compose the preprocessing graph in front of the exported network and prove the result.

The proof: on raw rows (seeded synthetic rows that hit every vocabulary entry, unseen values, NULLs,
clip bounds and negative values, plus any real rows given), the composed ONNX model must give the same
logits as PyTorch on ``components.preprocess.stats.apply`` of those rows, within the tolerance.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.compose
import torch

from components.export_onnx import exporter, measure
from components.export_onnx import preprocessing_graph as pg
from components.export_onnx.errors import ParityError, PreprocessingGraphError

SYNTHETIC_ROWS = 96
SEED = 20261122
UNSEEN_TEXT = "kwp-unseen-value"


@dataclass(frozen=True)
class Preprocessing:
    """The statistics and their graph, built before the (slower) network export so bad input fails fast."""

    stats: dict[str, Any]
    feature_columns: list[str]
    interface: pg.RawInterface
    model: onnx.ModelProto


@dataclass(frozen=True)
class Embedded:
    """What the composed model proved and how fast it ran."""

    max_abs_diff: float
    rows: int
    numeric_columns: list[str]
    categorical_columns: list[str]
    latency_ms: dict[str, float]


def resolve_stats(stats: Mapping[str, Any] | str | Path | None, config: Mapping[str, Any]) -> dict[str, Any]:
    """The statistics as a dict: given directly, as a JSON path, or from the model config's ``stats_uri``."""
    if stats is None:
        stats = config.get("stats_uri")
        if not stats:
            raise PreprocessingGraphError(
                "embed_preprocessing needs the fitted statistics: pass stats= (a dict or a JSON path) or "
                "train with --stats so the model config records stats_uri"
            )
    if isinstance(stats, Mapping):
        return dict(stats)
    stats = _json_in_directory(Path(stats)) if Path(stats).is_dir() else stats
    from components.preprocess.stats import StatsError, load_stats

    try:
        return load_stats(str(stats))
    except (OSError, StatsError, json.JSONDecodeError) as exc:
        raise PreprocessingGraphError(f"cannot read the statistics {str(stats)!r}: {exc}") from exc


def _json_in_directory(directory: Path) -> Path:
    """A statistics artifact stored as a directory: its ``stats.json``, or its only JSON file."""
    if (directory / "stats.json").is_file():
        return directory / "stats.json"
    found = sorted(directory.glob("*.json"))
    if len(found) != 1:
        raise PreprocessingGraphError(f"statistics directory {str(directory)!r} holds {len(found)} JSON "
                                      "files; expected stats.json or exactly one .json file")
    return found[0]


def compose(preprocessing: onnx.ModelProto, network: onnx.ModelProto) -> onnx.ModelProto:
    """One model: raw inputs -> preprocessing -> network -> logits."""
    feature_input = network.graph.input[0].name
    return onnx.compose.merge_models(preprocessing, network, io_map=[(pg.OUTPUT, feature_input)],
                                     doc_string="kwp: fitted preprocessing + trained network")


def prepare(
    stats: Mapping[str, Any] | str | Path | None, config: Mapping[str, Any], opset: int
) -> Preprocessing:
    """Read the statistics and build their graph for the model's feature columns."""
    stats = resolve_stats(stats, config)
    features = list(config["feature_columns"])
    model = pg.preprocessing_model(stats, features, opset=opset)
    return Preprocessing(stats, features, pg.raw_interface(stats, features), model)


def embed_and_verify(
    prepared: Preprocessing,
    network: onnx.ModelProto,
    module: torch.nn.Module,
    path: Path,
    *,
    raw_rows: Sequence[Mapping[str, Any]] | None,
    tolerance: float,
    threads: int,
    latency_repeats: int,
    external_data: bool,
) -> Embedded:
    """Write the composed model to ``path``, check it, and compare it with PyTorch on ``apply`` output."""
    from components.preprocess.stats import apply_dicts

    pre = onnx.ModelProto()
    pre.CopyFrom(prepared.model)
    pre.ir_version = network.ir_version  # merge_models needs equal IR versions
    exporter.save_model(compose(pre, network), path, external_data=external_data)
    exporter.check_model(path)

    stats, features, interface = prepared.stats, prepared.feature_columns, prepared.interface
    rows = [*synthetic_rows(stats, interface), *(raw_rows or [])]
    applied = apply_dicts(stats, rows)
    expected_features = np.array([[np.nan if d[f] is None else d[f] for f in features] for d in applied],
                                 dtype=np.float32)
    feeds = pg.raw_feeds(interface, rows)
    session = measure.ort_session(path, threads)
    with measure.torch_threads(threads):
        expected = measure.torch_predict(module, expected_features)
    diff = measure.max_abs_diff(expected, measure.ort_predict(session, feeds))
    if not diff <= tolerance:
        raise ParityError(f"the raw-input model differs from PyTorch on preprocessed rows by {diff:.3g} on "
                          f"{len(rows)} rows, above the tolerance {tolerance:g}; nothing was written")
    latency = measure.feeds_latency(session, feeds, repeats=latency_repeats)
    return Embedded(diff, len(rows), interface.numeric_columns, interface.categorical_columns, latency)


def synthetic_rows(stats: Mapping[str, Any], interface: pg.RawInterface,
                   count: int = SYNTHETIC_ROWS) -> list[dict[str, Any]]:
    """Seeded raw rows covering each column's interesting values.

    Numeric: values spread around every fitted number (means, bounds, impute values), negatives, and
    NULL where the column is imputed (elsewhere NULL would turn the whole row's logits into NaN).
    Categorical: every vocabulary entry, an unseen value and NULL, cycled with different phases.
    """
    rng = np.random.default_rng(SEED)
    columns = {c["name"]: c for c in stats["columns"]}
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for name in interface.numeric_columns:
        column = columns[name]
        anchors, spread = _anchors(column)
        values = rng.choice(anchors, size=count) + rng.normal(0.0, spread, size=count)
        exact = rng.random(count) < 0.2
        values[exact] = rng.choice(anchors, size=int(exact.sum()))  # the fitted values themselves
        imputed = any(s["op"] == "impute" for s in column["steps"])
        for i, row in enumerate(rows):
            row[name] = None if imputed and i % 5 == 2 else float(values[i])
        if not imputed:  # one row proves that NULL stays NULL (NaN logits on both sides)
            rows[count - 1 - interface.numeric_columns.index(name) % count][name] = None
    for k, name in enumerate(interface.categorical_columns):
        encoding = columns[name]["steps"][-1]
        choices = [*encoding["vocabulary"], UNSEEN_TEXT, None]
        for i, row in enumerate(rows):
            row[name] = choices[(i + 3 * k) % len(choices)]
    return rows


def _anchors(column: Mapping[str, Any]) -> tuple[np.ndarray, float]:
    numbers = [0.0, 1.0, -1.0]
    for step in column["steps"]:
        numbers += [float(v) for k, v in step.items() if k != "op" and isinstance(v, int | float)]
    anchors = np.array(numbers, dtype=np.float64)
    return anchors, max(float(np.std(anchors)), 1.0)
