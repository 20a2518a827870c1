"""What recovery, ownership and watching need of a supervisor, and nothing more.

They take this small context and the run table (run_table.py), not the Supervisor: the
ledger connection, who we are in it (supervisor id and generation, which change when we
are fenced and re-register), the host we record, the journal, the state directory and the
kill grace. The loop (loop.py) owns the one Context and updates it as it registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..ledger import Ledger
from .journal import Journal


@dataclass
class Context:
    ledger: Ledger
    host: str
    journal: Journal
    state: Path
    kill_grace_s: float
    supervisor_id: str = ""  # set once registered (`register` in loop.py), again when fenced
    generation: int | None = None

    @property
    def actor(self) -> str:
        """How the event log names us."""
        return f"supervisor:{(self.supervisor_id or '?')[:8]}"
