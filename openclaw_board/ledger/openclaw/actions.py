"""Actions on an OpenClaw ledger go through OpenClaw, never into its database.

The gateway owns OpenClaw's processes, so cancel, retry and flow cancel run
`openclaw tasks cancel <id>`, `openclaw tasks retry <id>` and `openclaw tasks flow cancel
<id>` (LEDGER.md) as argv, with a timeout, when an `openclaw` executable is on PATH; what it
answered is handed back. With no `openclaw` on PATH they are refused with the command to
run. Every other write (approve, submit, claim...) is refused: OpenClaw has no such thing,
or it is the gateway's to do.
"""

from __future__ import annotations

import shutil
import subprocess

from ..errors import IllegalTransition, LedgerError

ACTION_TIMEOUT_S = 30.0
ANSWER_CHARS = 2000


class ReadOnlyLedger(IllegalTransition):
    """A write refused on an OpenClaw ledger; the message says what to run instead, if anything."""


class ExternalCommandFailed(LedgerError):
    """`openclaw ...` ran and refused or failed; the message carries what it answered."""


def openclaw_executable() -> str | None:
    return shutil.which("openclaw")


def _answer(proc: subprocess.CompletedProcess[str]) -> str:
    text = "\n".join(p.strip() for p in (proc.stdout, proc.stderr) if p and p.strip())
    return text[:ANSWER_CHARS]


def run_openclaw(args: list[str], what: str) -> str:
    """Run `openclaw ARGS...`; its answer on success, ExternalCommandFailed otherwise."""
    shown = " ".join(["openclaw", *args])
    exe = openclaw_executable()
    if exe is None:
        raise ReadOnlyLedger(
            f"read-only OpenClaw ledger: OpenClaw's gateway does that: run `{shown}` "
            "(no openclaw executable on PATH)"
        )
    try:
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=ACTION_TIMEOUT_S,
            stdin=subprocess.DEVNULL, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExternalCommandFailed(f"`{shown}` did not answer within {ACTION_TIMEOUT_S:.0f}s") from exc
    except OSError as exc:
        raise ExternalCommandFailed(f"cannot run `{shown}`: {exc.strerror or exc}") from exc
    answer = _answer(proc)
    if proc.returncode != 0:
        last = " ".join(answer.split()) or "no output"
        raise ExternalCommandFailed(f"`{shown}` refused {what} (exit {proc.returncode}): {last}")
    return answer


def refuse(verb: str, hint: str | None = None) -> ReadOnlyLedger:
    extra = f"; {hint}" if hint else ""
    return ReadOnlyLedger(f"read-only OpenClaw ledger: cannot {verb}{extra}")
