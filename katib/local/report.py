"""The results table (CSV and Markdown), the best trial as JSON, and a per-bracket view for Hyperband.

For Hyperband the trials carry the schedule in labels (``kwp.hyperband/bracket``, ``.../rung``,
``.../config``): the Markdown report then shows, per bracket, each configuration's objective at every
rung, which is how successive halving is read (who was promoted, who stopped where).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from katib.hyperband import BRACKET_LABEL, CONFIG_LABEL, ITERATION_LABEL, RESOURCE_LABEL, RUNG_LABEL
from katib.local.results import ExperimentResult, TrialOutcome

RESULT_FILES = ("results.csv", "results.md", "best_trial.json", "experiment_result.json", "schedule.html")


def write_results(result: ExperimentResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the result files into ``out_dir`` (tables, best trial, schedule picture); name -> path."""
    from katib.local.charts import schedule_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: out / name for name in RESULT_FILES}
    files["results.csv"].write_text(results_csv(result))
    files["results.md"].write_text(markdown_report(result))
    files["best_trial.json"].write_text(json.dumps(result.best_trial_dict(), indent=2, default=str) + "\n")
    files["experiment_result.json"].write_text(json.dumps(result.summary(), indent=2, default=str) + "\n")
    files["schedule.html"].write_text(schedule_html(result))
    return files


def table(result: ExperimentResult) -> tuple[list[str], list[list[str]]]:
    """Header and rows: trial, status, parameters, metrics (objective first), labels, exit code, seconds."""
    params = _ordered(k for t in result.trials for k in t.parameters)
    metrics = _ordered([result.objective_metric, *(k for t in result.trials for k in t.metrics)])
    labels = _ordered(k for t in result.trials for k in t.labels)
    header = [
        "trial",
        "status",
        *params,
        *metrics,
        *(_short(k) for k in labels),
        "exit_code",
        "seconds",
        "message",
    ]
    rows = []
    for t in result.trials:
        text = t.parameter_text()
        rows.append([
            t.name, t.status, *(text.get(p, "") for p in params), *(_fmt(t.metrics.get(m)) for m in metrics),
            *(t.labels.get(k, "") for k in labels), "" if t.exit_code is None else str(t.exit_code),
            "" if t.duration_s is None else f"{t.duration_s:.1f}",
            t.message,
        ])  # fmt: skip
    return header, rows


def results_csv(result: ExperimentResult) -> str:
    header, rows = table(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def markdown_report(result: ExperimentResult) -> str:
    """The whole report: outcome, best trial, trial table and (for Hyperband) the bracket tables."""
    direction = "minimize" if result.minimize else "maximize"
    lines = [
        f"# Experiment {result.name}",
        "",
        f"**{result.status}** ({result.reason}): {result.message}",
        "",
    ]
    lines.append(f"Objective: {direction} `{result.objective_metric}` ({result.strategy})"
                 + (f", goal {result.goal}" if result.goal is not None else ""))  # fmt: skip
    counts = ", ".join(f"{n} {s}" for s, n in sorted(result.counts().items()))
    lines += [f"Trials: {len(result.trials)} ({counts})", ""]
    best = result.best
    if best is not None:
        params = ", ".join(f"`{k}={v}`" for k, v in best.parameter_text().items())
        lines += [
            f"Best trial: `{best.name}`, {result.objective_metric} = {_fmt(best.objective)}; {params}",
            "",
        ]
    header, rows = table(result)
    lines += ["## Trials", "", *_markdown_table(header, rows), ""]
    brackets = hyperband_tables(result.trials)
    if brackets:
        lines += [
            "## Hyperband brackets",
            "",
            f"Cells: {result.objective_metric} at each rung (resource).",
            "",
        ]
        lines += brackets
    return "\n".join(lines)


def hyperband_tables(trials: list[TrialOutcome]) -> list[str]:
    """Per (iteration, bracket): one row per configuration, one column per rung; empty if not Hyperband."""
    groups: dict[tuple[int, int], dict[int, dict[int, TrialOutcome]]] = defaultdict(lambda: defaultdict(dict))
    resources: dict[tuple[int, int, int], str] = {}
    for t in trials:
        try:
            key = (int(t.labels[ITERATION_LABEL]), int(t.labels[BRACKET_LABEL]))
            rung, config = int(t.labels[RUNG_LABEL]), int(t.labels[CONFIG_LABEL])
        except (KeyError, ValueError):
            continue
        groups[key][config].setdefault(rung, t)
        resources[(*key, rung)] = t.labels.get(RESOURCE_LABEL, "")
    lines: list[str] = []
    for (iteration, bracket), configs in sorted(groups.items()):
        rungs = sorted({r for by_rung in configs.values() for r in by_rung})
        header = ["config", *(f"rung {r} ({resources[(iteration, bracket, r)]})" for r in rungs)]
        rows = [[str(c), *(_cell(configs[c].get(r)) for r in rungs)] for c in sorted(configs)]
        lines += [f"### Iteration {iteration}, bracket s={bracket}", "", *_markdown_table(header, rows), ""]
    return lines


def _cell(trial: TrialOutcome | None) -> str:
    if trial is None:
        return ""
    return _fmt(trial.objective) if trial.status == "Succeeded" else trial.status


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _short(label: str) -> str:
    return label.rsplit("/", 1)[-1]


def _ordered(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)
