"""Snapshots of the board's main states (pytest-textual-snapshot).

Deterministic: a prepared ledger moved through the Ledger API at fixed times, a fixed
clock, seeded ids, no supervisor, no pollers (live=False), no animations, no blink.
Update with `pytest tests/test_board_snapshots.py --snapshot-update` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

from board_support import make_app, task_by_label

from openclaw_board.board.widgets.flowlist import FlowList


def _before(*keys: str, select: str | None = None):
    async def run_before(pilot) -> None:
        app = pilot.app
        await app.settled()
        await pilot.pause()
        if select is not None:
            assert app.query_one(FlowList).select_key(select)
        for key in keys:
            await pilot.press(key)
            await app.settled()
            await pilot.pause()
        await pilot.pause(0.1)
        await app.settled()
        await pilot.pause()

    return run_before


def test_demo_board(snap_compare, demo):
    url, end = demo
    assert snap_compare(make_app(url, end), terminal_size=(120, 36), run_before=_before())


def test_demo_board_80x24(snap_compare, demo):
    url, end = demo
    assert snap_compare(make_app(url, end), terminal_size=(80, 24), run_before=_before())


def test_expanded_finished_flow(snap_compare, demo):
    url, end = demo
    report = task_by_label(url, "report", "email")
    assert snap_compare(make_app(url, end), terminal_size=(120, 36),
                        run_before=_before("e", "j", select=f"f:{report.flow_id}"))


def test_inspector_with_a_log(snap_compare, demo):
    url, end = demo
    task = task_by_label(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True)
    out = [f"globex.example: page {i}/8 done\n::progress {i * 100 // 8} page {i}/8" for i in range(1, 6)]
    (run_dir / "output.log").write_text("\n".join(out) + "\n[red]not red[/red] \x1b[31mnot red either\n")
    assert snap_compare(make_app(url, end), terminal_size=(100, 30),
                        run_before=_before("l", select=f"t:{task.flow_id}:fetch-globex"))


def test_confirm_dialog(snap_compare, demo):
    url, end = demo
    leads = task_by_label(url, "leads", "enrich-1")
    assert snap_compare(make_app(url, end), terminal_size=(100, 30),
                        run_before=_before("c", select=f"f:{leads.flow_id}"))


def test_help_screen(snap_compare, demo):
    url, end = demo
    assert snap_compare(make_app(url, end), terminal_size=(100, 36), run_before=_before("question_mark"))


def test_filter(snap_compare, demo):
    url, end = demo
    assert snap_compare(make_app(url, end), terminal_size=(100, 30),
                        run_before=_before("slash", "l", "e", "a", "d"))


def test_ansi_theme(snap_compare, demo):
    url, end = demo
    assert snap_compare(make_app(url, end, theme="ansi"), terminal_size=(100, 30), run_before=_before())


def test_pulse_screen(snap_compare, sqlite_url):
    from pulse_support import busy_hour

    end = busy_hour(sqlite_url)
    assert snap_compare(make_app(sqlite_url, end), terminal_size=(120, 30), run_before=_before("P"))


def test_schedules_screen(snap_compare, sqlite_url):
    from pulse_support import two_schedules

    now, _, _ = two_schedules(sqlite_url)
    assert snap_compare(make_app(sqlite_url, now), terminal_size=(120, 24), run_before=_before("C"))


def test_flat_view(snap_compare, demo):
    """f: every latest task across flows, one row each, with its flow's goal."""
    url, end = demo
    assert snap_compare(make_app(url, end), terminal_size=(120, 30), run_before=_before("f"))


def test_marks_and_the_bulk_confirm(snap_compare, demo):
    """space marks two running tasks and a finished one; c asks with the count, naming the skip."""
    url, end = demo
    leads = task_by_label(url, "leads", "enrich-1")
    acme = task_by_label(url, "research", "fetch-acme")

    async def run_before(pilot) -> None:
        app = pilot.app
        await _before(select=f"t:{leads.flow_id}:enrich-1")(pilot)
        for key in ("space", "space"):
            await pilot.press(key)
        assert app.query_one(FlowList).select_key(f"t:{acme.flow_id}:fetch-acme")
        await _before("space", "c")(pilot)

    assert snap_compare(make_app(url, end), terminal_size=(100, 30), run_before=run_before)


def _research_log(url: str) -> str:
    """fetch-globex with a log of output and `::progress` lines; returns its row's key."""
    task = task_by_label(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True)
    out = [f"globex.example: page {i}/8 done\n::progress {i * 100 // 8} page {i}/8" for i in range(1, 6)]
    (run_dir / "output.log").write_text("\n".join(out) + "\n::summary 5 pages so far\n")
    return f"t:{task.flow_id}:fetch-globex"


def test_split_view_details(snap_compare, demo):
    """200x60, `v`: the list on the left, the selected flow's details on the right (a flow:
    a task's details name its run directory, a temporary path here)."""
    url, end = demo
    flow_id = task_by_label(url, "research", "fetch-globex").flow_id
    assert snap_compare(make_app(url, end), terminal_size=(200, 60), run_before=_before("v", select=f"f:{flow_id}"))


def test_split_view_log(snap_compare, demo):
    """200x60, `v` then `V`: the selected task's log beside the list, control lines hidden."""
    url, end = demo
    keys = _before("v", "V", select=_research_log(url))

    async def run_before(pilot) -> None:
        await keys(pilot)
        # The log is indexed on a worker thread (`settled` waits for the ledger's answers only).
        for _ in range(200):
            views = pilot.app.query("#pane-log")
            if views and views.first().total == 5:
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(make_app(url, end), terminal_size=(200, 60), run_before=run_before)
