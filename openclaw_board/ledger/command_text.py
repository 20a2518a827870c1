"""A task's command as one line a shell would read back: the CLI and the board quote it alike."""

from __future__ import annotations

import shlex


def command_line(command: list[str] | str) -> str:
    """`python3 fetch.py --region 'eu west'`: argv quoted with `shlex.join`; a shell string
    (`shell = true`) as it was written."""
    return command if isinstance(command, str) else shlex.join(command)
