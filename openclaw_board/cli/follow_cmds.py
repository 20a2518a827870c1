"""`tasks follow` and `flows follow`: transitions and output lines as they happen.

Events come from the ledger (`ledger.follow`: each once, in id order, resumable with
`--since EVENT_ID`), so they work on SQLite and PostgreSQL and for runs on any host. Output
lines come from the run's log when it is on this host, else from the tail its supervisor
keeps in the ledger (`task.log_tail`, its last 4 KiB, refreshed as it changes): lines that
scrolled past between two refreshes are marked by one `[... output skipped ...]` line.
Output is live only: with `--since` (a reconnect) it starts at the current end, and `tasks
logs` has the whole log.

With `--json`, one object per line (JSON Lines), flushed at once:
  {"type": "event", "event_id", "at", "flow_id", "task_id", "label", "kind", "from", "to", "actor", "detail"}
  {"type": "output", "task_id", "label", "line"}
  {"type": "end", "status"}
Exit status: 0 when the task or flow succeeded, 1 when it ended otherwise.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from ..ledger.clock import iso
from ..ledger.follow import FollowedEvent, Scope, flow_scope, follow, task_scope
from ..ledger.openclaw import OpenClawLedger
from ..safetext import visible
from . import render
from .app import fail, flows_app, open_ledger, out, settings, tasks_app

SINCE = typer.Option(0, "--since", metavar="EVENT_ID", min=0,
                     help="Resume after this event id (the last one a previous follow printed).")
JSON_LINES = typer.Option(False, "--json", help="One JSON object per line (JSON Lines) for scripts.")
SUCCEEDED = frozenset({"succeeded"})


SKIPPED = "[... output skipped ...]"


def tail_growth(before: list[str], now: list[str]) -> tuple[list[str], bool]:
    """The lines of `now` (a sliding window of a log's last lines) not in `before` (the window
    an earlier look saw), and whether lines may have been missed in between: the new ones
    follow the longest end of `before` that `now` starts with. A window that repeats a line
    is read the way that adds the fewest lines."""
    for overlap in range(min(len(before), len(now)), 0, -1):
        if before[len(before) - overlap:] == now[:overlap]:
            return now[overlap:], False
    return now, bool(before) and bool(now)


class LedgerTail:
    """The whole lines of a task's output tail in the ledger that an earlier look did not see."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def new_lines(self, tail: str | None, final: bool) -> list[str]:
        text = tail or ""
        lines = text.split("\n")
        if not final or text.endswith("\n"):
            lines.pop()  # "" after the last newline, or a line still being written
        fresh, gap = tail_growth(self.seen, lines)
        self.seen = lines
        return ([SKIPPED] if gap else []) + fresh


class OutputTail:
    """New whole lines of every log in the scope (a partial line waits for its end): from the
    file on this host, from the ledger's tail for a run on another host."""

    def __init__(self, scope: Scope, from_start: bool, host: str) -> None:
        self.scope, self.from_start, self.host = scope, from_start, host
        self._cursors: dict[str, Any] = {}
        self._partial: dict[str, bytes] = {}
        self._remote: dict[str, LedgerTail] = {}

    def lines(self, final: bool = False) -> list[tuple[str, str, str]]:
        """(task_id, label, line) for each line written since the last call."""
        from ..supervisor.logs import LogCursor, log_path

        found: list[tuple[str, str, str]] = []
        Task = self.scope.ledger.m.Task
        for task in Task.select(Task.task_id, Task.label, Task.run_dir, Task.host, Task.log_tail).where(
                Task.task_id.in_(list(self.scope.attempts())) & Task.run_dir.is_null(False)):
            if task.host is not None and task.host != self.host:
                found.extend((task.task_id, task.label, line) for line in self._ledger_lines(task, final))
                continue
            if task.task_id not in self._cursors:
                if not log_path(task.run_dir).exists():
                    continue  # has not written yet
                cursor = LogCursor(task.run_dir)
                if not self.from_start:
                    while cursor.read_new():
                        pass
                self._cursors[task.task_id] = cursor
            data = self._partial.pop(task.task_id, b"") + self._cursors[task.task_id].read_new()
            *whole, rest = data.split(b"\n")
            if rest and final:
                whole.append(rest)
            elif rest:
                self._partial[task.task_id] = rest
            found.extend((task.task_id, task.label, line.decode("utf-8", "replace")) for line in whole)
        return found

    def _ledger_lines(self, task: Any, final: bool) -> list[str]:
        remote = self._remote.get(task.task_id)
        if remote is None:
            remote = self._remote[task.task_id] = LedgerTail()
            if not self.from_start:
                remote.new_lines(task.log_tail, final=False)  # a reconnect starts at the current end
        return remote.new_lines(task.log_tail, final)


def _event_json(ev: FollowedEvent) -> dict[str, Any]:
    return {"type": "event", "event_id": ev.event_id, "at": iso(ev.at), "flow_id": ev.flow_id,
            "task_id": ev.task_id, "label": ev.label, "kind": ev.kind, "from": ev.from_status,
            "to": ev.to_status, "actor": ev.actor, "detail": ev.detail}


def _event_text(ev: FollowedEvent) -> str:
    change = f"{ev.from_status or '-'} → {ev.to_status}" if ev.to_status else ""
    parts = [render.when(ev.at), f"#{ev.event_id}", ev.label or "(flow)", ev.kind, change,
             render.clip(ev.detail or "")]
    return "  ".join(p for p in parts if p)


class Printer:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def _line(self, text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def event(self, ev: FollowedEvent) -> None:
        if self.as_json:
            self._line(json.dumps(_event_json(ev), ensure_ascii=False))
        else:
            self._line(visible(_event_text(ev)))

    def output(self, task_id: str, label: str, line: str) -> None:
        if self.as_json:
            self._line(json.dumps({"type": "output", "task_id": task_id, "label": label, "line": line},
                                  ensure_ascii=False))
        else:
            # A task's bytes never reach the terminal as control sequences.
            self._line(f"{visible(label)} | {visible(line)}")

    def end(self, status: str) -> None:
        if self.as_json:
            self._line(json.dumps({"type": "end", "status": status}))
        else:
            out.print(render.plain("ended: ") + render.status_text(status))


def _run(scope_of: Any, ref: str, since: int, as_json: bool) -> None:
    with open_ledger() as ledger:
        if isinstance(ledger, OpenClawLedger):
            fail("follow works on openclaw-board ledgers; an OpenClaw ledger is read with `tasks show`")
        scope = scope_of(ledger, ref)
        printer = Printer(as_json)
        tail = OutputTail(scope, from_start=since == 0, host=settings().host)

        def flush_output(final: bool = False) -> None:
            for task_id, label, line in tail.lines(final):
                printer.output(task_id, label, line)

        final = None
        for item in follow(scope, since, on_idle=flush_output):
            if isinstance(item, str):
                final = item
                break
            printer.event(item)  # output goes out when the events caught up (on_idle) and at the end
        flush_output(final=True)
        assert final is not None
        printer.end(final)
    raise typer.Exit(0 if final in SUCCEEDED else 1)


@tasks_app.command("follow", epilog="Exit status: 0 when the task succeeded, 1 when it ended otherwise.")
def tasks_follow(task: str = typer.Argument(..., metavar="TASK"), as_json: bool = JSON_LINES,
                 since: int = SINCE) -> None:
    """Transitions and output of a task (every attempt) as they happen, until it ends."""
    _run(task_scope, task, since, as_json)


@flows_app.command("follow", epilog="Exit status: 0 when the flow succeeded, 1 when it ended otherwise.")
def flows_follow(flow: str = typer.Argument(..., metavar="FLOW"), as_json: bool = JSON_LINES,
                 since: int = SINCE) -> None:
    """Transitions and output of every task of a flow as they happen, until the flow ends."""
    _run(flow_scope, flow, since, as_json)


__all__ = ["LedgerTail", "OutputTail", "tail_growth", "flows_follow", "tasks_follow"]
