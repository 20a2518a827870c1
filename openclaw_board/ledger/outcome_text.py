"""How a finished task's exit code and error read, in one definition for every place that says it.

The supervisor records `error = "exit 3"` for a plain non-zero exit, so a detail built as
"exit {code}" plus the error said it twice ("failed exit 3 (exit 3)", "exit 3: exit 3").
The event log, the supervisor's journal, the board and the CLI all call `outcome_text`.
"""

from __future__ import annotations


def outcome_text(exit_code: int | None, error: str | None) -> str:
    """`exit 3`, `exit 3: disk full`, `killed by SIGKILL`, or "" when there is nothing to say."""
    error = (error or "").strip()
    if exit_code is None:
        return error
    code = f"exit {exit_code}"
    if error == code or error.startswith(code + ":") or error.startswith(code + " "):
        return error  # the error already says the exit code
    return f"{code}: {error}" if error else code
