"""A drawing of a genotype's normal and reduction cells, as self-contained HTML with inline SVG.

Inputs ``c_{k-2}`` and ``c_{k-1}`` sit on the left, the intermediate nodes left to right in order, the
concatenated output on the right; each kept edge is labelled with its operation. No plotting library,
no JavaScript: the KFP UI shows it in an iframe and a local run writes the same file.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from katib.darts.genotype import Genotype, coerce_genotype

COLUMN, ROW, MARGIN = 170, 90, 50
OPERATION_COLOURS = {
    "skip_connection": "#7f7f7f",
    "max_pooling_3x3": "#1f77b4",
    "avg_pooling_3x3": "#17becf",
    "separable_convolution_3x3": "#d62728",
    "separable_convolution_5x5": "#ff7f0e",
    "dilated_convolution_3x3": "#2ca02c",
    "dilated_convolution_5x5": "#9467bd",
}


def genotype_html(genotype: Genotype | Mapping[str, Any] | str, title: str = "DARTS cells") -> str:
    """Both cells of ``genotype`` (printed, JSON or parsed) on one page."""
    parsed = coerce_genotype(genotype)
    parts = [cell_svg("normal cell", parsed.normal, parsed.normal_concat)]
    if parsed.reduce:
        parts.append(cell_svg("reduction cell", parsed.reduce, parsed.reduce_concat))
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body style=\"font-family:sans-serif\">"
        f"<h2>{html.escape(title)}</h2>{''.join(parts)}"
        f"<p><code>{html.escape(parsed.compact())}</code></p></body></html>\n"
    )


def cell_svg(title: str, nodes: tuple, concat: tuple[int, ...]) -> str:
    """One cell as an SVG graph: inputs, intermediate nodes, output, labelled edges."""
    positions = _positions(len(nodes))
    output = (MARGIN + (len(nodes) + 1) * COLUMN, MARGIN + ROW)
    width, height = output[0] + MARGIN + 40, MARGIN * 2 + ROW * 2
    shapes: list[str] = []
    for index, node in enumerate(nodes):
        target = positions[index + 2]
        for operation, source in node:
            shapes.append(_edge(positions[source], target, operation))
    for index in concat:
        shapes.append(_edge(positions[index], output, ""))
    labels = ["c_{k-2}", "c_{k-1}", *(str(i) for i in range(len(nodes)))]
    shapes += [_node(positions[i], text, "#fde9c9" if i < 2 else "#dbe9f6") for i, text in enumerate(labels)]
    shapes.append(_node(output, "c_{k}", "#e3f2d9"))
    return (
        f"<h3>{html.escape(title)}</h3>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>'
        f"{''.join(shapes)}</svg>"
    )


def _positions(count: int) -> dict[int, tuple[int, int]]:
    """Inputs at column 0 (two rows); intermediate node i at column i+1, alternating rows."""
    spots = {0: (MARGIN, MARGIN), 1: (MARGIN, MARGIN + 2 * ROW)}
    for i in range(count):
        spots[i + 2] = (MARGIN + (i + 1) * COLUMN, MARGIN + (ROW // 2 if i % 2 == 0 else ROW + ROW // 2))
    return spots


def _edge(start: tuple[int, int], end: tuple[int, int], operation: str) -> str:
    colour = OPERATION_COLOURS.get(operation, "#444")
    line = (
        f'<line x1="{start[0]}" y1="{start[1]}" x2="{end[0] - 22}" y2="{end[1]}" stroke="{colour}" '
        'stroke-width="2" marker-end="url(#arrow)"/>'
    )
    if not operation:
        return line
    mid_x, mid_y = (start[0] + end[0]) // 2, (start[1] + end[1]) // 2
    return line + (
        f'<text x="{mid_x}" y="{mid_y - 4}" font-size="10" text-anchor="middle" fill="{colour}">'
        f"{html.escape(operation)}</text>"
    )


def _node(centre: tuple[int, int], text: str, fill: str) -> str:
    x, y = centre
    return (
        f'<ellipse cx="{x}" cy="{y}" rx="22" ry="16" fill="{fill}" stroke="#444"/>'
        f'<text x="{x}" y="{y + 4}" font-size="11" text-anchor="middle">{html.escape(text)}</text>'
    )
