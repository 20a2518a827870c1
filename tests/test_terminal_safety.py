"""Issue 12: text from a spec, a task or a log never takes over the terminal that shows it.

The CLI runs in a real pseudo-terminal (as a user runs it), and what reaches the terminal
is checked byte by byte: nothing but our own colours (SGR) may be an escape sequence.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from board_support import screen_text, until
from screenshot_support import svg_lines
from textual.widgets._toast import Toast

from openclaw_board.board import BoardApp
from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.ledger import Ledger
from openclaw_board.safetext import LogStream, log_text, visible
from openclaw_board.supervisor import logs

# The goal (clipboard write, title, clear screen), a one-character CSI and a bidi override.
HOSTILE = "x \x1b]52;c;cHduZWQ=\x1b\\ \x1b]0;PWNED\x1b\\ \x1b[2J \x9b2J \u202eevil"
SHOWN = "x ␛]52;c;cHduZWQ=␛\\ ␛]0;PWNED␛\\ ␛[2J \\x9b2J \\u202eevil"
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def forbidden(text: str, allowed: str = "") -> list[str]:
    """The characters in `text` a terminal would obey (or that disguise text)."""
    return sorted({ch for ch in text if (ord(ch) < 0x20 and ch not in allowed) or 0x7f <= ord(ch) <= 0x9f
                   or ch in BIDI})


# -- the rule itself ------------------------------------------------------------------------


def test_every_control_is_made_visible() -> None:
    every = "".join(map(chr, range(0x00, 0xa0))) + "".join(sorted(BIDI))
    assert forbidden(visible(every), allowed="\t") == []
    assert forbidden(visible(every, multiline=True), allowed="\t\n") == []
    assert visible(HOSTILE) == SHOWN
    assert visible("a\nb\r\tc\x07\x7f\x85") == "a⏎b␍\tc\\x07\\x7f\\x85"
    assert visible("a\nb", multiline=True) == "a\nb"
    assert visible("héllo [b]€ 日本") == "héllo [b]€ 日本"  # printable text is left alone
    assert visible(visible(HOSTILE)) == visible(HOSTILE)
    assert visible(None) == "" and visible(b"\x9b\xc2\x9b") == "\\x9b\\x9b"


def test_a_log_loses_its_escape_sequences_and_shows_other_controls() -> None:
    assert log_text("a\x1b[1;31mred\x1b[0m b") == "ared b"
    assert log_text("t\x1b]0;PWNED\x07\x1b]52;c;cHduZWQ=\x1b\\ok") == "tok"
    assert log_text("8-bit \x9b2J\x9d0;T\x9c\x90q#1\x9cend") == "8-bit end"
    assert log_text("dcs \x1bPq#0\x1b\\ apc \x1b_x\x1b\\ esc \x1b7\x1bc\x1b(B.") == "dcs  apc  esc ."
    assert log_text("bar 10%\rbar 20%\r\nnext\x07\x08 \u202e") == "bar 10%\nbar 20%\nnext\\x07\\x08 \\u202e"
    assert log_text("unterminated \x1b]0;title") == "unterminated ␛]0;title"


def test_a_log_stream_judges_split_sequences_and_characters_whole() -> None:
    data = ("é \x1b[31mred\x1b[0m \x1b]0;PWNED\x1b\\ \x1b]52;c;eA==\x07 €\r\n\x9b2J\x1b7 日本 "
            "\x1b]0;un").encode() + b" raw \x9b byte \xff\r"
    whole = LogStream()
    expected = whole.feed(data) + whole.flush()
    assert expected == log_text(data.decode("utf-8", "backslashreplace"))
    assert forbidden(expected, allowed="\n") == [] and "\\x9b byte" in expected and "red" in expected
    for cut in range(1, len(data)):
        stream = LogStream()
        got = stream.feed(data[:cut]) + stream.feed(data[cut:]) + stream.flush()
        assert got == expected, cut
    stream = LogStream()
    assert "".join(stream.feed(data[i:i + 1]) for i in range(len(data))) + stream.flush() == expected


# -- the CLI in a terminal -----------------------------------------------------------------

SGR = re.compile(rb"\x1b\[[0-9;]*m")  # our own colours: the only sequences we send


def in_pty(*args: str, columns: int = 200, seconds: float = 120.0) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin, stdout and stderr; return what the
    terminal received, without our own colour codes (and asserting it is UTF-8)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "TERM")}
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", *args], stdin=slave, stdout=slave,
                            stderr=slave, env={**env, "TERM": "xterm-256color"}, close_fds=True)
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                break
            if not chunk:
                break
            received += chunk
        code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, SGR.sub(b"", bytes(received)).decode("utf-8").replace("\r\n", "\n")


def assert_harmless(text: str, what: str) -> None:
    assert forbidden(text, allowed="\n\t") == [], (what, text)


@pytest.fixture
def hostile(home: Path, tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    """A flow whose goal and labels hold the issue's escape sequences; one task failed with them."""
    spec = tmp_path / "hostile.toml"
    spec.write_text(
        f"goal = {json.dumps(HOSTILE)}\nlabel = {json.dumps('L ' + HOSTILE)}\n"
        f"[[tasks]]\nlabel = {json.dumps('t ' + HOSTILE)}\ncommand = [\"true\"]\n"
        f"[[tasks]]\nlabel = {json.dumps('gated [b]x[/b] ' + HOSTILE)}\ncommand = [\"true\"]\n"
        "requires_approval = true\n"
    )
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "submit", "--json", str(spec)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    made = json.loads(proc.stdout)
    with Ledger(sqlite_url) as led:
        sid = led.register_supervisor("h", os.getpid(), None, lease_ms=3_600_000).supervisor_id
        task = led.claim_next(sid, "h").task
        run_dir = home / "runs" / task.task_id
        run_dir.mkdir(parents=True)
        led.record_process(task.task_id, sid, os.getpid(), None, str(run_dir))
        led.finish(task.task_id, "failed", supervisor_id=sid, exit_code=3, error="boom " + HOSTILE)
    gated = next(t for label, t in made["tasks"].items() if label.startswith("gated"))
    return {"flow": made["flow_id"], "task": task.task_id, "gated": gated}


def test_cli_views_show_escape_sequences_without_obeying_them(hostile: dict[str, str]) -> None:
    views = {}
    for args in (("flows", "list"), ("flows", "show", hostile["flow"]), ("tasks", "list"),
                 ("tasks", "list", "--all-attempts"), ("tasks", "show", hostile["task"]),
                 ("tasks", "retry", hostile["task"])):
        code, text = in_pty(*args)
        assert code == 0, (args, text)
        assert_harmless(text, args)
        assert "PWNED" in text, (args, text)
        views[args[:2]] = text
    assert re.search(f"^Goal +{re.escape(SHOWN)} *$", views[("flows", "show")], re.M)
    assert f"boom {SHOWN}" in views[("tasks", "show")]
    assert f"(t {SHOWN})" in views[("tasks", "retry")]


def test_an_error_line_quoting_hostile_text_is_one_harmless_line(hostile: dict[str, str], tmp_path: Path) -> None:
    name = tmp_path / "spec \x1b]0;PWNED\x1b\\ \x9b2J.toml"
    name.write_text("goal = ")
    code, text = in_pty("submit", str(name))
    assert code == 1 and text.startswith("error: ") and text.count("\n") == 1, text
    assert_harmless(text, "error")
    assert "spec ␛]0;PWNED␛\\ \\x9b2J.toml: invalid TOML" in text


def test_tasks_logs_to_a_terminal_drops_sequences_and_shows_c1(hostile: dict[str, str], home: Path) -> None:
    raw = (b"start \x1b[31mred\x1b[0m\n"
           b"raw byte \x9b2J, code point \xc2\x9b2J, osc \x1b]0;PWNED\x1b\\ \x1b]52;c;cHduZWQ=\x07\n"
           b"8-bit osc \xc2\x9d0;PWNED\xc2\x9c \x9d0;T\x9c bidi \xe2\x80\xae end\r\n")
    logs.log_path(home / "runs" / hostile["task"]).write_bytes(raw)
    for args in (("tasks", "logs", hostile["task"]), ("tasks", "logs", "--follow", hostile["task"])):
        code, text = in_pty(*args)
        assert code == 0, text
        assert_harmless(text, args)
        assert text == ("start red\nraw byte \\x9b2J, code point , osc  \n"
                        "8-bit osc  \\x9d0;T\\x9c bidi \\u202e end\n"), text
    # To a pipe the log stays exactly as written.
    piped = subprocess.run([sys.executable, "-m", "openclaw_board", "tasks", "logs", hostile["task"]],
                           capture_output=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout == raw


def test_json_output_stays_exact(hostile: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "flows", "show", "--json", hostile["flow"]],
                          capture_output=True, text=True, timeout=60)
    shown = json.loads(proc.stdout)
    assert shown["goal"] == HOSTILE and "\\u001b" in proc.stdout
    assert any(t["error"] == "boom " + HOSTILE for t in shown["tasks"])


# -- the board and its pictures --------------------------------------------------------------


@pytest.mark.anyio
async def test_board_rows_inspector_and_toasts_show_hostile_text_literally(hostile: dict[str, str],
                                                                           sqlite_url: str) -> None:
    app = BoardApp(sqlite_url, title="hostile", theme="openclaw-dark", live=False)
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await app.settled()
        await pilot.pause()
        text = screen_text(app)
        assert "x ␛]52;c;cHduZWQ=␛\\ ␛]0;PWNED" in text
        assert forbidden(text, allowed="\n") == []
        gated_label = "gated [b]x[/b] " + HOSTILE
        assert app.query_one(FlowList).select_key(f"t:{hostile['flow']}:{gated_label}")
        await pilot.press("a")
        await pilot.pause()
        # The dialog that asks first names the task literally, too.
        dialog = screen_text(app)
        assert "Approve 'gated [b]x[/b] x ␛]52;c;cHduZWQ=" in dialog and forbidden(dialog, allowed="\n") == []
        await pilot.press("y")
        await app.settled()
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        assert toasts and toasts[-1].startswith(f"approved task gated [b]x[/b] {SHOWN[:30]}"), toasts
        await until(pilot, lambda: app.screen.query(Toast), "the toast")
        drawn = app.screen.query(Toast).last().render().plain
        assert "approved task gated [b]x[/b] x ␛]52;c;cHduZWQ=" in drawn  # markup is not parsed
        assert forbidden(drawn, allowed="\n") == []
        assert app.query_one(FlowList).select_key(f"f:{hostile['flow']}")
        await pilot.press("enter")
        await app.settled()
        await pilot.pause()
        text = screen_text(app)
        assert f"Goal            {SHOWN}" in text
        assert forbidden(text, allowed="\n") == []


def test_a_screenshot_shows_hostile_text_literally(hostile: dict[str, str], tmp_path: Path) -> None:
    svg = tmp_path / "shot.svg"
    proc = subprocess.run([sys.executable, "-m", "openclaw_board", "screenshot", "-o", str(svg), "--size", "200x30",
                           "--flow", hostile["flow"]], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    picture = svg.read_text(encoding="utf-8")
    assert forbidden(picture, allowed="\n") == [] and "&#27;" not in picture and "&#x1b;" not in picture.lower()
    lines = "\n".join(svg_lines(picture))
    assert "x ␛]52;c;cHduZWQ=␛\\ ␛]0;PWNED" in lines and "boom x ␛]52;c;cHduZWQ=" in lines


def test_the_supervisor_journal_writes_one_harmless_line_per_message(tmp_path: Path) -> None:
    """`tail supervisor.log` on a terminal, and `supervise` echoing it, quote task labels."""
    from openclaw_board.supervisor.journal import Journal

    echoed: list[str] = []
    journal = Journal(tmp_path / "supervisor.log", echo=echoed.append)
    journal(f"task 1234abcd (t {HOSTILE}\n2026-01-01T00:00:00.000Z forged line): claimed")
    lines = (tmp_path / "supervisor.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and forbidden(lines[0]) == []
    assert lines[0].endswith(f"(t {SHOWN}⏎2026-01-01T00:00:00.000Z forged line): claimed")
    assert echoed == [lines[0].split(" ", 2)[2]]
