"""Settings: flags > environment > config file > defaults, built once; a bad config file is one line.

`Settings.load` is tested directly for the precedence of each value, and through the real
console script for what a user sees: the config file's ledger used, a broken file refused
with one `error:` line naming it, a relative OPENCLAW_BOARD_HOME taken from where we started.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from cli_support import run_cli

from openclaw_board.ledger import Ledger
from openclaw_board.settings import CONFIG_VAR, Settings, SettingsError


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env, cwd=cwd, columns=100, inherit=False)


def write_config(state: Path, text: str) -> Path:
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state / "config.toml"
    path.write_text(text)
    return path


FILE = 'db = "sqlite:///from-file.db"\nhost = "file-host"\ntheme = "file-theme"\nenv_passthrough = ["FROM_FILE"]\n'


@pytest.mark.parametrize(("flags", "env", "with_file", "expected"), [
    # nothing anywhere: the defaults
    ({}, {}, False, {"db": "sqlite:///{state}/ledger.db", "host": socket.gethostname(), "theme": None,
                     "env_passthrough": ()}),
    # the file over the defaults
    ({}, {}, True, {"db": "sqlite:///from-file.db", "host": "file-host", "theme": "file-theme",
                    "env_passthrough": ("FROM_FILE",)}),
    # the environment over the file
    ({}, {"OPENCLAW_BOARD_DB": "sqlite:///from-env.db", "OPENCLAW_BOARD_HOST": "env-host",
          "OPENCLAW_BOARD_THEME": "env-theme", "OPENCLAW_BOARD_ENV_PASSTHROUGH": "A,B_*"}, True,
     {"db": "sqlite:///from-env.db", "host": "env-host", "theme": "env-theme", "env_passthrough": ("A", "B_*")}),
    # flags over the environment
    ({"db": "sqlite:///from-flag.db", "host": "flag-host", "theme": "flag-theme", "env_passthrough": ("C",)},
     {"OPENCLAW_BOARD_DB": "sqlite:///from-env.db", "OPENCLAW_BOARD_HOST": "env-host",
      "OPENCLAW_BOARD_THEME": "env-theme", "OPENCLAW_BOARD_ENV_PASSTHROUGH": "A"}, True,
     {"db": "sqlite:///from-flag.db", "host": "flag-host", "theme": "flag-theme", "env_passthrough": ("C",)}),
    # each value on its own: a flag for one, the environment for another, the file for the rest
    ({"theme": "flag-theme"}, {"OPENCLAW_BOARD_HOST": "env-host"}, True,
     {"db": "sqlite:///from-file.db", "host": "env-host", "theme": "flag-theme", "env_passthrough": ("FROM_FILE",)}),
])
def test_precedence(tmp_path: Path, flags: dict, env: dict, with_file: bool, expected: dict) -> None:
    state = tmp_path / "state"
    if with_file:
        write_config(state, FILE)
    got = Settings.load(**flags, environ={"OPENCLAW_BOARD_HOME": str(state), **env})
    assert got.state_dir == state
    assert (got.db_url, got.host, got.theme, got.env_passthrough) == (
        expected["db"].format(state=state), expected["host"], expected["theme"], expected["env_passthrough"])
    assert got.config_file == (state / "config.toml" if with_file else None)


def test_the_theme_says_where_it_came_from(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = write_config(state, 'theme = "file-theme"\n')
    env = {"OPENCLAW_BOARD_HOME": str(state)}
    assert Settings.load(environ=env).theme_origin == f"config file {path}"
    assert Settings.load(environ={**env, "OPENCLAW_BOARD_THEME": "x"}).theme_origin == "OPENCLAW_BOARD_THEME"
    assert Settings.load(environ=env).with_theme("y").theme_origin == "--theme"


def test_a_config_file_named_by_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('host = "named"\n')
    env = {"OPENCLAW_BOARD_HOME": str(tmp_path / "state"), CONFIG_VAR: str(path)}
    assert Settings.load(environ=env).host == "named"
    path.unlink()
    with pytest.raises(SettingsError, match=f"^config file {path}: cannot read it: "):
        Settings.load(environ=env)  # named, so it must exist


@pytest.mark.parametrize(("text", "reason"), [
    ("db = ", "not valid TOML: "),
    ('dbb = "x"\n', "unknown key 'dbb' (known: db, host, theme, env_passthrough, notify_to, notify_command)"),
    ("host = 3\n", "host must be a non-empty string"),
    ('db = ""\n', "db must be a non-empty string"),
    ("env_passthrough = [1]\n", "env_passthrough must be a list of variable names"),
    ('env_passthrough = ["A-B"]\n', "env_passthrough 'A-B': a variable name, or a prefix such as AWS_*"),
    ('env_passthrough = ["PGPASSWORD"]\n', "env_passthrough 'PGPASSWORD': never passed to tasks"),
])
def test_a_bad_config_file_is_one_line_naming_the_file(tmp_path: Path, text: str, reason: str) -> None:
    state = tmp_path / "state"
    path = write_config(state, text)
    with pytest.raises(SettingsError) as caught:
        Settings.load(environ={"OPENCLAW_BOARD_HOME": str(state)})
    message = str(caught.value)
    assert message.startswith(f"config file {path}: {reason}") and "\n" not in message
    # Through the CLI: exit 1, one `error:` line, nothing written.
    done = cli("flows", "list", env={"OPENCLAW_BOARD_HOME": str(state)})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: config file {path}: ") and done.stderr.count("\n") == 1
    assert not (state / "ledger.db").exists()


def test_the_cli_uses_the_config_files_ledger_unless_told_otherwise(tmp_path: Path) -> None:
    state = tmp_path / "state"
    from_file, from_env = tmp_path / "file.db", tmp_path / "env.db"
    write_config(state, f'db = "sqlite:///{from_file}"\n')
    env = {"OPENCLAW_BOARD_HOME": str(state)}
    assert cli("submit", "--goal", "g", "--", "true", env=env).returncode == 0
    assert cli("submit", "--goal", "g", "--", "true", env={**env, "OPENCLAW_BOARD_DB": str(from_env)}).returncode == 0
    assert cli("--db", str(from_env), "submit", "--goal", "g", "--", "true", env=env).returncode == 0
    with Ledger(f"sqlite:///{from_file}") as led:
        assert len(led.list_flows()) == 1
    with Ledger(f"sqlite:///{from_env}") as led:
        assert len(led.list_flows()) == 2
    assert not (state / "ledger.db").exists()


def test_the_supervisor_records_the_config_files_host(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_config(state, 'host = "file-host"\n')
    env = {"OPENCLAW_BOARD_HOME": str(state)}
    made = json.loads(cli("submit", "--json", "--goal", "g", "--", "true", env=env).stdout)
    done = cli("supervise", "--until-idle", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    (task_id,) = made["tasks"].values()
    shown = json.loads(cli("tasks", "show", task_id, "--json", env=env).stdout)
    assert (shown["status"], shown["host"]) == ("succeeded", "file-host")
    # and over it, OPENCLAW_BOARD_HOST
    made = json.loads(cli("submit", "--json", "--goal", "g", "--", "true", env=env).stdout)
    assert cli("supervise", "--until-idle", "--quiet", env={**env, "OPENCLAW_BOARD_HOST": "env-host"}).returncode == 0
    (task_id,) = made["tasks"].values()
    assert json.loads(cli("tasks", "show", task_id, "--json", env=env).stdout)["host"] == "env-host"


def test_a_relative_home_is_resolved_once_against_where_we_started(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    start, later = tmp_path / "start", tmp_path / "later"
    start.mkdir()
    later.mkdir()
    monkeypatch.chdir(start)
    env = {"OPENCLAW_BOARD_HOME": "rel/state"}
    got = Settings.load(environ=env)
    assert got.state_dir == start / "rel" / "state" and got.db_url == f"sqlite:///{start / 'rel/state/ledger.db'}"
    monkeypatch.chdir(later)
    assert got.state_dir == start / "rel" / "state"  # a value, not a lookup: a chdir cannot move it
    exported = dict(env)
    got.pin_home(exported)
    assert exported["OPENCLAW_BOARD_HOME"] == str(start / "rel" / "state")
    # The console script started in `start` keeps its ledger there.
    assert cli("submit", "--goal", "g", "--", "true", env=env, cwd=start).returncode == 0
    assert (start / "rel" / "state" / "ledger.db").exists() and not (later / "rel").exists()


def test_an_unknown_theme_says_which_setting_named_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = write_config(state, 'theme = "nope"\n')
    env = {"OPENCLAW_BOARD_HOME": str(state)}
    for extra, origin in (({}, f"config file {path}"), ({"OPENCLAW_BOARD_THEME": "nada"}, "OPENCLAW_BOARD_THEME")):
        done = cli("board", "--no-supervise", env={**env, **extra})
        name = extra.get("OPENCLAW_BOARD_THEME", "nope")
        assert done.returncode == 1 and done.stderr.count("\n") == 1
        assert done.stderr.startswith(f"error: unknown theme {name!r} (from {origin}); available: "), done.stderr
