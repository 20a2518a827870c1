"""`openclaw-board serve`: the board in a browser through textual-serve (real subprocess, loopback only).

Only whoever holds the printed URL's token, from the server's own origin, gets the board.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import aiohttp

from openclaw_board.board.serve import is_loopback, origin_of, served_origins
from openclaw_board.cli.capture_cmds import served_command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home: Path, *args: str) -> tuple[subprocess.Popen, Path, Path]:
    out, err = home.parent / "serve.out", home.parent / "serve.err"
    proc = subprocess.Popen([sys.executable, "-m", "openclaw_board", "serve", *args],
                            stdout=out.open("w"), stderr=err.open("w"), stdin=subprocess.DEVNULL)
    return proc, out, err


def _wait_for(check, seconds: float = 60.0):  # noqa: ANN001, ANN202
    end = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > end:
            return result
        time.sleep(0.1)


def _served_url(proc: subprocess.Popen, out: Path, err: Path) -> str:
    """The URL line `serve` printed (it holds the token), once the port answers."""
    def url() -> str | None:
        found = re.search(r"^    (http://\S+/\?token=\S+)$", out.read_text(), re.M)
        return found.group(1) if found and proc.poll() is None else None

    found = _wait_for(url, 120)
    assert found, (out.read_text(), err.read_text())
    port = urllib.parse.urlsplit(found).port

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    assert _wait_for(listening, 30), err.read_text()
    return found


async def _status(session: aiohttp.ClientSession, url: str, **kw) -> int:  # noqa: ANN003
    async with session.get(url, allow_redirects=False, **kw) as reply:
        return reply.status


async def _ws_status(session: aiohttp.ClientSession, url: str, **kw) -> int:  # noqa: ANN003
    try:
        async with session.ws_connect(url, **kw):
            return 101
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status


async def _attacks_and_the_owner(url: str) -> dict[str, object]:
    parts = urllib.parse.urlsplit(url)
    base, token = f"http://{parts.netloc}", urllib.parse.parse_qs(parts.query)["token"][0]
    ws = f"ws://{parts.netloc}/ws?width=100&height=30"
    own, evil = {"Origin": base}, {"Origin": "http://evil.example"}
    seen: dict[str, object] = {}
    async with aiohttp.ClientSession() as anyone:  # no token: another local user, a web page
        # Its request line and User-Agent reach the serving terminal's log: never as controls.
        seen["page without token"] = await _status(anyone, base + "/?\x1b]0;PWNED",
                                                   headers={"User-Agent": "ua \x9b2J \u202e x"})
        seen["page with a wrong token"] = await _status(anyone, base + "/?token=" + "x" * len(token))
        seen["script without token"] = await _status(anyone, base + "/static/js/textual.js")
        seen["websocket without token"] = await _ws_status(anyone, ws, headers=own)
        seen["page from a foreign origin"] = await _status(anyone, url, headers=evil)
        seen["websocket from a foreign origin"] = await _ws_status(anyone, ws + "&token=" + token, headers=evil)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as owner:
        async with owner.get(url) as reply:  # sets the cookie, then redirects to the page without the token
            seen["owner's page"] = reply.status
            seen["owner's page url"] = str(reply.url)
            page = await reply.text()
        seen["page names the board"] = "openclaw-board" in page and f"ws://{parts.netloc}/ws" in page
        seen["owner's script"] = await _status(owner, base + "/static/js/textual.js")
        seen["owner's websocket from a foreign origin"] = await _ws_status(owner, ws, headers=evil)
        async with owner.ws_connect(ws, headers=own) as socket_:
            message = await socket_.receive(timeout=90)  # the board, started for this tab, draws
            seen["owner's websocket"] = message.type
    async with aiohttp.ClientSession() as script:
        seen["script with the token header"] = await _status(script, base + "/",
                                                             headers={"Authorization": f"token {token}"})
    return seen


def test_serve_gives_the_board_only_to_the_token_and_its_own_origin(home: Path) -> None:
    port = _free_port()
    proc, out, err = _start(home, "--port", str(port), "--no-supervise")
    try:
        url = _served_url(proc, out, err)
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
        seen = asyncio.run(_attacks_and_the_owner(url))
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) is not None
    for attack in ("page without token", "page with a wrong token", "script without token",
                   "websocket without token", "page from a foreign origin", "websocket from a foreign origin",
                   "owner's websocket from a foreign origin"):
        assert seen[attack] == 403, (attack, seen)
    assert seen["owner's page"] == 200 and seen["owner's page url"] == f"http://127.0.0.1:{port}/", seen
    assert seen["page names the board"] is True and seen["owner's script"] == 200
    assert seen["owner's websocket"] in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), seen
    assert seen["script with the token header"] == 200
    served, logged = out.read_text(), err.read_text()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["token"][0]
    assert len(token) >= 40 and (served + logged).count(token) == 1, (served, logged)  # the URL line only
    assert "board --no-supervise" in served and "WARNING" not in logged
    assert "refused GET /ws: foreign origin" in served + logged
    assert '"ua \\x9b2J \\u202e x"' in served + logged
    assert not [ch for ch in served + logged if ch == "\x1b" or "\x80" <= ch <= "\x9f" or ch == "\u202e"]


def test_serve_elsewhere_warns_loudly_naming_the_risk(home: Path) -> None:
    port = _free_port()
    proc, _out, err = _start(home, "--host", "0.0.0.0", "--port", str(port), "--no-supervise")
    try:
        text = _wait_for(lambda: "ssh -L" in err.read_text() and err.read_text())
    finally:
        proc.terminate()  # at once: nothing is sent to it
        proc.wait(timeout=5)
    assert text, err.read_text()
    assert "WARNING: serving the board on 0.0.0.0" in text and "token" in text
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


def test_the_served_origins() -> None:
    assert origin_of("http://Example.com:80/x") == "http://example.com"
    assert origin_of("https://h:8443") == "https://h:8443" and origin_of("http://[::1]:8000/") == "http://[::1]:8000"
    local = served_origins("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert local == {"http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"}
    public = served_origins("0.0.0.0", 8000, "https://board.example.com")
    assert "https://board.example.com" in public and "http://127.0.0.1:8000" in public
    for foreign in ("http://evil.example", "http://127.0.0.1:8001", "null", "http://board.example.com"):
        assert foreign not in public
