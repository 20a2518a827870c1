"""`tasks cancel|retry --status S [--flow F] [--yes]`: one action on every matching task.

The matching tasks are counted and named first, and the operator is asked (No by default);
`--yes` answers for scripts, and without a terminal to ask on, nothing is done without it.
Each task is then acted on in its own transaction: one that changed meanwhile (finished
before its cancel, retried by someone else) is refused and reported, the others still go.
Exit status 1 when any was refused.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from ..ledger.errors import LedgerError
from ..ledger.serialize import task_dict
from ..ledger.states import ACTIVE_TASK, TASK_STATUSES, TERMINAL_TASK
from . import render
from .app import err, fail, open_ledger, print_json

# verb -> (the statuses it applies to, what the question says, its past tense)
VERBS: dict[str, tuple[frozenset[str], str, str]] = {
    "cancel": (ACTIVE_TASK, "Cancel", "cancelled"),
    "retry": (TERMINAL_TASK, "Retry", "retried"),
}
PREVIEW = 5


def bulk_action(verb: str, status: str, flow: str | None, yes: bool, as_json: bool) -> None:
    applies, title, past = VERBS[verb]
    if status not in TASK_STATUSES:
        fail(f"unknown task status {status!r} (valid: {', '.join(TASK_STATUSES)})", code=2)
    if status not in applies:
        fail(f"tasks {verb} --status {status}: a {status} task cannot be {past} "
             f"(valid here: {', '.join(s for s in TASK_STATUSES if s in applies)})", code=2)
    with open_ledger() as ledger:
        flow_id = ledger.get_flow(flow).flow_id if flow else None
        tasks = ledger.list_tasks(status=status, flow=flow_id)
        if not tasks:
            _report(as_json, [], [], f"no {status} tasks" + (f" in flow {render.short(flow_id)}" if flow_id else ""))
            return
        _confirm(title, past, tasks, yes)
        act = ledger.cancel_task if verb == "cancel" else ledger.retry
        done: list[Any] = []
        refused: list[dict[str, str]] = []
        for task in tasks:
            try:
                done.append(act(task.task_id, actor="cli"))
            except LedgerError as exc:
                refused.append({"task_id": task.task_id, "label": task.label, "error": str(exc)})
    _report(as_json, done, refused, f"{render.count_of(len(done), 'task')} {past}")
    if refused:
        raise typer.Exit(1)


def _confirm(title: str, past: str, tasks: list[Any], yes: bool) -> None:
    names = ", ".join(f"{t.label} ({render.short(t.task_id)})" for t in tasks[:PREVIEW])
    more = f" and {len(tasks) - PREVIEW} more" if len(tasks) > PREVIEW else ""
    question = f"{title} {render.count_of(len(tasks), 'task')}: {names}{more}?"
    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question} Not without --yes: there is no terminal to ask on", code=1)
    err.print(render.plain(question))
    if not typer.confirm(f"{title} them", default=False, err=True):
        fail(f"nothing {past}", code=1)


def _report(as_json: bool, done: list[Any], refused: list[dict[str, str]], summary: str) -> None:
    if as_json:
        print_json({"count": len(done), "tasks": [task_dict(t) for t in done], "refused": refused})
        return
    err.print(render.plain(summary))
    for r in refused:
        err.print(render.plain(f"refused: {r['label']} ({render.short(r['task_id'])}): {r['error']}"))
