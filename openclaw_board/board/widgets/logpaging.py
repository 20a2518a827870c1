"""Where the wrapped log view's top line goes: pure arithmetic over rows per line.

Wrapped, the log view still scrolls in log lines (so it costs the same on a 100 MB log),
and a line takes `rows_of(line)` screen rows. These say which line goes on top to show
the end, and a page up or down, without skipping or repeating a line.
"""

from __future__ import annotations

from collections.abc import Callable

RowsOf = Callable[[int], int]


def top_for_end(total: int, height: int, rows_of: RowsOf) -> int:
    """The top line that shows the last lines whole; a long line above them is left out."""
    rows, top = 0, total
    while top > 0 and rows < height:
        top -= 1
        rows += rows_of(top)
    if rows > height and top < total - 1:
        top += 1
    return top


def top_for_page_up(top: int, height: int, rows_of: RowsOf) -> int:
    """The lines above `top` whose rows fill a screen; at least one line back."""
    rows, y = 0, top
    while y > 0:
        n = rows_of(y - 1)
        if rows + n > height:
            break
        rows, y = rows + n, y - 1
    return min(y, max(0, top - 1))


def top_for_page_down(top: int, whole: int, total: int) -> int:
    """The first line the screen did not show whole (`whole`: how many it did)."""
    return min(top + max(1, whole), max(0, total - 1))
