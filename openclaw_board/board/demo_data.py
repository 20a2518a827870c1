"""The demo: realistic flows made of small real commands, and a scripted version of them.

`demo_specs(workdir)` returns flow specs whose tasks are real Python one-liners that
sleep, print, report `::progress` and `::summary`, fail once and retry, block, or wait for
approval. `play_script(ledger, start)` moves the same flows through the Ledger API at
fixed times, without processes: a deterministic board for snapshots and screenshots.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..ledger import Ledger
from ..ledger.spec import FlowSpec, TaskSpec

PY = sys.executable


def _py(code: str) -> list[str]:
    return [PY, "-u", "-c", code]


def _steps(name: str, steps: int, delay: float, unit: str) -> list[str]:
    return _py(
        "import time\n"
        f"n={steps}\n"
        "for i in range(1, n + 1):\n"
        f"    time.sleep({delay})\n"
        f"    print(f'{name}: {unit} {{i}}/{{n}} done', flush=True)\n"
        f"    print(f'::progress {{100*i//n}} {unit} {{i}}/{{n}}', flush=True)\n"
        f"print('::summary {name}: {steps} x {unit} done')\n"
    )


def demo_specs(workdir: Path) -> list[FlowSpec]:
    flaky_marker = workdir / "crm-first-try"
    flaky = _py(
        "import os, sys, time\n"
        f"marker = {str(flaky_marker)!r}\n"
        "time.sleep(1.5)\n"
        "if not os.path.exists(marker):\n"
        "    open(marker, 'w').close()\n"
        "    print('syncing 1,204 contacts from crm.example.com')\n"
        "    print('error: HTTP 503 Service Unavailable from crm.example.com', file=sys.stderr)\n"
        "    sys.exit(1)\n"
        "print('synced 1,204 contacts (second try)')\n"
        "print('::summary 1,204 contacts synced')\n"
    )
    blocked = _py(
        "import time\n"
        "print('exporting invoices for 2026-10 ...')\n"
        "time.sleep(1)\n"
        "print('::blocked waiting for API credentials from finance (ticket FIN-482)')\n"
    )
    quick = _py("print('::summary 3 dashboards refreshed')")
    return [
        FlowSpec(
            goal="Batch research: competitor pricing pages", label="research",
            tasks=(
                TaskSpec("fetch-acme", _steps("acme.example", 6, 0.8, "page"), runtime="research"),
                TaskSpec("fetch-globex", _steps("globex.example", 8, 0.7, "page"), runtime="research"),
                TaskSpec("fetch-initech", _steps("initech.example", 5, 1.1, "page"), runtime="research"),
                TaskSpec("summarize", _steps("summary", 4, 0.6, "section"), runtime="llm",
                         after=("fetch-acme", "fetch-globex", "fetch-initech")),
            ),
        ),
        FlowSpec(
            goal="Lead enrichment: October webinar signups", label="leads",
            tasks=tuple(
                TaskSpec(f"enrich-{i}", _steps(f"shard {i}", 10, 0.5 + i * 0.15, "lead batch"),
                         runtime="enrich", retries=1)
                for i in range(1, 4)
            ),
        ),
        FlowSpec(
            goal="Weekly pipeline report (scheduled, Mon 07:00)", label="report",
            tasks=(
                TaskSpec("query", _steps("warehouse", 3, 0.7, "query"), runtime="cron"),
                TaskSpec("render", _steps("report", 3, 0.5, "chart"), runtime="cron", after=("query",)),
                TaskSpec("email", _py("print('sent to sales-leads@example.com')\n"
                                      "print('::summary report mailed to 14 people')"),
                         runtime="cron", after=("render",)),
            ),
        ),
        FlowSpec(goal="Sync CRM contacts (flaky upstream)", label="crm",
                 tasks=(TaskSpec("sync", flaky, runtime="cli", retries=2, retry_backoff_s=3.0),)),
        FlowSpec(goal="Migrate billing export to the new API", label="billing",
                 tasks=(TaskSpec("export", blocked, runtime="cli"),)),
        FlowSpec(goal="Send the winter campaign to 12,480 contacts", label="campaign",
                 tasks=(TaskSpec("send", _steps("mailer", 5, 1.0, "batch"), runtime="mailer",
                                 requires_approval=True),)),
        FlowSpec(goal="Re-index the knowledge base", label="kb",
                 tasks=(TaskSpec("reindex", _steps("kb", 120, 1.0, "collection"), runtime="index",
                                 timeout_s=900),)),
        FlowSpec(
            goal="Release notes for v2.4", label="release",
            tasks=(
                TaskSpec("collect", _steps("changelog", 3, 0.6, "repo"), runtime="cli"),
                TaskSpec("draft", _steps("draft", 4, 0.8, "section"), runtime="llm", after=("collect",)),
                TaskSpec("review", _py("print('review requested from docs team')\n"
                                       "print('::summary approved by docs team')"),
                         runtime="cli", after=("draft",), requires_approval=True),
                TaskSpec("publish", _py("print('published to docs.example.com/releases/2.4')"),
                         runtime="cli", after=("review",)),
            ),
        ),
        FlowSpec(goal="Refresh sales dashboards", label="dashboards",
                 tasks=(TaskSpec("refresh", quick, runtime="cli"),)),
    ]


def submit_demo(ledger: Ledger, workdir: Path) -> list[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    return [ledger.submit(spec, actor="demo")[0] for spec in demo_specs(workdir)]


class _Clock:
    def __init__(self, start: int) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


def play_script(ledger: Ledger, workdir: Path, start_ms: int) -> int:
    """Submit the demo flows and move them as a supervisor would, at fixed times.

    Returns the time (ms) the story ends at: draw the board with a clock fixed there.
    """
    clock = _Clock(start_ms)
    saved, ledger.clock = ledger.clock, clock
    host = "demo-host"
    try:
        # A supervisor that runs the work and is alive when the story ends: the pictures show
        # the board as an operator sees it, not "supervisor: none seen" over running rows.
        sid = ledger.register_supervisor(host, 41000, None, concurrency=8).supervisor_id
        workdir.mkdir(parents=True, exist_ok=True)
        for spec in demo_specs(workdir):
            ledger.submit(spec, actor="demo")
            clock.advance(0.25)
        running: dict[str, str] = {}

        def claim_all() -> None:
            while (t := ledger.claim_next(sid, host).task) is not None:
                key = f"{ledger.get_flow(t.flow_id).label}/{t.label}"
                running[key] = t.task_id
                ledger.record_process(t.task_id, sid, 41000 + len(running), None,
                                      str(workdir / "runs" / t.task_id))

        def finish(key: str, status: str = "succeeded", **kw: object) -> None:
            ledger.finish(running.pop(key), status, supervisor_id=sid, **kw)  # type: ignore[arg-type]

        def progress(key: str, pct: float, summary: str) -> None:
            ledger.report_progress(running[key], sid, progress=pct, summary=summary)

        clock.advance(1)
        claim_all()
        clock.advance(2)
        finish("dashboards/refresh", terminal_summary="3 dashboards refreshed")
        finish("report/query", terminal_summary="3 queries")
        finish("release/collect", terminal_summary="3 repos")
        clock.advance(1.5)
        finish("crm/sync", "failed", exit_code=1, error="HTTP 503 Service Unavailable from crm.example.com")
        finish("billing/export", "blocked", exit_code=75,
               error="waiting for API credentials from finance (ticket FIN-482)")
        claim_all()
        clock.advance(2)
        finish("report/render", terminal_summary="3 charts")
        claim_all()
        clock.advance(1)
        finish("report/email", terminal_summary="report mailed to 14 people")
        finish("release/draft", terminal_summary="4 sections drafted")
        clock.advance(2)
        finish("research/fetch-acme", terminal_summary="acme.example: 6 pages")
        progress("research/fetch-globex", 62.5, "page 5/8")
        progress("research/fetch-initech", 40, "page 2/5")
        progress("leads/enrich-1", 80, "lead batch 8/10")
        progress("leads/enrich-2", 50, "lead batch 5/10")
        progress("leads/enrich-3", 30, "[bold]rate limited[/bold] by API \x1b[31m(429)\x1b[0m, backing off")
        progress("kb/reindex", 45, "collection 54/120")
        clock.advance(1)
        ledger.heartbeat(sid)
        return clock.now
    finally:
        ledger.clock = saved
