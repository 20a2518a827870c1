"""One settings object, built once where a program starts (the CLI's entry), then passed down.

Each value comes from, in order of precedence:

1. a command-line flag (`--db`, `--theme`, `--env-passthrough`);
2. the environment: `OPENCLAW_BOARD_HOME` (state directory), `OPENCLAW_BOARD_DB` (ledger URL),
   `OPENCLAW_BOARD_HOST` (the host name supervisors record), `OPENCLAW_BOARD_THEME`,
   `OPENCLAW_BOARD_ENV_PASSTHROUGH`;
3. the config file: `$OPENCLAW_BOARD_CONFIG` when set (it must then exist), else
   `<state dir>/config.toml` when it exists, with the keys `db`, `host`, `theme` and
   `env_passthrough` (a list of names, or one string of names);
4. defaults: the platform's user state directory, `sqlite:///<state dir>/ledger.db`, the
   machine's host name, no theme (the board's remembered choice), no extra variables.

The state directory is not read from the config file, since that is where the file is. A
relative `OPENCLAW_BOARD_HOME` is resolved once, against the directory we were started in,
so that a later chdir cannot move it. A config file that cannot be read or used is a
`SettingsError` whose message is one line naming the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .ledger.envpolicy import ENV_VAR as PASSTHROUGH_VAR
from .ledger.envpolicy import PASSTHROUGH_RE, never_passed, parse_passthrough
from .paths import default_host

HOME_VAR = "OPENCLAW_BOARD_HOME"
DB_VAR = "OPENCLAW_BOARD_DB"
HOST_VAR = "OPENCLAW_BOARD_HOST"
THEME_VAR = "OPENCLAW_BOARD_THEME"
CONFIG_VAR = "OPENCLAW_BOARD_CONFIG"
CONFIG_NAME = "config.toml"
CONFIG_KEYS = ("db", "host", "theme", "env_passthrough")


class SettingsError(Exception):
    """A config file that cannot be used; the message is one line that names the file."""


@dataclass(frozen=True)
class Settings:
    state_dir: Path  # absolute
    db_url: str
    host: str
    theme: str | None = None
    theme_origin: str | None = None  # where the theme came from, for messages: "--theme", THEME_VAR, a file
    env_passthrough: tuple[str, ...] = ()
    config_file: Path | None = None  # the config file that was read, if any

    @classmethod
    def load(
        cls, *, db: str | None = None, theme: str | None = None, host: str | None = None,
        env_passthrough: tuple[str, ...] | None = None, home: str | Path | None = None,
        environ: Mapping[str, str] | None = None, cwd: str | Path | None = None,
    ) -> Settings:
        """Flags (the keyword arguments) > `environ` (default: os.environ) > the config file > defaults."""
        env = os.environ if environ is None else environ
        state = _state_dir(home or env.get(HOME_VAR) or None, cwd)
        config_file, config = _read_config(env.get(CONFIG_VAR) or None, state, cwd)
        theme_name, origin = _first((theme, "--theme"), (env.get(THEME_VAR) or None, THEME_VAR),
                                    (config.get("theme"), f"config file {config_file}"))
        if env_passthrough is None:
            from_env = env.get(PASSTHROUGH_VAR)
            env_passthrough = parse_passthrough(from_env) if from_env else tuple(config.get("env_passthrough", ()))
        return cls(
            state_dir=state,
            db_url=db or env.get(DB_VAR) or config.get("db") or f"sqlite:///{state / 'ledger.db'}",
            host=default_host(host or env.get(HOST_VAR) or config.get("host")),
            theme=theme_name, theme_origin=origin, env_passthrough=tuple(env_passthrough),
            config_file=config_file,
        )

    def with_theme(self, theme: str | None) -> Settings:
        """These settings with a command's `--theme` flag, when given, over the rest."""
        return self if theme is None else replace(self, theme=theme, theme_origin="--theme")

    def with_passthrough(self, names: tuple[str, ...] | None) -> Settings:
        """These settings with a command's `--env-passthrough` flags, when given, over the rest."""
        return self if not names else replace(self, env_passthrough=tuple(names))

    def pin_home(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Write the resolved state directory back to a relative `OPENCLAW_BOARD_HOME`, so that
        the processes we start (a served board, a supervisor) find the same place."""
        env = os.environ if environ is None else environ
        if env.get(HOME_VAR) and env[HOME_VAR] != str(self.state_dir):
            env[HOME_VAR] = str(self.state_dir)


def _first(*candidates: tuple[str | None, str]) -> tuple[str | None, str | None]:
    for value, origin in candidates:
        if value:
            return value, origin
    return None, None


def _state_dir(home: str | Path | None, cwd: str | Path | None) -> Path:
    if home:
        return Path(os.path.normpath(os.path.join(cwd or os.getcwd(), Path(home).expanduser())))
    import platformdirs

    return Path(os.path.abspath(platformdirs.user_state_dir("openclaw-board", appauthor=False)))


def _read_config(named: str | None, state: Path, cwd: str | Path | None) -> tuple[Path | None, dict[str, Any]]:
    """The config file's path and its checked values ({} and None when there is none)."""
    if named:
        path = Path(named).expanduser()
        path = path if path.is_absolute() else Path(cwd or os.getcwd()) / path
    else:
        path = state / CONFIG_NAME
        if not path.exists():
            return None, {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"config file {path}: cannot read it: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path}: not valid TOML: {' '.join(str(exc).split())}") from None
    return path, _checked(path, data)


def _checked(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise SettingsError(f"config file {path}: unknown key {unknown[0]!r} (known: {', '.join(CONFIG_KEYS)})")
    for key in ("db", "host", "theme"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            raise SettingsError(f"config file {path}: {key} must be a non-empty string")
    if "env_passthrough" in data:
        value = data["env_passthrough"]
        names = parse_passthrough(value) if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise SettingsError(f"config file {path}: env_passthrough must be a list of variable names")
        for name in names:
            if not PASSTHROUGH_RE.match(name):
                raise SettingsError(f"config file {path}: env_passthrough {name!r}: a variable name, "
                                    "or a prefix such as AWS_*")
            if never_passed(name):
                raise SettingsError(f"config file {path}: env_passthrough {name!r}: never passed to tasks "
                                    "(it may hold the ledger's credentials)")
        data = {**data, "env_passthrough": tuple(names)}
    return data
