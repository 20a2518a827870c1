"""Bulk actions on marked rows: which targets an action applies to, why the others are
skipped, what the confirm dialog asks and what the toast says afterwards. Pure rules.

The UI decides what it can from the rows it has (a finished task cannot be cancelled); the
Ledger API still has the last word on each target, and its refusals are counted as skipped too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...ledger.states import ACTIVE_FLOW, ACTIVE_TASK
from .targets import Target, applies, ledger_call
from .text import clean

PAST = {"cancel": "cancelled", "retry": "retried", "reopen": "reopened", "approve": "approved", "deny": "denied"}


@dataclass(frozen=True)
class Plan:
    """What a bulk action will do: (ledger verb, ref, name, kind) per target it applies to, and
    the reasons the other marked rows are skipped, counted."""

    action: str
    todo: tuple[tuple[str, str, str, str], ...]
    skipped: tuple[tuple[str, int], ...]

    @property
    def marked(self) -> int:
        return len(self.todo) + sum(n for _, n in self.skipped)


def skip_reason(action: str, target: Target) -> str:
    """Why `action` does not apply to `target`, in a few words for the toast."""
    if ledger_call(action, target) is None:
        return "not a task" if target.kind == "flow" else "not a flow"
    live = target.status in (ACTIVE_FLOW if target.kind == "flow" else ACTIVE_TASK)
    if action == "retry" or action == "reopen":
        return "not finished yet" if live else f"already {target.status}"
    if action in ("approve", "deny") and live:
        return "not awaiting approval"
    return "already finished"


def plan(action: str, targets: Iterable[Target]) -> Plan:
    todo: list[tuple[str, str, str, str]] = []
    skipped: Counter[str] = Counter()
    for target in targets:
        verb = ledger_call(action, target)
        if verb is not None and applies(action, target):
            todo.append((verb, target.ref, target.name, target.kind))
        else:
            skipped[skip_reason(action, target)] += 1
    return Plan(action, tuple(todo), tuple(sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))))


def _noun(kinds: Sequence[str]) -> str:
    tasks, flows = kinds.count("task"), kinds.count("flow")
    if tasks and flows:
        return f"{tasks} task{'s' if tasks != 1 else ''} and {flows} flow{'s' if flows != 1 else ''}"
    n, what = (tasks, "task") if tasks else (flows, "flow")
    return f"{n} marked {what}{'s' if n != 1 else ''}"


def confirm_text(p: Plan) -> tuple[str, str]:
    """(title, body): "Cancel 3 marked tasks?", naming them and what will be skipped."""
    title = f"{p.action.capitalize()} {_noun([kind for *_, kind in p.todo])}?"
    names = [clean(name, 60) for _, _, name, _ in p.todo]
    shown = names[:8] + ([f"… and {len(names) - 8} more"] if len(names) > 8 else [])
    body = "\n".join(f"• {name}" for name in shown)
    if p.skipped:
        body += "\nSkipped: " + ", ".join(f"{n} {why}" for why, n in p.skipped) + "."
    return title, body


def summary(action: str, done: int, skipped: Iterable[tuple[str, int]]) -> str:
    """"2 cancelled, 1 already finished": what was done, then why the rest was not."""
    parts = [f"{done} {PAST[action]}"]
    parts += [f"{n} {why}" for why, n in skipped if n]
    return ", ".join(parts)
