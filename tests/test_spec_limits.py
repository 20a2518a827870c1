"""Specs past the documented limits are refused in one short line naming the file; big
valid ones (a 5,000-task chain) are accepted; an error never quotes more than 40 characters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw_board.ledger import Ledger, SpecError, command_spec, load_spec
from openclaw_board.ledger import spec as specmod
from openclaw_board.ledger.errors import quoted
from openclaw_board.ledger.spec import find_cycle


def write(tmp_path: Path, text: str, name: str = "flow.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(path: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message[:300]
    assert len(message) < 300 + len(str(path)), message[:300]
    return message


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "80"})


def reverse_chain(n: int) -> str:
    """t0 <- t1 <- ... <- t(n-1), written last task first: one depth-first walk goes n deep."""
    parts = ['goal = "a long chain"']
    for i in reversed(range(n)):
        parts.append(f'[[tasks]]\nlabel = "t{i}"\ncommand = ["true"]' + (f'\nafter = ["t{i - 1}"]' if i else ""))
    return "\n".join(parts) + "\n"


def test_a_5000_task_chain_in_reverse_order_is_accepted_and_submitted(tmp_path: Path, sqlite_url: str) -> None:
    spec = load_spec(write(tmp_path, reverse_chain(5000)))
    assert len(spec.tasks) == 5000 and spec.tasks[0].label == "t4999" and spec.tasks[0].after == ("t4998",)
    with Ledger(sqlite_url) as led:
        flow_id, ids = led.submit(spec)
        assert len(ids) == 5000 and led.get_flow(flow_id).status == "queued"


def test_find_cycle_is_iterative_on_a_deep_graph() -> None:
    n = 50_000
    chain = {f"t{i}": ((f"t{i - 1}",) if i else ()) for i in reversed(range(n))}
    assert find_cycle(chain) is None
    chain["t0"] = (f"t{n - 1}",)
    cycle = find_cycle(chain)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == n + 1


def test_a_long_cycle_is_named_briefly(tmp_path: Path) -> None:
    first = 'label = "t0"\ncommand = ["true"]'
    text = reverse_chain(1000).replace(first, first + '\nafter = ["t999"]')
    message = refused(write(tmp_path, text))
    assert "dependency cycle" in message and "…" in message


def test_deep_toml_nesting_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'goal = "g"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in refused(path)
    inline = write(tmp_path, 'goal = "g"\nx = ' + "{a = " * 5000 + "1" + "}" * 5000 + "\n", "inline.toml")
    assert "nested too deeply" in refused(inline)


def test_a_100kb_label_is_refused_without_echoing_it(tmp_path: Path) -> None:
    big = "A" * 100_000
    message = refused(write(tmp_path, f'goal = "g"\n[[tasks]]\nlabel = "{big}"\ncommand = ["true"]\n'))
    assert "label: longer than 200 characters" in message
    assert "A" * 41 not in message and "…" in message
    text = f'goal = "g"\nlabel = "{big}"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n'
    flow_label = refused(write(tmp_path, text, "f.toml"))
    assert "label: longer than 200" in flow_label and "A" * 41 not in flow_label


@pytest.mark.parametrize(
    "body,needle",
    [
        ('goal = "{G}"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "goal: longer than 4096"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = "{C}"\nshell = true\n', "command: longer than 64 KiB"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x", "{C}"]\n', "command: longer than 64 KiB"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\nenv = {{ BIG = "{C}" }}\n', "env: larger than 64 KiB"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\ncwd = "{C}"\n', "cwd: a non-empty path"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\nenv = {{ A = "x\\u0000y" }}\n', "env:"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = nan\n', "timeout: not a duration: nan"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = 1e400\n', "timeout: not a duration: inf"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = "{C}"\n', "timeout: not a duration"),
        ('goal = "g"\nnotify = "{C}"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "notify:"),
        ('goal = "g"\n"{C}" = 1\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "unknown field"),
        ('goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["{C}"]\n', "after: unknown task"),
    ],
)
def test_limits_refuse_and_quote_briefly(tmp_path: Path, body: str, needle: str) -> None:
    text = body.replace("{G}", "g" * 200_000).replace("{C}", "c" * 300_000).replace("{{", "{").replace("}}", "}")
    message = refused(write(tmp_path, text))
    assert needle in message, message[:300]
    assert "c" * 41 not in message and "g" * 41 not in message


def test_too_many_tasks_and_too_big_a_file_are_refused(tmp_path: Path) -> None:
    tasks = (f'[[tasks]]\nlabel = "t{i}"\ncommand = ["x"]\n' for i in range(specmod.MAX_TASKS + 1))
    many = 'goal = "g"\n' + "".join(tasks)
    assert f"more than {specmod.MAX_TASKS} tasks" in refused(write(tmp_path, many))
    huge = write(tmp_path, 'goal = "g"\n#' + "x" * specmod.MAX_SPEC_BYTES + "\n", "huge.toml")
    assert "larger than 1024 KiB" in refused(huge)


def test_a_fifo_or_a_device_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(fifo)  # does not hang waiting for a writer
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    assert "not a regular file" in refused(link)


def test_command_line_submit_has_the_same_limits() -> None:
    with pytest.raises(SpecError, match=r"^<command line>: goal: longer than 4096 characters$"):
        command_spec("g" * 200_000, ["true"])
    with pytest.raises(SpecError, match=r"^<command line>: task 'main': command: longer than 64 KiB"):
        command_spec("g", ["echo " + "x" * 300_000], shell=True)


def test_cli_submit_refusals_are_one_short_line_and_write_nothing(tmp_path: Path, sqlite_url: str) -> None:
    path = write(tmp_path, f'goal = "g"\n[[tasks]]\nlabel = "{"A" * 100_000}"\ncommand = ["true"]\n')
    proc = cli("--db", sqlite_url, "submit", str(path))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"error: {path}: task 'AAAA") and proc.stderr.count("\n") == 1
    assert len(proc.stderr) < 200 + len(str(path))
    proc = cli("--db", sqlite_url, "submit", "--goal", "g" * 100_000, "--", "true")
    assert proc.returncode == 1 and proc.stderr == "error: <command line>: goal: longer than 4096 characters\n"
    deep = write(tmp_path, 'goal = "g"\nx = ' + "[" * 5000 + "]" * 5000, "d.toml")
    proc = cli("--db", sqlite_url, "submit", str(deep))
    assert proc.returncode == 1 and "d.toml: invalid TOML: arrays or tables nested too deeply" in proc.stderr
    with Ledger(sqlite_url) as led:
        assert led.list_flows() == []


def test_quoted() -> None:
    assert quoted("abc") == "'abc'"
    assert quoted("x" * 100) == "'" + "x" * 40 + "…'"
    assert quoted("\x1b]0;title") == repr("\x1b]0;title")
    assert len(quoted(list(range(1000)))) == 41
