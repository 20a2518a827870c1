"""Learning of commits by other processes: watch the SQLite files, confirm by data_version.

A thread watches the ledger's directory (not recursively) for writes to the database
file and its `-wal`, and pokes the service; the service then asks SQLite's
`PRAGMA data_version` whether anyone committed, so a checkpoint or a read costs nothing.
Where watching is not possible (PostgreSQL, a filesystem without inotify) the service's
poll timer does the same job, a little later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

DEBOUNCE_MS = 40
STEP_MS = 10


class FileWatch:
    def __init__(self, db_path: Path, poke: Callable[[], None]) -> None:
        self.db_path = db_path
        self.poke = poke
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="board-watch", daemon=True)
        self.working = False
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        try:
            from watchfiles import watch
        except ImportError as exc:  # pragma: no cover - a dependency, but stay calm without it
            self.error = str(exc)
            return
        names = {self.db_path.name, self.db_path.name + "-wal"}

        def interesting(_change: object, path: str) -> bool:
            return Path(path).name in names

        try:
            self.working = True
            for _changes in watch(
                self.db_path.parent, watch_filter=interesting, debounce=DEBOUNCE_MS, step=STEP_MS,
                stop_event=self._stop, rust_timeout=1000, raise_interrupt=False, recursive=False,
            ):
                self.poke()
        except Exception as exc:  # noqa: BLE001 - watching is an optimisation: fall back to polling
            self.error = str(exc)
        finally:
            self.working = False
