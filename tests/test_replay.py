"""Time travel: the ledger rebuilt from its event log at three points of a recorded flow."""

from __future__ import annotations

from openclaw_board.ledger import Ledger, parse_spec
from openclaw_board.ledger.replay import state_at


class StepClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def test_state_at_three_points_of_a_recorded_flow(ledger_url: str) -> None:
    clock = StepClock()
    with Ledger(ledger_url, clock=clock) as ledger:
        spec = parse_spec({"goal": "g", "tasks": [
            {"label": "fetch", "command": ["true"], "retries": 1, "retry_backoff": "1s"},
            {"label": "report", "command": ["true"], "after": ["fetch"]},
        ]})
        flow_id, ids = ledger.submit(spec)
        t_submitted = clock.now

        clock.now += 1000
        fetch = ledger.claim_next("sup", "h").task
        ledger.report_progress(fetch.task_id, "sup", progress=40, summary="page 4 of 10")
        t_running = clock.now

        clock.now += 1000
        ledger.finish(fetch.task_id, "failed", supervisor_id="sup", exit_code=3)
        t_failed = clock.now

        clock.now += 5000
        retry = ledger.claim_next("sup", "h").task
        ledger.finish(retry.task_id, "succeeded", supervisor_id="sup", exit_code=0)
        clock.now += 1000
        report = ledger.claim_next("sup", "h").task
        ledger.finish(report.task_id, "succeeded", supervisor_id="sup", exit_code=0)

        def view(at: int) -> tuple[str, dict[str, tuple[int, str]]]:
            snap = state_at(ledger, at, flow_id)
            (flow,) = snap.flows
            return flow.status, {t.label: (t.attempt, t.status) for t in snap.latest_tasks()}

        assert view(t_submitted) == ("queued", {"fetch": (1, "queued"), "report": (1, "queued")})
        assert view(t_running) == ("running", {"fetch": (1, "running"), "report": (1, "queued")})
        status, latest = view(t_failed)
        assert latest == {"fetch": (2, "queued"), "report": (1, "queued")}
        assert view(clock.now) == ("succeeded", {"fetch": (2, "succeeded"), "report": (1, "succeeded")})

        snap = state_at(ledger, t_running, flow_id)
        (running,) = [t for t in snap.tasks if t.status == "running"]
        assert running.progress == 40 and running.progress_summary == "page 4 of 10"
        assert running.ended_at is None and running.exit_code is None

        # Before the flow existed there is nothing to show.
        assert state_at(ledger, t_submitted - 1).flows == []
