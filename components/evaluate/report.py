"""Learning curves as a self-contained HTML page (inline SVG, no JavaScript, no network).

The KFP UI shows an ``HTML`` artifact in an iframe; local runs write the same file next to the model.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

WIDTH, HEIGHT, MARGIN = 520, 260, 44
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")


def learning_curves_html(history: Sequence[Mapping[str, float]], title: str = "Learning curves") -> str:
    """One chart for the losses and one for the accuracies, epoch on the x axis.

    ``history`` is the per-epoch list the trainer writes to metrics.json
    (``{"epoch": 1, "loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...}``).
    """
    if not history:
        return _page(title, "<p>No epochs were recorded.</p>")
    epochs = [float(row.get("epoch", i + 1)) for i, row in enumerate(history)]
    charts = [
        _chart("Loss", epochs, _series(history, ("loss", "val_loss"))),
        _chart("Accuracy", epochs, _series(history, ("accuracy", "val_accuracy"))),
    ]
    return _page(title, "\n".join(c for c in charts if c))


def _series(history: Sequence[Mapping[str, float]], names: Sequence[str]) -> dict[str, list[float]]:
    return {n: [float(row[n]) for row in history] for n in names if all(n in row for row in history)}


def _chart(title: str, xs: list[float], series: Mapping[str, list[float]]) -> str:
    if not series:
        return ""
    values = [v for ys in series.values() for v in ys]
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1.0
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1.0

    def point(x: float, y: float) -> str:
        px = MARGIN + (x - x_lo) / (x_hi - x_lo) * (WIDTH - 2 * MARGIN)
        py = HEIGHT - MARGIN - (y - lo) / (hi - lo) * (HEIGHT - 2 * MARGIN)
        return f"{px:.1f},{py:.1f}"

    lines, legend = [], []
    for i, (name, ys) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        pts = " ".join(point(x, y) for x, y in zip(xs, ys, strict=True))
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        legend.append(
            f'<text x="{WIDTH - MARGIN - 110}" y="{MARGIN + 14 * i}" fill="{colour}" '
            f'font-size="12">{html.escape(name)}</text>'
        )
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    axes = (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#444"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#444"/>'
        f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="11">{hi:.4g}</text>'
        f'<text x="{MARGIN}" y="{HEIGHT - MARGIN + 14}" font-size="11">{lo:.4g}</text>'
        f'<text x="{WIDTH / 2 - 20}" y="{HEIGHT - 10}" font-size="12">epoch</text>'
    )
    return (
        f"<h3>{html.escape(title)}</h3>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img">'
        f"{axes}{''.join(lines)}{''.join(legend)}</svg>"
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif"><h2>{html.escape(title)}</h2>{body}</body></html>\n'
    )
