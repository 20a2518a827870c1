"""Ledger commands: submit, flows, tasks, audit, maintenance.

Thin: parse the arguments, call the Ledger API, render with `render` (humans) or
`ledger.serialize` (`--json`, the shapes of DESIGN.md). Refusals raise `LedgerError`,
which `open_ledger` turns into one `error:` line and exit 1.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

from ..ledger import command_spec, load_spec
from ..ledger.audit import DEFAULT_RETENTION_MS
from ..ledger.durations import parse_duration, parse_task_duration
from ..ledger.openclaw import OpenClawLedger
from ..ledger.serialize import event_dict, flow_dict, task_dict
from ..ledger.states import FLOW_STATUSES, TASK_STATUSES, TERMINAL_TASK
from . import render
from .app import app, err, fail, flows_app, open_ledger, out, print_json, print_json_list, settings, tasks_app

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def check_status(status: str | None, valid: tuple[str, ...], what: str) -> None:
    """A status filter that matches nothing because it is misspelt is a usage error, not an empty list."""
    if status is not None and status not in valid:
        fail(f"unknown {what} status {status!r} (valid: {', '.join(valid)})", code=2)


def task_event(event: Any) -> dict[str, Any]:
    """An event as `tasks show --json` has it: at, kind, from, to, detail (plus who did it)."""
    full = event_dict(event)
    return {key: full[key] for key in ("at", "kind", "from", "to", "detail", "actor")}


def extras(row: Any) -> dict[str, Any]:
    """An OpenClaw record's own columns (delivery status, notify policy...) under "openclaw";
    nothing for our own rows, whose shape DESIGN.md fixes."""
    extra = dict(row.extra_fields())  # empty for ours
    return {"openclaw": extra} if extra else {}


def say(line: str) -> None:
    """One literal line of human output; a narrow terminal may wrap it, Rich must not split it."""
    out.print(render.plain(line), soft_wrap=True)


def flow_json(ledger: Any, flow: Any) -> dict[str, Any]:
    return flow_dict(flow, ledger.task_counts([flow.flow_id]).get(flow.flow_id, {}))


# -- submit -----------------------------------------------------------------------------


class _KeepsDashDash(TyperCommand):
    """Click merges the arguments before and after `--` into one list; remember which came after,
    so that a stray word before `--` is refused rather than run as part of the command."""

    # `ctx` is the Context of the click that typer vendors (typer._click, private): Any, not typer.Context.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[AFTER_DASHDASH] = args[args.index("--") + 1:] if "--" in args else []
        return super().parse_args(ctx, args)


AFTER_DASHDASH = "openclaw_board.after_dashdash"


@app.command(cls=_KeepsDashDash)
def submit(
    ctx: typer.Context,
    args: list[str] = typer.Argument(None, metavar="SPEC.toml | -- CMD ARGS...",
                                     help="A flow spec file, or with --goal the command to run."),
    goal: str | None = typer.Option(None, "--goal", "-g", help="Goal of a one-task flow that runs CMD."),
    label: str | None = typer.Option(None, "--label", "-l", help="Label of the task (and the flow)."),
    timeout: str | None = typer.Option(None, "--timeout", metavar="DURATION", help="e.g. 90, 90s, 10m, 2h."),
    retries: int = typer.Option(0, "--retries", min=0, max=100, help="Automatic retries after a failure."),
    approval: bool = typer.Option(False, "--approval", help="Wait for `tasks approve` before running."),
    shell: bool = typer.Option(False, "--shell", help="Run CMD through the shell (one string)."),
    as_json: bool = JSON,
) -> None:
    """Add a flow from a spec file, or a one-task flow from a command; print its id."""
    args = list(args or [])
    after = ctx.meta.get(AFTER_DASHDASH, [])
    before = args[:len(args) - len(after)]
    if goal is not None and before:
        fail(f"unexpected argument {before[0]!r} before --: the command goes after it "
             "(submit --goal G [OPTIONS] -- CMD ARGS...)", code=2)
    if goal is None and after:
        fail("a command after -- needs --goal G (or give a spec file: submit SPEC.toml)", code=2)
    if goal is None:
        if len(args) != 1:
            fail("give one spec file (submit SPEC.toml), or a goal and a command "
                 "(submit --goal G -- CMD ARGS...)", code=2)
        if label or timeout or retries or approval or shell:
            fail("--label, --timeout, --retries, --approval and --shell go with --goal; "
                 "a spec file sets them per task", code=2)
    elif not args:
        fail("--goal needs a command to run: submit --goal G -- CMD ARGS...", code=2)
    if timeout is not None:
        try:
            parse_task_duration(timeout, positive=True)  # the spec's own rule, said about the flag
        except ValueError as exc:
            fail(f"--timeout: {exc}")
    with open_ledger() as ledger:
        if goal is None:
            spec = load_spec(args[0])
        else:
            spec = command_spec(goal, args, label=label, timeout=timeout, retries=retries,
                                approval=approval, shell=shell)
        flow_id, tasks = ledger.submit(spec)
    if as_json:
        print_json({"flow_id": flow_id, "tasks": tasks})
    else:
        say(flow_id)


# -- flows ------------------------------------------------------------------------------


@flows_app.command("list")
def flows_list(
    status: str | None = typer.Option(None, "--status", "-s", help=f"One of: {', '.join(FLOW_STATUSES)}."),
    as_json: bool = JSON,
) -> None:
    """Flows, newest first, headed by the flow pressure line."""
    check_status(status, FLOW_STATUSES, "flow")
    with open_ledger() as ledger:
        flows = ledger.list_flows(status=status)
        counts = ledger.task_counts([f.flow_id for f in flows]) if flows else {}
        if as_json:
            rows = [flow_dict(f, counts.get(f.flow_id, {})) for f in flows]
            print_json({"count": len(rows), "flows": rows})
            return
        out.print(render.flow_pressure_line(_flow_pressure(ledger, status)))
        out.print(render.flows_table(flows, counts, ledger.now(), width=out.width) if flows else "No flows.")


@flows_app.command("show")
def flows_show(flow: str = typer.Argument(..., metavar="FLOW", help="Flow id or unique prefix."),
               as_json: bool = JSON) -> None:
    """A flow and every attempt of its tasks, oldest first."""
    with open_ledger() as ledger:
        row = ledger.get_flow(flow)
        tasks = ledger.flow_attempts(row.flow_id)
        if as_json:
            print_json(flow_json(ledger, row) | extras(row) | {"tasks": [task_dict(t) for t in tasks]})
            return
        counts = ledger.task_counts([row.flow_id]).get(row.flow_id, {})
        out.print(render.flow_detail(row, counts, tasks, ledger.now(), width=out.width))


@flows_app.command("cancel")
def flows_cancel(flow: str = typer.Argument(..., metavar="FLOW"), as_json: bool = JSON) -> None:
    """Sticky cancel: queued work is cancelled now, running work is stopped, nothing new starts."""
    with open_ledger() as ledger:
        row = ledger.cancel_flow(flow)
        _flow_done(ledger, row, as_json, "cancel requested")


@flows_app.command("reopen")
def flows_reopen(flow: str = typer.Argument(..., metavar="FLOW"), as_json: bool = JSON) -> None:
    """Turn a blocked, failed, cancelled or lost flow back into live work (new attempts)."""
    with open_ledger() as ledger:
        row = ledger.reopen(flow)
        _flow_done(ledger, row, as_json, "reopened")


def _say_external(row: Any) -> None:
    """An OpenClaw ledger's actions run `openclaw tasks ...`: show what it answered (on stderr,
    so that --json output stays one document)."""
    answer = row.external_answer
    if answer:
        err.print(render.plain(f"openclaw: {answer.strip()}", multiline=True))


def _flow_done(ledger: Any, row: Any, as_json: bool, what: str) -> None:
    _say_external(row)
    if as_json:
        print_json(flow_json(ledger, row))
    else:
        say(f"flow {render.short(row.flow_id)} {what}: now {row.status}")


# -- tasks ------------------------------------------------------------------------------


@tasks_app.command("list")
def tasks_list(
    status: str | None = typer.Option(None, "--status", "-s", help=f"One of: {', '.join(TASK_STATUSES)}."),
    runtime: str | None = typer.Option(None, "--runtime", "-r", help="Only tasks of this runtime."),
    flow: str | None = typer.Option(None, "--flow", "-f", metavar="FLOW", help="Only this flow's tasks."),
    all_attempts: bool = typer.Option(False, "--all-attempts", help="Every attempt, not only the latest."),
    as_json: bool = JSON,
) -> None:
    """Tasks, newest first (the latest attempt of each), headed by the task pressure line."""
    check_status(status, TASK_STATUSES, "task")
    with open_ledger() as ledger:
        if as_json:
            count, rows = ledger.stream_tasks(status=status, runtime=runtime, flow=flow, all_attempts=all_attempts)
            print_json_list("tasks", count, (task_dict(t) for t in rows))
            return
        tasks = ledger.list_tasks(status=status, runtime=runtime, flow=flow, all_attempts=all_attempts)
        out.print(render.task_pressure_line(_task_pressure(ledger, status, runtime)))
        out.print(render.tasks_table(tasks, ledger.now(), width=out.width) if tasks else "No tasks.")


def _task_pressure(ledger: Any, status: str | None, runtime: str | None) -> dict[str, int]:
    """OpenClaw's `tasks list` counts the pressure over the records it lists, so a filter narrows
    it; on our ledger the line is the whole ledger's, as the board heads it."""
    if isinstance(ledger, OpenClawLedger):
        return ledger.task_pressure(status=status, runtime=runtime)
    return ledger.task_pressure()


def _flow_pressure(ledger: Any, status: str | None) -> dict[str, int]:
    """As `_task_pressure`, for `openclaw tasks flow list --status S`."""
    if isinstance(ledger, OpenClawLedger):
        return ledger.flow_pressure(status=status)
    return ledger.flow_pressure()


@tasks_app.command("show")
def tasks_show(task: str = typer.Argument(..., metavar="TASK", help="Task id or unique prefix."),
               as_json: bool = JSON) -> None:
    """A task attempt and its events."""
    with open_ledger() as ledger:
        row = ledger.get_task(task)
        events = ledger.task_events(row.task_id)
        if as_json:
            print_json(task_dict(row) | extras(row) | {"events": [task_event(e) for e in events]})
            return
        out.print(render.task_detail(row, ledger.command_of(row), ledger.after_of(row), events, ledger.now(),
                                     width=out.width))


def _task_action(verb: str, ref: str, as_json: bool) -> None:
    with open_ledger() as ledger:
        action = {"cancel": ledger.cancel_task, "retry": ledger.retry,
                  "approve": ledger.approve, "deny": ledger.deny}[verb]
        row = action(ref)
    _say_external(row)
    if as_json:
        print_json(task_dict(row))
    elif verb == "retry":
        say(f"task {render.short(row.task_id)} ({row.label}): attempt {row.attempt}, {row.status} "
            f"(retry of {render.short(row.parent_task_id)})")
    else:
        note = " (cancel requested; its supervisor stops it)" if verb == "cancel" and row.status == "running" else ""
        say(f"task {render.short(row.task_id)} ({row.label}): {row.status}{note}")


@tasks_app.command("cancel")
def tasks_cancel(task: str = typer.Argument(..., metavar="TASK"), as_json: bool = JSON) -> None:
    """Cancel a task: at once when queued or awaiting approval; a running one is stopped."""
    _task_action("cancel", task, as_json)


@tasks_app.command("retry")
def tasks_retry(task: str = typer.Argument(..., metavar="TASK"), as_json: bool = JSON) -> None:
    """A new attempt of a finished task, in the same flow."""
    _task_action("retry", task, as_json)


@tasks_app.command("approve")
def tasks_approve(task: str = typer.Argument(..., metavar="TASK"), as_json: bool = JSON) -> None:
    """Let a task that awaits approval run."""
    _task_action("approve", task, as_json)


@tasks_app.command("deny")
def tasks_deny(task: str = typer.Argument(..., metavar="TASK"), as_json: bool = JSON) -> None:
    """Refuse a task that awaits approval (it is cancelled)."""
    _task_action("deny", task, as_json)


@tasks_app.command("logs")
def tasks_logs(
    task: str = typer.Argument(..., metavar="TASK"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output until the task ends."),
) -> None:
    """A task attempt's output (stdout and stderr merged), from its run directory."""
    from ..supervisor import logs

    with open_ledger() as ledger:
        row = ledger.get_task(task)
        ref, task_id = render.short(row.task_id), row.task_id
        if follow:
            # Queued or just claimed: wait for the supervisor to record where the log goes.
            while not row.run_dir and row.status not in TERMINAL_TASK:
                time.sleep(0.25)
                row = ledger.get_task(task_id)
        if not row.run_dir:
            fail(f"task {ref} has no log yet ({row.status})")
        path = logs.log_path(row.run_dir)
        if not path.exists() and not (follow and row.status not in TERMINAL_TASK):
            # Ran on another host: its full log is there, its latest output is in the ledger.
            view = logs.read_log_anywhere(ledger, row, host=settings().host, state=settings().state_dir)
            if view.source != "ledger":
                fail(f"task {ref} has no log at {path}" + (f" ({view.note})" if view.note else ""))
            err.print(render.plain(f"({view.note})"))
            emit([view.data])
            return
        if not follow:
            emit([logs.read_log(row.run_dir)])
            return

        def done() -> bool:
            return ledger.get_task(task_id).status in TERMINAL_TASK

        emit(logs.follow(row.run_dir, done=done))


def emit(chunks: Iterable[bytes]) -> None:
    """Raw bytes to a pipe; to a terminal, without the escape sequences and control characters
    a task could use to take it over (`logs.for_terminal`)."""
    from ..supervisor.logs import for_terminal

    if sys.stdout.isatty():
        chunks = for_terminal(chunks, sys.stdout.encoding or "utf-8")
    for chunk in chunks:
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


# -- audit and maintenance -------------------------------------------------------------


@app.command(epilog="Exit status: 1 when a finding has severity error (every finding is still "
             "printed, JSON too), 0 otherwise; scripts can run `openclaw-board audit || alert`.")
def audit(as_json: bool = JSON) -> None:
    """Findings about stale, lost, stuck or inconsistent records; exit 1 if any is an error."""
    with open_ledger() as ledger:
        findings = ledger.audit()
    if as_json:
        print_json({"count": len(findings), "findings": [f.as_json() for f in findings]})
    else:
        out.print(render.findings_view(findings))
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(1)


@app.command()
def maintenance(
    apply: bool = typer.Option(False, "--apply", help="Repair and prune (without it: only say what it would do)."),
    retention: str = typer.Option("7d", "--retention", metavar="DURATION",
                                  help="Prune terminal flows that ended longer ago than this."),
    as_json: bool = JSON,
) -> None:
    """Repair what the audit can repair; prune terminal flows past the retention period."""
    try:
        retention_ms = int(parse_duration(retention) * 1000) if retention else DEFAULT_RETENTION_MS
    except ValueError as exc:
        fail(f"--retention: {exc}", code=2)
    with open_ledger() as ledger:
        result = ledger.maintenance(apply=apply, retention_ms=retention_ms)
    result["run_dirs_removed"] = remove_run_dirs(result.get("run_dirs", [])) if apply else 0
    if as_json:
        print_json(result)
        return
    repairs = render.count_of(len(result["repairs"]), "finding")
    pruned = render.count_of(result["pruned_flows"], "flow")
    if apply:
        line = (f"Repaired {repairs}, pruned {pruned} past {retention}, "
                f"removed {render.count_of(result['run_dirs_removed'], 'run directory', 'run directories')}.")
    else:
        line = f"Would repair {repairs} and prune {pruned} past {retention}: run with --apply to do it."
    say(line)
    for r in result["repairs"]:
        say(f"  {_where(r)}: {r['action']}")
    left = result["left"]
    if left:
        say(f"{'Left' if apply else 'Will leave'} {render.count_of(len(left), 'finding')} as "
            f"{'it is' if len(left) == 1 else 'they are'}:")
        for f in left:
            say(f"  {f['severity']} {_where(f)}: {f['reason']}")


def _where(item: dict[str, Any]) -> str:
    """`lost flow 3f2a1b0c task 9c1e2d3f`: a finding's code and the records it is about."""
    return f"{item['code']} flow {render.short(item['flow_id']) or '-'} task {render.short(item['task_id']) or '-'}"


def remove_run_dirs(paths: list[str]) -> int:
    """Delete pruned tasks' run directories, but only inside our own state directory."""
    home = settings().state_dir.resolve()
    removed = 0
    for raw in paths:
        path = Path(raw)
        if path.is_symlink() or not path.is_dir():
            continue
        resolved = path.resolve()
        if resolved == home or not resolved.is_relative_to(home):
            continue
        shutil.rmtree(resolved, ignore_errors=True)
        removed += not resolved.exists()
    return removed

