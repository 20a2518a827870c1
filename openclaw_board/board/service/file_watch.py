"""Learning of commits by other processes: watch the SQLite files, confirm by data_version.

A thread watches the ledger's directory (not recursively) for writes to the database
file and its `-wal`, and pokes the service; the service then asks SQLite's
`PRAGMA data_version` whether anyone committed, so a checkpoint or a read costs nothing.
Where watching is not possible (PostgreSQL, a filesystem without inotify) the service's
poll timer does the same job, a little later.

watchfiles is the watcher, but its `watch` looks at what it collected every `step` ms
(it sleeps and looks; it cannot block until a change): 100 wake-ups a second while nothing
happens. So it runs only while changes come: after ACTIVE_S without one, the thread blocks
on an inotify descriptor of the same directory (ledger/notify.py's FileListener) until the
next write, pokes the service at once, and hands over to watchfiles again, whose own watcher
has collected that write meanwhile. Idle, the thread sleeps; busy, a commit reaches the
service within a step or two.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable
from pathlib import Path

from ...ledger.notify import FileListener

DEBOUNCE_MS = 40
STEP_MS = 10
ACTIVE_S = 1.0  # with no change for this long, stop stepping and block


class FileWatch:
    def __init__(self, db_path: Path, poke: Callable[[], None]) -> None:
        self.db_path = db_path
        self.poke = poke
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # ends a blocked wait at stop()
        self._thread = threading.Thread(target=self._run, name="board-watch", daemon=True)
        self.working = False
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(timeout=2)
        if not self._thread.is_alive():
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)

    def _run(self) -> None:
        try:
            from watchfiles import watch
        except ImportError as exc:  # pragma: no cover - a dependency, but stay calm without it
            self.error = str(exc)
            return
        names = {self.db_path.name, self.db_path.name + "-wal"}

        def interesting(_change: object, path: str) -> bool:
            return Path(path).name in names

        gate = FileListener(str(self.db_path))
        try:
            self.working = True
            for changes in watch(
                self.db_path.parent, watch_filter=interesting, debounce=DEBOUNCE_MS, step=STEP_MS,
                stop_event=self._stop, rust_timeout=int(ACTIVE_S * 1000), yield_on_timeout=True,
                raise_interrupt=False, recursive=False,
            ):
                if changes:
                    gate.poll()  # what the gate heard so far watchfiles reported (or will next)
                    self.poke()
                elif gate.listening:
                    self._block(gate)
        except Exception as exc:  # noqa: BLE001 - watching is an optimisation: fall back to polling
            self.error = str(exc)
        finally:
            self.working = False
            gate.close()

    def _block(self, gate: FileListener) -> None:
        """Until the ledger's files are written again (or stop). A write the gate heard since
        watchfiles' last report ends it at once."""
        fd = gate.fileno()
        while not self._stop.is_set() and fd is not None:
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                return
            if gate.poll():
                # Poke now rather than after watchfiles' two steps: the service confirms by
                # data_version, and watchfiles reports this write too, in case it was early.
                self.poke()
                return
