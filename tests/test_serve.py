"""`openclaw-board serve`: the board in a browser through textual-serve (real subprocess, loopback only)."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from openclaw_board.cli.capture_cmds import is_loopback, served_command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home: Path, *args: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = home.parent / "serve.out", home.parent / "serve.err"
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "serve", *args],
                            stdout=out.open("w"), stderr=err.open("w"), stdin=subprocess.DEVNULL)
    return proc, out, err


def _wait_for(check, seconds: float = 8.0):  # noqa: ANN001, ANN202
    end = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > end:
            return result
        time.sleep(0.1)


def test_serve_answers_on_loopback_and_stops(home: Path) -> None:
    port = _free_port()
    proc, out, err = _start(home, "--port", str(port), "--no-supervise")
    try:
        def get() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                    return reply.read().decode() if reply.status == 200 else None
            except OSError:
                return None

        page = _wait_for(get)
        assert page is not None, err.read_text()
        assert "openclaw-board" in page and f"ws://127.0.0.1:{port}/ws" in page
        assert "WARNING" not in err.read_text()
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) is not None
    served = out.read_text()
    assert f"http://127.0.0.1:{port}" in served and "board --no-supervise" in served


def test_serve_elsewhere_warns_loudly_naming_the_risk(home: Path) -> None:
    port = _free_port()
    proc, _out, err = _start(home, "--host", "0.0.0.0", "--port", str(port), "--no-supervise")
    try:
        text = _wait_for(lambda: "ssh -L" in err.read_text() and err.read_text())
    finally:
        proc.terminate()  # at once: nothing is sent to it
        proc.wait(timeout=5)
    assert text, err.read_text()
    assert "WARNING: serving the board on 0.0.0.0" in text
    assert "cancel" in text and "run commands" in text and "SSH tunnel" in text


def test_serve_refuses_bad_ports_and_missing_readonly_ledgers(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "serve", "--port", "70000"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and proc.stderr == "error: --port 70000: use 1-65535\n"
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", str(home / "none.db"), "serve",
                           "--readonly"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_loopback_and_the_served_command() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("example.com")
    cmd = served_command("sqlite:////tmp/a dir/l.db", no_supervise=True, readonly=False, theme="ansi")
    assert shlex.split(cmd)[1:] == ["-m", "openclaw_board", "--db", "sqlite:////tmp/a dir/l.db", "board",
                                    "--no-supervise", "--theme", "ansi"]
    secret = served_command("postgresql://u:hunter2@db/x", no_supervise=False, readonly=True, theme=None)
    assert "hunter2" not in secret and shlex.split(secret)[-2:] == ["board", "--readonly"]
