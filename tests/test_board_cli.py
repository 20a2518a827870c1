"""`openclaw-board board` and `demo` as a user runs them (real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_demo_headless_screenshot(home: Path, tmp_path: Path) -> None:
    shot = tmp_path / "demo.svg"
    proc = _cli("demo", "--headless", "--screenshot", str(shot), "--settle", "1.5", "--size", "100x30")
    assert proc.returncode == 0, proc.stderr
    assert "demo ledger:" in proc.stderr and str(home) in proc.stderr
    svg = shot.read_text()
    assert svg.startswith("<svg") and "Flow&#160;pressure" in svg and "Lead&#160;enrichment" in svg
    assert "left" not in proc.stdout  # headless: the demo's work was stopped, not left running


def test_board_refuses_a_missing_readonly_ledger(home: Path) -> None:
    proc = _cli("--db", str(home / "nope.db"), "board", "--readonly")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "no ledger" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_board_refuses_an_unknown_theme(home: Path) -> None:
    proc = _cli("board", "--theme", "no-such-theme")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: unknown theme 'no-such-theme'")


def test_demo_needs_a_screenshot_path_when_headless(home: Path) -> None:
    proc = _cli("demo", "--headless")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --headless needs --screenshot")
