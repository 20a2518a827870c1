"""Results reach people: a real HTTP receiver (Apprise `json://`) and a real hook command,
exactly once, even when the receiver was down for a while and two supervisors run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.ledger.deliveries import MAX_ATTEMPTS
from openclaw_board.supervisor import Supervisor

SECRET = "s3cretpass"
HOOK = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(json.load(sys.stdin)) + '\\n')"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is posted."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def results(self) -> list[dict]:
        """The flow results posted (Apprise's json:// puts our JSON in "message")."""
        return [json.loads(b["message"]) for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notified_spec(port: int, hook_file: Path, command: list[str] | None = None, notify: str = "done_only",
                  goal: str = "nightly report"):
    return parse_spec({
        "goal": goal, "notify": notify,
        "notify_to": [f"json://user:{SECRET}@127.0.0.1:{port}/hook"],
        "notify_command": [sys.executable, "-c", HOOK, str(hook_file)],
        "tasks": [{"label": "t", "command": command or ["true"]}]})


def hooked(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def until(pred, what: str, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_result_reaches_a_webhook_and_a_command_once(ledger_url: str, home: Path, tmp_path: Path) -> None:
    receiver = Receiver()
    try:
        with Ledger(ledger_url) as ledger:
            flow_id, _ = ledger.submit(notified_spec(receiver.port, tmp_path / "hook.jsonl"))
        Supervisor(ledger_url, poll_interval_s=0.05).run(until_idle=True)
        assert [(r["flow_id"], r["status"]) for r in receiver.results()] == [(flow_id, "succeeded")]
        hook = hooked(tmp_path / "hook.jsonl")
        assert [(r["flow_id"], r["status"]) for r in hook] == [(flow_id, "succeeded")]
        assert hook[0]["tasks"][0]["label"] == "t" and hook[0]["tasks"][0]["exit_code"] == 0
        with Ledger(ledger_url) as ledger:
            assert sorted(d.status for d in ledger.list_deliveries(flow_id=flow_id)) == ["delivered", "delivered"]
    finally:
        receiver.close()


def test_a_receiver_down_for_a_while_gets_the_result_later_once(ledger_url: str, home: Path, tmp_path: Path) -> None:
    port = free_port()  # nobody listens yet
    with Ledger(ledger_url) as ledger:
        flow_id, _ = ledger.submit(notified_spec(port, tmp_path / "hook.jsonl"))
    sup = Supervisor(ledger_url, poll_interval_s=0.05)
    thread = threading.Thread(target=sup.run, daemon=True)
    thread.start()
    receiver = None
    try:
        with Ledger(ledger_url) as ledger:
            def url_delivery():  # type: ignore[no-untyped-def]
                return next(d for d in ledger.list_deliveries(flow_id=flow_id) if d.target_kind == "url")

            until(lambda: any(d.target_kind == "url" and d.attempts >= 1 for d in ledger.list_deliveries()),
                  "a failed first attempt")
            failed = url_delivery()
            assert failed.status == "pending" and failed.last_error
            assert SECRET not in failed.last_error and SECRET not in failed.target_shown
            receiver = Receiver(port)  # the receiver comes back; the retry (5 s later) reaches it
            until(lambda: url_delivery().status == "delivered", "the retry")
            time.sleep(1.5)  # room for a wrong second send
            assert [r["flow_id"] for r in receiver.results()] == [flow_id]
            assert len(hooked(tmp_path / "hook.jsonl")) == 1
        shown = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", ledger_url, "deliveries", "list",
                                "--json"], capture_output=True, text=True, timeout=60)
        listed = json.loads(shown.stdout)
        assert listed["count"] == 2 and all(d["status"] == "delivered" for d in listed["deliveries"])
        assert SECRET not in shown.stdout
    finally:
        sup.request_stop()
        thread.join(30)
        if receiver is not None:
            receiver.close()
    log = (home / "supervisor.log").read_text()
    assert "delivery" in log and SECRET not in log


def test_two_supervisors_deliver_each_result_once(ledger_url: str, home: Path, tmp_path: Path) -> None:
    receiver = Receiver()
    hook = tmp_path / "hook.jsonl"
    try:
        with Ledger(ledger_url) as ledger:
            flows = [ledger.submit(notified_spec(receiver.port, hook, goal=f"report {i}"))[0] for i in range(12)]
        sups = [Supervisor(ledger_url, poll_interval_s=0.05, concurrency=3) for _ in range(2)]
        threads = [threading.Thread(target=s.run, daemon=True) for s in sups]
        for t in threads:
            t.start()
        until(lambda: len(receiver.results()) >= 12 and len(hooked(hook)) >= 12, "every result")
        time.sleep(2)
        for s in sups:
            s.request_stop()
        for t in threads:
            t.join(30)
        assert sorted(r["flow_id"] for r in receiver.results()) == sorted(flows)
        assert sorted(r["flow_id"] for r in hooked(hook)) == sorted(flows)
    finally:
        receiver.close()


def test_policies_state_changes_and_silent(ledger: Ledger, tmp_path: Path) -> None:
    every, _ = ledger.submit(notified_spec(9, tmp_path / "h", notify="state_changes"))
    quiet = ledger.submit(parse_spec({"goal": "q", "notify": "silent", "notify_to": ["json://127.0.0.1:9/x"],
                                      "tasks": [{"label": "t", "command": ["true"]}]}))[0]
    for _ in range(2):
        task = ledger.claim_next("sup-1", "h").task
        assert task is not None
        ledger.finish(task.task_id, "succeeded", supervisor_id="sup-1", exit_code=0)
    kinds = sorted((d.flow_status, d.target_kind) for d in ledger.list_deliveries(flow_id=every))
    assert kinds == [("running", "command"), ("running", "url"), ("succeeded", "command"), ("succeeded", "url")]
    assert ledger.list_deliveries(flow_id=quiet) == []


def test_a_delivery_given_up_is_visible_and_can_be_retried(ledger: Ledger, tmp_path: Path) -> None:
    flow_id, _ = ledger.submit(notified_spec(9, tmp_path / "h"))
    task = ledger.claim_next("sup-1", "h").task
    assert task is not None
    ledger.finish(task.task_id, "failed", supervisor_id="sup-1", exit_code=1)
    target = next(d for d in ledger.list_deliveries(flow_id=flow_id) if d.target_kind == "url")
    for _ in range(MAX_ATTEMPTS):
        ledger.m.Delivery.update(next_try_at=0).where(ledger.m.Delivery.id == target.id).execute()
        claimed = ledger.claim_delivery("w")
        while claimed is not None and claimed.id != target.id:
            ledger.delivery_sent(claimed.id, "w")
            claimed = ledger.claim_delivery("w")
        assert claimed is not None
        ledger.delivery_failed(claimed.id, "w", "Connection refused")
    row = ledger.get_delivery(target.id)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert [d.id for d in ledger.list_deliveries(status="failed")] == [target.id] and ledger.undelivered_count() >= 1
    ledger.retry_delivery(str(target.id))
    assert ledger.get_delivery(target.id).status == "pending"


@pytest.mark.parametrize("bad", [["ftp-nope://x"], "not a url", [123]])
def test_bad_targets_are_refused_without_printing_them(bad: object) -> None:
    from openclaw_board.ledger import SpecError

    with pytest.raises(SpecError, match="notify_to") as caught:
        parse_spec({"goal": "g", "notify_to": bad, "tasks": [{"label": "t", "command": ["true"]}]}, "s.toml")
    assert "ftp-nope://x" not in str(caught.value)


def test_the_config_files_targets_serve_a_spec_that_names_none(sqlite_url: str, home: Path, tmp_path: Path) -> None:
    receiver = Receiver()
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'notify_to = ["json://user:{SECRET}@127.0.0.1:{receiver.port}/hook"]\n')
    try:
        submitted = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", sqlite_url, "submit", "--goal",
                                    "g", "--", "true"], capture_output=True, text=True, timeout=60)
        assert submitted.returncode == 0, submitted.stderr
        Supervisor(sqlite_url, poll_interval_s=0.05).run(until_idle=True)
        assert [r["flow_id"] for r in receiver.results()] == [submitted.stdout.strip()]
    finally:
        receiver.close()
    (home / "config.toml").write_text('notify_to = ["nope://x"]\n')
    bad = subprocess.run([sys.executable, "-m", "openclaw_board", "--db", sqlite_url, "flows", "list"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("error: config file ") and "notify_to #1" in bad.stderr
