"""The log view's keys: control lines hidden (R shows them), wrap (w), save (S); and a log
that is enormous, binary or one endless line stays quick and drawn safely. Pilot, real ledger."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from board_support import make_app, screen_text, task_by_label, until
from board_support import press as _press

from openclaw_board.board.widgets.flowlist import FlowList
from openclaw_board.board.widgets.logview import LogView

pytestmark = pytest.mark.anyio


async def _open_log(app, pilot, task) -> LogView:
    await app.settled()
    await pilot.pause()
    assert app.query_one(FlowList).select_key(f"t:{task.flow_id}:{task.label}")
    await _press(app, pilot, "l")
    log = app.screen.query_one(LogView)
    await until(pilot, lambda: log.total > 0, "the log")
    return log


def _task_with_log(url: str, data: bytes):
    task = task_by_label(url, "research", "fetch-globex")
    run_dir = Path(task.run_dir)
    run_dir.mkdir(parents=True)
    (run_dir / "output.log").write_bytes(data)
    return task


async def test_control_lines_hidden_then_shown_and_the_bar_says_it(demo):
    url, end = demo
    lines = []
    for i in range(1, 6):
        lines += [f"globex: page {i}/8 done", f"::progress {i * 10} page {i}/8", f"::summary {i} pages"]
    task = _task_with_log(url, ("\n".join(lines) + "\n::blocked not hidden\n").encode())
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        log = await _open_log(app, pilot, task)
        text = screen_text(app)
        assert log.total == 6 and "globex: page 5/8 done" in text
        assert "::progress 50" not in text and "::summary 5" not in text and "::blocked not hidden" in text
        assert "%" in text and "page 5/8" in text  # the bar and what the task says it is doing
        await _press(app, pilot, "R")
        assert log.total == 16 and "::progress 50 page 5/8" in screen_text(app)
        await _press(app, pilot, "R")
        assert log.total == 6


async def test_paused_the_line_on_top_stays_when_control_lines_come_and_go(demo):
    url, end = demo
    lines = []
    for i in range(100):
        lines += [f"output {i}", f"::progress {i}"]
    task = _task_with_log(url, ("\n".join(lines) + "\n").encode())
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await _open_log(app, pilot, task)
        assert log.total == 100
        await _press(app, pilot, "g", *["j"] * 30)
        top = int(log.scroll_offset.y)
        assert top > 0 and log.line_text(top) == f"output {top}"
        await _press(app, pilot, "R")
        assert log.total == 200 and log.line_text(int(log.scroll_offset.y)) == f"output {top}"
        await _press(app, pilot, "j")  # on a control line now
        assert log.line_text(int(log.scroll_offset.y)) == f"::progress {top}"
        await _press(app, pilot, "R")  # hidden: the next line shown takes the top
        assert log.line_text(int(log.scroll_offset.y)) == f"output {top + 1}"


async def test_wrap_shows_a_long_line_whole_and_keeps_following(demo):
    url, end = demo
    long = "".join(f"<{i:04d}>" for i in range(60))  # 360 characters, no spaces
    task = _task_with_log(url, ("\n".join(f"line {i}" for i in range(100)) + "\n" + long + "\n").encode())
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await _open_log(app, pilot, task)
        assert "<0059>" not in screen_text(app)  # cut at the edge
        await _press(app, pilot, "w")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert log.wrap and log.following, text
        assert "<0000>" in text and "<0059>" in text and "line 99" in text  # the end, whole
        await _press(app, pilot, "g")
        assert "line 0" in screen_text(app)
        await _press(app, pilot, "pagedown")  # wrapped, a page moves past the lines shown whole
        top = int(log.scroll_offset.y)
        assert 0 < top <= 100 and log.line_text(top) == f"line {top}"
        await _press(app, pilot, *["pagedown"] * 5)
        assert "<0059>" in screen_text(app)  # the long line is reached, not skipped
        await _press(app, pilot, *["pageup"] * 10)
        assert int(log.scroll_offset.y) == 0
        await _press(app, pilot, "w")
        assert not log.wrap and "<0059>" not in screen_text(app)


async def test_wrapped_pages_skip_no_line(demo):
    """Every page down shows the next lines whole: none is skipped, however long."""
    url, end = demo
    body = "".join(f"S{i:02d}" + "." * 240 + f"E{i:02d}\n" for i in range(30))
    task = _task_with_log(url, body.encode())
    app = make_app(url, end)
    async with app.run_test(size=(100, 30)) as pilot:
        log = await _open_log(app, pilot, task)
        await _press(app, pilot, "w", "g")
        seen: set[int] = set()
        for _ in range(20):
            text = screen_text(app)
            seen |= {i for i in range(30) if f"S{i:02d}" in text and f"E{i:02d}" in text}
            await _press(app, pilot, "pagedown")
        assert seen == set(range(30)) and log.wrap


async def test_save_writes_a_private_file_and_says_where(demo, home):
    url, end = demo
    task = _task_with_log(url, b"hello\n\x1b]0;PWNED\x07plain\n::progress 5\n")
    app = make_app(url, end)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await _open_log(app, pilot, task)
        await _press(app, pilot, "S")
        await until(pilot, lambda: any("log saved" in n.message for n in app._notifications), "the saved toast")
        saved = home / "logs" / f"fetch-globex-{task.task_id[:8]}-1.log"
        assert any(str(saved) in n.message for n in app._notifications)
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(saved.parent).st_mode) == 0o700
    text = saved.read_text()
    assert text == "hello\nplain\n::progress 5\n"  # the log as kept, its escape sequences dropped


async def test_binary_and_one_endless_line_stay_quick_and_safe(demo):
    url, end = demo
    junk = bytes(b for b in range(256) if b != 10) * 64 + b"\n" + b"x" * (5 << 20) + b"\n" + b"the end\n"
    task = _task_with_log(url, junk)
    app = make_app(url, end)
    async with app.run_test(size=(120, 40)) as pilot:
        log = await _open_log(app, pilot, task)
        await until(pilot, lambda: "the end" in screen_text(app), "the last line")
        assert "\x1b" not in screen_text(app) and "␛" in screen_text(app)
        await _press(app, pilot, "w")  # wrapping a 5 MB line draws the screen's worth of it
        await pilot.pause(0.1)
        assert "the end" in screen_text(app) and log.total == 3
        await _press(app, pilot, "R")
        assert log.total == 3


async def test_times_show_when_each_line_came(demo):
    """`T`: the wrapper's output.times (`SEG OFFSET MS`, one mark a second) put a UTC time
    before each line; lines past a `- SEG OFFSET` stop (the cap) show `--:--:--`."""
    url, end = demo
    lines = [b"first\n", b"second\n", b"::progress 50 half\n", b"third\n", b"fourth\n"]
    task = _task_with_log(url, b"".join(lines))
    offsets = [sum(len(x) for x in lines[:i]) for i in range(len(lines))]
    t0 = 1_795_000_000_000  # 11:06:40 UTC
    (Path(task.run_dir) / "output.times").write_text(
        f"0 0 {t0}\n0 {offsets[1]} {t0 + 61_000}\n0 {offsets[3]} {t0 + 3_600_000}\n- 0 {offsets[4]}\n")
    app = make_app(url, end)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        log = await _open_log(app, pilot, task)
        assert "11:06:40" not in screen_text(app)
        await _press(app, pilot, "T")
        text = screen_text(app)
        assert log.show_times and "times (UTC)" in text
        for stamp, line in (("11:06:40", "first"), ("11:07:41", "second"), ("12:06:40", "third"),
                            ("--:--:--", "fourth")):
            assert f" {stamp} {line}" in text, (stamp, line)
        await _press(app, pilot, "T")
        assert " first" in screen_text(app) and "11:06:40" not in screen_text(app)


async def test_times_say_why_when_the_log_has_none(demo):
    url, end = demo
    task = _task_with_log(url, b"an old log, from before times were noted\n")
    app = make_app(url, end)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        log = await _open_log(app, pilot, task)
        await _press(app, pilot, "T")
        assert not log.show_times
        assert any("no times for this log" in n.message for n in app._notifications)
