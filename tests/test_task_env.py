"""A task's environment: the ledger's URL and credentials never reach it; the default list,
the operator's and the spec's passthrough names, and the spec's own values do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from supervisor_support import wait_for

from openclaw_board.ledger import Ledger, SpecError, parse_spec
from openclaw_board.ledger.envpolicy import never_passed, task_environment
from openclaw_board.paths import run_dir_of
from openclaw_board.supervisor.logs import read_log

SECRET = "hunter2-Sekr1t"
# `env`, not `python3`: a python3 found on PATH may be a shim (pyenv's) that changes PATH itself.
DUMP = ["env"]


def dumped(ledger: Ledger, task_id: str) -> dict[str, str]:
    task = ledger.get_task(task_id)
    assert task.status == "succeeded", (task.status, task.error)
    lines = read_log(run_dir_of(task)).decode().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def supervise(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openclaw_board", "--db", url, "supervise", "-q", "--until-idle",
                           *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_task_never_sees_the_ledgers_url_or_credentials(request: pytest.FixtureRequest, backend: str) -> None:
    """The attack: `OPENCLAW_BOARD_DB=postgresql://user:password@...` in the supervisor's
    environment, and a task that dumps its environment into its log (which the board and
    `tasks logs` show). On PostgreSQL the supervisor really uses that URL (the server
    trusts local connections, so the password is carried but not checked)."""
    if backend == "postgres":
        url = request.getfixturevalue("pg_url").replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")
        args: tuple[str, ...] = ()
    else:
        url = request.getfixturevalue("sqlite_url")
        args = ("--db", url)
    spec = {
        "goal": "g", "env_passthrough": ["AWS_PROFILE"],
        "tasks": [{"label": "t", "command": DUMP, "env": {"REGION": "eu", "PGAPPNAME": "spec-own"},
                   "env_passthrough": ["MY_*"]}],
    }
    with Ledger(url) as led:
        _, ids = led.submit(parse_spec(spec))
    env = {
        **os.environ,
        "OPENCLAW_BOARD_DB": url if backend == "postgres" else f"postgresql://alice:{SECRET}@db.example/ledger",
        "PGPASSWORD": SECRET, "PGHOST": "127.0.0.1", "DATABASE_URL": f"postgres://alice:{SECRET}@db/x",
        "AWS_PROFILE": "prod", "MY_A": "1", "MY_B": "2", "OTHER_TOKEN": "nope",
        "LANG": "C.UTF-8", "LC_TIME": "C", "OPS_EXTRA": "yes",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "openclaw_board", *args, "supervise", "-q", "--until-idle",
         "--env-passthrough", "OPS_EXTRA", "--env-passthrough", "DATABASE_URL"],
        capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    with Ledger(url) as led:
        got = dumped(led, ids["t"])
        log = read_log(run_dir_of(led.get_task(ids["t"]))).decode()
    assert SECRET not in log
    assert "OPENCLAW_BOARD_DB" not in got and "PGPASSWORD" not in got and "PGHOST" not in got
    assert "DATABASE_URL" not in got  # asked for, but its value holds the ledger's password
    assert got["PGAPPNAME"] == "spec-own"  # the spec's own value is its own business
    assert got["REGION"] == "eu" and got["AWS_PROFILE"] == "prod" and got["MY_A"] == "1" and got["MY_B"] == "2"
    assert got["OPS_EXTRA"] == "yes" and got["LANG"] == "C.UTF-8" and got["LC_TIME"] == "C"
    assert got["PATH"] == os.environ["PATH"]
    assert "OTHER_TOKEN" not in got and "PYTHONPATH" not in got


def test_the_settings_variable_adds_names(sqlite_url: str) -> None:
    with Ledger(sqlite_url) as led:
        _, ids = led.submit(parse_spec({"goal": "g", "tasks": [{"label": "t", "command": DUMP}]}))
    env = {**os.environ, "OPENCLAW_BOARD_ENV_PASSTHROUGH": "OPS_A, OPS_B_*, PGPASSWORD",
           "OPS_A": "a", "OPS_B_1": "b", "OPS_C": "c", "PGPASSWORD": SECRET}
    assert supervise(sqlite_url, env).returncode == 0
    with Ledger(sqlite_url) as led:
        got = dumped(led, ids["t"])
    assert got["OPS_A"] == "a" and got["OPS_B_1"] == "b" and "OPS_C" not in got and "PGPASSWORD" not in got


def test_a_retry_keeps_the_passthrough_names(sqlite_url: str) -> None:
    from openclaw_board.supervisor import Supervisor

    with Ledger(sqlite_url) as led:
        _, ids = led.submit(parse_spec({"goal": "g", "env_passthrough": ["OPS_Z"],
                                        "tasks": [{"label": "t", "command": DUMP}]}))
        os.environ["OPS_Z"] = "z"
        try:
            assert Supervisor(sqlite_url, poll_interval_s=0.05).run(until_idle=True) == 0
            retry = led.retry(ids["t"])
            assert Supervisor(sqlite_url, poll_interval_s=0.05).run(until_idle=True) == 0
            wait_for(lambda: led.get_task(retry.task_id).status == "succeeded", "the retry ran")
            assert dumped(led, retry.task_id)["OPS_Z"] == "z"
        finally:
            del os.environ["OPS_Z"]


@pytest.mark.parametrize("name", ["OPENCLAW_BOARD_DB", "PGPASSWORD", "PG*", "PGSERVICE_*"])
def test_a_spec_cannot_ask_for_the_ledgers_variables(name: str) -> None:
    assert never_passed(name)
    with pytest.raises(SpecError, match=r"env_passthrough: .* is never passed to a task"):
        parse_spec({"goal": "g", "env_passthrough": [name], "tasks": [{"label": "t", "command": ["true"]}]})
    with pytest.raises(SpecError, match=r"task 't': env_passthrough"):
        parse_spec({"goal": "g", "tasks": [{"label": "t", "command": ["true"], "env_passthrough": [name]}]})


@pytest.mark.parametrize("bad", [["A B"], ["*"], ["A=B"], "PATH", [1]])
def test_bad_passthrough_names_are_refused(bad: object) -> None:
    with pytest.raises(SpecError, match="env_passthrough"):
        parse_spec({"goal": "g", "env_passthrough": bad, "tasks": [{"label": "t", "command": ["true"]}]})


def test_operator_flag_refuses_the_ledgers_variables(sqlite_url: str) -> None:
    proc = supervise(sqlite_url, dict(os.environ), "--env-passthrough", "PGPASSWORD")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --env-passthrough 'PGPASSWORD': never passed")


def test_task_environment_rules() -> None:
    parent = {"PATH": "/bin", "HOME": "/root", "LC_ALL": "C", "SECRET": "s", "PGUSER": "u",
              "OPENCLAW_BOARD_DB": "postgresql://u:pw1234@h/db", "COPY": "x pw1234 y", "URL_COPY": "postgresql://h/db"}
    env = task_environment(parent, {"X": "1", "SECRET": None, "COPY": None, "PGUSER": None},
                           ledger_url="postgresql://u:pw1234@h/db")
    assert env == {"PATH": "/bin", "HOME": "/root", "LC_ALL": "C", "SECRET": "s", "X": "1"}
    pg = task_environment({"URL_COPY": "postgresql://h/db"}, {"URL_COPY": None}, ledger_url="postgresql://h/db")
    assert pg == {}
