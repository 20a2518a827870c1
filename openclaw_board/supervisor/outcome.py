"""From a wrapper's `exit` file to the ledger's words: status, exit code, error, summary.

The exit code is recorded only when the command exited by itself; a death by signal
(timeout, cancel, kill) has no exit code and says which signal in `error`.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from ..ledger.durations import format_duration
from ..ledger.states import TaskStatus as T
from ..ledger.states import outcome_for_exit


@dataclass  # not frozen: the ledger's RunResult protocol (ledger/leases.py) declares settable fields
class Outcome:
    status: str
    exit_code: int | None
    error: str | None
    summary: str | None
    progress: float | None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def timed_out_error(limit: float | None) -> str:
    """`timed out after 10m00s`, or `after 0.7s` under a second; no limit known: `timed out`."""
    if limit is None or not 0 < limit < float("inf"):
        return "timed out"
    return f"timed out after {format_duration(limit) if limit >= 1 else f'{limit:g}s'}"


def outcome_of(kv: dict[str, str], cancel_requested: bool) -> Outcome:
    summary = kv.get("summary") or None
    progress = _float(kv.get("progress"))
    code, sig = _int(kv.get("exit_code")), _int(kv.get("signal"))
    reason = kv.get("reason") or None
    if kv.get("error") and code is None and sig is None:
        return Outcome(T.FAILED, None, kv["error"], summary, progress)
    if reason == "timeout":
        return Outcome(T.TIMED_OUT, code, timed_out_error(_float(kv.get("timeout_s"))), summary, progress)
    if reason == "stop" and cancel_requested:
        return Outcome(T.CANCELLED, code, "cancelled by operator", summary, progress)
    blocked = kv.get("blocked") or None
    status = outcome_for_exit(code, sig, blocked is not None)
    if sig is not None:
        error = f"killed by {signal_name(sig)}"
        if reason == "stop":
            error += " (its wrapper was told to stop)"
    elif status == T.BLOCKED:
        error = blocked or f"exit {code}"
    elif status == T.FAILED:
        error = f"exit {code}"
    else:
        error = None
    return Outcome(status, code, error, summary, progress)
