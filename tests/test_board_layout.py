"""Pure rules of the list's layout and progress: columns for a width, coarse times, the ETA,
a flow's aggregate progress, and what a bulk action does to marked rows."""

from __future__ import annotations

import pytest
from rich.style import Style

from openclaw_board.board.view import bulk
from openclaw_board.board.view.columns import STATUS_WIDTH, columns
from openclaw_board.board.view.model import FlowView, Row, TaskView, ViewSpec
from openclaw_board.board.view.progress import eta_ms, eta_text, flow_progress, task_eta
from openclaw_board.board.view.rows import build_rows
from openclaw_board.board.view.targets import Target
from openclaw_board.board.widgets.cells import clock_text, header_text, render_row

MIN = 60_000


def _task(label: str, status: str = "running", progress: float | None = None, started: int | None = 0,
          last: int | None = None, ended: int | None = None, flow: str = "f") -> TaskView:
    return TaskView(f"{flow}-{label}", flow, label, "cli", status, 1, 0, started, ended, progress, None, None, None,
                    None, None, None, (), last_progress_at=last)


def _flow(fid: str, status: str, counts: dict[str, int], ended: int | None = None, goal: str = "") -> FlowView:
    return FlowView(fid, goal or f"goal {fid}", None, status, None, 0, 0, ended, tuple(sorted(counts.items())))


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160, 200, 240])
@pytest.mark.parametrize("flat", [False, True])
def test_columns_fill_the_width_exactly(width: int, flat: bool) -> None:
    c = columns(width, flat)
    assert c.total == width
    assert c.status == STATUS_WIDTH == len("succeeded")  # its longest label, "approval?" included
    assert c.bar > 0  # a compact progress bar at every width


def test_the_goal_and_the_detail_take_the_free_space() -> None:
    narrow, mid, wide = columns(80), columns(120), columns(200)
    # 80 columns: status, time and a compact bar stay; runtime and attempt go.
    assert (narrow.runtime, narrow.attempt) == (0, 0) and narrow.bar >= 8
    # 120 columns: the goal gets at least 45 cells (it had ~30) and the detail what is left.
    assert mid.name >= 45 and mid.detail >= 25 and mid.runtime == 0 and mid.attempt == 3
    # 200 columns: every column, the name capped so the detail (errors, summaries) gets the rest.
    assert wide.runtime and wide.name <= 64 and wide.detail >= 60
    assert narrow.name < mid.name <= wide.name and narrow.detail < mid.detail < wide.detail
    flat = columns(120, flat=True)
    assert flat.flow >= 20 and flat.name >= 12 and flat.detail >= 20


def test_header_titles_sit_over_their_columns_and_count_marks() -> None:
    for width in (80, 120, 200):
        row = render_row(Row("task", "k", flow=_flow("f", "running", {"running": 1}),
                             task=_task("job", progress=40.0, started=0)), width, MIN, {}, Style())
        head = header_text(width, Style()).plain
        at = head.index("STATUS")
        assert row.plain[at:at + 7] == "running"
    marked = header_text(120, Style(), marked=3).plain
    assert marked.rstrip().endswith("● 3 marked (u clears)") and len(marked) == 120
    assert "FLOW" in header_text(120, Style(), flat=True).plain.split("STATUS")[0]


def test_eta_from_the_progress_rate() -> None:
    # 25 % in 2 minutes, reported just now: 6 minutes to go.
    assert eta_ms(25.0, 0, 2 * MIN, 2 * MIN) == 6 * MIN
    # Quiet for a minute since that report: the estimate counts down, the rate does not drop.
    assert eta_ms(25.0, 0, 2 * MIN, 3 * MIN) == 5 * MIN
    # No rate yet: no start, under 1 %, a few seconds in, or done.
    assert eta_ms(None, 0, None, MIN) is None
    assert eta_ms(50.0, None, None, MIN) is None
    assert eta_ms(0.5, 0, MIN, MIN) is None
    assert eta_ms(50.0, 0, 2_000, 2_000) is None
    assert eta_ms(100.0, 0, MIN, MIN) is None
    # A last report from before the start (a clock step) falls back to now.
    assert eta_ms(50.0, 10 * MIN, 5 * MIN, 12 * MIN) == 2 * MIN
    assert eta_ms(25.0, 0, 2 * MIN, 99 * MIN) == 0
    assert (eta_text(None), eta_text(59_000), eta_text(3 * MIN + 5_000), eta_text(65 * MIN)) == (
        "", "<1m left", "~3m left", "~1h05m left")
    assert task_eta(_task("t", progress=25.0, started=0, last=2 * MIN), 2 * MIN) == "~6m left"
    assert task_eta(_task("t", status="queued", progress=25.0), 2 * MIN) == ""


def test_flow_progress_counts_finished_tasks_whole_and_running_by_their_report() -> None:
    flow = _flow("f", "running", {"succeeded": 1, "failed": 1, "running": 1, "queued": 1})
    assert flow_progress(flow, None) == 50.0
    tasks = (_task("a", progress=50.0), _task("b", status="succeeded", progress=100.0))
    assert flow_progress(flow, tasks) == 62.5
    assert flow_progress(_flow("g", "succeeded", {"succeeded": 2}, ended=5), None) is None
    assert flow_progress(_flow("h", "queued", {}), None) is None
    rows = build_rows({"f": flow}, {"f": tasks}, ViewSpec(), 0)
    assert rows[0].progress == 62.5
    assert "62%" in render_row(rows[0], 120, MIN, {}, Style()).plain


def test_running_time_is_coarse_so_a_row_changes_once_a_minute() -> None:
    task = _task("t", progress=50.0, started=0, last=20 * MIN)
    row = Row("task", "k", flow=_flow("f", "running", {"running": 1}), task=task)
    texts = [clock_text(row, 20 * MIN + s * 1000) for s in range(0, 600)]
    changes = sum(a != b for a, b in zip(texts, texts[1:], strict=False))
    # The elapsed time and the ETA move together, once a minute: one redraw a minute.
    assert 9 <= changes <= 10
    young = Row("task", "k", flow=row.flow, task=_task("t", started=0))
    assert clock_text(young, 5_000) != clock_text(young, 6_000)  # seconds only in the first minute
    done = Row("task", "k", flow=row.flow, task=_task("t", status="succeeded", ended=5))
    assert clock_text(done, 0) is None and clock_text(done, 10 * MIN) is None


def test_the_eta_moves_with_the_elapsed_time_not_at_its_own_moment() -> None:
    """Started 13 s past a minute, last report 41 s past another: still one redraw a minute."""
    task = _task("t", progress=40.0, started=13_000, last=20 * MIN + 41_000)
    row = Row("task", "k", flow=_flow("f", "running", {"running": 1}), task=task)
    texts = [clock_text(row, 21 * MIN + s * 1000) for s in range(0, 600)]
    changes = sum(a != b for a, b in zip(texts, texts[1:], strict=False))
    assert 9 <= changes <= 10, changes



def test_flat_rows_filter_tasks_and_put_live_work_first() -> None:
    f = _flow("f", "running", {"running": 1, "failed": 1}, goal="first")
    g = _flow("g", "failed", {"failed": 1, "succeeded": 1}, ended=9, goal="second")
    tasks = {"f": (_task("ok", flow="f"), _task("bad", status="failed", ended=3, flow="f")),
             "g": (_task("old", status="failed", ended=1, flow="g"), _task("fine", status="succeeded", ended=2,
                                                                             flow="g"))}
    rows = build_rows({"f": f, "g": g}, tasks, ViewSpec(flat=True), 0)
    assert [(r.task.label, r.flat) for r in rows] == [("ok", True), ("bad", True), ("old", True), ("fine", True)]
    issues = build_rows({"f": f, "g": g}, tasks, ViewSpec(flat=True, status="issues"), 0)
    assert [r.task.label for r in issues] == ["bad", "old"]  # all failed tasks now, newest first
    assert issues[0].key == "t:f:bad"  # the tree's key: the cursor stays on it across views
    # A text filter keeps the tasks it names, or every task of a flow whose goal it names.
    by_label = build_rows({"f": f, "g": g}, tasks, ViewSpec(flat=True, text="OL"), 0)
    assert [r.task.label for r in by_label] == ["old"]
    by_goal = build_rows({"f": f, "g": g}, tasks, ViewSpec(flat=True, text="second"), 0)
    assert [r.task.label for r in by_goal] == ["old", "fine"]
    line = render_row(issues[0], 120, MIN, {}, Style()).plain
    assert "bad" in line and "first" in line and "├" not in line


def _t(kind: str, status: str, name: str) -> Target:
    return Target(kind, f"id-{name}", name, status, "f")


def test_a_bulk_plan_says_what_it_does_and_why_it_skips() -> None:
    marked = [_t("task", "running", "a"), _t("task", "queued", "b"), _t("task", "succeeded", "c")]
    p = bulk.plan("cancel", marked)
    assert [(verb, ref) for verb, ref, _, _ in p.todo] == [("cancel_task", "id-a"), ("cancel_task", "id-b")]
    assert p.skipped == (("already finished", 1),) and p.marked == 3
    title, body = bulk.confirm_text(p)
    assert title == "Cancel 2 marked tasks?"
    assert "• a" in body and "Skipped: 1 already finished." in body
    assert bulk.summary("cancel", 2, p.skipped) == "2 cancelled, 1 already finished"
    retry = bulk.plan("retry", [*marked, _t("flow", "failed", "f")])
    assert retry.skipped == (("not finished yet", 2), ("not a task", 1))
    approve = bulk.plan("approve", [_t("task", "awaiting_approval", "x"), _t("task", "queued", "y")])
    assert approve.skipped == (("not awaiting approval", 1),)
    mixed = bulk.plan("cancel", [_t("task", "running", "a"), _t("flow", "running", "f")])
    assert bulk.confirm_text(mixed)[0] == "Cancel 1 task and 1 flow?"
