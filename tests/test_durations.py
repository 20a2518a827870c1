"""Durations (issue 11): finite, not negative, a task's at most 365 days; `submit --timeout`
says which flag was wrong and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from openclaw_board.ledger import Ledger
from openclaw_board.ledger.durations import MAX_TASK_DURATION_S, parse_duration, parse_task_duration


@pytest.mark.parametrize("value,seconds", [
    (90, 90.0), (0.5, 0.5), ("90s", 90.0), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("500ms", 0.5),
    ("25d", 25 * 86400.0), ("365d", MAX_TASK_DURATION_S), (MAX_TASK_DURATION_S, MAX_TASK_DURATION_S),
])
def test_task_durations_accepted(value: object, seconds: float) -> None:
    assert parse_task_duration(value, positive=True) == seconds


@pytest.mark.parametrize("value,message", [
    (float("nan"), "not a duration: nan"),
    (float("inf"), "not a duration: inf"),
    (float("-inf"), "not a duration: -inf"),
    (1e300, "1e+300s is more than the maximum, 365d"),
    (10**400, "is more than the maximum, 365d"),  # an int no float can hold
    ("9" * 400, "is more than the maximum, 365d"),  # digits that make an infinite float
    ("366d", "366d is more than the maximum, 365d"),
    (-1, "cannot be negative"),
    (0, "must be more than zero"),
    ("0s", "must be more than zero"),
    (True, "not a boolean"),
    ("soon", "not a duration: 'soon'"),
    ("nan", "not a duration: 'nan'"),
    ("inf", "not a duration: 'inf'"),
])
def test_task_durations_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_task_duration(value, positive=True)
    assert message in str(info.value)
    assert len(str(info.value)) < 120  # one readable line, even for 400 digits


def test_plain_durations_are_finite_but_have_no_maximum() -> None:
    assert parse_duration("400d") == 400 * 86400.0
    assert parse_duration(0) == 0.0
    with pytest.raises(ValueError, match="too long"):
        parse_duration("9" * 400)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(float("nan"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "80"})


@pytest.mark.parametrize("timeout,message", [
    ("25.1e0d", "not a duration"), ("inf", "not a duration: 'inf'"), ("nan", "not a duration: 'nan'"),
    ("1e300", "not a duration: '1e300'"), ("400d", "400d is more than the maximum, 365d"),
    ("0", "must be more than zero"), ("-5", "not a duration: '-5'"),
])
def test_submit_timeout_refusals_name_the_flag_and_write_nothing(home: Path, timeout: str, message: str) -> None:
    proc = cli("submit", "--goal", "g", "--timeout", timeout, "--", "true")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: --timeout: ") and message in proc.stderr, proc.stderr
    assert not (home / "ledger.db").exists()  # refused before the ledger was even opened


def test_submit_timeout_of_25_days_is_stored(home: Path) -> None:
    proc = cli("submit", "--goal", "g", "--timeout", "25d", "--", "true")
    assert proc.returncode == 0, proc.stderr
    with Ledger(f"sqlite:///{home / 'ledger.db'}") as ledger:
        (task,) = ledger.list_tasks()
        assert task.timeout_s == 25 * 86400.0


@given(st.integers(min_value=-62_135_596_800_000 + 86_400_000, max_value=253_402_300_799_999))
@example(8149)  # parse_time once read 8.149 s as 8148 ms (a float product, truncated)
def test_iso_writes_what_datetime_writes_and_reads_back(ms: int) -> None:
    """iso() formats by hand for speed; it must agree with datetime everywhere in years 1-9999
    (datetime's isoformat: strftime's %Y would not pad a year below 1000 to four digits)."""
    from datetime import UTC, datetime

    from openclaw_board.ledger.clock import iso, parse_time

    seconds, millis = divmod(ms, 1000)
    expected = datetime.fromtimestamp(seconds, tz=UTC).isoformat()[:19] + f".{millis:03d}Z"
    assert iso(ms) == expected
    assert parse_time(expected, 0) == ms
