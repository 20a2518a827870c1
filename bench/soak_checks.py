"""The chaos soak's verdict: the ledger held against what really happened.

The truth comes from outside the ledger: the marker files the tasks wrote (bench/soak_task.py:
which attempt started, how it exited, whether SIGTERM reached it), the soak's own Record
(what was submitted and accepted, what was cancelled, which wrappers it killed), the output
of every process it ran, and /proc after the drain. Each check is a row of the table:
how many things it looked at, and the violations (offending ids first, then why).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .soak_record import Plan, Record, Runs, read_markers
from .soak_world import SoakProc

CLOCK_SLACK_S = 1.0  # the ledger's and the commands' clocks are one machine's: only rounding and DB time
STARTED = re.compile(r"^(\S+Z) \S+ started on \S+ pid (\d+) ")
KILL_GRACE_S = 1.0  # the soak's supervisors run with --kill-grace 1s
TIMEOUT_SLACK_S = 2.0  # a loaded machine's lateness, beyond the timeout and the grace
TERMINAL = ("succeeded", "blocked", "failed", "timed_out", "cancelled", "lost")
# What must never reach an operator or a journal: lock errors, tracebacks, unexpected errors,
# database errors passed through as such. (Not "not re-attached": two supervisors of one host
# recovering the same run at once, one wins and the other says so; the outcome is judged.)
SURFACED = re.compile(
    r"database is locked|traceback|unexpected|deadlock detected|could not serialize|ledger error"
    r"|recovery failed|^error: ledger |cannot reach ledger|cannot be used|cannot be read|cannot start the supervisor"
    r"|cannot open the ledger|cannot start its wrapper", re.I | re.M)


@dataclass
class Check:
    name: str
    checked: int = 0
    violations: list[str] = field(default_factory=list)
    note: str = ""
    applicable: bool = True

    def fail(self, text: str) -> None:
        self.violations.append(text)


def registrations(home: Path) -> dict[int, float]:
    """When each supervisor pid registered: the first "started on HOST pid N" line of the
    journal (<state>/supervisor.log, every supervisor's, the board's embedded one's too)."""
    found: dict[int, float] = {}
    for name in ("supervisor.log.1", "supervisor.log"):
        path = home / name
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = STARTED.match(line)
            if match and int(match.group(2)) not in found:
                at = datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
                found[int(match.group(2))] = at
    return found


def short(task_or_id: Any) -> str:
    return (task_or_id if isinstance(task_or_id, str) else task_or_id.task_id)[:8]


class Verdict:
    """Everything the checks need, read once; `checks()` returns the rows."""

    def __init__(self, record: Record, home: Path, url: str, *, is_sqlite: bool, audit: dict[str, Any] | None,
                 leftovers: list[SoakProc]) -> None:
        import peewee as pw

        from openclaw_board.ledger import Ledger, LedgerError
        from openclaw_board.ledger.replay import state_at

        self.record, self.home, self.url, self.is_sqlite = record, home, url, is_sqlite
        self.audit, self.leftovers = audit, leftovers
        self.markers, self.unknown_markers = read_markers(home / "markers")
        self.registered = registrations(home)
        self.tasks: list[Any] = []
        self.flows: dict[str, Any] = {}
        self.read_error = ""
        self.replayed: Any = None  # the ledger rebuilt from its event log (the board's time travel)
        self.withdrawn: set[str] = set()
        try:
            with Ledger(url) as ledger:
                m = ledger.m
                self.tasks = list(m.Task.select().order_by(m.Task.created_at))
                self.flows = {f.flow_id: f for f in m.Flow.select()}
                self.replayed = state_at(ledger, ledger.now() + 3_600_000)
                # Retries withdrawn before they started (a late result made them unneeded).
                self.withdrawn = {e.task_id for e in self.replayed.events if e.kind == "withdrawn"}
        except (LedgerError, pw.DatabaseError) as exc:
            self.read_error = f"{type(exc).__name__}: {exc}"
        self.by_id = {t.task_id: t for t in self.tasks}
        self.attempts: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for t in self.tasks:
            self.attempts[(t.flow_id, t.label)].append(t)
        self.lost_justified: set[str] = set()

    def checks(self) -> list[Check]:
        return [self.readable(), self.accepted(), self.runs_known(), self.at_most_once(), self.outcomes(),
                self.cancels(), self.timeouts(), self.lost(), self.times(), self.events(), self.nothing_running(),
                self.drained(), self.surfaced(), self.no_crashes(), self.integrity(), self.audited()]

    # -- what was accepted, and what ran --------------------------------------------------------

    def readable(self) -> Check:
        check = Check("the ledger can be read after the soak", checked=1)
        if self.read_error:
            check.fail(f"reading every task and flow: {self.read_error}")
        return check

    def accepted(self) -> Check:
        check = Check("every accepted submit is in the ledger (flows, task ids)")
        for flow_id in self.record.flows:
            check.checked += 1
            if flow_id not in self.flows:
                check.fail(f"flow {flow_id[:8]}: printed by `submit`, not in the ledger")
        for task_id, (flow_id, label) in self.record.task_ids.items():
            check.checked += 1
            if task_id not in self.by_id:
                check.fail(f"task {task_id[:8]} ({label} of flow {flow_id[:8]}): printed by `submit --json`, "
                           "not in the ledger")
        return check

    def runs_known(self) -> Check:
        check = Check("every run on disk is an attempt in the ledger")
        for task_id, runs in self.markers.items():
            check.checked += 1
            if task_id not in self.by_id:
                check.fail(f"{task_id[:8]}: ran ({runs.describe()}) but the ledger has no such task")
        if self.unknown_markers:
            check.note = f"{self.unknown_markers} marker line(s) from commands whose wrapper was already gone"
        return check

    def at_most_once(self) -> Check:
        check = Check("every attempt ran at most once")
        for task_id, runs in self.markers.items():
            check.checked += 1
            if len(runs.starts) > 1:
                check.fail(f"{task_id[:8]}: started {len(runs.starts)} times")
        return check

    # -- statuses against what the commands did ---------------------------------------------------

    def outcomes(self) -> Check:
        check = Check("succeeded/failed/blocked and exit codes true to the command")
        for t in self.tasks:
            runs = self.markers.get(t.task_id, Runs())
            if t.status in ("queued", "awaiting_approval"):
                if runs.starts:
                    check.fail(f"{short(t)}: {t.status} in the ledger but its command ran ({runs.describe()})")
                continue
            if t.status not in ("succeeded", "failed", "blocked"):
                continue
            check.checked += 1
            if t.task_id in self.withdrawn:
                # A retry withdrawn unstarted: it carries the result its lost parent had after all.
                parent = self.markers.get(t.parent_task_id or "", Runs())
                why = _outcome_problem(t, parent, None, own_exit_code=False)
                why = why and f"withdrawn retry of {(t.parent_task_id or '?')[:8]}: {why}"
            else:
                why = _outcome_problem(t, runs, self.record.plan_of(t.flow_id, t.label))
            if why:
                check.fail(f"{short(t)}: {why}")
        return check

    def cancels(self) -> Check:
        check = Check("cancelled only when a cancel was issued")
        rec = self.record
        for t in self.tasks:
            if t.status != "cancelled":
                continue
            check.checked += 1
            if t.task_id in rec.cancelled_tasks or t.flow_id in rec.cancelled_flows:
                continue
            dep = re.match(r"dependency '([^']+)' ended", t.error or "")
            if dep and any(a.status in TERMINAL and a.status != "succeeded"
                           for a in self.attempts.get((t.flow_id, dep.group(1)), [])):
                continue
            check.fail(f"{short(t)}: cancelled ({t.error}) but no cancel was issued for it or its flow")
        return check

    def timeouts(self) -> Check:
        check = Check("timed_out only past a timeout; no command outlives its timeout")
        for t in self.tasks:
            plan = self.record.plan_of(t.flow_id, t.label)
            runs = self.markers.get(t.task_id, Runs())
            ran_s = runs.exits[-1][2] - runs.starts[-1] if runs.exits and runs.starts else None
            if t.status == "timed_out":
                check.checked += 1
                if plan is not None and plan.timeout_s is None:
                    check.fail(f"{short(t)}: timed_out but it was submitted without a timeout")
                elif plan is not None and ran_s is not None and ran_s < plan.timeout_s - 0.2:
                    check.fail(f"{short(t)}: timed_out but it {runs.describe()} within its {plan.timeout_s:g}s timeout")
            elif plan is not None and plan.timeout_s is not None and runs.starts:
                check.checked += 1
            # A frozen wrapper cannot enforce anything; a killed one must still be made good.
            if plan is not None and plan.timeout_s is not None and ran_s is not None \
                    and t.task_id not in self.record.wrapper_stops \
                    and ran_s > plan.timeout_s + KILL_GRACE_S + TIMEOUT_SLACK_S:
                check.fail(f"{short(t)}: ran {ran_s:.1f} s to its own exit, past its {plan.timeout_s:g}s timeout "
                           f"({t.status}" + (", its wrapper was killed)" if t.task_id in self.record.wrapper_kills
                                             else ")"))
        return check

    def lost(self) -> Check:
        check = Check("no false lost (only after a wrapper kill, a host death, a stop past the lease)")
        reasons: dict[str, int] = defaultdict(int)
        for t in self.tasks:
            if t.status != "lost":
                continue
            check.checked += 1
            why = self._lost_reason(t)
            if why.startswith("false: "):
                check.fail(f"{short(t)}: lost ({t.error}); {why[len('false: '):]}")
            else:
                reasons[why] += 1
        check.note = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        return check

    def _lost_reason(self, t: Any) -> str:
        """Why a lost attempt may rightly be lost, or "false: " and why not."""
        rec, runs = self.record, self.markers.get(t.task_id, Runs())
        if t.exit_code is not None and (not runs.exits or runs.exits[-1][0] != t.exit_code):
            return f"false: lost with a late exit code {t.exit_code}, but the command {runs.describe()}"
        if t.task_id in rec.wrapper_kills:
            return "after a wrapper kill"
        if t.task_id in rec.dead_host_runs:
            return "on the host that died"
        at = (t.ended_at or 0) / 1000
        if "missed its lease" in (t.error or "") and any(
                o.host == t.host and o.covers(at, rec.lease_s - 1, self.registered) for o in rec.outages):
            if runs.exits and runs.exits[-1][2] < at:
                return (f"false: its command had {runs.describe()} {at - runs.exits[-1][2]:.1f} s before "
                        "(a result on disk is not lost)")
            return "after a stop past the lease"
        return (f"false: its wrapper was never killed and its host never out past the lease; "
                f"the command {runs.describe()}")

    def times(self) -> Check:
        check = Check("started_at and ended_at bracket what the command did")
        for t in self.tasks:
            runs = self.markers.get(t.task_id)
            if runs is None or not runs.starts:
                continue
            check.checked += 1
            if t.started_at is None or t.started_at / 1000 > runs.starts[0] + CLOCK_SLACK_S:
                check.fail(f"{short(t)}: started_at {t.started_at} but its command started at "
                           f"{runs.starts[0] * 1000:.0f} (ms)")
            if t.status in TERMINAL and runs.exits and (
                    t.ended_at is None or t.ended_at / 1000 < runs.exits[-1][2] - CLOCK_SLACK_S):
                check.fail(f"{short(t)}: {t.status} with ended_at {t.ended_at}, before its command exited at "
                           f"{runs.exits[-1][2] * 1000:.0f} (ms)")
        return check

    def events(self) -> Check:
        """The board's time travel (ledger/replay.py) rebuilds every status from the event log:
        at the end it must agree with the ledger's rows."""
        check = Check("the event log tells every task's and flow's status (time travel agrees)")
        if self.replayed is None:
            return check
        tasks = {t.task_id: t for t in self.replayed.tasks}
        flows = {f.flow_id: f for f in self.replayed.flows}
        for t in self.tasks:
            check.checked += 1
            told = tasks[t.task_id].status if t.task_id in tasks else "nothing"
            if told != t.status:
                check.fail(f"{short(t)}: the ledger says {t.status}, its events say {told}")
        for f in self.flows.values():
            check.checked += 1
            told = flows[f.flow_id].status if f.flow_id in flows else "nothing"
            if told != f.status:
                check.fail(f"flow {f.flow_id[:8]}: the ledger says {f.status}, its events say {told}")
        return check

    def nothing_running(self) -> Check:
        check = Check("nothing left running after the drain (ledger and processes)")
        for t in self.tasks:
            check.checked += 1
            if t.status == "running":
                check.fail(f"{short(t)}: still running in the ledger (host {t.host}, pid {t.pid})")
        for pid, _, kind, what in self.leftovers:
            if kind == "wrapper":
                status = self.by_id[what].status if what in self.by_id else "not in the ledger"
                check.fail(f"{what[:8]}: its wrapper pid {pid} is alive after the drain; the ledger says {status}")
            else:
                check.fail(f"command of nonce {what} (pid {pid}) is alive after the drain")
        return check

    def drained(self) -> Check:
        check = Check("`supervise --until-idle` drains everything runnable")
        for host, code, stderr in self.record.drains:
            check.checked += 1
            if code != 0:
                last = stderr.strip().splitlines()[-1:] or ["(no output)"]
                check.fail(f"drain on {host}: exit {code}: {last[0]}")
        latest = {(t.flow_id, t.label): t for t in self.tasks if t.is_latest}
        for (flow_id, _), t in latest.items():
            flow = self.flows.get(flow_id)
            if t.status != "queued" or flow is None or flow.cancel_requested_at is not None:
                continue
            deps = json.loads(t.after_json or "[]")
            if all(latest.get((flow_id, d)) is not None and latest[(flow_id, d)].status == "succeeded" for d in deps):
                check.fail(f"{short(t)}: queued and runnable after the drain")
        return check

    # -- what the processes said ------------------------------------------------------------------

    def surfaced(self) -> Check:
        check = Check('no "database is locked", traceback or unexpected error on any output')
        seen: set[str] = set()

        def scan(where: str, text: str) -> None:
            check.checked += 1
            for line in text.splitlines():
                if SURFACED.search(line):
                    message = re.sub(r"^\S+Z [0-9a-f-]{8} ", "", line.strip())[:300]
                    if message not in seen:
                        seen.add(message)
                        check.fail(f"{where}: {message}")

        for call in self.record.calls:
            what = " ".join(call.argv[:2])
            scan(f"`{what}`", call.stderr)
            if call.code is None:
                check.fail(f"`{what}`: did not finish within its time limit")
            elif call.argv[0] == "audit":
                pass  # exit 1 says it found errors: judged by the audit row
            elif call.code not in (0, 1) or (call.code == 1 and "error:" not in call.stderr):
                check.fail(f"`{what}`: exit {call.code} {call.stderr.strip()[:200]!r}")
            elif call.code != 0 and call.argv[0] == "submit":
                check.fail(f"`{what}`: refused: {call.stderr.strip()[:200]}")
        for where, text in self.record.outputs:
            scan(where, text)
        for host, _, stderr in self.record.drains:
            scan(f"drain on {host}", stderr)
        for name in ("supervisor.log.1", "supervisor.log"):
            path = self.home / name
            if path.exists():
                scan(name, path.read_text(errors="replace"))
        for err in sorted((self.home / "runs").glob("*/wrapper.err")):
            if not err.is_file():
                continue  # taken as a directory by recovery: a start it stopped (recovery.py, "Never started")
            text = err.read_text(errors="replace")
            if text.strip():
                check.fail(f"{err.parent.name[:8]} wrapper.err: {text.strip().splitlines()[-1][:200]}")
        return check

    def no_crashes(self) -> Check:
        check = Check("board and supervisors end only when killed or asked, and then do")
        check.checked = len(self.record.outputs)
        for text in self.record.unexpected_exits:
            check.fail(text[:400])
        return check

    def integrity(self) -> Check:
        check = Check("PRAGMA integrity_check", applicable=self.is_sqlite)
        if not self.is_sqlite:
            return check
        check.checked = 1
        conn = sqlite3.connect(str(self.home / "ledger.db"))
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            rows = [f"{type(exc).__name__}: {exc}"]
        finally:
            conn.close()
        if rows != ["ok"]:
            check.violations.extend(rows[:20])
        return check

    def audited(self) -> Check:
        check = Check("`audit`: no errors, flow statuses agree with their tasks (lost: see above)")
        if self.audit is None:
            check.fail("`audit --json` gave no JSON")
            return check
        for f in self.audit["findings"]:
            check.checked += 1
            if f["code"] == "lost":
                continue  # judged, with the reason, by the lost row
            if f["severity"] == "error" or f["code"] == "flow_status_mismatch":
                ref = (f["task_id"] or f["flow_id"] or "")[:8]
                check.fail(f"{ref}: {f['code']}: {f['message']}")
        return check


def _outcome_problem(t: Any, runs: Runs, plan: Plan | None, own_exit_code: bool = True) -> str | None:
    """Why a succeeded/failed/blocked attempt does not match what its command did, or None.
    `own_exit_code`: False for a withdrawn retry, which carries a status but no exit code."""
    if not runs.exits:
        return f"{t.status} (exit {t.exit_code}, {t.error}) but the command {runs.describe()}"
    code, blocked, _ = runs.exits[-1]
    truth = "blocked" if blocked or code == 75 else ("succeeded" if code == 0 else "failed")
    if t.status != truth:
        return f"{t.status} ({t.error or 'no error'}) but the command {runs.describe()} (should be {truth})"
    if own_exit_code and t.exit_code != code:
        return f"{t.status} with exit code {t.exit_code} ({t.error or 'no error'}) but the command exited {code}"
    said = f"soak task {plan.nonce} exits {code}" if plan is not None and "p" in plan.flags else None
    if said is not None and t.terminal_summary != said:
        return f"{t.status} with summary {t.terminal_summary!r}, but its last ::summary was {said!r}"
    return None
