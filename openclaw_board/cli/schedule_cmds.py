"""`schedules ...`: cron schedules whose firings become flows (made by any running supervisor).

`submit` of a spec with a `[schedule]` table creates one (see `announce`).
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from ..ledger.clock import iso
from ..ledger.schedule_rows import schedule_dict
from ..ledger.schedule_spec import describe
from ..ledger.scheduling import run_now
from . import render
from .app import app, err, open_ledger, out, print_json

schedules_app = typer.Typer(help="Schedules: cron specs whose firings become flows.", no_args_is_help=True)
app.add_typer(schedules_app, name="schedules")

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")
RECENT = 5  # flows shown with a schedule; `audit` looks at as many


def announce(ledger: Any, spec: Any, as_json: bool) -> None:
    """`submit` of a spec with a schedule: keep it, print its id and when it fires first."""
    row = ledger.add_schedule(spec)
    if as_json:
        print_json({"schedule_id": row.schedule_id, "cron": row.cron, "timezone": row.timezone,
                    "description": describe(row.cron), "next_fire_at": iso(row.next_fire_at)})
        return
    out.print(render.plain(row.schedule_id), soft_wrap=True)
    reading = describe(row.cron)
    err.print(render.plain(f"schedule: {row.cron} ({row.timezone})" + (f", {reading}" if reading else "")
                           + f"; next firing {render.when(row.next_fire_at)}"))


@schedules_app.command("list")
def schedules_list(as_json: bool = JSON) -> None:
    """Every schedule, the next to fire first."""
    with open_ledger() as ledger:
        rows = [schedule_dict(ledger, row) for row in ledger.list_schedules()]
    if as_json:
        print_json({"count": len(rows), "schedules": rows})
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("SCHEDULE", "CRON", "NEXT", "LAST", "GOAL"):
        table.add_column(name, overflow="fold" if name == "GOAL" else "ellipsis", no_wrap=name != "GOAL")
    for r in rows:
        nxt = "paused" if r["paused"] else (r["next_fire_at"] or "-")
        last = f"{r['last_outcome']} ({render.short(r['last_flow_id'])})" if r["last_flow_id"] else "-"
        table.add_row(render.short(r["schedule_id"]), render.plain(f"{r['cron']} {r['timezone']}"),
                      render.plain(nxt), render.plain(last), render.plain(r["goal"]))
    out.print(render.plain(render.count_of(len(rows), "schedule")))
    if rows:
        out.print(table)


@schedules_app.command("show")
def schedules_show(schedule: str = typer.Argument(..., metavar="SCHEDULE"), as_json: bool = JSON) -> None:
    """A schedule, its latest flows and its events (fired, missed, skipped, queued...)."""
    with open_ledger() as ledger:
        row = ledger.get_schedule(schedule)
        data = schedule_dict(ledger, row)
        flows = [{"flow_id": f.flow_id, "fire_at": iso(f.fire_at), "status": f.status}
                 for f in ledger.schedule_flows(row.schedule_id, RECENT)]
        events = [{"at": iso(e.at), "kind": e.kind, "fire_at": iso(e.fire_at), "flow_id": e.flow_id,
                   "actor": e.actor, "detail": e.detail} for e in ledger.schedule_events(row.schedule_id)]
    if as_json:
        print_json({**data, "flows": flows, "events": events})
        return
    for key in ("schedule_id", "goal", "cron", "description", "timezone", "missed", "overlap", "paused",
                "next_fire_at", "last_fire_at", "last_outcome", "pending_fire_at"):
        if data[key] not in (None, ""):
            out.print(render.plain(f"{key.replace('_', ' '):<14} {data[key]}"), soft_wrap=True)
    for f in flows:
        out.print(render.plain(f"flow  {render.short(f['flow_id'])}  fired for {f['fire_at']}  {f['status']}"))
    for e in events:
        bits = [e["at"], e["kind"], f"for {e['fire_at']}" if e["fire_at"] else "", e["detail"] or ""]
        out.print(render.plain("event " + "  ".join(b for b in bits if b)), soft_wrap=True)


def _act(verb: str, schedule: str, as_json: bool) -> None:
    with open_ledger() as ledger:
        if verb == "remove":
            removed = ledger.remove_schedule(schedule)
            if as_json:
                print_json({"schedule_id": removed, "removed": True})
            else:
                out.print(render.plain(f"schedule {render.short(removed)} removed (its flows stay)"))
            return
        if verb == "run-now":
            flow_id = run_now(ledger, schedule)
            if as_json:
                print_json({"flow_id": flow_id})
            else:
                out.print(render.plain(flow_id))
            return
        row = ledger.pause_schedule(schedule) if verb == "pause" else ledger.resume_schedule(schedule)
        data = schedule_dict(ledger, row)
    if as_json:
        print_json(data)
    else:
        state = "paused" if row.paused else f"active, next firing {data['next_fire_at']}"
        out.print(render.plain(f"schedule {render.short(row.schedule_id)} {state}"))


@schedules_app.command("pause")
def schedules_pause(schedule: str = typer.Argument(..., metavar="SCHEDULE"), as_json: bool = JSON) -> None:
    """Stop firing until resumed."""
    _act("pause", schedule, as_json)


@schedules_app.command("resume")
def schedules_resume(schedule: str = typer.Argument(..., metavar="SCHEDULE"), as_json: bool = JSON) -> None:
    """Fire again, from the next firing after now (what fell while paused is not caught up)."""
    _act("resume", schedule, as_json)


@schedules_app.command("remove")
def schedules_remove(schedule: str = typer.Argument(..., metavar="SCHEDULE"), as_json: bool = JSON) -> None:
    """Delete the schedule; the flows it made stay."""
    _act("remove", schedule, as_json)


@schedules_app.command("run-now")
def schedules_run_now(schedule: str = typer.Argument(..., metavar="SCHEDULE"), as_json: bool = JSON) -> None:
    """Make one flow of the schedule now (its overlap policy does not apply); print its id."""
    _act("run-now", schedule, as_json)
