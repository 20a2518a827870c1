"""`OpenClawLedger`: OpenClaw's ledger behind the read API of our own `Ledger`.

Same method names, signatures and return conventions as `Ledger`'s reads (core.py,
queries.py, audit.py), so the CLI and the board use either without knowing which. Every
read works on a snapshot of the whole ledger (snapshot.py), read again only when
`PRAGMA data_version` says another connection committed since the last read. Writes are
refused, or passed to the `openclaw` CLI (actions.py).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from ..api import SupervisorRecord, TaskRecord
from ..audit import Finding, not_repaired
from ..clock import Clock, system_clock
from ..errors import Ambiguous, NotFound
from ..flow_filter import flow_matches
from ..states import ACTIVE_FLOW as BOARD_ACTIVE_FLOW
from . import actions
from .connect import open_readonly
from .location import registry_of, resolve_path
from .openclaw_audit import audit_records
from .openclaw_tables import EventRow, FlowRow, TaskRow
from .rules import ACTIVE_FLOW, ISSUE_FLOW, ISSUE_SHOWN, matches_status, terminal_flow
from .snapshot import Snapshot, snapshot_of
from .timeline import Journal, diff, flow_timeline, merged, task_timeline
from .writes import OpenClawWrites

# Why `maintenance` leaves every finding of an OpenClaw ledger as it is.
GATEWAY_REPAIRS = "OpenClaw's ledger is its gateway's to repair: run `openclaw tasks maintenance --apply`"


class OpenClawLedger(OpenClawWrites):
    kind = "openclaw"
    readonly = True
    is_sqlite = True

    def __init__(self, url: str = "openclaw://", *, clock: Clock | None = None, create: bool = False,
                 readonly: bool = True) -> None:
        # `create` and `readonly` are accepted for Ledger's signature; this ledger is never
        # created and always read-only.
        self.url = url
        self.path = resolve_path(url)
        # An older release's split ledger: flows in flows/registry.sqlite beside tasks/runs.sqlite.
        self.registry = registry_of(self.path)
        self.clock: Clock = clock or system_clock
        self.db, self.schema = open_readonly(self.path, self.registry)
        self._lock = threading.RLock()
        self._snap: Snapshot | None = None
        self._version: int | None = None
        self._journal = Journal()
        self.reads = 0  # how many times the ledger was actually read (for tests and benches)

    # -- plumbing -------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return f"openclaw://{self.path}"

    def close(self) -> None:
        with self._lock:
            if not self.db.is_closed():
                self.db.close()
            self._version = None  # a new connection numbers data_version afresh

    def __enter__(self) -> OpenClawLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> int:
        return self.clock()

    def data_version(self) -> int:
        """Changes whenever another connection committed to the ledger, in either file of a split one.

        `PRAGMA data_version` counts commits to the main database only; an attached
        registry has its own counter (`PRAGMA flows.data_version`), so the two are combined.
        """
        with self._lock:
            version = int(self.db.execute_sql("PRAGMA data_version").fetchone()[0])
            if self.schema.flows_attached:
                version |= int(self.db.execute_sql("PRAGMA flows.data_version").fetchone()[0]) << 32
            return version

    def source_of(self, flow_id: str) -> str | None:
        return None  # one ledger: every flow is its own

    def undelivered_count(self) -> int:
        return 0  # OpenClaw keeps no delivery queue

    def set_busy_timeout(self, ms: int) -> None:
        with self._lock:
            self.db.execute_sql(f"PRAGMA busy_timeout = {int(ms)}")

    def snapshot(self) -> Snapshot:
        """The ledger as of now: re-read only when the gateway committed since the last read."""
        with self._lock:
            version = self.data_version()
            if self._snap is not None and version == self._version:
                return self._snap
            new = snapshot_of(self.db, self.schema)
            self.reads += 1
            if self._snap is None:
                self._journal.append(merged(
                    [e for f in new.flows.values() for e in flow_timeline(f)[:1]]
                    + [e for t in new.tasks.values() for e in task_timeline(t)]))
            else:
                self._journal.append(diff(self._snap, new, self.now()))
            self._snap, self._version = new, version
            return new

    def refresh(self) -> Snapshot:
        """Read again now, whatever data_version says (after an action of ours)."""
        with self._lock:
            self._version = None
        return self.snapshot()

    # -- lookups --------------------------------------------------------------------

    @staticmethod
    def _resolve(rows: dict[str, Any], ref: str, what: str, extra: list[Any] | None = None) -> Any:
        ref = (ref or "").strip()
        if not ref or any(c.isspace() for c in ref):
            raise NotFound(f"no {what} {ref!r}")
        if ref in rows:
            return rows[ref]
        low = ref.lower()
        hits = [row for key, row in rows.items() if key.lower().startswith(low)]
        if not hits and extra:
            hits = extra
        if not hits:
            raise NotFound(f"no {what} {ref!r}")
        if len(hits) > 1:
            ids = ", ".join(sorted(getattr(h, f"{what}_id")[:8] for h in hits)[:5])
            raise Ambiguous(f"{what} id {ref!r} is ambiguous: matches {ids}; give more characters")
        return hits[0]

    def get_task(self, ref: str) -> TaskRow:
        """By id or unique id prefix; also, like `openclaw tasks show`, by run id or session key."""
        tasks = self.snapshot().tasks
        ref = (ref or "").strip()
        others = [t for t in tasks.values() if ref and ref in (t.run_id, t.child_session_key)]
        return self._resolve(tasks, ref, "task", others)

    def get_flow(self, ref: str) -> FlowRow:
        return self._resolve(self.snapshot().flows, ref, "flow")

    def latest_attempts(self, flow_id: str) -> list[TaskRow]:
        return sorted((t for t in self.snapshot().flow_tasks(flow_id) if t.is_latest),
                      key=lambda t: (t.created_at, t.label))

    # -- lists and counts -------------------------------------------------------------

    def list_tasks(self, *, status: str | None = None, runtime: str | None = None, flow: str | None = None,
                   all_attempts: bool = False, limit: int | None = None) -> list[TaskRow]:
        """Newest first; the latest attempt of each task unless `all_attempts`."""
        snap = self.snapshot()
        flow_id = self.get_flow(flow).flow_id if flow else None
        rows = [
            t for t in snap.tasks.values()
            if (all_attempts or t.is_latest) and (not status or matches_status(t, status))
            and (not runtime or t.runtime == runtime) and (flow_id is None or t.flow_id == flow_id)
        ]
        rows.sort(key=lambda t: (t.created_at, t.label, t.attempt), reverse=True)
        return rows[:limit] if limit else rows

    def stream_tasks(self, *, status: str | None = None, runtime: str | None = None, flow: str | None = None,
                     all_attempts: bool = False) -> tuple[int, Iterator[TaskRow]]:
        """list_tasks as (count, rows): an OpenClaw ledger is read whole anyway."""
        rows = self.list_tasks(status=status, runtime=runtime, flow=flow, all_attempts=all_attempts)
        return len(rows), iter(rows)

    def list_flows(self, *, status: str | None = None, limit: int | None = None) -> list[FlowRow]:
        """flow_runs and the one-task flows of standalone tasks, newest first."""
        rows = [f for f in self.snapshot().flows.values() if not status or f.status == status]
        rows.sort(key=lambda f: f.flow_id)
        rows.sort(key=lambda f: f.created_at, reverse=True)
        return rows[:limit] if limit else rows

    def task_counts(self, flow_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        """{flow_id: {status: n}} over latest attempts."""
        if flow_ids is not None and not flow_ids:
            return {}
        wanted = set(flow_ids) if flow_ids is not None else None
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for t in self.snapshot().tasks.values():
            if t.is_latest and (wanted is None or t.flow_id in wanted):
                counts[t.flow_id][t.status] = counts[t.flow_id].get(t.status, 0) + 1
        return dict(counts)

    def task_pressure(self, *, status: str | None = None, runtime: str | None = None) -> dict[str, int]:
        """As `openclaw tasks list [--status S] [--runtime R]` prints it: over every record it
        lists (OpenClaw has no attempts), so a filter narrows the counts too."""
        by = Counter(t.status for t in self.snapshot().tasks.values()
                     if (not status or matches_status(t, status)) and (not runtime or t.runtime == runtime))
        return {"queued": by["queued"], "running": by["running"],
                "issues": sum(by[s] for s in ISSUE_SHOWN)}

    def flow_pressure(self, *, status: str | None = None) -> dict[str, int]:
        """As `openclaw tasks flow list [--status S]` prints it: over the flow_runs rows it lists
        (not our one-task flows of standalone tasks). `waiting` and `issues` are OpenClaw's
        extra segments, printed when non-zero."""
        snap = self.snapshot()
        flows = [snap.flows[f] for f in snap.real_flow_ids if not status or snap.flows[f].status == status]
        return {
            "active": sum(f.status in ACTIVE_FLOW for f in flows),
            "waiting": sum(f.status == "waiting" for f in flows),
            "blocked": sum(f.status == "blocked" for f in flows),
            "issues": sum(f.status in ISSUE_FLOW for f in flows),
            "cancel_requested": sum(f.cancel_requested_at is not None and not terminal_flow(f.status, f.ended_at)
                                    for f in flows),
            "total": len(flows),
        }

    def flow_attempts(self, flow_id: str) -> list[TaskRow]:
        """Every attempt of every task in the flow, oldest first."""
        return sorted(self.snapshot().flow_tasks(flow_id), key=lambda t: (t.created_at, t.label, t.attempt))

    def attempts_of(self, task: TaskRecord) -> list[TaskRow]:
        """The retry chain (parent_task_id links) the task belongs to, first attempt first."""
        tasks = self.snapshot().tasks
        root, seen = task.task_id, {task.task_id}
        while root in tasks:
            parent = tasks[root].parent_task_id
            if parent is None or parent not in tasks or parent in seen:
                break
            root = parent
            seen.add(root)
        children: dict[str, list[str]] = defaultdict(list)
        for t in tasks.values():
            if t.parent_task_id:
                children[t.parent_task_id].append(t.task_id)
        members, todo = {root}, [root]
        while todo:
            for child in children.get(todo.pop(), []):
                if child not in members:
                    members.add(child)
                    todo.append(child)
        return sorted((tasks[i] for i in members if i in tasks), key=lambda t: (t.attempt, t.created_at))

    # -- the board's view: the same three reads as ledger/queries.py offers --

    def flows_matching(self, status: str = "all", text: str = "") -> list[FlowRow]:
        """Flows for the board's filter (`all`, `active`, `issues`, `blocked`) and search text.

        The board's rules (flow_filter.py), the same on every ledger. Newest first.
        """
        snap = self.snapshot()
        latest: dict[str, list[TaskRow]] = defaultdict(list)
        for t in snap.tasks.values():
            if t.is_latest:
                latest[t.flow_id].append(t)
        out = [f for f in snap.flows.values() if flow_matches(f, latest.get(f.flow_id, []), status, text)]
        out.sort(key=lambda f: f.flow_id)
        out.sort(key=lambda f: f.created_at, reverse=True)
        return out

    def board_flows(self, status_filter: str, text: str, *, active_cap: int,
                    terminal_limit: int) -> tuple[list[FlowRow], list[FlowRow], int]:
        flows = self.flows_matching(status_filter, text)
        active = [f for f in flows if f.status in BOARD_ACTIVE_FLOW][:active_cap]
        terminal = sorted((f for f in flows if f.status not in BOARD_ACTIVE_FLOW),
                          key=lambda f: (-f.updated_at, f.flow_id))
        return active, terminal[:terminal_limit], max(0, len(terminal) - terminal_limit)

    def flows_by_ids(self, ids: list[str], status_filter: str = "all", text: str = "") -> list[FlowRow]:
        wanted = set(ids)
        return [f for f in self.flows_matching(status_filter, text) if f.flow_id in wanted]

    def latest_tasks_of(self, flow_ids: list[str]) -> dict[str, list[TaskRow]]:
        """{flow_id: latest attempts, oldest first} for the flows asked for."""
        wanted = set(flow_ids)
        out: dict[str, list[TaskRow]] = {i: [] for i in flow_ids}
        for t in self.snapshot().tasks.values():
            if t.is_latest and t.flow_id in wanted:
                out[t.flow_id].append(t)
        for rows in out.values():
            rows.sort(key=lambda t: (t.created_at, t.label))
        return out

    # -- events -----------------------------------------------------------------------

    def task_events(self, task_id: str) -> list[EventRow]:
        task = self.snapshot().tasks.get(task_id)
        return task_timeline(task) if task is not None else []

    def flow_events(self, flow_id: str, until: int | None = None) -> list[EventRow]:
        snap = self.snapshot()
        flow = snap.flows.get(flow_id)
        if flow is None:
            return []
        events = flow_timeline(flow) + [e for t in snap.flow_tasks(flow_id) for e in task_timeline(t)]
        return merged(e for e in events if until is None or e.at <= until)

    def events_since(self, after_id: int, limit: int = 10_000) -> list[EventRow]:
        self.snapshot()
        return self._journal.since(after_id, limit)

    def last_event_id(self) -> int:
        self.snapshot()
        return self._journal.last_id

    # -- supervisors: OpenClaw's gateway is the supervisor; it keeps no such records --

    def supervisors(self, *, live_only: bool = False) -> list[SupervisorRecord]:
        return []

    def supervisor_alive(self, sup: Any, now: int | None = None) -> bool:
        return False

    def running_on_host(self, host: str) -> list[TaskRow]:
        return [t for t in self.snapshot().tasks.values() if t.raw_status == "running" and t.host == host]

    # -- audit --------------------------------------------------------------------------

    def audit(self) -> list[Finding]:
        snap = self.snapshot()
        flows = [f for f in snap.flows.values() if f.flow_id in snap.real_flow_ids]
        return audit_records(list(snap.tasks.values()), flows, self.now())

    def maintenance(self, *, apply: bool, retention_ms: int | None = None, actor: str = "maintenance") -> dict:
        if apply:
            raise actions.refuse("repair or prune", "run `openclaw tasks maintenance --apply`")
        findings = self.audit()
        return {"applied": False, "findings": [f.as_json() for f in findings], "repairs": [],
                "left": [not_repaired(f, GATEWAY_REPAIRS) for f in findings], "pruned_flows": 0, "run_dirs": []}

    # -- specs' helpers, as Ledger has them ---------------------------------------------

    @staticmethod
    def command_of(task: Any) -> str:
        return task.task

    @staticmethod
    def after_of(task: TaskRecord) -> list[str]:
        return []

    @staticmethod
    def env_of(task: TaskRecord) -> dict[str, str | None]:
        return {}
