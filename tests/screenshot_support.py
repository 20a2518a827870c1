"""Reading the text back out of an SVG screenshot, line by line, as a person would see it."""

from __future__ import annotations

import html
import re
from collections import defaultdict

TEXT = re.compile(r'<text class="[^"]*" x="([0-9.]+)" y="([0-9.]+)"[^>]*>([^<]*)</text>')


def svg_lines(svg: str) -> list[str]:
    """The screen's text lines (spans grouped by their y, in x order; spacing not kept exactly)."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for x, y, text in TEXT.findall(svg):
        rows[float(y)].append((float(x), html.unescape(text).replace("\xa0", " ")))
    lines = ["".join(t for _, t in sorted(spans)) for _, spans in sorted(rows.items())]
    return [line for line in lines if line.strip()]


def line_with(lines: list[str], needle: str) -> str:
    found = [line for line in lines if needle in line]
    assert found, f"no line with {needle!r} in:\n" + "\n".join(lines)
    return found[0]
