"""The delivery worker: a thread of every supervisor that sends queued results to their
targets (ledger/deliveries.py has the queue and its rules).

It runs beside the supervisor's loop, with its own ledger connection, because a send may
take seconds (a slow webhook, a hook command) and the loop must keep its heartbeats.
A command target gets the result as JSON on stdin, runs as argv (never through a shell)
with the environment a task would get, and must exit 0 within SEND_TIMEOUT_S. A URL target
is sent by Apprise; for `json://` receivers the message body is the same JSON. Errors are
kept on the delivery with every secret of the target URL scrubbed out.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import peewee as pw

from ..ledger import Ledger, LedgerError
from ..ledger.clock import Clock
from ..ledger.envpolicy import task_environment
from .journal import ledger_trouble

SEND_TIMEOUT_S = 60.0
IDLE_S = 1.0  # how often an idle worker looks for due deliveries
ERROR_CHARS = 500


def send(row: Any, ledger_url: str) -> str | None:
    """Send one delivery; None when it was delivered, else why not (scrubbed)."""
    if row.target_kind == "command":
        return _run_command(json.loads(row.target), row.payload, ledger_url)
    return _notify_url(row.target, row.payload)


def _run_command(argv: list[str], payload: str, ledger_url: str) -> str | None:
    env = task_environment(os.environ, {}, passthrough=(), ledger_url=ledger_url)
    try:
        proc = subprocess.run(argv, input=payload.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=SEND_TIMEOUT_S, env=env, start_new_session=True)
    except FileNotFoundError:
        return f"command not found: {argv[0]}"
    except subprocess.TimeoutExpired:
        return f"command did not finish within {SEND_TIMEOUT_S:g}s"
    except OSError as exc:
        return f"cannot run {argv[0]}: {exc.strerror}"
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"command exited {proc.returncode}" + (f": {tail[0][:ERROR_CHARS]}" if tail[0] else "")
    return None


def _notify_url(url: str, payload: str) -> str | None:
    import apprise

    result = json.loads(payload)
    ok_status = result["status"] == "succeeded"
    kind = apprise.NotifyType.SUCCESS if ok_status else (
        apprise.NotifyType.INFO if result["status"] in ("queued", "running", "waiting") else apprise.NotifyType.FAILURE)
    title = f"openclaw-board: {result['goal'][:80]} {result['status']}"
    body = payload if url.lower().startswith(("json://", "jsons://")) else _summary(result)
    sender = apprise.Apprise()
    if not sender.add(url):
        return "Apprise cannot use this URL"
    with apprise.LogCapture(level=logging.WARNING) as logs:
        sent = sender.notify(title=title, body=body, notify_type=kind)
        said = logs.getvalue().strip().splitlines()
    if sent:
        return None
    return scrub((said[-1] if said else "not delivered")[:ERROR_CHARS], url)


def _summary(result: dict[str, Any]) -> str:
    lines = [f"Flow {result['flow_id'][:8]} ({result['goal']}) is {result['status']}."]
    for task in result["tasks"][:20]:
        extra = task.get("terminal_summary") or task.get("error") or ""
        lines.append(f"- {task['label']}: {task['status']}" + (f" ({extra[:100]})" if extra else ""))
    return "\n".join(lines)


def scrub(text: str, url: str) -> str:
    """`text` without any secret of `url`: its password, user, and every path segment and
    query value (tokens live there: slack://T/B/secret, ntfy://...?token=...)."""
    parts = urlsplit(url)
    secrets = {parts.password or "", parts.username or "", url}
    secrets.update(unquote(seg) for seg in parts.path.split("/"))
    secrets.update(value for _key, value in parse_qsl(parts.query))
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


class DeliveryWorker:
    """Sends due deliveries until stopped; one per supervisor."""

    def __init__(self, url: str, worker: str, journal: Callable[[str], None], clock: Clock | None = None) -> None:
        self.url, self.worker, self.journal, self.clock = url, worker, journal, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="openclaw-deliveries", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            ledger = Ledger(self.url, clock=self.clock)
        except (LedgerError, pw.DatabaseError) as exc:
            self.journal(f"deliveries: cannot open the ledger: {exc}")
            return
        try:
            while not self._stop.is_set():
                began = time.time()
                try:
                    row = ledger.claim_delivery(self.worker)
                    if row is None:
                        self._stop.wait(IDLE_S)
                        continue
                    error = send(row, self.url)
                    what = f"delivery {row.id} ({row.kind} of flow {row.flow_id[:8]}) to {row.target_shown}"
                    if error is None:
                        ledger.delivery_sent(row.id, self.worker)
                        self.journal(f"{what}: sent")
                    else:
                        ledger.delivery_failed(row.id, self.worker, error)
                        self.journal(f"{what}: attempt {row.attempts + 1} failed: {error}")
                except (LedgerError, pw.DatabaseError, pw.InterfaceError) as exc:
                    said = ledger_trouble(exc, time.time() - began, postgres=not ledger.is_sqlite)
                    self.journal(f"deliveries: {said}")
                    if isinstance(exc, (pw.OperationalError, pw.InterfaceError)):
                        ledger.reset_connection()
                    self._stop.wait(IDLE_S * 5)
        finally:
            ledger.close()
