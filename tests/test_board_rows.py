"""Pure parts of the board: ordering, the row text, safe text."""

from __future__ import annotations

from rich.style import Style

from openclaw_board.board.view.model import FlowView, Row, TaskView, ViewSpec
from openclaw_board.board.view.rows import build_rows, order_tasks
from openclaw_board.board.view.text import age, clean, progress_bar
from openclaw_board.board.widgets.cells import columns, render_row


def _flow(fid: str, status: str, created: int, updated: int, ended: int | None = None) -> FlowView:
    return FlowView(fid, f"goal {fid}", None, status, None, created, updated, ended, (("queued", 1),))


def _task(label: str, after: tuple[str, ...] = (), status: str = "queued") -> TaskView:
    return TaskView(label, "f", label, "cli", status, 1, 0, None, None, None, None, None, None, None,
                    None, None, after)


def test_live_and_troubled_first_then_recent_terminal():
    flows = {
        "old-ok": _flow("old-ok", "succeeded", 1, 10, 10),
        "new-ok": _flow("new-ok", "succeeded", 2, 50, 50),
        "failed": _flow("failed", "failed", 3, 20, 20),
        "run-a": _flow("run-a", "running", 4, 99),
        "run-b": _flow("run-b", "running", 5, 98),
        "waits": _flow("waits", "waiting", 6, 7),
    }
    rows = build_rows(flows, {}, ViewSpec(), more=3)
    order = [r.flow.flow_id for r in rows if r.kind == "flow"]
    # Running flows keep creation order (newest first) however often they update.
    assert order == ["run-b", "run-a", "waits", "failed", "new-ok", "old-ok"]
    assert rows[-1] == Row("more", "more", more=3)


def test_tasks_in_dependency_order_and_expansion_rules():
    tasks = (_task("publish", ("review",)), _task("review", ("draft",)), _task("draft"), _task("aaa"))
    assert [t.label for t in order_tasks(tasks)] == ["aaa", "draft", "review", "publish"]
    flows = {"f": _flow("f", "running", 1, 1), "g": _flow("g", "succeeded", 0, 0, 0)}
    rows = build_rows(flows, {"f": tasks}, ViewSpec(), 0)
    assert [r.kind for r in rows] == ["flow", "task", "task", "task", "task", "flow"]  # live flows open
    closed = build_rows(flows, {"f": tasks}, ViewSpec(collapsed=frozenset({"f"})), 0)
    assert [r.kind for r in closed] == ["flow", "flow"]


def test_clean_makes_controls_visible_and_clips():
    assert clean("a\x1b[31mb\x07\nc\td") == "a␛[31mb\\x07⏎c    d"
    assert clean(b"\xff ok") == "\ufffd ok"
    assert clean("x" * 50, limit=10) == "x" * 9 + "…"
    assert clean(None) == ""


def test_age_is_coarse_after_a_minute_and_bar_is_exact():
    assert (age(59_000), age(61_000), age(3_599_000), age(7_260_000)) == ("59s", "1m", "59m", "2h01m")
    assert progress_bar(50, 14) == "████▌░░░░  50%"
    assert progress_bar(0, 10) == "░░░░░   0%"


def test_row_fits_every_width_and_shows_markup_literally():
    task = TaskView("t", "f", "[b]x[/b]", "cli", "running", 2, 0, 1000, None, 42.0, "[red]hi", None, None, None,
                    None, None, ())
    flow = _flow("f", "running", 0, 0)
    for width in (40, 80, 120, 200):
        text = render_row(Row("task", "t:f:x", flow=flow, task=task), width, 61_000, {}, Style())
        assert text.cell_len == width
        assert "[b]x[/b]" in text.plain
        assert columns(width).detail >= 0
    assert "42%" in render_row(Row("task", "k", flow=flow, task=task), 80, 61_000, {}, Style()).plain
