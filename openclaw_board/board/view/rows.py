"""The order of the main list: pure functions from flows and tasks to rows.

Live and troubled work first, then recent terminal work; within a group a flow keeps its
place while it runs (ordered by creation, not by last update) so rows do not jump.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...ledger.states import ACTIVE_FLOW
from .model import FlowView, Row, TaskView, ViewSpec
from .sorting import RANK, SORTS, flow_sort_key, sort_flows, sort_tasks

__all__ = ["RANK", "SORTS", "build_rows", "expanded_flows", "flow_sort_key", "matched_by_task", "order_tasks"]

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
    """What the operator opened, plus live flows (a few) unless the operator closed them."""
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
) -> tuple[Row, ...]:
    ordered = sort_flows(list(flows.values()), spec.sort, spec.reverse)
    opened = expanded_flows(ordered, spec)
    rows: list[Row] = []
    for flow in ordered:
        is_open = flow.flow_id in opened
        rows.append(Row("flow", f"f:{flow.flow_id}", flow=flow, expanded=is_open))
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
