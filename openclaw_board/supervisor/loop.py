"""The supervisor: claims queued tasks, runs them detached, keeps the ledger true about them.

    sup = Supervisor(url, concurrency=2)
    sup.run(until_idle=True)        # blocking; or sup.start_thread() to embed it

One loop, one thread, its own Ledger connection (opened inside `run`, so it may run in a
thread of the board). Each turn: heartbeat (every HEARTBEAT_S), look at cancel requests
(every CANCEL_POLL_S, so a cancel is seen well within a second), look at every watched run
(progress from its `control` file, its end from its `exit` file), re-attach orphaned runs
(at start, then every RECOVER_EVERY_S; see recovery.py), claim work up to the limits, then
wait (wakeup.py): on the wrappers' pidfds (so an exit is seen at once), a wake-up pipe and
a change listener (ledger/notify.py: NOTIFY on PostgreSQL, the ledger file's change on
SQLite; queued work or a cancel wakes us at once), at most poll_interval_s (idle_poll_s
when listening and nothing runs: polling is then only the fallback for a lost notification).
Wrappers are forked by the supervisor's forker, which has the wrapper imported (forker.py,
spawn.py), or started by exec where there is none.

Several hosts (ownership.py): the heartbeat renews a lease (lease_ms); every
lease_check_s we expire the leases of supervisors on other hosts (their runs become lost
and are retried); a supervisor declared dead while it lives is fenced: its writes are
refused, it re-registers, and kills the runs that were settled elsewhere meanwhile.
Ledger errors (a server restart) never end the loop: it backs off and tries again.

Limits: `concurrency` tasks at once (default os.cpu_count()); `runtime_limits` caps the
tasks of one runtime that THIS supervisor runs at once (claims skip a runtime at its cap).
Dependencies, approval, flow cancels and retry backoff (`not_before`) are the ledger's
`claim_next`. Timeouts are enforced by each task's wrapper, so they hold even while no
supervisor runs (and by us for a command whose wrapper died: watching.check_orphan).
Stopping (`request_stop`, SIGINT/SIGTERM in the CLI) stops claiming and leaves running
tasks detached: the next supervisor on this host re-attaches them.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peewee as pw

from ..ledger import Ledger, LedgerError
from ..ledger.clock import Clock
from ..ledger.db import damage_hint, damaged, ensure_private_dir, quick_check
from ..ledger.errors import IllegalTransition, StaleOwner
from ..ledger.notify import CANCEL, QUEUED, ChangeListener, FileListener, listener_for
from ..ledger.supervisors import DEFAULT_LEASE_MS
from ..paths import runs_root
from ..settings import Settings
from . import finish, procs, wakeup
from .context import Context
from .decisions import Action
from .delivery import DeliveryWorker
from .journal import Journal, ledger_trouble
from .launch import LaunchSettings, launch
from .ownership import LEASE_CHECK_S, Ownership
from .recovery import Handoff, Recovery
from .run_table import RunTable
from .rundir import (
    DEFAULT_HEAD_CAP,
    DEFAULT_TAIL_CAP,
    Run,
)
from .spawn import Spawner
from .timed_work import EVERY_S as TIMED_WORK_EVERY_S
from .timed_work import TimedWork
from .watching import check_cancels

HEARTBEAT_S = 1.0
# Not above the default poll interval: at 0.25 s against turns every 0.2 s, every other turn
# skipped the look, and a cancel waited 0.4 s to be seen (0.2 s on average, now 0.1 s).
CANCEL_POLL_S = 0.2
RECOVER_EVERY_S = 5.0
IDLE_POLL_S = 1.0  # when notifications work and nothing runs
MAX_BACKOFF_S = 5.0  # between attempts while the ledger is unreachable
CONTENDED_RETRY_S = 0.02  # a claim found work only held by other claimers: look again this soon


class Supervisor:
    def __init__(
        self, url: str, *, concurrency: int | None = None, host: str | None = None,
        mode: str = "standalone", runtime_limits: dict[str, int] | None = None,
        kill_grace_s: float = 5.0, poll_interval_s: float = 0.2, clock: Clock | None = None,
        log: Callable[[str], None] | None = None, head_cap: int = DEFAULT_HEAD_CAP,
        tail_cap: int = DEFAULT_TAIL_CAP, state: Path | None = None,
        lease_ms: int = DEFAULT_LEASE_MS, lease_check_s: float = LEASE_CHECK_S, listen: bool = True,
        idle_poll_s: float = IDLE_POLL_S, env_passthrough: tuple[str, ...] | None = None,
        settings: Settings | None = None, use_forker: bool = True,
    ) -> None:
        """`settings` gives what no argument says (host, state directory, passthrough); without
        it, they are loaded from the environment and the config file (settings.py)."""
        self.url = url
        # env_passthrough: variables of our environment that tasks receive on top of the default
        # (envpolicy.py).
        self.host, self.state, self.env_passthrough = _configured(settings, host, state, env_passthrough)
        self.concurrency = max(1, concurrency or os.cpu_count() or 1)
        self.mode = mode
        self.runtime_limits = dict(runtime_limits or {})
        self.kill_grace_s = kill_grace_s
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self.lease_ms = lease_ms
        self.lease_check_s = lease_check_s
        self.listen = listen
        self.idle_poll_s = max(poll_interval_s, idle_poll_s)
        self.listener: ChangeListener | FileListener | None = None
        self._cancel_due = False
        self._cancel_woke_at = 0.0  # wakeup.py: when a change last ended a wait for cancels
        self._contended = False
        self.head_cap, self.tail_cap = head_cap, tail_cap
        self.runs_root = runs_root(self.state)
        self.journal = Journal(self.state / "supervisor.log", echo=log)
        # Wrappers are forked by a long-lived forker with the wrapper imported (forker.py).
        self.spawner = Spawner(self.state, use_forker=use_forker, log=self.journal)
        self._launch_settings = LaunchSettings(self.runs_root, url, self.env_passthrough, kill_grace_s,
                                               head_cap, tail_cap)
        self._look_again = False  # a run we just started ended before we could watch it
        self.ctx: Context | None = None  # made once the ledger is open (run)
        self.ready = threading.Event()  # set once registered and first recovery done
        self.detached = 0  # tasks left running when the loop stopped
        self.error: str | None = None  # why run() returned 1
        self.runs = RunTable()
        self.ledger: Ledger | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        weakref.finalize(self, _close_fds, self._wake_r, self._wake_w)
        self._recovery: Recovery | None = None
        self._deliveries: DeliveryWorker | None = None
        self._ownership: Ownership | None = None

    # -- public --------------------------------------------------------------------------

    @property
    def supervisor_id(self) -> str | None:
        """Our id in the ledger once registered (a new one after we were fenced)."""
        return (self.ctx.supervisor_id or None) if self.ctx is not None else None

    @property
    def generation(self) -> int | None:
        return self.ctx.generation if self.ctx is not None else None

    def request_stop(self) -> None:
        """Thread-safe: stop claiming, leave children detached, return from run() soon."""
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def running_count(self) -> int:
        return len(self.runs)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="openclaw-supervisor", daemon=True)
        thread.start()
        return thread

    def run(self, until_idle: bool = False) -> int:
        """Blocking loop. 0 when stopped or idle (with until_idle); 1 when the ledger cannot be used."""
        try:
            self.ledger = Ledger(self.url, clock=self.clock)
        except LedgerError as exc:
            self.error = str(exc)
            self.journal(f"cannot open the ledger: {exc}")
            self.ready.set()
            return 1
        self.ctx = Context(self.ledger, self.host, self.journal, self.state, self.kill_grace_s)
        self._ownership = Ownership(self.ctx, self.runs)
        try:
            try:
                # Every page read once (ledger/db.py, quick_check): a damaged ledger is refused
                # here, not noticed halfway through running someone's work.
                if self.ledger.readonly:
                    raise LedgerError(f"ledger {self.ledger.display_url} cannot be written (a read-only "
                                      "file or filesystem): a supervisor must record what it runs")
                damage = quick_check(self.ledger.db)
                if damage:
                    raise LedgerError(f"ledger {self.ledger.display_url} fails SQLite's quick_check "
                                      f"({damage}): restore it from a backup")
                ensure_private_dir(self.state)
                ensure_private_dir(self.runs_root, "runs directory")
                self.register()
            except (OSError, LedgerError, pw.DatabaseError, pw.InterfaceError) as exc:
                self.error = f"cannot start the supervisor: {exc}"
                self.journal(self.error)
                return 1
            if self.listen:
                # New work or a cancel wakes the loop at once: NOTIFY on PostgreSQL, the ledger
                # file's change on SQLite (our own commits excluded by their data version).
                self.listener = listener_for(self.url, kinds={QUEUED, CANCEL}, log=self.journal,
                                             version=self._data_version)
            self._deliveries = DeliveryWorker(self.url, f"supervisor:{(self.supervisor_id or '?')[:8]}",
                                              self.journal, self.clock)
            self._deliveries.start()
            self._recovery = Recovery(self.ctx, self.runs)
            try:
                self._recover()
            except (LedgerError, pw.DatabaseError, pw.InterfaceError) as exc:
                self.journal(f"recovery failed, will retry: {exc}")
            self.ready.set()
            return self._loop(until_idle)
        finally:
            self._shutdown()

    # -- the loop ------------------------------------------------------------------------

    def register(self) -> None:
        assert self.ledger is not None and self.ctx is not None
        pid, start = procs.self_identity()
        row = self.ledger.register_supervisor(self.host, pid, start, concurrency=self.concurrency,
                                              mode=self.mode, lease_ms=self.lease_ms)
        self.ctx.supervisor_id = row.supervisor_id
        self.ctx.generation = row.generation
        self.journal.prefix = row.supervisor_id[:8]
        self.journal(f"started on {self.host} pid {pid} ({self.mode}, concurrency {self.concurrency})")

    def _loop(self, until_idle: bool) -> int:
        next_beat = next_cancel = 0.0
        next_recover = time.monotonic() + RECOVER_EVERY_S
        next_leases = time.monotonic() + min(self.lease_check_s, 1.0)
        next_timed = 0.0
        timed = TimedWork(f"supervisor:{(self.supervisor_id or '?')[:8]}")
        beat_s = min(HEARTBEAT_S, self.lease_ms / 4000)  # several heartbeats per lease
        failures = 0
        said_at = 0.0
        last_turn = time.time()  # wall clock: it also counts time spent suspended or stopped
        while not self._stop.is_set():
            now = time.monotonic()
            claimed_none = False
            stalled = time.time() - last_turn > self.lease_ms / 2000
            last_turn = time.time()
            try:
                if failures or stalled:
                    # Back from an outage (or a stall of our own: suspended, stopped), every heartbeat
                    # looks old: give the others their own longest back-off plus one lease from now to
                    # come back before we judge theirs (else the first one back would expire them all).
                    next_leases = max(next_leases, now + MAX_BACKOFF_S + self.lease_ms / 1000)
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + beat_s
                if (now >= next_cancel or self._cancel_due) and self.runs:
                    self._cancel_due = False
                    self._check_cancels()
                    next_cancel = now + CANCEL_POLL_S
                self._check_runs()
                if now >= next_recover and self._recovery is not None:
                    self._recover()
                    next_recover = now + RECOVER_EVERY_S
                if now >= next_leases and self._ownership is not None:
                    self._ownership.check_leases()
                    next_leases = now + self.lease_check_s
                if now >= next_timed and self.ledger is not None:
                    timed.run(self.ledger)
                    next_timed = now + TIMED_WORK_EVERY_S
                claimed_none = self._fill()
                if until_idle and claimed_none and not self.runs and self._idle():
                    self.journal("idle: nothing running here and nothing queued can run")
                    return 0
                if failures:
                    self.journal(f"ledger reachable again after {failures} failed attempt(s)")
                    failures = 0
            except (LedgerError, pw.DatabaseError, pw.InterfaceError) as exc:
                if damaged(exc):
                    # A dropped table or a damaged page: retrying forever would only hide it.
                    self.error = f"ledger {self.ledger.display_url if self.ledger else self.url}: {damage_hint(exc)}"
                    self.journal(f"stopping: {self.error}")
                    return 1
                # The ledger went away for a moment (a restart, a lock): keep watching, back off, retry.
                # A transaction cut short rolled back; what it did not record is redone next turn
                # (recovery re-reads our own running tasks every RECOVER_EVERY_S).
                failures += 1
                if failures == 1 or now - said_at >= 10:
                    said_at = now
                    postgres = self.ledger is not None and not self.ledger.is_sqlite
                    self.journal(ledger_trouble(exc, time.time() - last_turn, postgres=postgres)
                                 + (f" [{failures} failed attempts]" if failures > 1 else ""))
                if isinstance(exc, (pw.OperationalError, pw.InterfaceError)) and self.ledger is not None:
                    self.ledger.reset_connection()
                next_beat = min(next_beat, now + 0.5)
                # Only a stop request cuts the back-off short: an exited run's pidfd stays readable
                # until the ledger hears of it, and would make this a busy loop.
                self._wait(min(MAX_BACKOFF_S, self.poll_interval_s * 2 ** min(failures, 6)), quiet=True)
                continue
            idle = not self.runs and self.listener is not None and self.listener.listening
            timeout = self.idle_poll_s if idle and claimed_none else self.poll_interval_s
            if self._contended and len(self.runs) < self.concurrency:
                timeout = CONTENDED_RETRY_S
            if self._look_again:
                self._look_again = False
                timeout = 0.0
            # Heartbeats and lease checks keep their own pace, however long the poll interval.
            self._wait(max(0.0, min(timeout, next_beat - time.monotonic(), next_leases - time.monotonic(),
                                    next_timed - time.monotonic())))
        return 0

    def _data_version(self) -> int | None:
        """SQLite's count of commits by other connections than ours (None: cannot tell)."""
        try:
            return int(self.ledger.db.execute_sql("PRAGMA data_version").fetchone()[0])  # type: ignore[union-attr]
        except (pw.DatabaseError, pw.InterfaceError, AttributeError, TypeError):
            return None

    def _wait(self, timeout: float, quiet: bool = False) -> None:
        wakeup.wait(self, timeout, quiet)

    def _heartbeat(self) -> None:
        assert self.ledger is not None and self.supervisor_id is not None
        if self.ledger.heartbeat(self.supervisor_id):
            return
        # Declared dead while we live (cut off, or stalled past our lease): we are fenced.
        self._fenced(self.supervisor_id)

    def _fenced(self, old_id: str) -> None:
        """Come back under a new id, then keep, kill or let go of each run (ownership.py)."""
        assert self._ownership is not None
        self.register()
        self._ownership.reconcile_all(old_id)

    def _recover(self) -> None:
        """One recovery pass, then what only we can do with the tasks it took over."""
        assert self._recovery is not None
        for handoff in self._recovery.run():
            try:
                self._take_over(handoff)
            except (IllegalTransition, LedgerError) as exc:
                self.journal(f"task {handoff.task.task_id[:8]}: not re-attached: {exc}")

    def _take_over(self, handoff: Handoff) -> None:
        if handoff.action == Action.START:
            self._launch(handoff.task)
        elif handoff.action == Action.FINISH:
            assert handoff.run is not None and handoff.kv is not None
            self.finish_from_exit(handoff.run, handoff.kv)
        else:
            assert handoff.run is not None
            self._watch(handoff.run)

    def _idle(self) -> bool:
        assert self.ledger is not None
        outlook = self.ledger.work_outlook()
        # Runs whose owner missed its lease are judged first (lease check, or recovery on their
        # host): they become lost or finished, and their retries may give us work.
        if outlook["queued_later"] or outlook["running_live"] or outlook["running_unjudged"]:
            return False
        if self.ledger.deliveries_due():
            return False  # results due now are sent before we call it a day (failing ones wait their backoff)
        # A backoff may have ended between our claim and that look: claim once more, after it.
        return self._fill() and not self.runs

    # -- claiming and starting -----------------------------------------------------------

    def _fill(self) -> bool:
        """Claim until the limits are reached. True when the ledger had nothing for us."""
        assert self.ledger is not None and self.supervisor_id is not None
        self._contended = False
        while not self._stop.is_set() and len(self.runs) < self.concurrency:
            claim = self.ledger.claim_next(self.supervisor_id, self.host, exclude_runtimes=self._full_runtimes(),
                                           generation=self.generation, run_root=str(self.runs_root))
            if claim.task is None:
                # Nothing for us, or only work other claimers held that instant: then look again soon.
                self._contended = claim.contended
                return not self._contended
            self._launch(claim.task)
        return False

    def _full_runtimes(self) -> frozenset[str]:
        if not self.runtime_limits:
            return frozenset()
        counts: dict[str, int] = {}
        for run in self.runs.values():
            counts[run.runtime] = counts.get(run.runtime, 0) + 1
        return frozenset(rt for rt, cap in self.runtime_limits.items() if counts.get(rt, 0) >= cap)

    def _launch(self, task: Any) -> None:
        assert self.ctx is not None
        if launch(self.ctx, self.runs, self.spawner, self._launch_settings, task):
            self._look_again = True

    def _watch(self, run: Run) -> None:
        """Watch a run we did not start (recovery): poll it, it is not our child."""
        if run.pid is not None and run.watch_fd is None:
            run.watch_fd = procs.exit_watch_fd(run.pid, run.start)
        self.runs.add(run)

    # -- watching ------------------------------------------------------------------------

    def _check_cancels(self) -> None:
        assert self.ctx is not None
        check_cancels(self.ctx, self.runs)

    def _check_runs(self) -> None:
        assert self._ownership is not None and self.ctx is not None
        for task_id in self.runs.ids():
            run = self.runs.get(task_id)
            if run is None:
                continue  # let go of while reconciling an earlier one
            try:
                self._check_run(run)
            except StaleOwner as exc:
                if self._ownership.stale_write(task_id, exc):
                    self._fenced(self.ctx.supervisor_id)
            except IllegalTransition as exc:
                self.journal(f"task {task_id[:8]}: {exc}; stop watching")
                self.runs.drop(task_id)

    def _check_run(self, run: Run) -> None:
        assert self.ctx is not None
        finish.check_run(self.ctx, self.runs, run)

    def finish_from_exit(self, run: Run, kv: dict[str, str]) -> None:
        assert self.ctx is not None
        finish.finish_from_exit(self.ctx, self.runs, run, kv)

    # -- stopping ------------------------------------------------------------------------

    def _shutdown(self) -> None:
        if self._deliveries is not None:
            self._deliveries.stop()  # a send under way finishes first (or its claim expires)
        self.spawner.close()
        self.detached = len(self.runs)
        for task_id in self.runs.ids():
            self.runs.drop(task_id)
        if self.ledger is not None:
            try:
                if self.supervisor_id is not None:
                    self.ledger.supervisor_stopped(self.supervisor_id)
            except (LedgerError, pw.DatabaseError):
                pass
            if self.listener is not None:
                self.listener.close()
            if self.detached:
                self.journal(f"stopped: {self.detached} task(s) left running detached; "
                             "the next supervisor on this host re-attaches them")
            else:
                self.journal("stopped")
            self.ledger.close()
        self.ready.set()


def _configured(settings: Settings | None, host: str | None, state: Path | None,
                passthrough: tuple[str, ...] | None) -> tuple[str, Path, tuple[str, ...]]:
    """Host, state directory and passthrough: the arguments', the rest from the settings (loaded
    from the environment and the config file only when an argument is missing and none were given)."""
    if host and state is not None and passthrough is not None:
        return host, state, tuple(passthrough)
    conf = settings if settings is not None else Settings.load()
    return (host or conf.host, state if state is not None else conf.state_dir,
            tuple(conf.env_passthrough if passthrough is None else passthrough))


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
