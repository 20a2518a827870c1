"""The chaos soak's actors: CLI writers that submit and steer work, and the chaos that kills.

A `Writer` thread runs CLI commands one after another, as scripts and operators do:
`submit --goal ... -- CMD` and spec files (with `after`, retries, timeouts, approval),
`tasks cancel/retry/approve/deny`, `flows cancel/reopen`, and reads (`tasks list --json`,
which also tells it what to act on). Refusals (exit 1, one `error:` line) are expected:
its picture of the ledger is always a little stale.

`Chaos` SIGKILLs or SIGSTOPs (then SIGCONTs) a supervisor (the board's included) or a
task's wrapper every second or two, restarts what it killed after a short pause, and
restarts (and records) anything that died without being killed. Every outage of a
supervisor is recorded with its host, so that the checks know when a lease could rightly
expire (only a SIGSTOP past the lease is long enough).
"""

from __future__ import annotations

import heapq
import json
import queue
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .soak_record import Plan, Record, random_plan
from .soak_world import Actor, Board, pidfd_signal, run_cli, soak_processes


class Writer(threading.Thread):
    def __init__(self, n: int, url: str, home: Path, record: Record, seed: int, stop: threading.Event,
                 on_submit: Callable[[], None]) -> None:
        super().__init__(name=f"soak-writer-{n}", daemon=True)
        self.n, self.url, self.home, self.record, self.stop = n, url, home, record, stop
        self.on_submit = on_submit  # the chaos aims a kill at the claim that follows
        self.rng = random.Random(seed)
        self.markers = home / "markers"
        self.snapshot: list[dict[str, Any]] = []
        self.stale = 0  # actions since the snapshot was taken (none is needed before the first submits)
        self.seq = 0
        self.error: BaseException | None = None

    def cli(self, *args: str) -> Any:
        return run_cli(self.url, self.home, self.record, *args)

    def nonce(self) -> str:
        self.seq += 1
        return f"w{self.n}-{self.seq}-{self.rng.randrange(16 ** 6):06x}"

    def run(self) -> None:
        actions: dict[Callable[[], None], int] = {
            self.submit_goal: 25, self.submit_spec: 25, self.cancel_task: 7, self.cancel_flow: 3,
            self.retry: 10, self.reopen: 5, self.approve: 12, self.read: 4,
        }
        try:
            while not self.stop.is_set():
                if self.stale >= 5 and self.record.flows:
                    self.refresh()
                action = self.rng.choices(list(actions), weights=list(actions.values()))[0]
                action()
                self.stale += 1
                self.stop.wait(self.rng.uniform(0.05, 0.4))
        except BaseException as exc:  # noqa: BLE001 - reported by the soak as its own failure
            self.error = exc

    # -- reads ----------------------------------------------------------------------------

    def refresh(self) -> None:
        call = self.cli("tasks", "list", "--json")
        if call.code == 0:
            self.snapshot = json.loads(call.stdout)["tasks"]
            self.stale = 0

    def pick(self, statuses: tuple[str, ...]) -> dict[str, Any] | None:
        rows = [t for t in self.snapshot if t["status"] in statuses]
        return self.rng.choice(rows) if rows else None

    def read(self) -> None:
        task = self.pick(("running", "succeeded", "failed", "queued"))
        if task is not None and self.rng.random() < 0.5:
            self.cli("tasks", "show", task["task_id"], "--json")
        else:
            self.cli("flows", "list")

    # -- submits --------------------------------------------------------------------------

    def submit_goal(self) -> None:
        nonce = self.nonce()
        plan = random_plan(self.rng, self.rng.choice(["main", "job"]), nonce)
        plan.retries = min(plan.retries, 1)  # --retries backs off 5 s: keep the drain short
        args = ["submit", "--goal", f"soak {nonce}"]
        if plan.label != "main":
            args += ["--label", plan.label]
        if plan.timeout_s is not None:
            args += ["--timeout", f"{plan.timeout_s:g}s"]
        if plan.retries:
            args += ["--retries", str(plan.retries)]
        if plan.approval:
            args.append("--approval")
        call = self.cli(*args, "--", *plan.argv(self.markers))
        if call.code == 0:
            self.record.accepted(call.stdout.strip(), [plan])
            self.on_submit()

    def submit_spec(self) -> None:
        nonce = self.nonce()
        count = self.rng.randint(2, 6)
        plans: list[Plan] = []
        for i in range(count):
            plan = random_plan(self.rng, f"t{i}", f"{nonce}-t{i}")
            earlier = [p.label for p in plans]
            plan.after = sorted(self.rng.sample(earlier, k=min(len(earlier), self.rng.choice([0, 1, 1, 2]))))
            plans.append(plan)
        path = self.home / "specs" / f"{nonce}.toml"
        head = f'goal = "soak spec {nonce}"\nlabel = "spec"\nnotify = "silent"\n\n'
        path.write_text(head + "\n".join(p.toml(self.markers) for p in plans))
        call = self.cli("submit", str(path), "--json")
        if call.code == 0:
            doc = json.loads(call.stdout)
            self.record.accepted(doc["flow_id"], plans, doc["tasks"])
            self.on_submit()

    # -- operator actions -----------------------------------------------------------------

    def cancel_task(self) -> None:
        task = self.pick(("queued", "running", "awaiting_approval"))
        if task is not None and self.cli("tasks", "cancel", task["task_id"]).code == 0:
            with self.record.lock:
                self.record.cancelled_tasks.add(task["task_id"])

    def cancel_flow(self) -> None:
        task = self.pick(("queued", "running", "awaiting_approval"))
        if task is not None and self.cli("flows", "cancel", task["flow_id"]).code == 0:
            with self.record.lock:
                self.record.cancelled_flows.add(task["flow_id"])

    def retry(self) -> None:
        task = self.pick(("failed", "lost", "timed_out", "blocked", "cancelled"))
        if task is not None:
            self.cli("tasks", "retry", task["task_id"])

    def reopen(self) -> None:
        task = self.pick(("failed", "lost", "timed_out", "blocked", "cancelled"))
        if task is not None:
            self.cli("flows", "reopen", task["flow_id"])

    def approve(self) -> None:
        task = self.pick(("awaiting_approval",))
        if task is None:
            return
        if self.rng.random() < 0.2:
            if self.cli("tasks", "deny", task["task_id"]).code == 0:
                with self.record.lock:
                    self.record.cancelled_tasks.add(task["task_id"])
        else:
            self.cli("tasks", "approve", task["task_id"])


class Chaos(threading.Thread):
    """A fault every `every_s` on average; pending SIGCONTs and restarts in a little heap.

    Faults: SIGKILL a supervisor (back after 0.2-3 s), SIGSTOP one for under half its lease,
    or for longer than its lease (another host may then rightly call its runs lost), SIGKILL
    or SIGSTOP a task's wrapper, every standalone supervisor down for half a lease (the board
    alone with the CLI), storms of SIGKILL-and-restart, and, right after a writer's submit, a
    SIGKILL aimed at the window between a claim and the start of its wrapper. Between faults
    an operator browses the board with the keyboard, so that it draws more than its list.
    """

    def __init__(self, actors: list[Actor], home: Path, record: Record, seed: int, stop: threading.Event,
                 every_s: float = 2.5) -> None:
        super().__init__(name="soak-chaos", daemon=True)
        self.actors, self.home, self.record, self.stop, self.every_s = actors, home, record, stop, every_s
        self.rng = random.Random(seed)
        # (when, order, undoes, what): `undoes` a fault (SIGCONT, restart, escape) or is one itself
        self.pending: list[tuple[float, int, bool, Callable[[], Any]]] = []
        self.seq = 0
        self.down: set[str] = set()  # actors killed and not restarted yet
        self.pokes: queue.SimpleQueue[None] = queue.SimpleQueue()
        self.error: BaseException | None = None

    def poke(self) -> None:
        """Thread-safe: a writer's submit was accepted; supervisors are about to claim."""
        self.pokes.put(None)

    def later(self, delay: float, fn: Callable[[], Any], *, undoes: bool = True) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (time.time() + delay, self.seq, undoes, fn))

    def run(self) -> None:
        try:
            next_fault = time.time() + self.rng.uniform(1, 3)
            next_keys = time.time() + 1
            while not self.stop.is_set():
                while self.pending and self.pending[0][0] <= time.time():
                    heapq.heappop(self.pending)[3]()
                for actor in self.actors:
                    if actor.name not in self.down and actor.check_unexpected():
                        actor.restart()
                while not self.pokes.empty():
                    self.pokes.get()
                    if self.rng.random() < 0.3:
                        self.later(self.rng.uniform(0.0, 0.6), self.kill_claimer, undoes=False)
                if time.time() >= next_fault:
                    self.fault()
                    next_fault = time.time() + self.rng.uniform(0.3, 2 * self.every_s - 0.3)
                if time.time() >= next_keys:
                    self.browse()
                    next_keys = time.time() + self.rng.uniform(0.5, 3.0)
                self.stop.wait(0.05)
            self.settle()
        except BaseException as exc:  # noqa: BLE001 - reported by the soak as its own failure
            self.error = exc
            self.settle()

    def settle(self) -> None:
        """The chaos is over: every stopped process continues, every killed one is back; faults
        still to come (the rest of a storm) are dropped."""
        pending, self.pending = sorted(self.pending, key=lambda p: p[:2]), []
        for _, _, undoes, fn in pending:
            if undoes:
                fn()
        for proc in soak_processes(self.home):
            if proc.kind == "wrapper":
                pidfd_signal(proc.pid, signal.SIGCONT, str(self.home).encode())
        for actor in self.actors:
            if actor.stopped:
                actor.signal(signal.SIGCONT)

    def browse(self) -> None:
        """An operator looks around the board (never an action: the truth of cancels is the CLI's):
        moves, expands a flow, opens the inspector or a log and leaves it, sorts, filters."""
        board = next((a for a in self.actors if isinstance(a, Board)), None)
        if board is None or board.name in self.down or board.stopped:
            return
        keys = self.rng.choice([b"j", b"k", b"jjj", b"g", b"G", b" ", b"s", b"2", b"3", b"1", b"\r", b"l"])
        board.press(keys)
        if keys in (b"\r", b"l"):
            self.later(self.rng.uniform(0.5, 2.0), lambda: board.press(b"\x1b"))

    def up(self, *, running: bool = False) -> list[Actor]:
        return [a for a in self.actors if a.name not in self.down and not (running and a.stopped)]

    def pick(self, actors: list[Actor]) -> Actor:
        weights = [1 if a.name == "board" else 3 for a in actors]  # a board restart costs seconds of CPU
        return self.rng.choices(actors, weights=weights)[0]

    def fault(self) -> None:
        kind = self.rng.choices(["kill", "stop", "long_stop", "kill_wrapper", "stop_wrapper", "board_alone", "storm"],
                                weights=[25, 20, 3, 30, 15, 5, 2])[0]
        if kind == "board_alone":
            self.board_alone()
        elif kind == "storm":
            actors = [a for a in self.up() if a.name != "board"]
            if actors:
                self.storm(self.rng.choice(actors), self.rng.randint(3, 6))
        elif kind in ("kill", "stop", "long_stop"):
            actors = self.up(running=kind != "kill")
            if actors:
                actor = self.pick(actors)
                if kind == "kill":
                    self.kill(actor)
                else:
                    lease = self.record.lease_s
                    self.pause(actor, self.rng.uniform(0.5, 0.4 * lease) if kind == "stop"
                               else self.rng.uniform(lease + 2, lease + 6))
        else:
            self.fault_wrapper(kind)

    def fault_wrapper(self, kind: str) -> None:
        wrappers = [(p.pid, p.what) for p in soak_processes(self.home) if p.kind == "wrapper"]
        if not wrappers:
            return
        pid, task_id = self.rng.choice(wrappers)
        must = f"/runs/{task_id}".encode()
        if kind == "kill_wrapper":
            with self.record.lock:  # recorded first: a lost that follows is explained
                self.record.wrapper_kills[task_id] = time.time()
            if pidfd_signal(pid, signal.SIGKILL, must):
                self.record.fault(f"wrapper {task_id}", "SIGKILL")
            return
        pause = round(self.rng.uniform(0.5, 3.0), 1)
        with self.record.lock:
            self.record.wrapper_stops.add(task_id)
        if pidfd_signal(pid, signal.SIGSTOP, must):
            self.record.fault(f"wrapper {task_id}", "SIGSTOP", f"{pause}s")
            self.later(pause, lambda: pidfd_signal(pid, signal.SIGCONT, must))

    def kill_claimer(self) -> None:
        actors = [a for a in self.up() if a.name != "board"]
        if actors:
            self.kill(self.rng.choice(actors), action="SIGKILL after a submit")

    def storm(self, actor: Actor, kills: int) -> None:
        """SIGKILL, restart at once, again 0.4-1.2 s later: sooner or later a kill lands between
        a claim and the start of its wrapper (issue 11 found false losts that way)."""
        if actor.name not in self.down:
            self.kill(actor, 0.02, action="SIGKILL storm")
        if kills > 1:
            self.later(self.rng.uniform(0.4, 1.2), lambda: self.storm(actor, kills - 1), undoes=False)

    def board_alone(self) -> None:
        """Every standalone supervisor down for a few seconds: the board and the CLI alone on the
        ledger, the topology of issue 11's data loss (other connections would hide it)."""
        down_s = self.rng.uniform(0.3, 0.6) * self.record.lease_s
        self.record.fault("board", "alone", f"{down_s:.1f}s")
        for actor in self.up():
            if actor.name != "board":
                self.kill(actor, down_s)

    def kill(self, actor: Actor, down_s: float | None = None, action: str = "SIGKILL") -> None:
        outage = self.record.outage(actor.host, actor.name)
        actor.kill()
        self.down.add(actor.name)
        self.record.fault(actor.name, action)

        def restart() -> None:
            self.down.discard(actor.name)
            actor.restart()
            outage.end, outage.restarted_pid = time.time(), actor.pid
            self.record.fault(actor.name, "restart")

        self.later(down_s if down_s is not None else self.rng.uniform(0.2, 3.0), restart)

    def pause(self, actor: Actor, pause_s: float) -> None:
        incarnation = actor.incarnation
        if not actor.signal(signal.SIGSTOP):
            return
        outage = self.record.outage(actor.host, actor.name)
        past = pause_s > self.record.lease_s
        self.record.fault(actor.name, "SIGSTOP past the lease" if past else "SIGSTOP", f"{pause_s:.1f}s")

        def resume() -> None:
            outage.end = time.time()
            if actor.incarnation == incarnation:
                actor.signal(signal.SIGCONT)

        self.later(pause_s, resume)
