"""Where a flow's results go: a command (the result as JSON on stdin, argv, never a shell)
and Apprise URLs (ntfy, Slack, email, Matrix, `json://` webhooks...).

A target URL may hold credentials (a password, a token in its path or query). It is kept in
the ledger (0600) to be used, and shown only as `shown()` makes it: Apprise's own privacy
form, where every secret is masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_TARGETS = 20
MAX_URL = 2048


@dataclass(frozen=True)
class Target:
    kind: str  # "command" | "url"
    target: str  # the URL, or the argv as JSON
    shown: str  # what may be printed: worked out once, when the spec is read (Apprise is slow to import)

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "shown": self.shown}


def parse_targets(command: object, urls: object, fail: Any) -> tuple[Target, ...]:
    """`notify_command` and `notify_to` of a spec, validated; `fail(msg)` returns the error to raise."""
    targets: list[Target] = []
    if command is not None:
        if (not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command)
                or not command[0].strip() or any("\x00" in a for a in command)):
            raise fail("notify_command: a non-empty list of arguments (argv; no shell)")
        targets.append(Target("command", json.dumps(command), " ".join(command)))
    if urls is not None:
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise fail("notify_to: a list of Apprise URLs, e.g. [\"ntfy://ntfy.sh/mytopic\"]")
        if len(urls) > MAX_TARGETS:
            raise fail(f"notify_to: more than {MAX_TARGETS} targets")
        for index, url in enumerate(urls, start=1):
            problem = url_problem(url)
            if problem:
                raise fail(f"notify_to #{index}: {problem}")  # never the URL itself: it may hold a secret
            targets.append(Target("url", url, _private(url)))
    return tuple(targets)


def url_problem(url: str) -> str | None:
    """Why Apprise could not use this URL (without quoting it), or None."""
    if not url or len(url) > MAX_URL or "\x00" in url or "://" not in url:
        return "not a URL such as ntfy://ntfy.sh/topic or json://host/path"
    import apprise  # only for specs that have URLs: it is slow to import

    if apprise.Apprise.instantiate(url) is None:
        return f"Apprise does not know how to send to a {urlsplit(url).scheme or '?'}:// URL"
    return None


def _private(url: str) -> str:
    """The URL as it may be printed or logged: Apprise's privacy form, every secret masked."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return f"{urlsplit(url).scheme}://…"
    return str(plugin.url(privacy=True))


def targets_json(targets: tuple[Target, ...]) -> str | None:
    return json.dumps([t.as_json() for t in targets]) if targets else None


def targets_of(text: str | None) -> tuple[Target, ...]:
    return tuple(Target(d["kind"], d["target"], d["shown"]) for d in json.loads(text)) if text else ()
