"""`python -m bench` must not rot: its table and JSON helpers, its argument parsing, the bulk
ledger fixture, and the smallest dispatch (5 tasks through a real supervisor process, huey
and the spawn floor). No timing is asserted: only that each piece runs and says what it ran.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives beside tests/, not installed


def test_table_and_json_show_median_range_ratio_and_skips() -> None:
    from bench.common import Row, Stat, markdown_table, skipped

    rows = [
        Row("dispatch", "1,000 × `true`", "tasks/s", Stat([40.0, 50.0, 45.0]), Stat([200.0, 180.0, 220.0]), "huey"),
        Row("board", "first frame", "s", Stat([1.5])),
        skipped("ledger", "postgresql, 4 writers", "no PostgreSQL at x"),
    ]
    table = markdown_table(rows).splitlines()
    assert table[0].startswith("| section | figure | ours")
    assert table[2] == "| dispatch | 1,000 × `true` | 45.0 tasks/s (40.0–50.0) | huey: 200 tasks/s (180–220) | 0.23x |"
    assert table[3] == "| board | first frame | 1.50 s |  |  |"
    assert table[4] == "| ledger | postgresql, 4 writers | skipped: no PostgreSQL at x | | |"
    doc = json.loads(json.dumps([r.as_json() for r in rows]))
    assert doc[0]["ours"] == {"median": 45.0, "min": 40.0, "max": 50.0, "runs": [40.0, 50.0, 45.0]}
    assert doc[0]["ratio"] == pytest.approx(45 / 200)
    assert doc[1]["peer"] is None and doc[1]["ratio"] is None
    assert doc[2]["skipped"] == "no PostgreSQL at x" and doc[2]["ours"] is None


def test_arguments() -> None:
    from bench.__main__ import parse_args

    args = parse_args(["--quick", "--json", "out.json", "--only", "dispatch", "board"])
    assert args.quick and args.json == Path("out.json") and args.only == ["dispatch", "board"]
    with pytest.raises(SystemExit):
        parse_args(["--only", "nonsense"])
    with pytest.raises(SystemExit):
        parse_args(["--runs", "0"])


def test_bulk_ledger_has_exactly_the_tasks_asked_and_consistent_flows(home: Path) -> None:
    from bench.bulk import fill
    from openclaw_board.ledger import Ledger

    url = f"sqlite:///{home / 'bulk.db'}"
    written = fill(url, 400)
    with Ledger(url) as ledger:
        Task, Flow = ledger.m.Task, ledger.m.Flow
        assert written["tasks"] == Task.select().count() == 400
        assert written["flows"] == Flow.select().count()
        assert Task.select().where(Task.status == "running").count() > 0  # live work is there
        # every flow's stored status is the one the ledger would derive
        from openclaw_board.ledger.states import derive_flow_status

        for flow in Flow.select():
            assert flow.status == derive_flow_status([t.status for t in ledger.latest_attempts(flow.flow_id)], False)


def test_bulk_ledger_with_a_set_number_of_live_flows(home: Path) -> None:
    """The board's cost-at-rest figure is for exactly 20 live rows (issue 15)."""
    from bench.bulk import fill
    from openclaw_board.ledger import Ledger

    url = f"sqlite:///{home / 'live.db'}"
    fill(url, 1000, live_flows=20)
    with Ledger(url) as ledger:
        Task, Flow = ledger.m.Task, ledger.m.Flow
        assert Task.select().count() == 1000
        assert Task.select().where(Task.status == "running").count() == 20
        assert Flow.select().where(Flow.status == "running").count() == 20


def test_tiny_dispatch_runs_every_task_through_each_system(home: Path) -> None:
    from bench.dispatch import floor_rate, ours_rate

    assert floor_rate(5, 2) > 0
    ours = ours_rate(5, 1)  # raises unless all 5 succeeded through a real `supervise` process
    assert ours["rate"] > 0 and ours["sup_cpu_ms"] >= 0
    pytest.importorskip("huey")
    from bench.dispatch import huey_rate

    assert huey_rate(5, 1)["rate"] > 0  # raises unless huey stored 5 results


def test_cancel_figures_measure_real_cancels(home: Path, tmp_path: Path) -> None:
    from bench.cancel import end_to_end, wrapper_alone

    # each raises unless the run was stopped, recorded, and its shell and grandchild are gone by pid
    assert all(ms > 0 for ms in wrapper_alone(tmp_path, 2))
    assert all(ms >= 0 for ms in end_to_end(f"sqlite:///{home / 'ledger.db'}", home, 2))


def test_history_dispatch_runs_new_work_on_a_copy_of_a_ledger_with_history(home: Path) -> None:
    from bench.bulk import fill
    from bench.history import once

    template = home / "template" / "ledger.db"
    template.parent.mkdir(parents=True, mode=0o700)
    fill(f"sqlite:///{template}", 50, live=False)
    figures = once(template, home / "run", new_tasks=5, idle_submits=3)  # raises unless all 5 succeeded
    assert figures["rate"] > 0 and figures["sup_cpu_ms"] >= 0
    assert figures["submit_busy_ms"] > 0 and figures["submit_idle_ms"] > 0
