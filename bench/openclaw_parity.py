"""Does `openclaw-board` say what `openclaw` itself says about an OpenClaw ledger?

    python -m bench.openclaw_parity --install          # npm install openclaw (+ a Node for it) first
    python -m bench.openclaw_parity [--quick] [--no-older] [--openclaw-dir DIR] [--keep]

Outside CI: it needs the npm registry and a few minutes. On each ledger (see
openclaw_parity_setup.py: one written by OpenClaw's own registries, and our tests' fixture
ledgers) it runs the read commands of both CLIs at one frozen moment and compares every
count, status and audit code: `openclaw tasks list / show`, `openclaw tasks flow list /
show` and `openclaw tasks audit` against `openclaw-board tasks list / show`, `flows list /
show` and `audit`. It prints one Markdown table (a row per check: what each says, agree
or DIFFER, or "by design" where openclaw-board deliberately shows more), the differences
in full, and exits 1 if any check differs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .openclaw_parity_setup import OpenClaw, Ours, SetupError, install, older, rows_digest, standard

TASK_FILTERS = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost", "blocked")
RUNTIMES = ("subagent", "acp", "cron", "cli")
FLOW_STATUSES = ("queued", "running", "waiting", "blocked", "succeeded", "failed", "cancelled", "lost")
ISSUES = {"failed", "timed_out", "lost", "blocked"}
DEFAULT_DIR = Path(tempfile.gettempdir()) / "openclaw-parity"


@dataclass
class Check:
    scenario: str
    what: str
    openclaw: str
    ours: str
    verdict: str  # "agree" | "DIFFER" | "by design"
    details: list[str] = field(default_factory=list)


def verdict(same: bool) -> str:
    return "agree" if same else "DIFFER"


def parse_json(proc: Any, who: str, ok: tuple[int, ...] = (0,)) -> Any:
    out = proc.stdout
    start = out.find("{")
    if proc.returncode not in ok or start < 0:
        raise SetupError(f"{who} failed (exit {proc.returncode}): {(proc.stderr or out).strip()[-400:]}")
    return json.loads(out[start:])


def pressure(text: str, prefix: str) -> dict[str, int]:
    """`Task pressure: 3 queued · 1 issue` -> {"queued": 3, "issues": 1} (plural or not)."""
    for line in text.splitlines():
        if prefix in line:
            pairs = re.findall(r"(\d+) ([a-z_-]+)", line.split(prefix, 1)[1])
            return {("issues" if w == "issue" else w): int(n) for n, w in pairs if int(n)}
    return {"(no line)": 1}


def show(d: dict[str, int]) -> str:
    return " · ".join(f"{n} {k}" for k, n in d.items()) or "all 0"


def counted(values: Any) -> str:
    c = Counter(values)
    return ", ".join(f"{n} {k}" for k, n in sorted(c.items())) or "none"


def per_record(scenario: str, what: str, theirs: dict[str, Any], ours: dict[str, Any]) -> Check:
    """One check over many records: the same value for every id, and the same ids."""
    details = [f"{i[:8]}: openclaw {theirs.get(i, '(absent)')!r}, openclaw-board {ours.get(i, '(absent)')!r}"
               for i in sorted(set(theirs) | set(ours)) if theirs.get(i, "(absent)") != ours.get(i, "(absent)")]
    return Check(scenario, what, counted(theirs.values()), counted(ours.values()), verdict(not details), details)


def id_cell(task_id: str) -> str:
    """A task id as openclaw's text table shows it (10 columns, an ellipsis past that)."""
    return task_id if len(task_id) <= 10 else task_id[:9] + "…"


def text_statuses(text: str) -> dict[str, str]:
    """{id cell: status} from the rows of `openclaw tasks list`'s table (Task, Kind, Status, ...)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Task ") and "Status" in line), len(lines))
    return {parts[0]: parts[2] for parts in (line.split() for line in lines[start + 1:]) if len(parts) >= 3}


def oc_status(task: dict[str, Any]) -> str:
    """What openclaw shows for a record (formatTaskStatus)."""
    blocked = task["status"] == "succeeded" and task.get("terminalOutcome") == "blocked"
    return "blocked" if blocked else task["status"]


class Scenario:
    def __init__(self, name: str, oc: OpenClaw, ours: Ours, state: Path, url: str, now: int, full: bool) -> None:
        self.name, self.oc, self.ours, self.state, self.url, self.now, self.full = name, oc, ours, state, url, now, full
        self.checks: list[Check] = []

    def theirs(self, *args: str) -> Any:
        return self.oc.run(self.state, *args, now=self.now)

    def mine(self, *args: str) -> Any:
        return self.ours.run(self.url, *args, now=self.now)

    def record(self, check: Check) -> None:
        """Keep a check, and say it on stderr at once (a full run takes minutes)."""
        self.checks.append(check)
        print(f"  {check.scenario}: {check.what}: {check.verdict}", file=sys.stderr, flush=True)

    def add(self, what: str, theirs: Any, ours: Any, details: list[str] | None = None) -> None:
        self.record(Check(self.name, what, str(theirs), str(ours), verdict(theirs == ours), details or []))

    def run(self) -> list[Check]:
        db = self.state / "state" / "openclaw.sqlite"
        before = rows_digest(db)
        self.tasks()
        self.flows()
        self.audit()
        after = rows_digest(db)
        self.record(Check(self.name, "openclaw's read commands left the ledger as it was", "unchanged"
                                 if before == after else "CHANGED", "unchanged", verdict(before == after)))
        return self.checks

    # -- tasks --------------------------------------------------------------------------

    def tasks(self) -> None:
        theirs = parse_json(self.theirs("tasks", "list", "--json"), "openclaw tasks list --json")["tasks"]
        ours = parse_json(self.mine("tasks", "list", "--all-attempts", "--json"), "tasks list --json")["tasks"]
        self.add("tasks listed (every record; ours with --all-attempts)", len(theirs), len(ours))
        self.record(per_record(self.name, "task status, each record",
                                      {t["taskId"]: oc_status(t) for t in theirs},
                                      {t["task_id"]: t["status"] for t in ours}))
        self.record(per_record(self.name, "task runtime, each record",
                                      {t["taskId"]: t["runtime"] for t in theirs},
                                      {t["task_id"]: t["runtime"] for t in ours}))
        text = self.theirs("tasks", "list").stdout
        self.add("Task pressure line", show(pressure(text, "Task pressure:")),
                 show(pressure(self.mine("tasks", "list").stdout, "Task pressure:")))
        # The table `openclaw tasks list` prints: openclaw's text and JSON can disagree (it
        # reconciles records against session databases for one and not the other).
        self.record(per_record(self.name, "task status, each record (openclaw's text table)", text_statuses(text),
                               {id_cell(t["task_id"]): t["status"] for t in ours}))
        if not self.full:
            return
        for flag, values in (("--status", TASK_FILTERS), ("--runtime", RUNTIMES)):
            for value in values:
                text = self.theirs("tasks", "list", flag, value).stdout
                count = re.search(r"Background tasks: (\d+)", text)
                mine = parse_json(self.mine("tasks", "list", flag, value, "--all-attempts", "--json"), "tasks list")
                mine_text = self.mine("tasks", "list", flag, value).stdout
                self.add(f"tasks list {flag} {value}: count | pressure",
                         f"{count.group(1) if count else '?'} | {show(pressure(text, 'Task pressure:'))}",
                         f"{mine['count']} | {show(pressure(mine_text, 'Task pressure:'))}")
        shown = {t["taskId"]: oc_status(parse_json(self.theirs("tasks", "show", t["taskId"], "--json"), "show"))
                 for t in theirs}
        mine_shown = {t["task_id"]: parse_json(self.mine("tasks", "show", t["task_id"], "--json"), "show")["status"]
                      for t in ours}
        self.record(per_record(self.name, "tasks show: status, each record", shown, mine_shown))

    # -- flows --------------------------------------------------------------------------

    def flows(self) -> None:
        theirs = parse_json(self.theirs("tasks", "flow", "list", "--json"), "openclaw tasks flow list --json")["flows"]
        ours = parse_json(self.mine("flows", "list", "--json"), "flows list --json")["flows"]
        real = {f["flowId"] for f in theirs}
        matched = [f for f in ours if f["flow_id"] in real]
        self.add("TaskFlows listed (flow_runs)", len(theirs), len(matched),
                 [f"missing from openclaw-board: {i[:8]}" for i in sorted(real - {f['flow_id'] for f in matched})])
        extra = len(ours) - len(matched)
        self.record(Check(self.name, "one-task flows shown for tasks with no flow (ours only)", "0",
                                 str(extra), "by design" if extra else "agree"))
        self.record(per_record(self.name, "flow status, each flow_runs record",
                                      {f["flowId"]: f["status"] for f in theirs},
                                      {f["flow_id"]: f["status"] for f in matched}))
        self.add("Flow pressure line",
                 show(pressure(self.theirs("tasks", "flow", "list").stdout, "TaskFlow pressure:")),
                 show(pressure(self.mine("flows", "list").stdout, "Flow pressure:")))
        if not self.full:
            return
        for status in FLOW_STATUSES:
            text = self.theirs("tasks", "flow", "list", "--status", status).stdout
            count = re.search(r"TaskFlows: (\d+)", text)
            mine = parse_json(self.mine("flows", "list", "--status", status, "--json"), "flows list")
            mine_real = sum(f["flow_id"] in real for f in mine["flows"])
            mine_text = self.mine("flows", "list", "--status", status).stdout
            self.add(f"flows list --status {status}: flow_runs | pressure",
                     f"{count.group(1) if count else '?'} | {show(pressure(text, 'TaskFlow pressure:'))}",
                     f"{mine_real} | {show(pressure(mine_text, 'Flow pressure:'))}")
        summary_theirs, summary_ours = {}, {}
        for f in theirs:
            one = parse_json(self.theirs("tasks", "flow", "show", f["flowId"], "--json"), "tasks flow show")
            tasks = one["tasks"]
            summary_theirs[f["flowId"]] = (f"{len(tasks)} total · {one['taskSummary']['active']} active · "
                                           f"{sum(oc_status(t) in ISSUES for t in tasks)} issues")
            mine = parse_json(self.mine("flows", "show", f["flowId"], "--json"), "flows show")["tasks"]
            summary_ours[f["flowId"]] = (f"{len(mine)} total · "
                                         f"{sum(t['status'] in ('queued', 'running') for t in mine)} active · "
                                         f"{sum(t['status'] in ISSUES for t in mine)} issues")
        self.record(per_record(self.name, "flow show: its tasks (total · active · issues)",
                                      summary_theirs, summary_ours))

    # -- audit --------------------------------------------------------------------------

    def audit(self) -> None:
        oc_proc = self.theirs("tasks", "audit", "--json")
        theirs = parse_json(oc_proc, "openclaw tasks audit --json")
        proc = self.mine("audit", "--json")
        ours = parse_json(proc, "audit --json", ok=(0, 1))  # 1: a finding is an error
        combined = theirs["summary"]["combined"]
        errors = sum(f["severity"] == "error" for f in ours["findings"])
        # Ours exits 1 when it finds an error, for scripts (issue 11); openclaw always exits 0.
        ours_exit_ok = proc.returncode == (1 if combined["errors"] else 0)
        self.record(Check(self.name, "audit: exit status", str(oc_proc.returncode), str(proc.returncode),
                                 "agree" if proc.returncode == oc_proc.returncode else
                                 "by design" if ours_exit_ok else "DIFFER"))
        self.add("audit: findings · errors · warnings",
                 f"{combined['total']} · {combined['errors']} · {combined['warnings']}",
                 f"{ours['count']} · {errors} · {ours['count'] - errors}")
        mine = [("task" if f["task_id"] else "flow", f["code"], f["severity"], f["task_id"] or f["flow_id"])
                for f in ours["findings"]]
        oc = [("task" if f["kind"] == "task" else "flow", f["code"], f["severity"], f["token"])
              for f in theirs["findings"]]
        missing, extra = Counter(oc) - Counter(mine), Counter(mine) - Counter(oc)
        details = ([f"only openclaw: {s} {c} {sev} {i[:8]}" for (s, c, sev, i) in missing.elements()]
                   + [f"only openclaw-board: {s} {c} {sev} {i[:8]}" for (s, c, sev, i) in extra.elements()])
        self.record(Check(self.name, "audit: each finding (scope, code, severity, record)",
                                 counted(f"{s} {c} {sev}" for s, c, sev, _ in oc),
                                 counted(f"{s} {c} {sev}" for s, c, sev, _ in mine), verdict(not details), details))
        order_theirs = [f"{c}:{i[:8]}" for _, c, _, i in oc]
        order_ours = [f"{c}:{i[:8]}" for _, c, _, i in mine]
        self.add("audit: order of findings", "errors first, oldest first" if order_theirs == order_ours
                 else " ".join(order_theirs), "errors first, oldest first" if order_theirs == order_ours
                 else " ".join(order_ours))


def table(checks: list[Check]) -> str:
    lines = ["| ledger | check | openclaw | openclaw-board | verdict |", "|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c.scenario} | {c.what} | {c.openclaw} | {c.ours} | {c.verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.openclaw_parity", description=__doc__.splitlines()[0])
    ap.add_argument("--openclaw-dir", type=Path, default=DEFAULT_DIR,
                    help=f"where openclaw is (or goes, with --install) installed (default {DEFAULT_DIR})")
    ap.add_argument("--install", action="store_true", help="npm install openclaw (and a Node for it) first")
    ap.add_argument("--quick", action="store_true", help="skip the per-filter and per-record show commands")
    ap.add_argument("--no-older", action="store_true", help="skip the older-release ledger (its migration "
                    "by `openclaw doctor --fix` takes a minute or two)")
    ap.add_argument("--keep", action="store_true", help="keep the ledgers (their directory is printed)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="openclaw-parity-"))
    oc, ours = OpenClaw(args.openclaw_dir, work / "home"), Ours(work / "board-home")
    try:
        if args.install:
            install(args.openclaw_dir)
        version = oc.check()
    except (SetupError, OSError) as exc:
        print(f"openclaw cannot run here: {exc}", file=sys.stderr)
        return 2
    now = (int(time.time()) // 60) * 60_000  # a round minute: ages print the same on both sides
    print(f"openclaw {version}; openclaw-board from {Path(__file__).resolve().parent.parent}; "
          f"both at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now / 1000))}\n", flush=True)
    checks: list[Check] = []
    t0 = time.monotonic()
    try:
        built = work / "built"
        oc.build(built, now)
        checks += Scenario("built by openclaw", oc, ours, built, f"openclaw://{built}", now, not args.quick).run()
        sessions = work / "sessions"
        oc.build(sessions, now, "sessions")
        checks += Scenario("built: subagent sessions", oc, ours, sessions, f"openclaw://{sessions}", now,
                           False).run()
        std = work / "standard"
        standard(oc, std, work, now)
        checks += Scenario("tests: standard", oc, ours, std, f"openclaw://{std}", now, not args.quick).run()
        if not args.no_older:
            theirs, mine = work / "older-migrated", work / "older-split"
            older(oc, theirs, mine, now)
            checks += Scenario("tests: older release", oc, ours, theirs, f"openclaw://{mine}", now,
                               not args.quick).run()
    except SetupError as exc:
        print(f"openclaw cannot run here: {exc}", file=sys.stderr)
        return 2
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    print(table(checks))
    differ = [c for c in checks if c.verdict == "DIFFER"]
    for c in checks:
        if c.details and c.verdict != "agree":
            print(f"\n{c.scenario}: {c.what}\n" + "\n".join(f"  {d}" for d in c.details))
    by_design = sum(c.verdict == "by design" for c in checks)
    print(f"\n{len(checks)} checks in {time.monotonic() - t0:.0f} s: {len(checks) - len(differ) - by_design} agree, "
          f"{len(differ)} differ, {by_design} by design" + (f"; ledgers kept in {work}" if args.keep else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
