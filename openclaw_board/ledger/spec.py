"""Flow specs: TOML files (DESIGN.md, "Flow spec") validated whole before anything is written.

Every error names the file, the task and the field, in one line:
`spec.toml: task 'fetch': timeout: not a duration: 'soon' (use seconds, or 90s, 10m, 2h)`.
Durations are finite, more than zero for a timeout, at most 365 days (`durations.py`).
An error quotes at most 40 characters of what it refuses (`errors.quoted`).

Limits (README, "Security"): a spec is data that someone else may have written, and what
it holds ends up in the ledger, on the board and in an exec(); past these it is refused
whole, so that nothing is accepted now that fails, or floods a terminal, later.
`env_passthrough` (top level, and per task) names variables of the supervisor's own
environment that a task receives; they are kept in `TaskSpec.env` as NAME = None.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .durations import parse_task_duration
from .envpolicy import PASSTHROUGH_RE, never_passed
from .errors import SpecError, quoted
from .notify_targets import Target, parse_targets
from .schedule_spec import ScheduleSpec, parse_schedule

NOTIFY_POLICIES = ("done_only", "state_changes", "silent")
FLOW_KEYS = {"goal", "label", "notify", "tasks", "env_passthrough", "schedule", "notify_command", "notify_to"}
TASK_KEYS = {
    "label", "command", "shell", "cwd", "env", "env_passthrough", "timeout", "retries",
    "retry_backoff", "after", "requires_approval", "runtime", "approval_timeout",
}

MAX_SPEC_BYTES = 1 << 20  # the spec file
MAX_TASKS = 10_000  # tasks in one spec
MAX_GOAL = 4096  # characters
MAX_LABEL = 200  # characters, a flow's label and a task's
MAX_COMMAND_BYTES = 64 << 10  # argv (or the shell string), UTF-8 bytes with one NUL per argument
MAX_ENV_BYTES = 64 << 10  # NAME=value pairs added by `env`, UTF-8 bytes with one NUL each
MAX_PATH = 4096  # cwd
MAX_PASSTHROUGH = 100  # names in one env_passthrough list


@dataclass(frozen=True)
class TaskSpec:
    label: str
    command: list[str] | str
    shell: bool = False
    cwd: str | None = None
    env: dict[str, str | None] = field(default_factory=dict)  # None: passed from the supervisor's env
    timeout_s: float | None = None
    retries: int = 0
    retry_backoff_s: float = 5.0
    after: tuple[str, ...] = ()
    requires_approval: bool = False
    runtime: str = "cli"
    approval_timeout_s: float | None = None  # denied when not approved within this


@dataclass(frozen=True)
class FlowSpec:
    goal: str
    tasks: tuple[TaskSpec, ...]
    label: str | None = None
    notify: str = "done_only"
    source: str | None = None
    # A spec with a [schedule] table makes a schedule, whose firings make flows from `data`
    # (the spec as given, without its schedule), validated again at each firing.
    schedule: ScheduleSpec | None = None
    notify_targets: tuple[Target, ...] = ()  # notify_command, notify_to (notify_targets.py)
    data: dict[str, Any] | None = field(default=None, compare=False, repr=False)


def load_spec(path: str | Path) -> FlowSpec:
    path = Path(path)
    name = str(path)
    raw = _read_spec_file(path, name)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{name}: invalid TOML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{name}: invalid TOML: arrays or tables nested too deeply") from None
    return replace(parse_spec(data, name), source=str(path.resolve()))


def _read_spec_file(path: Path, name: str) -> bytes:
    """At most MAX_SPEC_BYTES of a regular file (not a FIFO or a device: those would hang)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise SpecError(f"{name}: no such file") from None
    except OSError as exc:
        raise SpecError(f"{name}: cannot read: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SpecError(f"{name}: is a directory, not a spec file")
        if not stat.S_ISREG(st.st_mode):
            raise SpecError(f"{name}: not a regular file")
        if st.st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{name}: larger than {MAX_SPEC_BYTES >> 10} KiB")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"{name}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{name}: larger than {MAX_SPEC_BYTES >> 10} KiB")
    return raw


def parse_spec(data: dict[str, Any], name: str = "<spec>") -> FlowSpec:
    def fail(where: str, msg: str) -> SpecError:
        return SpecError(f"{name}: {where}{msg}")

    unknown = set(data) - FLOW_KEYS
    if unknown:
        raise fail("", f"unknown field {quoted(sorted(unknown)[0])} (known: {', '.join(sorted(FLOW_KEYS))})")
    goal = data.get("goal")
    if not isinstance(goal, str) or not goal.strip():
        raise fail("", "goal: required, a non-empty string")
    if len(goal) > MAX_GOAL:
        raise fail("", f"goal: longer than {MAX_GOAL} characters")
    label = data.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise fail("", "label: must be a non-empty string")
    if label is not None and len(label) > MAX_LABEL:
        raise fail("", f"label: longer than {MAX_LABEL} characters")
    notify = data.get("notify", "done_only")
    if notify not in NOTIFY_POLICIES:
        raise fail("", f"notify: {quoted(notify)} is not one of {', '.join(NOTIFY_POLICIES)}")
    try:
        passthrough = _passthrough(data.get("env_passthrough", []))
    except ValueError as exc:
        raise fail("", f"env_passthrough: {exc}") from None
    raw_tasks = data.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise fail("", "tasks: at least one [[tasks]] table is required")
    if len(raw_tasks) > MAX_TASKS:
        raise fail("", f"tasks: more than {MAX_TASKS} tasks in one spec")

    tasks: list[TaskSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tasks, start=1):
        if not isinstance(raw, dict):
            raise fail(f"task #{index}: ", "must be a table")
        tasks.append(_parse_task(raw, index, name, seen, passthrough))
        seen.add(tasks[-1].label)

    for t in tasks:
        for dep in t.after:
            if dep not in seen:
                raise fail(f"task {quoted(t.label)}: ", f"after: unknown task {quoted(dep)}")
            if dep == t.label:
                raise fail(f"task {quoted(t.label)}: ", "after: a task cannot wait for itself")
    cycle = find_cycle({t.label: t.after for t in tasks})
    if cycle:
        shown = cycle if len(cycle) <= 6 else [*cycle[:3], "…", *cycle[-2:]]
        path = " -> ".join(s if s == "…" else quoted(s, 20) for s in shown)
        raise fail(f"task {quoted(cycle[0])}: ", f"after: dependency cycle {path}")
    schedule = parse_schedule(data["schedule"], lambda msg: fail("", msg)) if "schedule" in data else None
    targets = parse_targets(data.get("notify_command"), data.get("notify_to"), lambda msg: fail("", msg))
    body = {k: v for k, v in data.items() if k != "schedule"}
    return FlowSpec(goal=goal.strip(), tasks=tuple(tasks), label=label, notify=notify, schedule=schedule,
                    notify_targets=targets, data=body)


def _passthrough(value: object) -> tuple[str, ...]:
    """Variable names (or NAME_* prefixes) a task takes from the supervisor's environment."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of variable names, e.g. [\"AWS_PROFILE\", \"LC_*\"]")
    if len(value) > MAX_PASSTHROUGH:
        raise ValueError(f"more than {MAX_PASSTHROUGH} names")
    for item in value:
        if not PASSTHROUGH_RE.match(item):
            raise ValueError(f"{quoted(item)} is not a variable name (or a NAME_* prefix)")
        if never_passed(item):
            raise ValueError(f"{quoted(item)} is never passed to a task: it may hold the ledger's credentials")
    return tuple(dict.fromkeys(value))


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass")) + 1  # + the NUL that ends it in exec()


def _parse_task(
    raw: dict[str, Any], index: int, name: str, seen: set[str], flow_passthrough: tuple[str, ...] = (),
) -> TaskSpec:
    label = raw.get("label")
    where = f"task {quoted(label)}: " if isinstance(label, str) and label else f"task #{index}: "

    def fail(msg: str) -> SpecError:
        return SpecError(f"{name}: {where}{msg}")

    unknown = set(raw) - TASK_KEYS
    if unknown:
        raise fail(f"unknown field {quoted(sorted(unknown)[0])}")
    if not isinstance(label, str) or not label.strip():
        raise fail("label: required, a non-empty string")
    if len(label) > MAX_LABEL:
        raise fail(f"label: longer than {MAX_LABEL} characters")
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
        words = [command]
    else:
        if isinstance(command, str):
            raise fail("command: a list of arguments (a string only with shell = true)")
        if not isinstance(command, list) or not command:
            raise fail("command: required, a non-empty list of arguments")
        if not all(isinstance(a, str) for a in command):
            raise fail("command: every argument must be a string")
        if not command[0].strip():
            raise fail("command: the program name is empty")
        words = command
    if any("\x00" in a for a in words):
        raise fail("command: arguments cannot contain NUL bytes")
    if sum(_utf8_size(a) for a in words) > MAX_COMMAND_BYTES:
        raise fail(f"command: longer than {MAX_COMMAND_BYTES >> 10} KiB (put a long script in a file)")
    cwd = raw.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd or "\x00" in cwd or len(cwd) > MAX_PATH):
        raise fail(f"cwd: a non-empty path of at most {MAX_PATH} characters")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and k and "=" not in k and "\x00" not in k and isinstance(v, str) and "\x00" not in v
        for k, v in env.items()
    ):
        raise fail("env: a table of NAME = \"value\" strings")
    if sum(_utf8_size(f"{k}={v}") for k, v in env.items()) > MAX_ENV_BYTES:
        raise fail(f"env: larger than {MAX_ENV_BYTES >> 10} KiB")
    try:
        passthrough = _passthrough(raw.get("env_passthrough", []))
    except ValueError as exc:
        raise fail(f"env_passthrough: {exc}") from None
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
    if len(after) > MAX_TASKS:
        raise fail(f"after: more than {MAX_TASKS} labels")
    approval = raw.get("requires_approval", False)
    if not isinstance(approval, bool):
        raise fail("requires_approval: must be true or false")
    try:
        approval_timeout = (parse_task_duration(raw["approval_timeout"], positive=True)
                            if "approval_timeout" in raw else None)
    except ValueError as exc:
        raise fail(f"approval_timeout: {exc}") from None
    if approval_timeout is not None and not approval:
        raise fail("approval_timeout: only with requires_approval = true")
    runtime = raw.get("runtime", "cli")
    if not isinstance(runtime, str) or not runtime.strip() or len(runtime) > 32:
        raise fail("runtime: a short non-empty string")
    # Passed-through names are NAME = None; a value the spec sets itself wins over them.
    merged: dict[str, str | None] = dict.fromkeys((*flow_passthrough, *passthrough))
    merged.update(env)
    return TaskSpec(
        label=label, command=command, shell=shell, cwd=cwd, env=merged, timeout_s=timeout,
        retries=retries, retry_backoff_s=backoff, after=tuple(dict.fromkeys(after)),
        requires_approval=approval, runtime=runtime, approval_timeout_s=approval_timeout,
    )


def find_cycle(graph: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A dependency cycle as a path that starts and ends on the same label, or None.

    Iterative (an explicit stack, not recursion): a valid chain of thousands of tasks is
    as deep as it is long, and must not hit Python's recursion limit."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(graph, white)
    for root in graph:
        if color[root] != white:
            continue
        color[root] = grey
        path = [root]
        # One iterator per node on the path: the edges of that node still to look at.
        edges = [iter(graph.get(root, ()))]
        while edges:
            nxt = next(edges[-1], None)
            if nxt is None:
                color[path.pop()] = black
                edges.pop()
                continue
            state = color.get(nxt)
            if state == grey:
                return path[path.index(nxt):] + [nxt]
            if state == white:
                color[nxt] = grey
                path.append(nxt)
                edges.append(iter(graph.get(nxt, ())))
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


def with_default_targets(spec: FlowSpec, defaults: tuple[Target, ...]) -> FlowSpec:
    """The spec with the config file's result targets when it names none of its own; kept in
    its data too, so that a schedule's firings carry them, whichever host fires them."""
    if spec.notify_targets or not defaults:
        return spec
    data = dict(spec.data or {})
    command = next((json.loads(t.target) for t in defaults if t.kind == "command"), None)
    urls = [t.target for t in defaults if t.kind == "url"]
    if command:
        data["notify_command"] = command
    if urls:
        data["notify_to"] = urls
    return replace(spec, notify_targets=defaults, data=data)
