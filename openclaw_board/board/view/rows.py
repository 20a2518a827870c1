"""The order of the main list: pure functions from flows and tasks to rows.

Live and troubled work first, then recent terminal work; within a group a flow keeps its
place while it runs (ordered by creation, not by last update) so rows do not jump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...ledger.states import ACTIVE_FLOW
from .model import FlowView, Row, TaskView, ViewSpec

RANK = {
    "running": 0, "waiting": 1, "queued": 2,
    "blocked": 3, "failed": 3, "lost": 3,
    "cancelled": 4, "succeeded": 4,
}
SORTS = ("status", "updated", "created", "goal")
AUTO_EXPAND_MAX = 30


def flow_sort_key(flow: FlowView, sort: str) -> tuple[object, ...]:
    if sort == "updated":
        return (-flow.updated_at, flow.flow_id)
    if sort == "created":
        return (-flow.created_at, flow.flow_id)
    if sort == "goal":
        return (flow.goal.casefold(), flow.flow_id)
    rank = RANK.get(flow.status, 5)
    when = flow.created_at if flow.status in ACTIVE_FLOW else flow.updated_at
    return (rank, -when, flow.flow_id)


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
    """What the operator opened, plus live flows (a few) unless the operator closed them."""
    chosen = set(spec.expanded)
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
) -> tuple[Row, ...]:
    ordered = sorted(flows.values(), key=lambda f: flow_sort_key(f, spec.sort))
    opened = expanded_flows(ordered, spec)
    rows: list[Row] = []
    for flow in ordered:
        is_open = flow.flow_id in opened
        rows.append(Row("flow", f"f:{flow.flow_id}", flow=flow, expanded=is_open))
        if is_open:
            children = order_tasks(tasks.get(flow.flow_id, ()))
            for i, task in enumerate(children):
                rows.append(Row("task", f"t:{flow.flow_id}:{task.label}", flow=flow, task=task,
                                last_child=i == len(children) - 1))
    if more > 0:
        rows.append(Row("more", "more", more=more))
    return tuple(rows)
