"""Which actions apply to which row, and what the confirm dialog says: pure rules.

The Ledger API has the last word (it refuses illegal moves with a reason the board
shows); these rules only decide which keys the footer offers for the selected row.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...ledger.states import ACTIVE_FLOW, ACTIVE_TASK, REOPENABLE_FLOW, TERMINAL_TASK
from .keys import key_of
from .text import clean, short_id


@dataclass(frozen=True)
class Target:
    """What an action applies to: a flow or one task (its latest attempt unless inspected)."""

    kind: str  # "flow" | "task"
    ref: str  # flow_id or task_id
    name: str
    status: str
    flow_id: str
    cancel_requested: bool = False
    counts: tuple[tuple[str, int], ...] = ()
    flow_name: str = ""  # a task's flow's goal, which names the work better than its label


def applies(action: str, target: Target | None) -> bool:
    """Whether a ledger action (cancel, retry, reopen, approve, deny) applies to `target`."""
    if target is None:
        return False
    if target.kind == "flow":
        if action == "cancel":
            return target.status in ACTIVE_FLOW
        if action == "reopen":
            return target.status in REOPENABLE_FLOW
        return False
    if action == "cancel":
        return target.status in ACTIVE_TASK
    if action == "retry":
        return target.status in TERMINAL_TASK
    if action in ("approve", "deny"):
        return target.status == "awaiting_approval"
    return False


def confirm_text(target: Target) -> tuple[str, str]:
    """(title, body) naming exactly what will be stopped."""
    name = clean(target.name, 120)
    if target.kind == "task":
        what = "stop its running process" if target.status == "running" else f"cancel it ({target.status})"
        return (f"Cancel task {_quoted(target)}?",
                f"Task {name} ({short_id(target.ref)}) is {target.status}: this will {what}.\n"
                "Tasks that wait on it will be cancelled too.")
    counts = dict(target.counts)
    running = counts.get("running", 0)
    waiting = counts.get("queued", 0) + counts.get("awaiting_approval", 0)
    parts = []
    if running:
        parts.append(f"stop {running} running task" + ("s" if running != 1 else ""))
    if waiting:
        parts.append(f"cancel {waiting} queued or waiting task" + ("s" if waiting != 1 else ""))
    body = " and ".join(parts) if parts else "mark it cancelled"
    return (f"Cancel flow {_quoted(target)}?",
            f"Flow {name} ({short_id(target.ref)}) is {target.status}: this will {body}.\n"
            f"Nothing new will start in it; reopen ({key_of('reopen')}) brings it back later.")


def _quoted(target: Target) -> str:
    """`'send' of 'Send the winter campaign…'`: a task by its label and its flow's goal."""
    name = f"'{clean(target.name, 80)}'"
    if target.kind == "task" and target.flow_name:
        name += f" of '{clean(target.flow_name, 80)}'"
    return name


def question(action: str, target: Target) -> tuple[str, str, str]:
    """(title, body, yes-button) of the dialog every action that starts, stops or discards
    work asks first: it names the work and says what will happen to it."""
    if action == "cancel":
        title, body = confirm_text(target)
        return title, body, "Yes, cancel it"
    name, ident = _quoted(target), short_id(target.ref)
    if action == "approve":
        return (f"Approve {name}?", f"Task {ident} awaits approval: it will start.\n"
                "Tasks that wait on it may start after it.", "Yes, approve it")
    if action == "deny":
        return (f"Deny {name}?", f"Task {ident} awaits approval: it will be cancelled, and never start.\n"
                "Tasks that wait on it will be cancelled too.", "Yes, deny it")
    if action == "retry":
        return (f"Retry {name}?", f"Task {ident} is {target.status}: a new attempt will be queued, and it will "
                "start when a supervisor picks it up.", "Yes, retry it")
    if action == "reopen":
        return (f"Reopen flow {name}?", f"Flow {ident} is {target.status}: the tasks that did not succeed will be "
                "queued again, and they will start.", "Yes, reopen it")
    raise ValueError(f"no question for {action!r}")


VERB = {
    "cancel": ("cancel_task", "cancel_flow"),
    "retry": ("retry", None),
    "reopen": (None, "reopen"),
    "approve": ("approve", None),
    "deny": ("deny", None),
}


def ledger_call(action: str, target: Target) -> str | None:
    """The Ledger method for this action on this kind of target."""
    task_verb, flow_verb = VERB.get(action, (None, None))
    return task_verb if target.kind == "task" else flow_verb


def done_text(action: str, target: Target) -> str:
    past = {"cancel": "cancel requested for", "retry": "retrying", "reopen": "reopened",
            "approve": "approved", "deny": "denied"}[action]
    return f"{past} {target.kind} {clean(target.name, 60)}"
