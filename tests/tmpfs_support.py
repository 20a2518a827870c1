"""A real full disk for the tests: a small tmpfs mounted on a directory, and a filler to fill it.

Mounting needs root (CI runs as root); elsewhere the tests that need it are skipped, saying
why. `fill` writes until the file system refuses (ENOSPC), so whatever is written next fails
the way it would on a full disk.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """`path` (created if needed) with a tmpfs of `size` (e.g. "64k") mounted on it, mode 0700."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a real full disk) needs root")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path, name: str = "filler") -> Path:
    """Write zeros into `directory/name` until the disk is full; the filler's path."""
    path = directory / name
    block = b"\0" * 4096
    with open(path, "ab", buffering=0) as fh:
        try:
            while True:
                fh.write(block)
        except OSError:
            pass
    # A tmpfs page may still have a few bytes free at the end of the last block: take them too.
    with open(path, "ab", buffering=0) as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")
    return path
