"""The command every chaos-soak task runs: it writes down what it did, outside the ledger.

    python -I -S soak_task.py MARKERS NONCE CODES SLEEP FLAGS

MARKERS/NONCE is this task's marker file (one per submitted task, shared by its attempts).
Each execution appends, with O_APPEND (one write each, so lines never interleave):

    start TASK_ID PID TIME RUN      as it starts (RUN: the how-manieth run of this task, from 1)
    exit TASK_ID CODE BLOCKED TIME  just before it exits with CODE (BLOCKED: 1 when it
                                    printed a `::blocked` line)
    term TASK_ID TIME               when SIGTERM reaches it (a cancel or a timeout); it
                                    then dies of that signal

TASK_ID is read from the wrapper that started it (its parent: the last argument of the
wrapper's command line is `<state>/runs/<task_id>[.<started_ms>]`), so the soak learns which attempt ran
from the process tree, not from the ledger it checks. "?" when the parent is not a wrapper.

CODES is a comma list: the Nth execution of this task exits with the Nth code (the last
one repeats), so a task can fail once and then succeed on its automatic retry. SLEEP is
seconds to sleep first. FLAGS: `p` prints ::progress and ::summary lines, `b` prints a
`::blocked` line (the ledger must then say blocked whatever the exit code), `-` none.
Stdlib only, started with -I -S: it runs once per attempt and must start fast.
"""

import os
import signal
import sys
import time


def task_id_of_parent() -> str:
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
            args = [a for a in fh.read().split(b"\0") if a]
    except OSError:
        return "?"
    if not args or not any(b"wrapper" in a for a in args):
        return "?"
    # The run directory is `<task_id>`, or `<task_id>.<started_ms>` for a claim after a requeue
    # (a run directory is never reused: ledger/runs.py); task ids are UUIDs, without a dot.
    name = os.path.basename(args[-1].rstrip(b"/")).decode("utf-8", "replace")
    return name.split(".", 1)[0]


def append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def main() -> None:
    task_id = task_id_of_parent()  # first: a wrapper killed a moment later leaves us with init
    markers, nonce, codes, sleep_s, flags = sys.argv[1:6]
    path = os.path.join(markers, nonce)
    try:
        with open(path, "rb") as fh:
            runs_before = sum(1 for line in fh if line.startswith(b"start "))
    except OSError:
        runs_before = 0

    def on_term(signum: int, frame: object) -> None:
        append(path, f"term {task_id} {time.time():.3f}\n")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)
    append(path, f"start {task_id} {os.getpid()} {time.time():.3f} {runs_before + 1}\n")
    plan = [int(c) for c in codes.split(",")]
    code = plan[min(runs_before, len(plan) - 1)]
    if "p" in flags:
        print("::progress 10 warming up", flush=True)
    time.sleep(float(sleep_s))
    if "p" in flags:
        print("::progress 90 almost there", flush=True)
        print(f"::summary soak task {nonce} exits {code}", flush=True)
    blocked = "b" in flags
    if blocked:
        print("::blocked waiting for the soak", flush=True)
    print(f"soak task {nonce} run {runs_before + 1} exits {code}", flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the exit line and the exit go together
    append(path, f"exit {task_id} {code} {int(blocked)} {time.time():.3f}\n")
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
