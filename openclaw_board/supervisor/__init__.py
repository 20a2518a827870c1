"""The supervisor: claims queued tasks and runs them as detached, re-attachable processes.

    from openclaw_board.supervisor import Supervisor
    sup = Supervisor(url, concurrency=2, mode="embedded")
    thread = sup.start_thread()      # or sup.run(until_idle=True), blocking
    ...
    sup.request_stop()               # stop claiming; running tasks stay detached

Modules: `loop` (the supervisor's loop; it applies what `decisions` chooses),
`decisions` (pure: what to do with a run, from what was seen of it), `recovery`
(re-attaching orphaned runs), `ownership` (several hosts: lease expiry of other hosts'
supervisors, fencing), `watching` (cancels, orphaned commands, progress); these three take
a `context.Context` and the `run_table.RunTable`, never the Supervisor. `wrapper` (the
per-task process that keeps output and exit code on disk), `rundir` (one watched run:
starting its wrapper, reading its files in the run directory), `outcome` (exit file ->
status), `logs` (reading/following a task's capped log, and `read_log_anywhere`: the local
file, or the ledger's tail of a run on another host), `procs` (pid + start-time identity,
signals), `journal` (supervisor.log). Host names and run directories: `openclaw_board.paths`.
This package imports the ledger, never the board or the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .loop import Supervisor


def __getattr__(name: str) -> Any:
    # Imported on first use: the board and the CLI import `supervisor.logs` and friends to read
    # logs, and should not pay for the loop's imports (and its whole ledger) to start up.
    if name == "Supervisor":
        from .loop import Supervisor

        return Supervisor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Supervisor"]
