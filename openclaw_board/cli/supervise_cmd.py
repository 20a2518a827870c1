"""`supervise`: run queued work.

SIGINT/SIGTERM stop claiming and return; running tasks stay detached (each runs under its
own wrapper in its own session) and the next supervisor on this host re-attaches them.
"""

from __future__ import annotations

import signal
from types import FrameType

import typer

from ..ledger.durations import parse_duration
from ..ledger.envpolicy import PASSTHROUGH_RE, never_passed
from ..ledger.errors import quoted
from . import render
from .app import app, err, fail, ledger_url, open_ledger, settings
from .render import count_of


def _runtime_limits(values: list[str]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name.strip() or not count.strip().isdigit() or int(count) < 1:
            fail(f"--runtime-limit {value!r}: use RUNTIME=N with N at least 1 (e.g. cli=2)", 2)
        limits[name.strip()] = int(count)
    return limits


def _passthrough(values: list[str]) -> tuple[str, ...]:
    for value in values:
        if not PASSTHROUGH_RE.match(value):
            fail(f"--env-passthrough {quoted(value)}: a variable name, or a prefix such as AWS_*", 2)
        if never_passed(value):
            fail(f"--env-passthrough {quoted(value)}: never passed to tasks (it may hold the ledger's credentials)", 2)
    return tuple(values)


@app.command()
def supervise(
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Tasks at once (default: the number of CPUs)."),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Exit 0 once nothing runs and nothing queued can run (runs of a "
        "supervisor that missed its lease are judged first, and their retries run)."),
    runtime_limit: list[str] = typer.Option(
        [], "--runtime-limit", metavar="RUNTIME=N", help="At most N tasks of this runtime at once (repeatable)."),
    kill_grace: str = typer.Option(
        "5s", "--kill-grace", metavar="DURATION", help="SIGTERM to SIGKILL delay on timeout or cancel."),
    lease: str = typer.Option(
        "15s", "--lease", metavar="DURATION",
        help="How long other hosts wait after this supervisor's last heartbeat before they call "
        "its runs lost and retry them (several hosts on one PostgreSQL ledger; judged on the "
        "database server's clock, so hosts whose clocks disagree still agree)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not echo the supervisor log to stderr."),
    env_passthrough: list[str] = typer.Option(
        [], "--env-passthrough", metavar="NAME",
        help="Pass this variable of our environment to tasks (repeatable; NAME_* for a prefix). "
        "Tasks get PATH, HOME, LANG, LC_*, TZ, TERM, USER, LOGNAME, SHELL, TMPDIR by default; "
        "never OPENCLAW_BOARD_DB or PG*. Default: $OPENCLAW_BOARD_ENV_PASSTHROUGH."),
) -> None:
    """Claim queued tasks and run them detached; re-attach runs left by a dead supervisor."""
    from ..supervisor import Supervisor

    limits = _runtime_limits(runtime_limit)
    passthrough = _passthrough(env_passthrough) if env_passthrough else None
    try:
        grace = parse_duration(kill_grace)
    except ValueError as exc:
        fail(f"--kill-grace: {exc}", 2)
    try:
        lease_ms = int(parse_duration(lease) * 1000)
    except ValueError as exc:
        fail(f"--lease: {exc}", 2)
    if lease_ms < 2000:
        fail("--lease: at least 2s (heartbeats come every second or so)", 2)
    with open_ledger() as ledger:  # a bad --db is one `error:` line here, before anything starts
        if ledger.readonly:
            fail(f"ledger {ledger.display_url} cannot be written (a read-only file or filesystem): "
                 "a supervisor must record what it runs")
    echo = None if quiet else (lambda line: err.print(render.plain(line)))
    sup = Supervisor(ledger_url(), concurrency=concurrency, runtime_limits=limits, kill_grace_s=grace,
                     mode="standalone", log=echo, lease_ms=lease_ms,
                     settings=settings().with_passthrough(passthrough))
    signals: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals.append(signum)
        sup.request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = sup.run(until_idle=until_idle)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code != 0:
        fail(sup.error or "the supervisor stopped with an error (see <state dir>/supervisor.log)")
    if signals:
        name = signal.Signals(signals[0]).name
        if sup.detached:
            err.print(f"{name}: stopped claiming; {count_of(sup.detached, 'task')} left running detached. "
                      "The next `openclaw-board supervise` on this host re-attaches them.")
        else:
            err.print(f"{name}: stopped; nothing was running.")
