"""The fitted preprocessing statistics as an ONNX graph, so a served model takes raw feature values.

Inputs of the graph (either may be absent when the model uses no column of that kind):

- ``numeric``: float64 ``[batch, n]``, one column per numeric or pass-through source column; NaN is NULL.
- ``categorical``: string ``[batch, m]``, one column per categorical source column, holding the value's
  text (strings as they are, integers as plain decimal digits); the empty string is NULL.

Its one output is the model's feature matrix, in the model's ``feature_columns`` order. Every step
follows ``components.preprocess.stats`` (the semantics the warehouse SQL implements), in float64:
impute = ``Where(IsNaN)``, clip = ``Where(Less/Greater)`` (NaN stays NaN), signed log1p, standardize /
minmax with a zero spread giving 0 (NULL stays NULL); categorical values go through one ai.onnx.ml
``LabelEncoder`` (string -> vocabulary position, unseen -> OOV position, NULL -> the imputed value's
position), then ``Equal`` against the positions for one-hot, or a cast for vocabulary indices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from components.export_onnx.errors import PreprocessingGraphError

NUMERIC_INPUT = "numeric"
CATEGORICAL_INPUT = "categorical"
OUTPUT = "kwp_pre/features"
MISSING_TEXT = ""
ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3  # LabelEncoder-2 (string keys -> int64 values) is all we need; widely supported
_PREFIX = "kwp_pre/"


@dataclass(frozen=True)
class RawInterface:
    """Which raw source columns the graph reads, in input-column order."""

    numeric_columns: list[str]
    categorical_columns: list[str]


class _Graph:
    """Appends nodes and constants with unique, prefixed names (no clash with the model's names)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{_PREFIX}{hint}_{self._count}"

    def const(self, value: Any, dtype: type | np.dtype, hint: str = "c") -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], hint: str, domain: str = "", **attrs: Any) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, domain=domain, **attrs))
        return out


def raw_interface(stats: Mapping[str, Any], feature_columns: Sequence[str]) -> RawInterface:
    """The raw columns needed to compute ``feature_columns`` (stats' column order)."""
    numeric, categorical = [], []
    wanted = set(feature_columns)
    for column in _columns(stats):
        if wanted.intersection(column["outputs"]):
            (categorical if column["kind"] == "categorical" else numeric).append(column["name"])
    return RawInterface(numeric, categorical)


def preprocessing_model(
    stats: Mapping[str, Any],
    feature_columns: Sequence[str],
    *,
    opset: int,
    ir_version: int | None = None,
    output_dtype: type = np.float32,
) -> onnx.ModelProto:
    """A model from raw inputs to ``feature_columns`` (cast to ``output_dtype``; float64 keeps the
    statistics' exact arithmetic, float32 is what the trained network takes).

    ``ir_version`` defaults to the oldest that supports the opsets, which runtimes accept most widely;
    composing with a network needs the network's own IR version.
    """
    columns = {c["name"]: c for c in _columns(stats)}
    produced = {o: c["name"] for c in columns.values() for o in c["outputs"]}
    unknown = [f for f in feature_columns if f not in produced]
    if unknown:
        raise PreprocessingGraphError(
            f"the model's feature column(s) {unknown} are not produced by the statistics, which give "
            f"{sorted(produced)}; export with the statistics the model was trained on"
        )
    interface = raw_interface(stats, feature_columns)
    graph = _Graph()
    outputs: dict[str, str] = {}
    for j, name in enumerate(interface.numeric_columns):
        x = _column_slice(graph, NUMERIC_INPUT, j, name)
        outputs[columns[name]["outputs"][0]] = _numeric(graph, columns[name], x)
    for j, name in enumerate(interface.categorical_columns):
        text = _column_slice(graph, CATEGORICAL_INPUT, j, name, squeeze=True)
        outputs.update(_categorical(graph, columns[name], text))
    features = graph.op("Concat", [outputs[f] for f in feature_columns], "concat", axis=1)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(output_dtype))
    graph.nodes.append(helper.make_node("Cast", [features], [OUTPUT], name=f"{_PREFIX}cast", to=elem))
    inputs = []
    if interface.numeric_columns:
        inputs.append(helper.make_tensor_value_info(
            NUMERIC_INPUT, TensorProto.DOUBLE, ["batch", len(interface.numeric_columns)]))
    if interface.categorical_columns:
        inputs.append(helper.make_tensor_value_info(
            CATEGORICAL_INPUT, TensorProto.STRING, ["batch", len(interface.categorical_columns)]))
    output = helper.make_tensor_value_info(OUTPUT, elem, ["batch", len(feature_columns)])
    body = helper.make_graph(graph.nodes, "kwp_preprocessing", inputs, [output], graph.initializers)
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(ML_DOMAIN, ML_OPSET)]
    model = helper.make_model(body, opset_imports=opsets)
    model.ir_version = ir_version or helper.find_min_ir_version_for(opsets)
    return model


def _columns(stats: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if not isinstance(stats, Mapping) or stats.get("format") != "kwp.preprocess.stats":
        raise PreprocessingGraphError("statistics must be a kwp.preprocess.stats artifact (a dict with "
                                      f"format 'kwp.preprocess.stats'); got format {_format_of(stats)!r}")
    if stats.get("version") != 1:
        raise PreprocessingGraphError(f"statistics version {stats.get('version')!r} is not supported; "
                                      "this exporter reads version 1")
    return list(stats["columns"])


def _format_of(stats: Any) -> Any:
    return stats.get("format") if isinstance(stats, Mapping) else type(stats).__name__


def _column_slice(graph: _Graph, source: str, j: int, name: str, squeeze: bool = False) -> str:
    """Column ``j`` of an input: ``[batch, 1]`` (or ``[batch]`` with ``squeeze``)."""
    index = graph.const(j if squeeze else [j], np.int64, f"{name}_index")
    return graph.op("Gather", [source, index], f"{name}_raw", axis=1)


def _numeric(graph: _Graph, column: Mapping[str, Any], x: str) -> str:
    name = column["name"]
    for step in column["steps"]:
        op = step["op"]
        if op == "impute":
            fill = graph.const(float(step["value"]), np.float64, f"{name}_impute")
            x = graph.op("Where", [graph.op("IsNaN", [x], f"{name}_isnan"), fill, x], f"{name}_imputed")
        elif op == "clip":
            x = _clip(graph, name, x, step["low"], step["high"])
        elif op == "log1p":
            x = _signed_log1p(graph, name, x)
        elif op == "standardize":
            x = _scale(graph, name, x, float(step["mean"]), float(step["std"]))
        elif op == "minmax":
            x = _scale(graph, name, x, float(step["min"]), float(step["max"]) - float(step["min"]))
        else:
            raise PreprocessingGraphError(f"column {name!r}: unknown numeric step {op!r}; known: impute, "
                                          "clip, log1p, standardize, minmax")
    return x


def _clip(graph: _Graph, name: str, x: str, low: float | None, high: float | None) -> str:
    # Where/Less rather than Clip: comparisons with NaN are false, so a NULL stays NULL as in SQL.
    for bound, compare in ((low, "Less"), (high, "Greater")):
        if bound is not None:
            b = graph.const(float(bound), np.float64, f"{name}_bound")
            x = graph.op("Where", [graph.op(compare, [x, b], f"{name}_out"), b, x], f"{name}_clipped")
    return x


def _signed_log1p(graph: _Graph, name: str, x: str) -> str:
    """``ln(1 + x)`` for x >= 0, ``-ln(1 - x)`` below 0: both branches computed, Where picks one."""
    one = graph.const(1.0, np.float64, "one")
    zero = graph.const(0.0, np.float64, "zero")
    pos = graph.op("Log", [graph.op("Add", [one, x], f"{name}_1px")], f"{name}_logpos")
    neg = graph.op("Neg", [graph.op("Log", [graph.op("Sub", [one, x], f"{name}_1mx")], f"{name}_lg")],
                   f"{name}_logneg")
    return graph.op("Where", [graph.op("Less", [x, zero], f"{name}_isneg"), neg, pos], f"{name}_log1p")


def _scale(graph: _Graph, name: str, x: str, offset: float, spread: float) -> str:
    """``(x - offset) / spread``; a zero spread gives 0, and NaN (NULL) stays NaN."""
    if spread == 0:
        zero = graph.const(0.0, np.float64, "zero")
        return graph.op("Where", [graph.op("IsNaN", [x], f"{name}_isnan"), x, zero], f"{name}_flat")
    shifted = graph.op("Sub", [x, graph.const(offset, np.float64, f"{name}_offset")], f"{name}_shift")
    return graph.op("Div", [shifted, graph.const(spread, np.float64, f"{name}_spread")], f"{name}_scaled")


def _categorical(graph: _Graph, column: Mapping[str, Any], text: str) -> dict[str, str]:
    """Output name -> ``[batch, 1]`` float64 tensor for a one-hot or vocabulary-index column."""
    name = column["name"]
    steps = {s["op"]: s for s in column["steps"]}
    encoding = steps.get("one_hot") or steps.get("vocab_index")
    if encoding is None or set(steps) - {"impute", "one_hot", "vocab_index"}:
        raise PreprocessingGraphError(f"column {name!r}: categorical steps {sorted(steps)} are not "
                                      "supported; expected an optional impute then one_hot or vocab_index")
    vocabulary = [str(v) for v in encoding["vocabulary"]]
    if MISSING_TEXT in vocabulary:
        raise PreprocessingGraphError(
            f"column {name!r}: the vocabulary contains the empty string, which the raw-input graph reserves "
            "for NULL; map empty strings to another value in the warehouse before fitting"
        )
    oov = len(vocabulary)
    position = {v: j for j, v in enumerate(vocabulary)}
    imputed = steps.get("impute", {}).get("value")
    missing_position = position.get(str(imputed), oov) if imputed is not None else oov
    index = graph.op(
        "LabelEncoder", [text], f"{name}_position", domain=ML_DOMAIN,
        keys_strings=[*vocabulary, MISSING_TEXT], values_int64s=[*range(oov), missing_position],
        default_int64=oov,
    )
    index = graph.op("Unsqueeze", [index, graph.const([1], np.int64, "axis1")], f"{name}_column")
    if "vocab_index" in steps:
        return {column["outputs"][0]: graph.op("Cast", [index], f"{name}_index", to=TensorProto.DOUBLE)}
    hot = graph.op("Equal", [index, graph.const([list(range(oov + 1))], np.int64, f"{name}_positions")],
                   f"{name}_hot")
    hot = graph.op("Cast", [hot], f"{name}_onehot", to=TensorProto.DOUBLE)
    outputs = {}
    for j, output in enumerate(column["outputs"]):
        outputs[output] = graph.op("Slice", [hot, graph.const([j], np.int64, "start"),
                                             graph.const([j + 1], np.int64, "end"),
                                             graph.const([1], np.int64, "axis1")], f"{name}_{j}")
    return outputs


# --- raw rows -> graph inputs ----------------------------------------------------------------------


def raw_text(value: Any) -> str:
    """A categorical value as the graph expects it (the text the warehouse SQL compares); NULL -> ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_TEXT
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, Integral) or (isinstance(value, Decimal | Real) and float(value).is_integer()):
        return str(int(value))
    return str(value)


def raw_feeds(interface: RawInterface, rows: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Graph inputs for raw rows (dicts keyed by source column; None or NaN is NULL)."""
    feeds = {}
    if interface.numeric_columns:
        names = interface.numeric_columns
        values = [[np.nan if row.get(c) is None else float(row[c]) for c in names] for row in rows]
        feeds[NUMERIC_INPUT] = np.array(values, dtype=np.float64).reshape(len(rows), len(names))
    if interface.categorical_columns:
        feeds[CATEGORICAL_INPUT] = np.array(
            [[raw_text(row.get(c)) for c in interface.categorical_columns] for row in rows], dtype=object
        ).reshape(len(rows), len(interface.categorical_columns))
    return feeds
