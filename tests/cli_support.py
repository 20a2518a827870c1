"""The console script run for real, as the CLI tests run it: `python -m openclaw_board ARGS`.

A traceback on stderr fails the test whatever the command was expected to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, env: dict[str, str] | None = None, columns: int = 80, cwd: Path | None = None,
            timeout: float = 60, inherit: bool = True) -> subprocess.CompletedProcess[str]:
    """`env` is added to our environment (with inherit=False, to ours without its OPENCLAW_BOARD_*
    variables, so that only `env` sets them)."""
    base = dict(os.environ) if inherit else {k: v for k, v in os.environ.items()
                                             if not k.startswith("OPENCLAW_BOARD_")}
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**base, "COLUMNS": str(columns), **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc
