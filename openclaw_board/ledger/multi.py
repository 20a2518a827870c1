"""Several ledgers read as one: the board watching our ledger and an OpenClaw install at once.

Reads fan out to every source and merge; lookups and actions go to the source that holds
the id. Each source keeps its own event ids, so this adapter hands out ids of its own:
`events_since` asks every source for what is new since that source's cursor and numbers
the results on one counter. `source_of(flow_id)` names where a flow comes from, so that
each row on the board can show it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .api import EventRecord, FlowRecord, ReadLedger, SupervisorRecord, TaskRecord
from .errors import Ambiguous, NotFound

_R = TypeVar("_R")


@dataclass(frozen=True)
class MergedEvent:
    id: int
    flow_id: str
    task_id: str | None
    kind: str
    at: int
    source: str


def source_name(url: str, kind: str, taken: set[str]) -> str:
    base = "openclaw" if kind == "openclaw" else "board"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


class MultiLedger:
    """The reads and operator actions of api.py over several ledgers; `sources` is
    [(name, ledger)]."""

    kind = "multi"
    is_sqlite = False

    def __init__(self, sources: Sequence[tuple[str, ReadLedger]]) -> None:
        if len(sources) < 2:
            raise ValueError("MultiLedger needs at least two ledgers")
        self.sources = list(sources)
        self.readonly = all(led.readonly for _, led in sources)
        self._flow_source: dict[str, str] = {}
        self._cursors = {name: led.last_event_id() for name, led in sources}
        self._counter = 0

    # -- plumbing ---------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return " + ".join(led.display_url for _, led in self.sources)

    def now(self) -> int:
        return self.sources[0][1].now()

    def close(self) -> None:
        for _, led in self.sources:
            led.close()

    def __enter__(self) -> MultiLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def source_of(self, flow_id: str) -> str | None:
        return self._flow_source.get(flow_id)

    def set_busy_timeout(self, ms: int) -> None:
        for _, led in self.sources:
            led.set_busy_timeout(ms)

    def data_version(self) -> int | None:
        return None  # several databases: no one counter says whether any changed

    def undelivered_count(self) -> int:
        return sum(led.undelivered_count() for _, led in self.sources)

    def _note(self, name: str, flows: Sequence[FlowRecord]) -> list[FlowRecord]:
        for f in flows:
            self._flow_source[f.flow_id] = name
        return list(flows)

    # -- lookups and actions: the first source that knows the id -------------------------

    def _first(self, call: Callable[[ReadLedger], _R], ref: str, what: str) -> _R:
        found: list[tuple[str, _R]] = []
        ambiguous: Ambiguous | None = None
        for name, led in self.sources:
            try:
                found.append((name, call(led)))
            except Ambiguous as exc:
                ambiguous = exc
            except NotFound:
                continue
        if len(found) > 1:
            raise Ambiguous(f"{what} id {ref!r} matches in {found[0][0]} and {found[1][0]}; give more characters")
        if found:
            return found[0][1]
        if ambiguous is not None:
            raise ambiguous
        raise NotFound(f"no {what} {ref!r}")

    def get_task(self, ref: str) -> TaskRecord:
        return self._first(lambda led: led.get_task(ref), ref, "task")

    def get_flow(self, ref: str) -> FlowRecord:
        return self._first(lambda led: led.get_flow(ref), ref, "flow")

    def _ledger_of_task(self, ref: str) -> ReadLedger:
        return self._first(lambda led: (led.get_task(ref), led)[1], ref, "task")

    def _ledger_of_flow(self, ref: str) -> ReadLedger:
        return self._first(lambda led: (led.get_flow(ref), led)[1], ref, "flow")

    # Actions and per-record reads go to the ledger holding the id.

    def cancel_task(self, ref: str, actor: str = "cli") -> TaskRecord:
        return self._ledger_of_task(ref).cancel_task(ref, actor)

    def retry(self, ref: str, actor: str = "cli") -> TaskRecord:
        return self._ledger_of_task(ref).retry(ref, actor)

    def approve(self, ref: str, actor: str = "cli") -> TaskRecord:
        return self._ledger_of_task(ref).approve(ref, actor)

    def deny(self, ref: str, actor: str = "cli", reason: str | None = None) -> TaskRecord:
        return self._ledger_of_task(ref).deny(ref, actor, reason)

    def cancel_flow(self, ref: str, actor: str = "cli") -> FlowRecord:
        return self._ledger_of_flow(ref).cancel_flow(ref, actor)

    def reopen(self, ref: str, actor: str = "cli") -> FlowRecord:
        return self._ledger_of_flow(ref).reopen(ref, actor)

    def task_events(self, task_id: str) -> Sequence[EventRecord]:
        return self._ledger_of_task(task_id).task_events(task_id)

    def flow_events(self, flow_id: str, until: int | None = None) -> Sequence[EventRecord]:
        return self._ledger_of_flow(flow_id).flow_events(flow_id, until)

    def flow_attempts(self, flow_id: str) -> Sequence[TaskRecord]:
        return self._ledger_of_flow(flow_id).flow_attempts(flow_id)

    def latest_attempts(self, flow_id: str) -> Sequence[TaskRecord]:
        return self._ledger_of_flow(flow_id).latest_attempts(flow_id)

    def attempts_of(self, task: TaskRecord) -> Sequence[TaskRecord]:
        return self._ledger_of_task(task.task_id).attempts_of(task)

    def command_of(self, task: TaskRecord) -> list[str] | str:
        return self._ledger_of_task(task.task_id).command_of(task)

    def after_of(self, task: TaskRecord) -> list[str]:
        return self._ledger_of_task(task.task_id).after_of(task)

    def env_of(self, task: TaskRecord) -> Mapping[str, str | None]:
        return self._ledger_of_task(task.task_id).env_of(task)

    # -- merged reads -------------------------------------------------------------------

    def board_flows(self, status_filter: str, text: str, *, active_cap: int,
                    terminal_limit: int) -> tuple[list[FlowRecord], list[FlowRecord], int]:
        active: list[FlowRecord] = []
        terminal: list[FlowRecord] = []
        more = 0
        for name, led in self.sources:
            a, t, m = led.board_flows(status_filter, text, active_cap=active_cap,
                                      terminal_limit=terminal_limit)
            active += self._note(name, a)
            terminal += self._note(name, t)
            more += m
        active.sort(key=lambda f: f.created_at, reverse=True)
        terminal.sort(key=lambda f: (-f.updated_at, f.flow_id))
        more += max(0, len(terminal) - terminal_limit)
        return active[:active_cap], terminal[:terminal_limit], more

    def flows_by_ids(self, ids: list[str], status_filter: str = "all", text: str = "") -> list[FlowRecord]:
        out: list[FlowRecord] = []
        for name, led in self.sources:
            out += self._note(name, led.flows_by_ids(ids, status_filter, text))
        return out

    def latest_tasks_of(self, flow_ids: list[str]) -> dict[str, list[TaskRecord]]:
        out: dict[str, list[TaskRecord]] = {i: [] for i in flow_ids}
        for _, led in self.sources:
            for flow_id, tasks in led.latest_tasks_of(flow_ids).items():
                if tasks:
                    out[flow_id] = list(tasks)
        return out

    def task_counts(self, flow_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for _, led in self.sources:
            out.update(led.task_counts(flow_ids))
        return out

    def _summed(self, read: Callable[[ReadLedger], dict[str, int]]) -> dict[str, int]:
        total: dict[str, int] = {}
        for _, led in self.sources:
            for key, n in read(led).items():
                total[key] = total.get(key, 0) + n
        return total

    def task_pressure(self) -> dict[str, int]:
        return self._summed(lambda led: led.task_pressure())

    def flow_pressure(self) -> dict[str, int]:
        return self._summed(lambda led: led.flow_pressure())

    def supervisors(self, *, live_only: bool = False) -> list[SupervisorRecord]:
        return [s for _, led in self.sources for s in led.supervisors(live_only=live_only)]

    def list_flows(self, *, status: str | None = None, limit: int | None = None) -> list[FlowRecord]:
        flows = [f for name, led in self.sources
                 for f in self._note(name, led.list_flows(status=status, limit=limit))]
        return sorted(flows, key=lambda f: f.created_at, reverse=True)

    def list_tasks(self, *, status: str | None = None, runtime: str | None = None, flow: str | None = None,
                   all_attempts: bool = False, limit: int | None = None) -> list[TaskRecord]:
        tasks = [t for _, led in self.sources for t in led.list_tasks(
            status=status, runtime=runtime, flow=flow, all_attempts=all_attempts, limit=limit)]
        return sorted(tasks, key=lambda t: t.created_at, reverse=True)

    def stream_tasks(self, *, status: str | None = None, runtime: str | None = None, flow: str | None = None,
                     all_attempts: bool = False) -> tuple[int, Iterator[TaskRecord]]:
        rows = self.list_tasks(status=status, runtime=runtime, flow=flow, all_attempts=all_attempts)
        return len(rows), iter(rows)

    # -- change feed on one counter -------------------------------------------------------

    def last_event_id(self) -> int:
        for name, led in self.sources:
            newest = led.last_event_id()
            if newest != self._cursors[name]:
                self._cursors[name] = newest
                self._counter += 1
        return self._counter

    def events_since(self, after_id: int, limit: int = 10_000) -> list[MergedEvent]:
        """What is new in any source since this adapter last looked (after_id is ours)."""
        out: list[MergedEvent] = []
        for name, led in self.sources:
            events = led.events_since(self._cursors[name], limit=limit)
            if events:
                self._cursors[name] = events[-1].id
            for ev in events:
                self._counter += 1
                out.append(MergedEvent(self._counter, ev.flow_id, ev.task_id, ev.kind, ev.at, name))
        return out


def open_ledgers(urls: str | list[str] | tuple[str, ...], **kw: Any) -> ReadLedger:
    """One URL: that ledger (ours or OpenClaw's). Several: a MultiLedger over all of them."""
    from .openclaw import open_any

    if isinstance(urls, str):
        return open_any(urls, **kw)
    if len(urls) == 1:
        return open_any(urls[0], **kw)
    opened: list[tuple[str, ReadLedger]] = []
    try:
        for url in urls:
            led = open_any(url, **kw)
            name = source_name(url, led.kind, {n for n, _ in opened})
            opened.append((name, led))
    except Exception:
        for _, led in opened:
            led.close()
        raise
    return MultiLedger(opened)
