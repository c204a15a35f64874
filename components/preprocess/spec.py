"""The declarative preprocessing spec: what to do, not how; round-trips through JSON.

A spec is a pipeline parameter, so it must survive ``to_json``/``from_json`` unchanged and must be
validated before any warehouse is touched. Every error names the bad value and the valid options.

Numeric columns apply their transforms in one fixed order, ``impute → clip → log1p → standardize |
minmax``, which the spec enforces (a spec that lists them otherwise is refused rather than silently
reordered). Categorical columns take an optional ``impute`` (``most_frequent`` or ``constant``) followed by
exactly one encoding, ``one_hot`` or ``vocab_index``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

NUMERIC_KINDS = ("impute", "clip", "log1p", "standardize", "minmax")
ENCODING_KINDS = ("one_hot", "vocab_index")
TRANSFORM_KINDS = NUMERIC_KINDS + ENCODING_KINDS
IMPUTE_STRATEGIES = ("mean", "median", "most_frequent", "constant")
CATEGORICAL_IMPUTE_STRATEGIES = ("most_frequent", "constant")
SPLITS = ("train", "validation", "test")
#: Columns the builder adds itself; a source column of that name would be ambiguous.
RESERVED_COLUMNS = ("__kwp_split",)
_NUMERIC_ORDER = {"impute": 0, "clip": 1, "log1p": 2, "standardize": 3, "minmax": 3}


class SpecError(ValueError):
    """The spec is invalid; the message names the bad value and what would be valid."""


@dataclass(frozen=True)
class Transform:
    """One step: ``kind`` plus the options that kind uses (the others stay at their defaults)."""

    kind: str
    strategy: str | None = None  # impute
    value: float | str | None = None  # impute constant
    low: float | None = None  # clip
    high: float | None = None  # clip
    top_k: int | None = None  # one_hot, vocab_index

    def __post_init__(self) -> None:
        if self.kind not in TRANSFORM_KINDS:
            raise SpecError(f"unknown transform kind {self.kind!r}; "
                            f"valid kinds: {', '.join(TRANSFORM_KINDS)}")
        _check_options(self)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for name in ("strategy", "value", "low", "high", "top_k"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Transform:
        if isinstance(data, str):
            data = {"kind": data}
        if not isinstance(data, dict) or "kind" not in data:
            raise SpecError(f"a transform must be an object with a 'kind' (or a kind name); got {data!r}")
        unknown = set(data) - {"kind", "strategy", "value", "low", "high", "top_k"}
        if unknown:
            raise SpecError(f"unknown transform option(s) {sorted(unknown)} in {data!r}")
        return cls(**data)


def _check_options(t: Transform) -> None:
    allowed = {
        "impute": {"strategy", "value"},
        "clip": {"low", "high"},
        "one_hot": {"top_k"},
        "vocab_index": {"top_k"},
    }.get(t.kind, set())
    given = {n for n in ("strategy", "value", "low", "high", "top_k") if getattr(t, n) is not None}
    if given - allowed:
        raise SpecError(f"transform {t.kind!r} takes no option(s) {sorted(given - allowed)}")
    if t.kind == "impute":
        if t.strategy not in IMPUTE_STRATEGIES:
            raise SpecError(f"impute strategy {t.strategy!r} is not one of {', '.join(IMPUTE_STRATEGIES)}")
        if (t.strategy == "constant") != (t.value is not None):
            raise SpecError("impute needs 'value' exactly when strategy is 'constant'")
        if isinstance(t.value, float) and not math.isfinite(t.value):
            raise SpecError(f"impute constant must be finite; got {t.value!r}")
    if t.kind == "clip":
        for bound in (t.low, t.high):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))
                                      or not math.isfinite(bound)):
                raise SpecError(f"clip bounds must be finite numbers; got {bound!r}")
        if t.low is None and t.high is None:
            raise SpecError("clip needs 'low', 'high' or both")
        if t.low is not None and t.high is not None and t.low > t.high:
            raise SpecError(f"clip low {t.low!r} is greater than high {t.high!r}")
    bad_k = isinstance(t.top_k, bool) or not isinstance(t.top_k, int) or t.top_k < 1
    if t.kind in ENCODING_KINDS and bad_k:
        raise SpecError(f"{t.kind} needs top_k, an integer >= 1; got {t.top_k!r}")


@dataclass(frozen=True)
class ColumnSpec:
    """A source column and the transforms applied to it (none: passed through as a DOUBLE feature)."""

    name: str
    transforms: tuple[Transform, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"column name must be a non-empty string; got {self.name!r}")
        object.__setattr__(self, "transforms", tuple(self.transforms))
        kinds = [t.kind for t in self.transforms]
        if self.is_categorical:
            _check_categorical(self.name, self.transforms)
        else:
            order = [_NUMERIC_ORDER[k] for k in kinds]
            if order != sorted(set(order)) or len(order) != len(kinds):
                raise SpecError(
                    f"transforms of column {self.name!r} must appear at most once each, in the order "
                    f"impute, clip, log1p, standardize|minmax; got {', '.join(kinds)}"
                )
            if self.impute is not None and not isinstance(self.impute.value, (int, float, type(None))):
                raise SpecError(f"numeric column {self.name!r} needs a numeric impute constant; "
                                f"got {self.impute.value!r}")

    @property
    def is_categorical(self) -> bool:
        return any(t.kind in ENCODING_KINDS for t in self.transforms)

    @property
    def encoding(self) -> Transform | None:
        return next((t for t in self.transforms if t.kind in ENCODING_KINDS), None)

    @property
    def impute(self) -> Transform | None:
        return next((t for t in self.transforms if t.kind == "impute"), None)

    def get(self, kind: str) -> Transform | None:
        return next((t for t in self.transforms if t.kind == kind), None)


def _check_categorical(name: str, transforms: tuple[Transform, ...]) -> None:
    kinds = [t.kind for t in transforms]
    if kinds not in (["one_hot"], ["vocab_index"], ["impute", "one_hot"], ["impute", "vocab_index"]):
        raise SpecError(
            f"categorical column {name!r} takes an optional impute then exactly one of one_hot, "
            f"vocab_index; got {', '.join(kinds)}"
        )
    imp = transforms[0] if kinds[0] == "impute" else None
    if imp is not None and imp.strategy not in CATEGORICAL_IMPUTE_STRATEGIES:
        raise SpecError(f"categorical column {name!r} can impute with "
                        f"{' or '.join(CATEGORICAL_IMPUTE_STRATEGIES)}, not {imp.strategy!r}")
    if imp is not None and imp.strategy == "constant" and not isinstance(imp.value, str):
        raise SpecError(f"categorical column {name!r} needs a string impute constant; got {imp.value!r}")


@dataclass(frozen=True)
class SplitFractions:
    train: float = 0.8
    validation: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        for name in SPLITS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise SpecError(f"split fraction {name}={v!r} must be a number between 0 and 1")
        if self.train <= 0:
            raise SpecError(f"split fraction train={self.train!r} must be > 0: statistics are fitted on it")
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise SpecError(f"split fractions must sum to 1; got train={self.train}, "
                            f"validation={self.validation}, test={self.test} (sum {total:g})")


@dataclass(frozen=True)
class PreprocessSpec:
    """Everything one preprocessing run needs, except where the warehouse and outputs are."""

    source_table: str
    key_column: str
    label_column: str
    columns: tuple[ColumnSpec, ...] = ()
    passthrough: tuple[str, ...] = ()
    split: SplitFractions = field(default_factory=SplitFractions)
    destination_prefix: str = ""
    salt: str = "kwp"

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "passthrough", tuple(self.passthrough))
        for label, value in (("source_table", self.source_table), ("key_column", self.key_column),
                             ("label_column", self.label_column), ("salt", self.salt)):
            if not isinstance(value, str) or (not value and label != "salt"):
                raise SpecError(f"{label} must be a non-empty string; got {value!r}")
        if not isinstance(self.destination_prefix, str):
            raise SpecError(f"destination_prefix must be a string; got {self.destination_prefix!r}")
        if self.key_column == self.label_column:
            raise SpecError(f"key_column and label_column are both {self.key_column!r}; they must differ")
        names = [c.name for c in self.columns] + list(self.passthrough)
        for n in names:
            if not isinstance(n, str) or not n:
                raise SpecError(f"passthrough column names must be non-empty strings; got {n!r}")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise SpecError(f"column(s) {dup} are listed more than once (columns and passthrough together)")
        for n in names:
            if n in (self.key_column, self.label_column):
                raise SpecError(f"column {n!r} is the key or label column and cannot also be a feature")
        for n in [*names, self.key_column, self.label_column]:
            if n in RESERVED_COLUMNS:
                raise SpecError(f"column name {n!r} is reserved; rename it in a view first")
        if not names:
            raise SpecError("the spec has no feature columns: add columns or passthrough")
        self._check_output_names()

    def _check_output_names(self) -> None:
        """Output columns must be distinct even where names are case-insensitive (DuckDB, BigQuery)."""
        seen: dict[str, str] = {}
        for n in [self.key_column, self.label_column, *self.possible_outputs()]:
            if n.casefold() in seen:
                raise SpecError(f"output column {n!r} would clash with {seen[n.casefold()]!r} "
                                "(names compare case-insensitively); rename one of the columns")
            seen[n.casefold()] = n

    def possible_outputs(self) -> list[str]:
        """Every output feature name the spec can produce (one-hot: up to top_k plus ``__oov``)."""
        names: list[str] = []
        for c in self.feature_specs:
            enc = c.encoding
            if enc is not None and enc.kind == "one_hot":
                names += [f"{c.name}__{j}" for j in range(enc.top_k)] + [f"{c.name}__oov"]
            else:
                names.append(c.name)
        return names

    @property
    def prefix(self) -> str:
        """Destination table prefix; defaults to ``<source_table>_kwp``."""
        return self.destination_prefix or f"{self.source_table}_kwp"

    @property
    def feature_specs(self) -> tuple[ColumnSpec, ...]:
        """Every feature column in output order: transformed columns, then pass-through ones."""
        return self.columns + tuple(ColumnSpec(name) for name in self.passthrough)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_table": self.source_table,
            "key_column": self.key_column,
            "label_column": self.label_column,
            "columns": [{"name": c.name, "transforms": [t.to_dict() for t in c.transforms]}
                        for c in self.columns],
            "passthrough": list(self.passthrough),
            "split": {name: getattr(self.split, name) for name in SPLITS},
            "destination_prefix": self.destination_prefix,
            "salt": self.salt,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any) -> PreprocessSpec:
        if not isinstance(data, dict):
            raise SpecError(f"a spec must be a JSON object; got {type(data).__name__}")
        known = {"source_table", "key_column", "label_column", "columns", "passthrough", "split",
                 "destination_prefix", "salt"}
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"unknown spec field(s) {sorted(unknown)}; valid fields: {sorted(known)}")
        missing = {"source_table", "key_column", "label_column"} - set(data)
        if missing:
            raise SpecError(f"spec is missing required field(s) {sorted(missing)}")
        kwargs = dict(data)
        kwargs["columns"] = tuple(_column_from_dict(c) for c in data.get("columns", ()))
        kwargs["passthrough"] = tuple(data.get("passthrough", ()))
        split = data.get("split", {})
        if not isinstance(split, dict) or set(split) - set(SPLITS):
            raise SpecError(f"split must be an object with keys {', '.join(SPLITS)}; got {split!r}")
        kwargs["split"] = SplitFractions(**split)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> PreprocessSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(f"spec is not valid JSON: {err}") from err
        return cls.from_dict(data)


def _column_from_dict(data: Any) -> ColumnSpec:
    if not isinstance(data, dict) or "name" not in data or set(data) - {"name", "transforms"}:
        raise SpecError(f"a column must be an object with 'name' and 'transforms'; got {data!r}")
    return ColumnSpec(data["name"], tuple(Transform.from_dict(t) for t in data.get("transforms", ())))
