from __future__ import annotations

import pytest
import sqlglot

from components.preprocess import fit_sql, sql
from components.preprocess.engines.base import TableRef

SPLIT = TableRef("events_kwp_split", "analytics", "proj")


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_golden_stats(spec, dialect, golden):
    golden(f"sql/{dialect}/stats.sql", sql.render(fit_sql.stats_query(spec, SPLIT), dialect) + "\n")


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_one_statement_reading_only_the_training_split(spec, dialect):
    (statement,) = sqlglot.parse(sql.render(fit_sql.stats_query(spec, SPLIT), dialect), read=dialect)
    splits = {eq.expression.this for eq in statement.find_all(sqlglot.exp.EQ)
              if isinstance(eq.this, sqlglot.exp.Column) and eq.this.name == "__kwp_split"}
    assert splits == {"train"}


def test_parse_stats_rows_orders_vocab_by_rank_and_ignores_case(spec):
    rows = [{"KWP_KIND": "vocab", "KWP_COLUMN": 4, "KWP_VALUE": "b", "KWP_COUNT": 3, "KWP_RANK": 2},
            {"KWP_KIND": "aggregate", "KWP_COLUMN": None, "KWP_VALUE": None, "KWP_COUNT": None,
             "KWP_RANK": None, "KWP_ROWS": 9.0},
            {"KWP_KIND": "vocab", "KWP_COLUMN": 4, "KWP_VALUE": "a", "KWP_COUNT": 5, "KWP_RANK": 1}]
    assert fit_sql.parse_stats_rows(spec, rows) == {"aggregate": {"kwp_rows": 9.0},
                                                    "vocab": {4: [("a", 5), ("b", 3)]}}
