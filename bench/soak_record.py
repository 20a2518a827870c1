"""What the chaos soak knows independently of the ledger: what it asked for, and what it did.

`Plan`: what one submitted task will do (its exit codes, sleep, timeout, retries...), so
that the checks can hold the ledger's story against it. `Record`: every accepted submit,
every cancel, deny, wrapper kill and supervisor fault, every CLI call with its stderr.
Writers and the chaos append to it from their threads; the checks read it at the end.
`Runs` / `read_markers`: what each attempt's command did, from the marker files that
bench/soak_task.py writes.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TASK_SCRIPT = str(Path(__file__).with_name("soak_task.py"))
DEFAULT_LEASE_S = 15.0  # `supervise --lease` default: a supervisor silent this long may be declared dead


@dataclass
class Plan:
    """One task of a submitted flow, as the soak chose it."""

    label: str
    nonce: str
    codes: list[int]
    sleep_s: float
    flags: str = "-"  # p: progress lines, b: a ::blocked line
    timeout_s: float | None = None
    retries: int = 0
    approval: bool = False
    after: list[str] = field(default_factory=list)

    def argv(self, markers: Path) -> list[str]:
        return [sys.executable, "-I", "-S", TASK_SCRIPT, str(markers), self.nonce,
                ",".join(map(str, self.codes)), f"{self.sleep_s:g}", self.flags]

    def toml(self, markers: Path) -> str:
        lines = ["[[tasks]]", f"label = {json.dumps(self.label)}",
                 f"command = {json.dumps(self.argv(markers))}",
                 f"retries = {self.retries}", 'retry_backoff = "1s"']
        if self.timeout_s is not None:
            lines.append(f'timeout = "{self.timeout_s:g}s"')
        if self.after:
            lines.append(f"after = {json.dumps(self.after)}")
        if self.approval:
            lines.append("requires_approval = true")
        return "\n".join(lines) + "\n"


def random_plan(rng: random.Random, label: str, nonce: str) -> Plan:
    """A task that succeeds, fails, blocks, fails once then succeeds, times out, or runs long."""
    kind = rng.choices(["ok", "fail", "blocked", "blocked_line", "flaky", "timeout", "long"],
                       weights=[30, 12, 8, 4, 12, 8, 10])[0]
    sleep_s = round(rng.choice([0, 0.1, 0.3, 0.6, 1.0, 1.5]), 2)
    plan = Plan(label, nonce, [0], sleep_s, flags=rng.choice(["-", "-", "p"]))
    if kind == "fail":
        plan.codes = [rng.choice([1, 3, 7])]
        plan.retries = rng.choice([0, 0, 1])
    elif kind == "blocked":
        plan.codes = [75]
    elif kind == "blocked_line":
        plan.codes, plan.flags = [0], "b"
    elif kind == "flaky":
        plan.codes, plan.retries = [1, 0], 1
    elif kind == "timeout":
        plan.sleep_s, plan.timeout_s = 5.0, 1.0  # far past it: an unenforced timeout shows
    elif kind == "long":
        plan.sleep_s = round(rng.uniform(2.0, 4.0), 2)
        plan.timeout_s = rng.choice([None, 20.0])  # a timeout it never reaches
    if rng.random() < 0.1:
        plan.approval = True
    return plan


@dataclass
class CliCall:
    argv: list[str]
    code: int | None  # None: it did not finish in time
    stdout: str
    stderr: str
    at: float


@dataclass
class Fault:
    at: float
    target: str  # "board", "sup-a", "sup-b", or "wrapper <task id>"
    kind: str  # SIGKILL, SIGSTOP, SIGSTOP past the lease, restart, alone, host death, unexpected exit...
    detail: str = ""  # e.g. how long


@dataclass
class Outage:
    """A supervisor that could not heartbeat: SIGSTOPped until its SIGCONT, or killed until
    its next incarnation registered (a restart under load may take seconds to get there)."""

    host: str
    actor: str
    start: float
    end: float | None = None  # SIGCONT or restart; None: it never came back during the chaos
    restarted_pid: int | None = None  # the next incarnation, when it was killed

    def covers(self, at: float, at_least_s: float, registered: dict[int, float]) -> bool:
        """Was it out at `at` (give or take a few seconds), for `at_least_s` or more?
        `registered`: when each supervisor pid registered (its journal's "started on")."""
        end = self.end if self.end is not None else float("inf")
        if self.restarted_pid is not None:
            end = max(end, registered.get(self.restarted_pid, float("inf")))
        return end - self.start >= at_least_s and self.start <= at <= end + 5


class Record:
    def __init__(self, lease_s: float = DEFAULT_LEASE_S) -> None:
        self.lease_s = lease_s  # the standalone supervisors' --lease (the board's is the default)
        self.lock = threading.Lock()
        self.started = time.time()
        self.flows: dict[str, dict[str, Plan]] = {}  # accepted flow id -> {label: plan}
        self.task_ids: dict[str, tuple[str, str]] = {}  # task id printed by submit -> (flow, label)
        self.cancelled_tasks: set[str] = set()  # `tasks cancel` / `tasks deny` accepted
        self.cancelled_flows: set[str] = set()  # `flows cancel` accepted
        self.wrapper_kills: dict[str, float] = {}  # task id -> when its wrapper was SIGKILLed
        self.wrapper_stops: set[str] = set()  # task ids whose wrapper was SIGSTOPped a while
        self.dead_host_runs: set[str] = set()  # task ids running on the host that died at the end
        self.faults: list[Fault] = []
        self.outages: list[Outage] = []
        self.calls: list[CliCall] = []
        self.unexpected_exits: list[str] = []
        self.outputs: list[tuple[str, str]] = []  # (which process, what it printed): board and supervisors
        self.drains: list[tuple[str, int | None, str]] = []  # (host, exit status, stderr)

    def accepted(self, flow_id: str, plans: list[Plan], task_ids: dict[str, str] | None = None) -> None:
        with self.lock:
            self.flows[flow_id] = {p.label: p for p in plans}
            for label, task_id in (task_ids or {}).items():
                self.task_ids[task_id] = (flow_id, label)

    def fault(self, target: str, kind: str, detail: str = "") -> None:
        with self.lock:
            self.faults.append(Fault(time.time(), target, kind, detail))

    def outage(self, host: str, actor: str) -> Outage:
        with self.lock:
            self.outages.append(Outage(host, actor, time.time()))
            return self.outages[-1]

    def call(self, call: CliCall) -> None:
        with self.lock:
            self.calls.append(call)

    def plan_of(self, flow_id: str, label: str) -> Plan | None:
        return self.flows.get(flow_id, {}).get(label)

    def fault_counts(self) -> dict[str, int]:
        """How many faults of each kind, e.g. {"supervisor SIGKILL": 12, "wrapper SIGSTOP": 3}."""
        counts: dict[str, int] = {}
        for f in self.faults:
            who = "wrapper" if f.target.startswith("wrapper") else ("board" if f.target == "board" else "supervisor")
            key = f"{who} {f.kind}"
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


@dataclass
class Runs:
    """What the marker file says one attempt (task id) did."""

    starts: list[float] = field(default_factory=list)
    exits: list[tuple[int, bool, float]] = field(default_factory=list)  # (code, ::blocked printed, when)
    terms: list[float] = field(default_factory=list)

    def describe(self) -> str:
        if not self.starts:
            return "never started"
        if self.exits:
            code, blocked, _ = self.exits[-1]
            return f"exited {code}" + (" after ::blocked" if blocked else "")
        return "got SIGTERM" if self.terms else "started, no exit line (killed)"


def read_markers(markers: Path) -> tuple[dict[str, Runs], int]:
    """{task id: Runs}, and how many lines could not name their task."""
    runs: dict[str, Runs] = defaultdict(Runs)
    unknown = 0
    for path in markers.iterdir():
        for line in path.read_text(errors="replace").splitlines():
            words = line.split()
            if len(words) < 3:
                continue
            kind, task_id = words[0], words[1]
            if task_id == "?":
                unknown += 1
                continue
            if kind == "start":
                runs[task_id].starts.append(float(words[3]))
            elif kind == "exit":
                runs[task_id].exits.append((int(words[2]), words[3] == "1", float(words[4])))
            elif kind == "term":
                runs[task_id].terms.append(float(words[2]))
    return dict(runs), unknown
