from __future__ import annotations

import json

import pytest

from components.preprocess.spec import (
    ColumnSpec,
    PreprocessSpec,
    SpecError,
    SplitFractions,
    Transform,
)


def full_spec() -> PreprocessSpec:
    return PreprocessSpec(
        source_table="sales", key_column="id", label_column="y",
        columns=(
            ColumnSpec("a", (Transform("impute", strategy="median"), Transform("clip", low=0.0, high=9.5),
                             Transform("log1p"), Transform("standardize"))),
            ColumnSpec("b", (Transform("impute", strategy="constant", value=1.5), Transform("minmax"))),
            ColumnSpec("c", (Transform("impute", strategy="constant", value="none"),
                             Transform("one_hot", top_k=5))),
            ColumnSpec("d", (Transform("vocab_index", top_k=100),)),
        ),
        passthrough=("e",), split=SplitFractions(0.7, 0.2, 0.1), destination_prefix="out.sales", salt="s1",
    )


def test_round_trip_through_json():
    spec = full_spec()
    text = spec.to_json()
    assert PreprocessSpec.from_json(text) == spec
    assert PreprocessSpec.from_json(json.dumps(json.loads(text))).to_json() == text


def test_transform_shorthand_and_defaults():
    spec = PreprocessSpec.from_dict({"source_table": "t", "key_column": "k", "label_column": "y",
                                     "columns": [{"name": "x", "transforms": ["standardize"]}]})
    assert spec.columns[0].transforms == (Transform("standardize"),)
    assert spec.split == SplitFractions(0.8, 0.1, 0.1)
    assert spec.prefix == "t_kwp"
    assert [c.name for c in full_spec().feature_specs] == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(("transform", "message"), [
    ({"kind": "scale"}, "unknown transform kind 'scale'; valid kinds: impute, clip"),
    ({"kind": "impute", "strategy": "avg"}, "impute strategy 'avg' is not one of mean, median"),
    ({"kind": "impute", "strategy": "constant"}, "exactly when strategy is 'constant'"),
    ({"kind": "clip"}, "clip needs 'low', 'high' or both"),
    ({"kind": "clip", "low": 3, "high": 1}, "clip low 3 is greater than high 1"),
    ({"kind": "one_hot"}, "one_hot needs top_k, an integer >= 1; got None"),
    ({"kind": "one_hot", "top_k": 0}, "got 0"),
    ({"kind": "standardize", "top_k": 3}, "takes no option(s) ['top_k']"),
    ({"kind": "log1p", "bogus": 1}, "unknown transform option(s) ['bogus']"),
])
def test_bad_transforms_name_the_value(transform, message):
    with pytest.raises(SpecError, match=None) as err:
        Transform.from_dict(transform)
    assert message in str(err.value)


@pytest.mark.parametrize(("kinds", "message"), [
    (["standardize", "impute"], "order impute, clip, log1p, standardize|minmax; got standardize, impute"),
    (["standardize", "minmax"], "at most once each"),
    (["one_hot", "standardize"], "categorical column 'x' takes an optional impute then exactly one of"),
])
def test_bad_transform_order(kinds, message):
    options = {"one_hot": {"top_k": 3}, "impute": {"strategy": "mean"}}
    transforms = [{"kind": k, **options.get(k, {})} for k in kinds]
    with pytest.raises(SpecError) as err:
        PreprocessSpec.from_dict({"source_table": "t", "key_column": "k", "label_column": "y",
                                  "columns": [{"name": "x", "transforms": transforms}]})
    assert message in str(err.value)


def test_categorical_impute_strategy_checked():
    with pytest.raises(SpecError, match="can impute with most_frequent or constant, not 'mean'"):
        ColumnSpec("c", (Transform("impute", strategy="mean"), Transform("one_hot", top_k=2)))
    with pytest.raises(SpecError, match="numeric impute constant"):
        ColumnSpec("c", (Transform("impute", strategy="constant", value="x"), Transform("standardize")))


@pytest.mark.parametrize("fractions", [(0.5, 0.2, 0.2), (0.9, 0.1, 0.1), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1)])
def test_split_fractions_validated(fractions):
    with pytest.raises(SpecError) as err:
        SplitFractions(*fractions)
    assert "split fraction" in str(err.value)


def test_split_fractions_sum_message_lists_values():
    with pytest.raises(SpecError, match=r"sum to 1; got train=0.5, validation=0.2, test=0.2 \(sum 0.9\)"):
        SplitFractions(0.5, 0.2, 0.2)


@pytest.mark.parametrize(("changes", "message"), [
    ({"label_column": "id"}, "key_column and label_column are both 'id'"),
    ({"passthrough": ["a"]}, "listed more than once"),
    ({"passthrough": ["id"]}, "is the key or label column"),
    ({"passthrough": ["__kwp_split"]}, "reserved"),
    ({"columns": [], "passthrough": []}, "no feature columns"),
    ({"passthrough": ["A"]}, "output column 'A' would clash with 'a'"),
    ({"passthrough": ["c__3"]}, "output column 'c__3' would clash"),
    ({"source_table": ""}, "source_table must be a non-empty string; got ''"),
    ({"colour": 1}, "unknown spec field(s) ['colour']"),
])
def test_bad_specs(changes, message):
    data = full_spec().to_dict()
    data.update(changes)
    with pytest.raises(SpecError) as err:
        PreprocessSpec.from_dict(data)
    assert message in str(err.value)


def test_not_json():
    with pytest.raises(SpecError, match="not valid JSON"):
        PreprocessSpec.from_json("{source_table: 1")
    with pytest.raises(SpecError, match="missing required field"):
        PreprocessSpec.from_json("{}")


def test_spec_is_frozen():
    with pytest.raises(AttributeError):
        full_spec().salt = "x"  # type: ignore[misc]
