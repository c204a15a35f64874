"""The Hyperband schedule as a picture: per bracket, each configuration's objective at every rung.

One small SVG chart per (iteration, bracket): the x axis is the rung's resource on a log scale, the y
axis the objective; a configuration promoted to the next rung continues as a line, so successive
halving is visible at a glance (who was promoted, who stopped where). Experiments that are not
Hyperband get one chart of the objective per trial in start order. Self-contained HTML, no JavaScript.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict

from katib.hyperband import BRACKET_LABEL, CONFIG_LABEL, ITERATION_LABEL, RESOURCE_LABEL, RUNG_LABEL
from katib.local.results import ExperimentResult, TrialOutcome

WIDTH, HEIGHT, MARGIN = 420, 240, 46
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")

Point = tuple[float, float]


def schedule_html(result: ExperimentResult) -> str:
    """A page of charts for ``result``: the Hyperband schedule, or objective per trial."""
    series = hyperband_series(result.trials)
    title = f"{result.name}: {result.objective_metric}"
    if series:
        charts = [
            _chart(f"iteration {it}, bracket s={br}", lines, log_x=True)
            for (it, br), lines in sorted(series.items())
        ]
        intro = "Each line is one configuration; points are its objective at each rung (resource)."
    else:
        points = [(float(i + 1), _number(t.objective)) for i, t in enumerate(result.trials)]
        charts = [_chart("objective per trial", {"trials": [p for p in points if p[1] is not None]})]
        intro = "Objective of each trial in start order."
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body style=\"font-family:sans-serif\">"
        f"<h2>{html.escape(title)}</h2><p>{intro}</p>{''.join(charts)}</body></html>\n"
    )


def hyperband_series(trials: list[TrialOutcome]) -> dict[tuple[int, int], dict[str, list[Point]]]:
    """(iteration, bracket) -> configuration -> [(resource, objective)] ordered by rung."""
    groups: dict[tuple[int, int], dict[str, list[tuple[int, Point]]]] = defaultdict(lambda: defaultdict(list))
    for t in trials:
        value = _number(t.objective)
        try:
            key = (int(t.labels[ITERATION_LABEL]), int(t.labels[BRACKET_LABEL]))
            rung, resource = int(t.labels[RUNG_LABEL]), float(t.labels[RESOURCE_LABEL])
            config = t.labels[CONFIG_LABEL]
        except (KeyError, ValueError):
            continue
        if value is not None and resource > 0:
            groups[key][f"config {config}"].append((rung, (resource, value)))
    return {
        key: {name: [p for _, p in sorted(points)] for name, points in configs.items()}
        for key, configs in groups.items()
    }


def _chart(title: str, lines: dict[str, list[Point]], log_x: bool = False) -> str:
    points = [p for pts in lines.values() for p in pts]
    if not points:
        return f"<h3>{html.escape(title)}</h3><p>No objective values yet.</p>"
    xs = [math.log(x) if log_x else x for x, _ in points]
    ys = [y for _, y in points]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1.0
    y_lo, y_hi = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1.0

    def place(x: float, y: float) -> str:
        x = math.log(x) if log_x else x
        px = MARGIN + (x - x_lo) / (x_hi - x_lo) * (WIDTH - 2 * MARGIN)
        py = HEIGHT - MARGIN - (y - y_lo) / (y_hi - y_lo) * (HEIGHT - 2 * MARGIN)
        return f"{px:.1f},{py:.1f}"

    shapes = []
    for i, (name, pts) in enumerate(sorted(lines.items())):
        colour = PALETTE[i % len(PALETTE)]
        coords = [place(x, y) for x, y in pts]
        label = html.escape(name)
        if len(coords) > 1:
            shapes.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                          f'points="{" ".join(coords)}"><title>{label}</title></polyline>')
        shapes += [f'<circle cx="{c.split(",")[0]}" cy="{c.split(",")[1]}" r="3" fill="{colour}">'
                   f"<title>{label}</title></circle>" for c in coords]
    bottom = HEIGHT - MARGIN
    axes = (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{WIDTH - MARGIN}" y2="{bottom}" stroke="#444"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{bottom}" stroke="#444"/>'
        f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="11">{y_hi:.4g}</text>'
        f'<text x="{MARGIN}" y="{bottom + 14}" font-size="11">{y_lo:.4g}</text>'
        f'<text x="{WIDTH / 2 - 30}" y="{HEIGHT - 10}" font-size="12">'
        f"{'resource (log)' if log_x else 'trial'}</text>"
    )
    return (
        f"<h3>{html.escape(title)}</h3>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">'
        f"{axes}{''.join(shapes)}</svg>"
    )


def _number(value: float | str | None) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
