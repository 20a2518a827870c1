"""One watched run: starting its wrapper, and reading what the wrapper left on disk.

A `Run` is what the supervisor knows about a task it watches: the run directory, the
wrapper's identity (pid + start ticks), the `Popen` when the wrapper is our own child
(we reap it) or None when we adopted it from a dead supervisor (init reaps it), and what
was last reported to the ledger.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..safetext import log_text
from . import procs
from .wrapper import CHILD_FILE, CONTROL_FILE, ERR_FILE, EXIT_FILE, SPEC_FILE, WRAPPER_FILE, read_kv, reserve_exit

WRAPPER = str(Path(__file__).with_name("wrapper.py"))
# Imported rather than run as a script, so that its cached bytecode is used (a script is
# compiled on every start). `-I -S`: no site, no user paths, no environment: the wrapper is
# stdlib-only and starts in ~10 ms.
_HERE = str(Path(__file__).parent)
_LAUNCH = f"import sys; sys.path.insert(0, {_HERE!r}); import wrapper; wrapper.main(sys.argv[1])"


def wrapper_argv(run_dir: Path) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _LAUNCH, str(run_dir)]
DEFAULT_HEAD_CAP = 8 << 20
DEFAULT_TAIL_CAP = 8 << 20


@dataclass
class Run:
    task_id: str
    runtime: str
    run_dir: Path
    pid: int | None = None
    start: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    watch_fd: int | None = None
    # A run whose wrapper died while its command lives on: (command pid = its group, start
    # ticks). We do what the wrapper would have (watching.check_orphan); `orphan_limits` is
    # (monotonic deadline or None, kill grace), set when we first look at it.
    orphan: tuple[int, int | None] | None = None
    orphan_limits: tuple[float | None, float] | None = None
    stop_reason: str | None = None  # why we stopped an orphan ourselves: "timeout" | "cancel"
    control_sig: tuple[int, int] | None = None
    progress: float | None = None
    summary: str | None = None
    tail_bytes: int = 0
    tail_at: float = 0.0
    stop_sent_at: float | None = None
    killed: bool = False
    seen_at: float = field(default=0.0)

    @property
    def exit_path(self) -> Path:
        return self.run_dir / EXIT_FILE

    def read_exit(self) -> dict[str, str] | None:
        return read_kv(str(self.exit_path))

    def wrapper_alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return procs.alive(self.pid, self.start)

    def close(self) -> None:
        if self.watch_fd is not None:
            os.close(self.watch_fd)
            self.watch_fd = None


def wrapper_identity(run_dir: Path) -> tuple[int, int | None] | None:
    return _pair(run_dir / WRAPPER_FILE)


def child_identity(run_dir: Path, wrapper_pid: int | None = None) -> tuple[int, int | None] | None:
    """The command's (pid, start ticks): from its `child` file, else (a full disk, or a wrapper
    killed before it wrote the file) found in the wrapper's session (`wrapper_pid`, else the
    one its `wrapper` file names)."""
    found = _pair(run_dir / CHILD_FILE)
    if found is not None:
        return found
    if wrapper_pid is not None:
        return procs.session_command(wrapper_pid)
    wrapper = wrapper_identity(run_dir)
    if wrapper is None:
        return None
    # A wrapper that is gone may have left its pid to a stranger, who may lead a session of its
    # own (every wrapper does): its session's command is not ours. While our session has members
    # the kernel keeps its id, so a session under that id with its leader gone is still ours.
    now = procs.start_ticks(wrapper[0], zombie_ok=True)
    if now is not None and now != wrapper[1]:
        return None
    return procs.session_command(wrapper[0])


def _pair(path: Path) -> tuple[int, int | None] | None:
    try:
        words = path.read_text().split()
        return int(words[0]), (int(words[1]) if len(words) > 1 and words[1].isdigit() else None)
    except (OSError, ValueError, IndexError):
        return None


def read_spec(run_dir: Path) -> dict[str, Any]:
    """The spec the wrapper was given (empty when it cannot be read)."""
    try:
        spec = marshal.loads((run_dir / SPEC_FILE).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return spec if isinstance(spec, dict) else {}


def write_spec(run_dir: Path, task: Any, command: Any, env: dict[str, str], *, kill_grace_s: float,
               head_cap: int, tail_cap: int) -> None:
    spec = {
        "command": command, "shell": bool(task.shell), "cwd": task.cwd, "env": env,
        "timeout_s": task.timeout_s, "kill_grace_s": kill_grace_s,
        "head_cap": head_cap, "tail_cap": tail_cap,
    }
    fd = os.open(run_dir / SPEC_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(marshal.dumps(spec))


def start_wrapper(run_dir: Path, env: dict[str, str], reserved: bool = False) -> subprocess.Popen[bytes]:
    """The wrapper in a session of its own, so that it outlives us and no terminal signal reaches it.

    First the room for its `exit` file: a disk too full for it fails the start here (OSError),
    before the command runs; once it runs, its result always fits (wrapper.write_exit).
    `env` is the task's whole environment (ledger/envpolicy.py): the wrapper starts with it
    too, so that neither it nor the task sees what we hold (the ledger's URL, credentials).
    `reserved`: the caller made that room already (spawn.py)."""
    if not reserved:
        reserve_exit(str(run_dir))
    err = os.open(run_dir / ERR_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            wrapper_argv(run_dir),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, close_fds=True, env=env,
        )
    finally:
        os.close(err)


def control_changed(run: Run) -> dict[str, str] | None:
    """The wrapper's `control` values when the file changed since we last looked."""
    try:
        st = os.stat(run.run_dir / CONTROL_FILE)
    except OSError:
        return None
    sig = (st.st_mtime_ns, st.st_size)
    if sig == run.control_sig:
        return None
    run.control_sig = sig
    return read_kv(str(run.run_dir / CONTROL_FILE))


def clean_tail(raw: bytes, cut: bool = False) -> str:
    """Latest output as safe text for the ledger: UTF-8 with replacement, escape sequences
    removed and other controls made visible (`safetext.log_text`, as `tasks logs` shows it).

    `cut`: the bytes are the end of a longer output, so drop the partial first line."""
    text = raw.decode("utf-8", "replace")
    if cut and "\n" in text:
        text = text[text.index("\n") + 1:]  # start on a whole line
    return log_text(text)
