"""Which of the supervisor's environment variables a task receives.

A task does not inherit the supervisor's environment whole: that environment may hold the
ledger's URL and credentials (`OPENCLAW_BOARD_DB=postgresql://user:password@...`, libpq's
`PG*` variables), and a task, its log and every process it starts would see them. A task
gets:

1. the variables named by DEFAULT_PASSTHROUGH (what a program needs to run at all);
2. the ones the operator adds (`supervise --env-passthrough NAME`, or
   `OPENCLAW_BOARD_ENV_PASSTHROUGH="NAME,PREFIX_*"` for embedded and standalone supervisors);
3. the ones its spec names (`env_passthrough = [...]`, top level or per task);
4. the spec's own `env` values, which win over all of the above.

Whatever the lists say, NEVER_PASSED names are dropped, and so is any variable whose value
holds the ledger's URL or password (the one we use, and the one in `$OPENCLAW_BOARD_DB`).
A spec may still *set* `PGHOST` or `PGPASSWORD` in its own `env` (its own database, its
own value): only the supervisor's values are withheld.

This keeps credentials out of tasks' environments and logs; it is not a sandbox: a task
runs as the operator's user and can read what that user can.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

ENV_VAR = "OPENCLAW_BOARD_ENV_PASSTHROUGH"
DEFAULT_PASSTHROUGH: tuple[str, ...] = (
    "PATH", "HOME", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "USER", "LOGNAME", "SHELL", "TMPDIR",
)
# What a spec or the operator may name: NAME, or a prefix pattern NAME_* (shell variable names).
PASSTHROUGH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
# Exact names, and prefixes ending in "*".
NEVER_PASSED: tuple[str, ...] = ("OPENCLAW_BOARD_DB", "PG*")


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def never_passed(name: str) -> bool:
    """True for a name (or a NAME_* pattern) that can only match withheld variables."""
    if name.endswith("*"):
        prefix = name[:-1]
        return any(p.endswith("*") and prefix.startswith(p[:-1]) for p in NEVER_PASSED)
    return any(_matches(name, p) for p in NEVER_PASSED)


def parse_passthrough(text: str | None) -> tuple[str, ...]:
    """`OPENCLAW_BOARD_ENV_PASSTHROUGH`: names separated by commas, colons or spaces."""
    if not text:
        return ()
    return tuple(w for w in text.replace(",", " ").replace(":", " ").split() if w)


def _secrets_of(ledger_url: str | None) -> tuple[str, ...]:
    """Strings that must not appear in a passed value: a server ledger's URL and password."""
    if not ledger_url or "://" not in ledger_url or ledger_url.startswith("sqlite:"):
        return ()
    found = [ledger_url]
    try:
        password = urlsplit(ledger_url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    return tuple(s for s in found if len(s) >= 4)


def task_environment(
    parent: Mapping[str, str], task_env: Mapping[str, str | None], *,
    passthrough: Iterable[str] = (), ledger_url: str | None = None,
) -> dict[str, str]:
    """The whole environment a task starts with (see the module docstring for the rules)."""
    wanted = (*DEFAULT_PASSTHROUGH, *passthrough, *(k for k, v in task_env.items() if v is None))
    secrets = _secrets_of(ledger_url) + _secrets_of(parent.get("OPENCLAW_BOARD_DB"))
    env = {
        k: v for k, v in parent.items()
        if any(_matches(k, p) for p in wanted)
        and not any(_matches(k, p) for p in NEVER_PASSED)
        and not any(s in v for s in secrets)
    }
    env.update({k: v for k, v in task_env.items() if v is not None})
    return env
