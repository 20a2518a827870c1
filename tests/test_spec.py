"""Flow specs: valid TOML parses; every invalid spec is refused naming file, task and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw_board.ledger import SpecError, command_spec, load_spec, parse_spec
from openclaw_board.ledger.spec import find_cycle

GOOD = """
goal = "Nightly lead enrichment"
label = "leads"
notify = "state_changes"

[[tasks]]
label = "fetch"
command = ["python3", "fetch.py", "--region", "eu"]
cwd = "."
env = { REGION = "eu" }
timeout = "10m"
retries = 2
retry_backoff = "5s"

[[tasks]]
label = "enrich"
command = ["python3", "enrich.py"]
after = ["fetch"]
timeout = 90
requires_approval = true
runtime = "acp"

[[tasks]]
label = "report"
command = "python3 report.py | tee out.txt"
shell = true
after = ["fetch", "enrich"]
timeout = "2h"
"""

ONE_TASK = 'goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["true"]\n'


def write(tmp_path: Path, text: str | bytes, name: str = "flow.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def refused(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    return message


def test_valid_spec(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    spec = load_spec(path)
    assert spec.goal == "Nightly lead enrichment"
    assert spec.label == "leads"
    assert spec.notify == "state_changes"
    assert spec.source == str(path.resolve())
    fetch, enrich, report = spec.tasks
    assert fetch.label == "fetch"
    assert fetch.command == ["python3", "fetch.py", "--region", "eu"]
    assert fetch.shell is False
    assert fetch.cwd == "."
    assert fetch.env == {"REGION": "eu"}
    assert fetch.timeout_s == 600.0
    assert fetch.retries == 2
    assert fetch.retry_backoff_s == 5.0
    assert fetch.after == ()
    assert fetch.requires_approval is False
    assert fetch.runtime == "cli"
    assert enrich.after == ("fetch",)
    assert enrich.timeout_s == 90.0
    assert enrich.requires_approval is True
    assert enrich.runtime == "acp"
    assert report.shell is True
    assert report.command == "python3 report.py | tee out.txt"
    assert report.after == ("fetch", "enrich")
    assert report.timeout_s == 7200.0


def test_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, ONE_TASK))
    assert spec.label is None
    assert spec.notify == "done_only"
    (task,) = spec.tasks
    assert task.timeout_s is None
    assert task.retries == 0
    assert task.retry_backoff_s == 5.0
    assert task.env == {}
    assert task.cwd is None


def test_shell_command_as_one_element_list(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, 'goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["echo hi"]\nshell = true\n'))
    assert spec.tasks[0].command == "echo hi"


@pytest.mark.parametrize(
    "body,task,field",
    [
        # unknown `after` label
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["nope"]\n', "a", "after"),
        # a task waiting for itself
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["a"]\n', "a", "after"),
        # duplicate labels
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\n[[tasks]]\nlabel = "a"\ncommand = ["y"]\n', "a", "label"),
        # empty commands
        ('[[tasks]]\nlabel = "a"\ncommand = []\n', "a", "command"),
        ('[[tasks]]\nlabel = "a"\ncommand = [""]\n', "a", "command"),
        ('[[tasks]]\nlabel = "a"\n', "a", "command"),
        ('[[tasks]]\nlabel = "a"\ncommand = ""\nshell = true\n', "a", "command"),
        ('[[tasks]]\nlabel = "a"\ncommand = [1, 2]\n', "a", "command"),
        # a string command without shell
        ('[[tasks]]\nlabel = "a"\ncommand = "echo hi"\n', "a", "command"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nshell = "yes"\n', "a", "shell"),
        # bad durations
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = "soon"\n', "a", "timeout"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = -5\n', "a", "timeout"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = 0\n', "a", "timeout"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = true\n', "a", "timeout"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = "10 minutes"\n', "a", "timeout"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nretry_backoff = "fast"\n', "a", "retry_backoff"),
        # not finite, or past the maximum (365 days): once stored as "no timeout" or crashing the wrapper
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = nan\n', "a", "timeout: not a duration: nan"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = inf\n', "a", "timeout: not a duration: inf"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = 1e300\n', "a", "timeout: 1e+300s is more than"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = "366d"\n', "a", "timeout: 366d is more than the maximum"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ntimeout = -0.0\n', "a", "timeout: must be more than zero"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nretry_backoff = -inf\n', "a", "retry_backoff: not a duration"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nretry_backoff = 1e300\n', "a", "retry_backoff: 1e+300s is more"),
        # other bad fields
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nretries = -1\n', "a", "retries"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nretries = "3"\n', "a", "retries"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nenv = { A = 1 }\n', "a", "env"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nrequires_approval = "no"\n', "a", "requires_approval"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = [1]\n', "a", "after"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\nruntime = ""\n', "a", "runtime"),
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ncwd = ""\n', "a", "cwd"),
        # unknown keys in a task
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\ncomand = ["y"]\n', "a", "comand"),
    ],
)
def test_task_refusals_name_file_task_and_field(tmp_path: Path, body: str, task: str, field: str) -> None:
    message = refused(tmp_path, 'goal = "g"\n' + body)
    assert f"task {task!r}" in message
    assert field in message


def test_dependency_cycle_is_refused(tmp_path: Path) -> None:
    message = refused(
        tmp_path,
        'goal = "g"\n'
        '[[tasks]]\nlabel = "a"\ncommand = ["x"]\nafter = ["c"]\n'
        '[[tasks]]\nlabel = "b"\ncommand = ["x"]\nafter = ["a"]\n'
        '[[tasks]]\nlabel = "c"\ncommand = ["x"]\nafter = ["b"]\n',
    )
    assert "after" in message and "cycle" in message
    assert "task 'a'" in message or "task 'b'" in message or "task 'c'" in message


def test_find_cycle() -> None:
    assert find_cycle({"a": (), "b": ("a",), "c": ("a", "b")}) is None
    cycle = find_cycle({"a": ("b",), "b": ("a",)})
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b"}


def test_missing_label_names_the_task_by_position(tmp_path: Path) -> None:
    message = refused(tmp_path, 'goal = "g"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n[[tasks]]\ncommand = ["x"]\n')
    assert "task #2" in message and "label" in message


@pytest.mark.parametrize(
    "text,field",
    [
        ('[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "goal"),  # missing goal
        ('goal = ""\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "goal"),
        ('goal = "g"\n', "tasks"),
        ('goal = "g"\ntasks = []\n', "tasks"),
        ('goal = "g"\nnotify = "loud"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "notify"),
        ('goal = "g"\nnotify = 3\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "notify"),
        ('goal = "g"\nlabel = 3\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "label"),
        ('goal = "g"\nowner = "me"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n', "owner"),  # unknown key
    ],
)
def test_flow_refusals_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    assert field in refused(tmp_path, text)


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    assert "UTF-8" in refused(tmp_path, b'goal = "caf\xe9"\n[[tasks]]\nlabel = "a"\ncommand = ["x"]\n')


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    assert "invalid TOML" in refused(tmp_path, 'goal = "g\n[[tasks]\n')


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(SpecError, match=r"nope\.toml: no such file"):
        load_spec(path)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="directory"):
        load_spec(tmp_path)


def test_parse_spec_uses_the_given_name() -> None:
    with pytest.raises(SpecError, match=r"^<mine>: task 'a': command"):
        parse_spec({"goal": "g", "tasks": [{"label": "a", "command": "x"}]}, "<mine>")


def test_command_spec() -> None:
    spec = command_spec("build it", ["make", "-j2"], label="build", timeout="5m", retries=1, approval=True)
    assert spec.goal == "build it"
    assert spec.label == "build"
    (task,) = spec.tasks
    assert task.label == "build"
    assert task.command == ["make", "-j2"]
    assert task.timeout_s == 300.0
    assert task.retries == 1
    assert task.requires_approval is True
    shell = command_spec("g", ["echo", "a", "|", "wc"], shell=True)
    assert shell.tasks[0].command == "echo a | wc" and shell.tasks[0].shell
    assert command_spec("g", ["true"]).tasks[0].label == "main"


@pytest.mark.parametrize(
    "argv,kwargs,field",
    [([], {}, "command"), ([""], {}, "command"), (["x"], {"timeout": "soon"}, "timeout"),
     (["x"], {"retries": -1}, "retries")],
)
def test_command_spec_refusals(argv: list[str], kwargs: dict, field: str) -> None:
    with pytest.raises(SpecError, match=rf"^<command line>: task '\w+': {field}"):
        command_spec("g", argv, **kwargs)
