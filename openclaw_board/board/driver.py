"""The terminal driver: Textual's, resuming after SIGCONT only when it had suspended.

Textual's LinuxDriver (8.2.8) resumes application mode on every SIGCONT. A SIGCONT the board
did not ask for (a job-control shell, `kill -CONT`, a process supervisor "waking" a group)
then starts application mode a second time: a second input thread reads the same terminal,
so keys are handled twice or arrive as garbage. Resuming only after our own SIGTSTP (the
flag Textual sets there, `_must_signal_resume`) keeps one input thread.
"""

from __future__ import annotations

from typing import Any

from textual.driver import Driver

try:
    from textual.drivers.linux_driver import LinuxDriver
except ImportError:  # no termios (Windows): Textual's own driver has no SIGCONT handler
    LinuxDriver = None  # type: ignore[assignment,misc]


if LinuxDriver is not None:

    class BoardLinuxDriver(LinuxDriver):
        def _sigcont_application(self, *args: Any) -> None:
            # Textual sets this flag in its SIGTSTP handler when it suspended application mode
            # (and clears it once resumed): without it, this SIGCONT follows no suspension.
            if self._must_signal_resume:
                super()._sigcont_application(*args)


def board_driver_class(default: type[Driver]) -> type[Driver]:
    """Our driver where Textual chose its Linux one (a real POSIX terminal), else `default`."""
    if LinuxDriver is not None and default is LinuxDriver:
        return BoardLinuxDriver
    return default
