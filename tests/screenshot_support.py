"""Reading the text back out of an SVG screenshot, line by line, as a person would see it."""

from __future__ import annotations

import html
import re
from collections import defaultdict

TEXT = re.compile(r'<text class="[^"]*" x="([0-9.]+)" y="([0-9.]+)" textLength="([0-9.]+)"[^>]*>([^<]*)</text>')


def svg_lines(svg: str) -> list[str]:
    """The screen's text lines: spans grouped by their y and put back at their columns
    (Textual draws no text for blank cells, so the gaps are rebuilt from x positions)."""
    spans = [(float(x), float(y), float(length), html.unescape(text).replace("\xa0", " "))
             for x, y, length, text in TEXT.findall(svg)]
    widths = [length / len(text) for _, _, length, text in spans if text]
    cell = min(widths) if widths else 1.0
    rows: dict[float, list[tuple[int, str]]] = defaultdict(list)
    for x, y, _, text in spans:
        rows[y].append((round(x / cell), text))
    lines = []
    for _, row in sorted(rows.items()):
        line = ""
        for col, text in sorted(row):
            line = line.ljust(col) + text
        lines.append(line.rstrip())
    return [line for line in lines if line.strip()]


def line_with(lines: list[str], needle: str) -> str:
    found = [line for line in lines if needle in line]
    assert found, f"no line with {needle!r} in:\n" + "\n".join(lines)
    return found[0]
