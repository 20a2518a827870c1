"""`openclaw-board screenshot` as a user runs it (real subprocesses on a real SQLite ledger)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from board_support import flow_by_label, prepared_ledger
from screenshot_support import line_with, svg_lines


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def demo_db(home: Path, tmp_path: Path) -> Path:
    db = home / "ledger.db"
    prepared_ledger(f"sqlite:///{db}", tmp_path / "work")
    return db


def test_screenshot_is_deterministic_and_shows_the_board(demo_db: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for path in (first, second):
        proc = _cli("--db", str(demo_db), "screenshot", "-o", str(path), "--size", "120x36")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"screenshot: {path}"
    assert first.read_bytes() == second.read_bytes()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    lines = svg_lines(first.read_text())
    assert "Flow pressure: 6 active · 1 blocked" in line_with(lines, "Flow pressure")
    assert "failed" not in line_with(lines, "Sync CRM")  # the flaky task is queued for its retry
    assert "#2" in line_with(lines, "└ · sync")
    assert "blocked" in line_with(lines, "Migrate billing export")
    assert "approval?" in line_with(lines, "? review")
    assert "62%" in line_with(lines, "fetch-globex") or "page 5/8" in line_with(lines, "fetch-globex")


def test_screenshot_of_one_flow_with_a_theme_and_size(demo_db: Path, tmp_path: Path) -> None:
    research = flow_by_label(f"sqlite:///{demo_db}", "research")
    out = tmp_path / "flow.svg"
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(out), "--flow", research.flow_id[:8],
                "--theme", "ansi", "--size", "80x12")
    assert proc.returncode == 0, proc.stderr
    lines = svg_lines(out.read_text())
    assert not any("Lead enrichment" in line for line in lines)  # only that flow
    assert "running" in line_with(lines, "fetch-globex")  # and expanded
    assert "queued" in line_with(lines, "summarize")
    assert 'viewBox="0 0 994 ' in out.read_text()[:200]  # 80 columns (120 would be 1482)


def test_screenshot_as_html_and_png(demo_db: Path, tmp_path: Path) -> None:
    page = tmp_path / "board.html"
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(page), "--size", "80x24")
    assert proc.returncode == 0, proc.stderr
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "<svg" in text and "Flow&#160;pressure" in text
    png = tmp_path / "board.png"
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(png), "--size", "80x24")
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError):
        assert proc.returncode == 1 and proc.stderr.startswith("error: PNG needs cairosvg")
        assert not png.exists()
    else:
        assert proc.returncode == 0, proc.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--size", "12x5"), 2, "error: --size '12x5': width 20-500"),
    (("--size", "wide"), 2, "error: --size 'wide': use WIDTHxHEIGHT"),
    (("--at", "yesterday-ish"), 2, "error: --at: not a time: 'yesterday-ish'"),
    (("--at", "-2 fortnights"), 2, "error: --at: "),
    (("--flow", "ffffffff"), 1, "no flow 'ffffffff'"),
    (("--theme", "no-such-theme"), 1, "unknown theme 'no-such-theme'"),
    (("--at", "2020-01-01T00:00:00Z", "--flow", "FLOW"), 1, "did not exist yet at 2020-01-01T00:00:00.000Z"),
])
def test_screenshot_refuses_bad_input(demo_db: Path, tmp_path: Path, args: tuple[str, ...], code: int,
                                      message: str) -> None:
    if "FLOW" in args:
        flow_id = flow_by_label(f"sqlite:///{demo_db}", "research").flow_id
        args = tuple(flow_id if a == "FLOW" else a for a in args)
    out = tmp_path / "x.svg"
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(out), *args)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


def test_screenshot_refuses_bad_paths_and_missing_ledgers(demo_db: Path, tmp_path: Path, home: Path) -> None:
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(tmp_path / "x.jpeg"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "use .svg, .html or .png" in proc.stderr
    proc = _cli("--db", str(demo_db), "screenshot", "-o", str(tmp_path / "nowhere" / "x.svg"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: cannot write") and "no directory" in proc.stderr
    proc = _cli("--db", str(home / "missing.db"), "screenshot", "-o", str(tmp_path / "x.svg"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert not (home / "missing.db").exists()
