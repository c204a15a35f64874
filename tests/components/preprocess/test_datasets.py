from __future__ import annotations

import pytest

from components.preprocess import datasets


@pytest.mark.parametrize(("name", "rows", "features"), [("digits", 1797, 64), ("breast_cancer", 569, 30),
                                                         ("wine", 178, 13)])
def test_seed_and_default_spec(duck, name, rows, features):
    ref = datasets.seed(duck, name)
    types = duck.column_types(ref)
    names = list(types)
    assert (names[0], names[-1], len(names)) == ("id", "label", features + 2)
    assert duck.fetch_rows(f'SELECT count(*) AS n FROM "{name}"') == [{"n": rows}]
    spec = datasets.default_spec(name)
    assert [c.name for c in spec.columns] == names[1:-1]
    assert spec.key_column == "id" and spec.label_column == "label"


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'iris'; valid: digits, breast_cancer, wine"):
        datasets.sklearn_table("iris")


def test_synthetic_table_shape_nulls_and_determinism():
    table = datasets.synthetic_table(2000, seed=5, offset=10)
    assert table.column_names == ["id", *datasets.SYNTHETIC_NUMERIC, *datasets.SYNTHETIC_CATEGORICAL, "label"]
    assert table.column("id")[0].as_py() == 10
    assert 0 < table.column("x0").null_count < 200 and table.column("city").null_count > 0
    assert set(table.column("x9").drop_null().to_pylist()) == {7.0}
    assert table.equals(datasets.synthetic_table(2000, seed=5, offset=10))
    assert datasets.synthetic_spec().feature_specs[-1].encoding.top_k == 10
