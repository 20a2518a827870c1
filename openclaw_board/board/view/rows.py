"""The order of the main list: pure functions from flows and tasks to rows.

Live and troubled work first, then recent terminal work; within a group a flow keeps its
place while it runs (ordered by creation, not by last update) so rows do not jump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...ledger.flow_filter import BLOCKED_TASK, ISSUE_TASK
from ...ledger.states import ACTIVE_FLOW, ACTIVE_TASK
from .model import FlowView, Row, TaskView, ViewSpec
from .progress import flow_progress
from .sorting import RANK, SORTS, flow_sort_key, sort_flows, sort_tasks

__all__ = ["RANK", "SORTS", "build_rows", "expanded_flows", "flat_rows", "flow_sort_key", "matched_by_task",
           "order_tasks"]

# The flat view's order: live work first, then what needs a hand, then the settled.
TASK_RANK = {
    "running": 0, "awaiting_approval": 1, "queued": 2,
    "blocked": 3, "failed": 3, "timed_out": 3, "lost": 3,
    "cancelled": 4, "succeeded": 4,
}
# The status filter (keys 1-4) in the flat view: a test on each task, not on its flow.
TASK_FILTER: dict[str, frozenset[str]] = {"active": ACTIVE_TASK, "issues": ISSUE_TASK, "blocked": BLOCKED_TASK}
AUTO_EXPAND_MAX = 30


def matched_by_task(flow: FlowView, text: str) -> bool:
    """Whether a filtered flow is listed only for a task label matching `text` (the ledger's
    filter rule: goal, label, id prefix or a latest task's label): then the board opens it
    and lists the matching tasks."""
    needle = text.strip()
    if not needle:
        return False
    folded = needle.casefold()
    return not (folded in flow.goal.casefold() or folded in (flow.label or "").casefold()
                or flow.flow_id.lower().startswith(needle.lower()))


def order_tasks(tasks: Iterable[TaskView]) -> list[TaskView]:
    """Dependencies before their dependents, then by label: the order work happens in."""
    by_label = {t.label: t for t in tasks}
    depth: dict[str, int] = {}

    def depth_of(label: str, seen: frozenset[str] = frozenset()) -> int:
        if label in depth:
            return depth[label]
        task = by_label.get(label)
        parents = [a for a in (task.after if task else ()) if a in by_label and a not in seen]
        d = 1 + max((depth_of(a, seen | {label}) for a in parents), default=-1)
        depth[label] = d
        return d

    return sorted(by_label.values(), key=lambda t: (depth_of(t.label), t.label))


def expanded_flows(ordered: list[FlowView], spec: ViewSpec) -> set[str]:
    """What the operator opened, plus live flows (a few) unless the operator closed them;
    in the flat view, every flow (its tasks are the rows)."""
    if spec.flat:
        return {f.flow_id for f in ordered}
    chosen = set(spec.expanded)
    chosen |= {f.flow_id for f in ordered if matched_by_task(f, spec.text)}
    auto = 0
    for flow in ordered:
        if auto >= AUTO_EXPAND_MAX:
            break
        if flow.status in ACTIVE_FLOW and flow.flow_id not in spec.collapsed:
            chosen.add(flow.flow_id)
            auto += 1
    return chosen - set(spec.collapsed)


def build_rows(
    flows: Mapping[str, FlowView],
    tasks: Mapping[str, tuple[TaskView, ...]],
    spec: ViewSpec,
    more: int,
    ordered: list[FlowView] | None = None,
) -> tuple[Row, ...]:
    """The rows of the view. `ordered`: `flows` already sorted for `spec` (the caller sorted
    them to know which flows to read tasks of; sorting a big board twice showed in its latency)."""
    if ordered is None:
        ordered = sort_flows(list(flows.values()), spec.sort, spec.reverse)
    if spec.flat:
        return flat_rows(ordered, tasks, spec, more)
    opened = expanded_flows(ordered, spec)
    rows: list[Row] = []
    for flow in ordered:
        is_open = flow.flow_id in opened
        rows.append(Row("flow", f"f:{flow.flow_id}", flow=flow, expanded=is_open,
                        progress=flow_progress(flow, tasks.get(flow.flow_id))))
        if is_open:
            children = sort_tasks(tasks.get(flow.flow_id, ()), spec.sort, spec.reverse, order_tasks)
            if matched_by_task(flow, spec.text):
                needle = spec.text.strip().casefold()
                children = [t for t in children if needle in t.label.casefold()]
            for i, task in enumerate(children):
                rows.append(Row("task", f"t:{flow.flow_id}:{task.label}", flow=flow, task=task,
                                last_child=i == len(children) - 1))
    if more > 0:
        rows.append(Row("more", "more", more=more))
    return tuple(rows)


def flat_rows(
    ordered: list[FlowView],
    tasks: Mapping[str, tuple[TaskView, ...]],
    spec: ViewSpec,
    more: int,
) -> tuple[Row, ...]:
    """Every latest task of the listed flows, one row each, live first, then by the flows'
    order; the status filter applies to each task ("all failed tasks now"). A task keeps the
    key it has in the tree, so the cursor stays on it when the view changes."""
    wanted = TASK_FILTER.get(spec.status)
    found: list[tuple[tuple[object, ...], Row]] = []
    for f_index, flow in enumerate(ordered):
        whole_flow = not matched_by_task(flow, spec.text)
        for t_index, task in enumerate(order_tasks(tasks.get(flow.flow_id, ()))):
            if wanted is not None and task.status not in wanted:
                continue
            if not whole_flow and not _task_has(task, spec.text):
                continue  # the flow matched by another task's label: show the tasks that match
            rank = TASK_RANK.get(task.status, 5)
            recent = -(task.ended_at or 0) if rank >= 3 and spec.sort == "status" else 0
            found.append(((rank if spec.sort == "status" else 0, recent, f_index, t_index),
                          Row("task", f"t:{flow.flow_id}:{task.label}", flow=flow, task=task, flat=True)))
    rows = [row for _, row in sorted(found, key=lambda pair: pair[0])]
    if more > 0:
        rows.append(Row("more", "more", more=more))
    return tuple(rows)


def _task_has(task: TaskView, text: str) -> bool:
    return text.casefold() in task.label.casefold() or task.task_id.startswith(text)
