"""What a run tells the KFP UI: artifact metadata, metrics and a Markdown summary table."""

from __future__ import annotations

from typing import Any

from components.preprocess.run import PreprocessResult
from components.preprocess.spec import SPLITS


def _cell(text: object) -> str:
    """Markdown table cell: user names may hold pipes, backticks or newlines."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("\n", " ")


def markdown_summary(result: PreprocessResult) -> str:
    stats = result.stats
    lines = ["# Preprocessing summary", "",
             f"Source `{_cell(stats['spec']['source_table'])}`, key `{_cell(stats['key_column'])}`, "
             f"label `{_cell(stats['label_column'])}`, {len(stats['feature_columns'])} feature columns.", "",
             "| split | rows | table |", "|---|---:|---|"]
    lines += [f"| {s} | {result.row_counts[s]} | {_cell(result.tables[s])} |" for s in SPLITS]
    lines += ["", "| column | kind | NULLs (whole table) | steps | outputs |", "|---|---|---:|---|---:|"]
    for c in stats["columns"]:
        steps = ", ".join(_step_text(s) for s in c["steps"]) or "as is"
        lines.append(f"| {_cell(c['name'])} | {c['kind']} | {result.null_counts.get(c['name'], 0)} | "
                     f"{_cell(steps)} | {len(c['outputs'])} |")
    return "\n".join(lines) + "\n"


def _step_text(step: dict[str, Any]) -> str:
    op = step["op"]
    if op == "impute":
        return f"impute {step['strategy']} ({step['value']!r})"
    if op == "standardize":
        return f"standardize (mean {step['mean']:.6g}, std {step['std']:.6g})"
    if op == "minmax":
        return f"minmax ({step['min']:.6g}..{step['max']:.6g})"
    if op == "clip":
        return f"clip ({step['low']}..{step['high']})"
    if op in ("one_hot", "vocab_index"):
        return f"{op} ({len(step['vocabulary'])} values + OOV)"
    return op


def publish(result: PreprocessResult, splits: dict[str, Any], stats: Any, metrics: Any, summary: Any) -> None:
    """Fill KFP artifacts (duck-typed: ``.metadata``, ``.path``, ``log_metric``) from a run's result."""
    for name, artifact in splits.items():
        artifact.metadata.update({"format": "parquet", "split": name, "rows": result.row_counts[name],
                                  "table": str(result.tables[name]), "key_column": result.stats["key_column"],
                                  "label_column": result.stats["label_column"],
                                  "feature_columns": list(result.feature_columns)})
    stats.metadata.update({"format": result.stats["format"], "version": result.stats["version"],
                           "feature_count": len(result.feature_columns)})
    for name in SPLITS:
        metrics.log_metric(f"rows_{name}", result.row_counts[name])
    for column, nulls in result.null_counts.items():
        metrics.log_metric(f"nulls_{column}", nulls)
    with open(summary.path, "w", encoding="utf-8") as f:
        f.write(markdown_summary(result))
