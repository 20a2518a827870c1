"""The runs one supervisor watches, by task id.

The loop adds what it starts and what recovery hands it; every module that stops watching
a run drops it here, which also closes the run's exit watch (its pidfd).
"""

from __future__ import annotations

from collections.abc import Iterator

from .rundir import Run


class RunTable:
    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}

    def add(self, run: Run) -> None:
        self._runs[run.task_id] = run

    def get(self, task_id: str) -> Run | None:
        return self._runs.get(task_id)

    def drop(self, task_id: str) -> None:
        run = self._runs.pop(task_id, None)
        if run is not None:
            run.close()

    def ids(self) -> list[str]:
        """A copy: safe to drop runs while going through it."""
        return list(self._runs)

    def values(self) -> list[Run]:
        return list(self._runs.values())

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._runs

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def __bool__(self) -> bool:
        return bool(self._runs)
