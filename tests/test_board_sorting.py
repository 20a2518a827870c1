"""The sort orders of the main list and what a text filter opens: pure functions, no Textual."""

from __future__ import annotations

import pytest

from openclaw_board.board.view.model import FlowView, TaskView, ViewSpec
from openclaw_board.board.view.rows import build_rows, matched_by_task
from openclaw_board.board.view.sorting import SORTS, next_sort, sort_label
from openclaw_board.board.widgets.column_header import column_spans, marked_header


def _flow(fid: str, goal: str, status: str, created: int, ended: int | None = None,
          counts: tuple[tuple[str, int], ...] = (("queued", 1),)) -> FlowView:
    return FlowView(fid, goal, None, status, None, created, ended or created, ended, counts)


def _task(label: str, attempt: int = 1, progress: float | None = None, runtime: str = "cli",
          status: str = "running", started: int | None = 10, ended: int | None = None) -> TaskView:
    return TaskView(f"id-{label}", "f", label, runtime, status, attempt, 0, started, ended, progress, None, None,
                    None, None, None, None)


FLOWS = {
    "a": _flow("a", "beta report", "running", 100, counts=(("running", 1), ("succeeded", 3))),
    "b": _flow("b", "Alpha import", "succeeded", 50, ended=90, counts=(("succeeded", 2),)),
    "c": _flow("c", "gamma sync", "failed", 10, ended=400, counts=(("failed", 2), ("succeeded", 1))),
    "d": _flow("d", "delta queue", "queued", 200, counts=(("queued", 5),)),
}


def _order(sort: str, reverse: bool = False) -> list[str]:
    rows = build_rows(FLOWS, {}, ViewSpec(sort=sort, reverse=reverse), 0)
    return [r.flow.flow_id for r in rows if r.kind == "flow" and r.flow is not None]


@pytest.mark.parametrize(("sort", "natural"), [
    ("goal", ["b", "a", "d", "c"]),  # A→Z, case folded
    ("runtime", ["d", "a", "c", "b"]),  # a flow's row shows its number of tasks there: most first
    ("try", ["c", "a", "b", "d"]),  # flows with troubled work first
    ("elapsed", ["a", "d", "c", "b"]),  # live flows (growing) first, oldest start first; then longest
    ("progress", ["b", "a", "c", "d"]),  # most done first
    ("created", ["d", "a", "b", "c"]),
])
def test_every_sort_has_a_natural_order_and_reverses(sort: str, natural: list[str]) -> None:
    assert _order(sort) == natural
    assert _order(sort, reverse=True) == natural[::-1]


def test_s_cycles_every_sort_and_round() -> None:
    seen = ["status"]
    while (nxt := next_sort(seen[-1])) != "status":
        seen.append(nxt)
    assert tuple(seen) == SORTS
    assert next_sort("unknown") == "status"
    assert sort_label("goal", False) == "goal ↓" and sort_label("goal", True) == "goal ↑"


def test_tasks_follow_a_task_column_and_keep_dependency_order_otherwise() -> None:
    flows = {"f": _flow("f", "goal", "running", 1)}
    tasks = {"f": (_task("b", attempt=3, progress=10), _task("a", attempt=1, progress=90),
                   _task("c", attempt=2, progress=None, runtime="aaa"))}

    def labels(sort: str, reverse: bool = False) -> list[str]:
        return [r.task.label for r in build_rows(flows, tasks, ViewSpec(sort=sort, reverse=reverse), 0)
                if r.task is not None]

    assert labels("status") == ["a", "b", "c"]  # no dependencies: by label
    assert labels("try") == ["b", "c", "a"] and labels("try", True) == ["a", "c", "b"]
    assert labels("progress") == ["a", "b", "c"]
    assert labels("runtime") == ["c", "a", "b"]


def test_a_flow_found_by_a_task_label_opens_on_the_matching_tasks() -> None:
    flows = {"f": _flow("f", "Nightly research", "succeeded", 1, ended=5)}
    tasks = {"f": (_task("fetch-one"), _task("fetch-two"), _task("summarize"))}
    assert not matched_by_task(flows["f"], "night") and matched_by_task(flows["f"], "FETCH")
    rows = build_rows(flows, tasks, ViewSpec(text="fetch"), 0)
    assert [r.key for r in rows] == ["f:f", "t:f:fetch-one", "t:f:fetch-two"]
    assert rows[0].expanded
    # A flow found by its goal keeps its usual state (a finished one stays closed).
    assert [r.kind for r in build_rows(flows, tasks, ViewSpec(text="night"), 0)] == ["flow"]


def test_column_titles_are_clickable_spans_and_mark_the_sort() -> None:
    from rich.style import Style

    plain = marked_header(160, "elapsed", True, Style()).plain
    assert "ELAPSED▲" in plain
    spans = column_spans(plain)
    assert [s for _, _, s in spans] == ["goal", "runtime", "status", "try", "elapsed", "progress", "detail"]
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert "DETAIL▼" in marked_header(80, "detail", False, Style()).plain
