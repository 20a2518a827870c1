"""Flow specs: TOML files (DESIGN.md, "Flow spec") validated whole before anything is written.

Every error names the file, the task and the field, in one line:
`spec.toml: task 'fetch': timeout: not a duration: 'soon' (use seconds, or 90s, 10m, 2h)`.
Durations are finite, more than zero for a timeout, at most 365 days (`durations.py`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .durations import parse_task_duration
from .errors import SpecError

NOTIFY_POLICIES = ("done_only", "state_changes", "silent")
FLOW_KEYS = {"goal", "label", "notify", "tasks"}
TASK_KEYS = {
    "label", "command", "shell", "cwd", "env", "timeout", "retries", "retry_backoff",
    "after", "requires_approval", "runtime",
}
MAX_TEXT = 4096


@dataclass(frozen=True)
class TaskSpec:
    label: str
    command: list[str] | str
    shell: bool = False
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None
    retries: int = 0
    retry_backoff_s: float = 5.0
    after: tuple[str, ...] = ()
    requires_approval: bool = False
    runtime: str = "cli"


@dataclass(frozen=True)
class FlowSpec:
    goal: str
    tasks: tuple[TaskSpec, ...]
    label: str | None = None
    notify: str = "done_only"
    source: str | None = None


def load_spec(path: str | Path) -> FlowSpec:
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{name}: is a directory, not a spec file") from None
    except OSError as exc:
        raise SpecError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{name}: invalid TOML: {exc}") from None
    spec = parse_spec(data, name)
    return FlowSpec(spec.goal, spec.tasks, spec.label, spec.notify, source=str(path.resolve()))


def parse_spec(data: dict[str, Any], name: str = "<spec>") -> FlowSpec:
    def fail(where: str, msg: str) -> SpecError:
        return SpecError(f"{name}: {where}{msg}")

    unknown = set(data) - FLOW_KEYS
    if unknown:
        raise fail("", f"unknown field {sorted(unknown)[0]!r} (known: {', '.join(sorted(FLOW_KEYS))})")
    goal = data.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        raise fail("", "goal: required, a non-empty string")
    label = data.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise fail("", "label: must be a non-empty string")
    notify = data.get("notify", "done_only")
    if notify not in NOTIFY_POLICIES:
        raise fail("", f"notify: {notify!r} is not one of {', '.join(NOTIFY_POLICIES)}")
    raw_tasks = data.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise fail("", "tasks: at least one [[tasks]] table is required")

    tasks: list[TaskSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tasks, start=1):
        if not isinstance(raw, dict):
            raise fail(f"task #{index}: ", "must be a table")
        tasks.append(_parse_task(raw, index, name, seen))
        seen.add(tasks[-1].label)

    labels = {t.label for t in tasks}
    for t in tasks:
        for dep in t.after:
            if dep not in labels:
                raise fail(f"task {t.label!r}: ", f"after: unknown task {dep!r}")
            if dep == t.label:
                raise fail(f"task {t.label!r}: ", "after: a task cannot wait for itself")
    cycle = find_cycle({t.label: t.after for t in tasks})
    if cycle:
        raise fail(f"task {cycle[0]!r}: ", f"after: dependency cycle {' -> '.join(cycle)}")
    return FlowSpec(goal=goal.strip(), tasks=tuple(tasks), label=label, notify=notify)


def _parse_task(raw: dict[str, Any], index: int, name: str, seen: set[str]) -> TaskSpec:
    label = raw.get("label")
    where = f"task {label!r}: " if isinstance(label, str) and label else f"task #{index}: "

    def fail(msg: str) -> SpecError:
        return SpecError(f"{name}: {where}{msg}")

    unknown = set(raw) - TASK_KEYS
    if unknown:
        raise fail(f"unknown field {sorted(unknown)[0]!r}")
    if not isinstance(label, str) or not label.strip():
        raise fail("label: required, a non-empty string")
    if len(label) > 200:
        raise fail("label: longer than 200 characters")
    if label in seen:
        raise fail("label: duplicate label in this flow")
    shell = raw.get("shell", False)
    if not isinstance(shell, bool):
        raise fail("shell: must be true or false")
    command = raw.get("command")
    if shell:
        if isinstance(command, list) and len(command) == 1 and isinstance(command[0], str):
            command = command[0]
        if not isinstance(command, str) or not command.strip():
            raise fail("command: with shell = true, a non-empty string")
    else:
        if isinstance(command, str):
            raise fail("command: a list of arguments (a string only with shell = true)")
        if not isinstance(command, list) or not command:
            raise fail("command: required, a non-empty list of arguments")
        if not all(isinstance(a, str) for a in command):
            raise fail("command: every argument must be a string")
        if not command[0].strip():
            raise fail("command: the program name is empty")
        if any("\x00" in a for a in command):
            raise fail("command: arguments cannot contain NUL bytes")
    cwd = raw.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd):
        raise fail("cwd: must be a non-empty string")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and k and "=" not in k and isinstance(v, str) for k, v in env.items()
    ):
        raise fail("env: a table of NAME = \"value\" strings")
    try:
        timeout = parse_task_duration(raw["timeout"], positive=True) if "timeout" in raw else None
    except ValueError as exc:
        raise fail(f"timeout: {exc}") from None
    retries = raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        raise fail("retries: a whole number from 0 to 100")
    try:
        backoff = parse_task_duration(raw.get("retry_backoff", "5s"))
    except ValueError as exc:
        raise fail(f"retry_backoff: {exc}") from None
    after = raw.get("after", [])
    if isinstance(after, str):
        after = [after]
    if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
        raise fail("after: a list of task labels")
    approval = raw.get("requires_approval", False)
    if not isinstance(approval, bool):
        raise fail("requires_approval: must be true or false")
    runtime = raw.get("runtime", "cli")
    if not isinstance(runtime, str) or not runtime.strip() or len(runtime) > 32:
        raise fail("runtime: a short non-empty string")
    return TaskSpec(
        label=label, command=command, shell=shell, cwd=cwd, env=dict(env), timeout_s=timeout,
        retries=retries, retry_backoff_s=backoff, after=tuple(dict.fromkeys(after)),
        requires_approval=approval, runtime=runtime,
    )


def find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle as a path that starts and ends on the same label, or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for nxt in graph.get(node, ()):
            if color.get(nxt) == grey:
                return stack[stack.index(nxt):] + [nxt]
            if color.get(nxt) == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = black
        return None

    for node in graph:
        if color[node] == white:
            found = visit(node)
            if found:
                return found
    return None


def command_spec(
    goal: str, argv: list[str], *, label: str | None = None, timeout: str | None = None,
    retries: int = 0, approval: bool = False, shell: bool = False, runtime: str = "cli",
) -> FlowSpec:
    """The one-task flow that `submit --goal G -- CMD ARGS...` makes, validated the same way."""
    task: dict[str, Any] = {
        "label": label or "main",
        "command": " ".join(argv) if shell else list(argv),
        "shell": shell,
        "retries": retries,
        "requires_approval": approval,
        "runtime": runtime,
    }
    if timeout is not None:
        task["timeout"] = timeout
    data: dict[str, Any] = {"goal": goal, "tasks": [task]}
    if label:
        data["label"] = label
    return parse_spec(data, "<command line>")
