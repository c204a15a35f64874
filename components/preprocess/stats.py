"""Fitted statistics: a versioned JSON artifact and the pure-Python ``apply`` that serving and ONNX use.

Format (``"format": "kwp.preprocess.stats"``, ``"version": 1``)::

    {"format", "version", "key_column", "label_column",
     "feature_columns": [output names, in order, all float64],
     "columns": [{"name", "kind": "numeric"|"categorical"|"passthrough", "source_type",
                  "outputs": [output names of this column], "train_null_count", "steps": [...]}],
     "spec": {the spec JSON}, "row_counts": {"train", "validation", "test"}, "null_counts": {...}}

Per-feature semantics (the SQL in ``sql.feature_sql`` computes exactly these, in float64). A *missing*
input is ``None`` (SQL NULL); in Python a float NaN counts as missing too.

Numeric and passthrough columns, value ``x`` cast to float64, then each step present, in this order:

- ``{"op": "impute", "strategy", "value"}``: missing → ``value`` (fitted on train, or the constant).
- ``{"op": "clip", "low", "high"}``: ``x < low → low``, ``x > high → high`` (either bound may be null).
- ``{"op": "log1p"}``: signed log1p, ``ln(1 + x)`` for ``x >= 0`` and ``-ln(1 - x)`` for ``x < 0``.
- ``{"op": "standardize", "mean", "std"}``: ``(x - mean) / std``; ``std == 0`` → ``0``.
  ``std`` is the SAMPLE standard deviation (n - 1) of the training values after the earlier steps
  (imputed values included, as in a scikit-learn imputer → scaler pipeline); a spread within rounding
  noise of a constant column is stored as exactly 0.
- ``{"op": "minmax", "min", "max"}``: ``(x - min) / (max - min)``; ``max == min`` → ``0``.

A value still missing after the steps (no impute) stays missing. Passthrough columns have no steps.

Categorical columns, value text ``v`` (strings as they are, integers as plain decimal digits), then:

- ``{"op": "impute", "strategy", "value"}``: missing → ``value`` (a string).
- ``{"op": "one_hot", "vocabulary", "counts"}``: outputs ``<name>__<j>`` = 1.0 when
  ``v == vocabulary[j]`` else 0.0, and ``<name>__oov`` = 1.0 when ``v`` is missing or not in the
  vocabulary, else 0.0.
- ``{"op": "vocab_index", "vocabulary", "counts", "oov_index"}``: the position of ``v`` in the
  vocabulary, or ``oov_index`` (= the vocabulary's length) for missing or unseen values.

Vocabularies are the ``top_k`` most frequent training values, ranked by count descending then value
ascending (code-point order).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

from components.preprocess.errors import AllNullColumnError, EmptySplitError, NonFiniteError
from components.preprocess.spec import ColumnSpec, PreprocessSpec

FORMAT = "kwp.preprocess.stats"
VERSION = 1
#: A fitted standard deviation at or below this (relative to max(1, |mean|)) is stored as exactly 0.
ZERO_SPREAD = 10 * sys.float_info.epsilon


class StatsError(ValueError):
    """A stats artifact is invalid or of an unsupported version."""


# --- building from the statistics query ------------------------------------------------------------


def build_stats(spec: PreprocessSpec, fitted: Mapping[str, Any], source_types: Mapping[str, str],
                row_counts: Mapping[str, int], null_counts: Mapping[str, int]) -> dict[str, Any]:
    """The artifact from ``sql.parse_stats_rows`` output; refuses what cannot be fitted."""
    agg = fitted["aggregate"]
    if not agg or not agg.get("kwp_rows"):
        raise EmptySplitError(f"the training split of {spec.source_table!r} is empty: nothing to fit. "
                         f"Split fractions are {spec.to_dict()['split']}; check the key column "
                         f"{spec.key_column!r} and the salt {spec.salt!r}")
    columns = []
    for i, c in enumerate(spec.feature_specs):
        kind = "categorical" if c.is_categorical else "numeric" if c.transforms else "passthrough"
        nonnull = int(agg[f"kwp_c{i}_nonnull"])
        imputed_constant = c.impute is not None and c.impute.strategy == "constant"
        if nonnull == 0 and not imputed_constant:
            raise AllNullColumnError(f"column {c.name!r} has only NULL values in the training split: "
                                     "nothing to fit; drop it from the spec or impute it with a constant")
        steps = (_categorical_steps(c, fitted["vocab"].get(i, []), int(agg["kwp_rows"]) - nonnull)
                 if c.is_categorical else _numeric_steps(i, c, agg))
        columns.append({"name": c.name, "kind": kind, "source_type": source_types.get(c.name, ""),
                        "outputs": _outputs(c.name, steps),
                        "train_null_count": int(agg["kwp_rows"]) - nonnull, "steps": steps})
    return {
        "format": FORMAT,
        "version": VERSION,
        "key_column": spec.key_column,
        "label_column": spec.label_column,
        "feature_columns": [o for c in columns for o in c["outputs"]],
        "columns": columns,
        "spec": spec.to_dict(),
        "row_counts": dict(row_counts),
        "null_counts": dict(null_counts),
    }


def _finite(name: str, what: str, value: Any) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise NonFiniteError(f"column {name!r}: fitted {what} is {v!r}; the training values contain NaN or "
                         "infinity, which cannot be scaled")
    return v


def _numeric_steps(i: int, c: ColumnSpec, agg: Mapping[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    if c.impute is not None:
        raw = c.impute.value if c.impute.strategy == "constant" else agg[f"kwp_c{i}_impute"]
        steps.append({"op": "impute", "strategy": c.impute.strategy,
                      "value": _finite(c.name, "impute value", raw)})
    clip = c.get("clip")
    if clip is not None:
        low = None if clip.low is None else float(clip.low)
        high = None if clip.high is None else float(clip.high)
        steps.append({"op": "clip", "low": low, "high": high})
    if c.get("log1p") is not None:
        steps.append({"op": "log1p"})
    if c.get("standardize") is not None:
        mean = _finite(c.name, "mean", agg[f"kwp_c{i}_mean"])
        std = agg[f"kwp_c{i}_std"]  # NULL with a single training value: no spread, like zero
        std = 0.0 if std is None else _finite(c.name, "std", std)
        if std <= ZERO_SPREAD * max(1.0, abs(mean)):
            std = 0.0  # rounding noise of a constant column, not a real spread
        steps.append({"op": "standardize", "mean": mean, "std": std})
    if c.get("minmax") is not None:
        steps.append({"op": "minmax", "min": _finite(c.name, "min", agg[f"kwp_c{i}_min"]),
                      "max": _finite(c.name, "max", agg[f"kwp_c{i}_max"])})
    return steps


def _categorical_steps(c: ColumnSpec, vocab: list[tuple[str, int]], train_nulls: int) -> list[dict[str, Any]]:
    values = [v for v, _ in vocab]
    counts = [n for _, n in vocab]
    steps: list[dict[str, Any]] = []
    if c.impute is not None:
        if c.impute.strategy == "most_frequent":
            # The mode is the vocabulary's first entry; imputing adds the NULLs to its count.
            steps.append({"op": "impute", "strategy": "most_frequent", "value": values[0]})
            counts[0] += train_nulls
        else:
            steps.append({"op": "impute", "strategy": "constant", "value": c.impute.value})
    encoding = c.encoding.kind
    step: dict[str, Any] = {"op": encoding, "vocabulary": values, "counts": counts}
    if encoding == "vocab_index":
        step["oov_index"] = len(values)
    steps.append(step)
    return steps


def _outputs(name: str, steps: list[dict[str, Any]]) -> list[str]:
    last = steps[-1] if steps else {"op": None}
    if last["op"] == "one_hot":
        return [f"{name}__{j}" for j in range(len(last["vocabulary"]))] + [f"{name}__oov"]
    return [name]


# --- file round trip -----------------------------------------------------------------------------


def save_stats(stats: Mapping[str, Any], path: str) -> None:
    """Write the artifact (local path or ``gs://``/``s3://`` URI through pyarrow.fs)."""
    from components.preprocess.outputs import open_output

    with open_output(path) as f:
        f.write(json.dumps(stats, indent=2, allow_nan=False).encode("utf-8"))


def load_stats(path: str) -> dict[str, Any]:
    from components.preprocess.outputs import open_input

    with open_input(path) as f:
        return check_stats(json.loads(f.read().decode("utf-8")))


def check_stats(stats: Any) -> dict[str, Any]:
    """Refuse anything that is not a stats artifact of a version this code understands."""
    if not isinstance(stats, dict) or stats.get("format") != FORMAT:
        found = stats.get("format") if isinstance(stats, dict) else type(stats).__name__
        raise StatsError(f"not a {FORMAT} artifact (format: {found!r})")
    if stats.get("version") != VERSION:
        raise StatsError(f"stats version {stats.get('version')!r} is not supported; "
                         f"this code reads version {VERSION}")
    return stats


# --- pure-Python apply ---------------------------------------------------------------------------


def apply(stats: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> list[list[float | None]]:
    """Feature vectors (in ``feature_columns`` order) for raw rows; the same values as the SQL."""
    columns = check_stats(dict(stats))["columns"]
    return [[v for c in columns for v in apply_column(c, row.get(c["name"]))] for row in rows]


def apply_dicts(stats: Mapping[str, Any], rows: Iterable[Mapping[str, Any]]) -> list[dict[str, float | None]]:
    """Like :func:`apply`, keyed by output column name."""
    names = stats["feature_columns"]
    return [dict(zip(names, vector, strict=True)) for vector in apply(stats, rows)]


def apply_column(column: Mapping[str, Any], value: Any) -> list[float | None]:
    """The outputs of one column for one raw value."""
    if column["kind"] == "categorical":
        return _apply_categorical(column["steps"], _as_text(value))
    return [_apply_numeric(column["steps"], _as_float(value))]


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return None if math.isnan(v) else v


def _as_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Integral) or (isinstance(value, (Decimal, Real)) and float(value).is_integer()):
        return str(int(value))
    return str(value)


def _apply_numeric(steps: list[Mapping[str, Any]], x: float | None) -> float | None:
    for step in steps:
        op = step["op"]
        if op == "impute":
            x = float(step["value"]) if x is None else x
        elif x is None:
            continue
        elif op == "clip":
            if step["low"] is not None and x < step["low"]:
                x = float(step["low"])
            elif step["high"] is not None and x > step["high"]:
                x = float(step["high"])
        elif op == "log1p":
            x = -math.log(1.0 - x) if x < 0.0 else math.log(1.0 + x)
        elif op == "standardize":
            x = 0.0 if step["std"] == 0 else (x - step["mean"]) / step["std"]
        elif op == "minmax":
            span = step["max"] - step["min"]
            x = 0.0 if span == 0 else (x - step["min"]) / span
        else:
            raise StatsError(f"unknown numeric step {op!r}")
    return x


def _apply_categorical(steps: list[Mapping[str, Any]], v: str | None) -> list[float | None]:
    for step in steps:
        op = step["op"]
        if op == "impute":
            v = step["value"] if v is None else v
        elif op == "one_hot":
            vocab = step["vocabulary"]
            hot = [1.0 if v == t else 0.0 for t in vocab]
            return [*hot, 0.0 if v is not None and v in vocab else 1.0]
        elif op == "vocab_index":
            index = {t: j for j, t in enumerate(step["vocabulary"])}
            return [float(index.get(v, step["oov_index"])) if v is not None else float(step["oov_index"])]
        else:
            raise StatsError(f"unknown categorical step {op!r}")
    raise StatsError("a categorical column needs a one_hot or vocab_index step")
