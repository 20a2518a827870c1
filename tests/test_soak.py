"""The chaos soak (bench/soak.py) in the suite: about a minute per database of the board,
two supervisors, CLI writers and the chaos on one ledger, then every check must pass.

The assertion lists every violation (the soak's own words: ids and why), not just a count.
The two small tests first show that the checks can fail: a ledger that lies about a run
(a status, a lost) is caught, judged against marker files as the soak's tasks write them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ lives beside tests/, not installed

from bench.soak_checks import Verdict  # noqa: E402
from bench.soak_record import Plan, Record, read_markers  # noqa: E402
from openclaw_board.ledger import Ledger, command_spec  # noqa: E402

SOAK_SECONDS = 25  # of chaos; with the start, the final wave, the drain and the checks, about a minute a database


def _ran(home: Path, task_id: str, code: int) -> None:
    """A marker file as bench/soak_task.py leaves it after exiting with `code`."""
    (home / "markers").mkdir(exist_ok=True)
    (home / "markers" / "n1").write_text(f"start {task_id} 123 1000.0\nexit {task_id} {code} 0 1000.5\n")


def _claimed(ledger: Ledger) -> tuple[str, str]:
    flow_id, ids = ledger.submit(command_spec("lie", ["true"]))
    sup = ledger.register_supervisor("alpha", 1, None)
    ledger.claim_next(sup.supervisor_id, "alpha")
    return flow_id, ids["main"]


def test_checks_catch_a_status_that_is_not_what_the_command_did(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        flow_id, task_id = _claimed(ledger)
        ledger.finish(task_id, "succeeded", exit_code=0)
    _ran(home, task_id, 3)
    record = Record()
    record.accepted(flow_id, [Plan("main", "n1", [3], 0)], {"main": task_id})
    verdict = Verdict(record, home, sqlite_url, is_sqlite=True, audit=None, leftovers=[])
    assert verdict.accepted().violations == []
    assert verdict.outcomes().violations == [
        f"{task_id[:8]}: succeeded (no error) but the command exited 3 (should be failed)"]


def test_checks_catch_a_false_lost_and_accept_one_after_a_wrapper_kill(sqlite_url: str, home: Path) -> None:
    with Ledger(sqlite_url) as ledger:
        flow_id, task_id = _claimed(ledger)
        ledger.mark_lost(task_id, "process vanished with no recorded result")
    _ran(home, task_id, 0)
    record = Record()
    record.accepted(flow_id, [Plan("main", "n1", [0], 0)])
    verdict = Verdict(record, home, sqlite_url, is_sqlite=True, audit=None, leftovers=[])
    assert read_markers(home / "markers")[0][task_id].describe() == "exited 0"
    [violation] = verdict.lost().violations
    assert violation.startswith(f"{task_id[:8]}: lost (process vanished") and "wrapper was never killed" in violation
    record.wrapper_kills[task_id] = 1000.2
    assert verdict.lost().violations == []


@pytest.mark.parametrize("run_dir_name", ["", ".1796301782826"], ids=["first-claim", "claim-after-requeue"])
def test_a_soak_task_names_its_task_whatever_its_run_directory(home: Path, run_dir_name: str) -> None:
    """The soak's tasks learn their task id from the wrapper's last argument, the run directory;
    after a requeue it is `<task_id>.<started_ms>`, and the marker must still name the task."""
    import subprocess

    task_id = "29ed7bf5-074d-4150-8fe6-55aec2a3639a"
    (home / "markers").mkdir(parents=True)
    soak_task = Path(__file__).resolve().parent.parent / "bench" / "soak_task.py"
    # A parent that looks like a wrapper to the task: "wrapper" in its argv, the run directory last.
    parent = ("import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-I', '-S', "
              f"{str(soak_task)!r}, {str(home / 'markers')!r}, 'n1', '0', '0', '-']))")
    subprocess.run([sys.executable, "-c", parent, "wrapper", str(home / "runs" / (task_id + run_dir_name))],
                   check=True, timeout=30)
    runs, unknown = read_markers(home / "markers")
    assert unknown == 0 and list(runs) == [task_id]


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_chaos_soak_finds_nothing(db: str) -> None:
    from bench.soak import run_soak

    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        print(line)  # pytest shows it with -s, or on a failure

    result = run_soak(db, SOAK_SECONDS, lease_s=8, log=log)
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.ok, result.describe_failures(shown=20) + "\n\nsoak log:\n" + "\n".join(lines)
    # A soak in which nothing happened proves nothing.
    assert result.stats["flows"] > 0 and result.stats["runs"] > 0, result.stats
    assert sum(v for k, v in result.stats.items() if "SIG" in k) > 0, result.stats
