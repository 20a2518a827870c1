"""`deliveries list` and `deliveries retry`: the queue of results on their way to their targets.

Targets are shown as `target_shown` (a URL with its secrets masked), never as stored.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from ..ledger.clock import iso
from ..ledger.deliveries import STATUSES
from . import render
from .app import app, fail, open_ledger, out, print_json

deliveries_app = typer.Typer(help="Deliveries: results on their way to their targets.", no_args_is_help=True)
app.add_typer(deliveries_app, name="deliveries")

JSON = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")


def delivery_dict(row: Any) -> dict[str, Any]:
    return {
        "delivery_id": row.id, "flow_id": row.flow_id, "kind": row.kind, "flow_status": row.flow_status,
        "target_kind": row.target_kind, "target": row.target_shown, "status": row.status,
        "attempts": row.attempts, "next_try_at": iso(row.next_try_at) if row.status == "pending" else None,
        "last_error": row.last_error, "created_at": iso(row.created_at), "delivered_at": iso(row.delivered_at),
    }


@deliveries_app.command("list")
def deliveries_list(
    status: str | None = typer.Option(None, "--status", "-s", help=f"One of: {', '.join(STATUSES)}."),
    flow: str | None = typer.Option(None, "--flow", metavar="FLOW", help="Only this flow's."),
    as_json: bool = JSON,
) -> None:
    """Results queued for their targets, newest first: pending, delivered, or given up (failed)."""
    if status is not None and status not in STATUSES:
        fail(f"unknown delivery status {status!r} (valid: {', '.join(STATUSES)})", code=2)
    with open_ledger() as ledger:
        flow_id = ledger.get_flow(flow).flow_id if flow else None
        rows = [delivery_dict(r) for r in ledger.list_deliveries(status=status, flow_id=flow_id)]
    if as_json:
        print_json({"count": len(rows), "deliveries": rows})
        return
    out.print(render.plain(render.count_of(len(rows), "delivery", "deliveries")))
    if not rows:
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("ID", "FLOW", "WHAT", "STATUS", "TRIES", "TARGET", "LAST ERROR"):
        table.add_column(name, no_wrap=name not in ("TARGET", "LAST ERROR"), overflow="fold")
    for r in rows:
        what = render.plain(f"{r['kind']} {r['flow_status']}")
        table.add_row(str(r["delivery_id"]), render.short(r["flow_id"]), what, render.status_text(r["status"]),
                      str(r["attempts"]), render.plain(r["target"]), render.plain(render.clip(r["last_error"] or "")))
    out.print(table)


@deliveries_app.command("retry")
def deliveries_retry(delivery: str = typer.Argument(..., metavar="ID"), as_json: bool = JSON) -> None:
    """Try a delivery again now (one that was given up, or is waiting out its backoff)."""
    with open_ledger() as ledger:
        row = delivery_dict(ledger.retry_delivery(delivery))
    if as_json:
        print_json(row)
    else:
        out.print(render.plain(f"delivery {row['delivery_id']} pending again: a supervisor sends it within a second"))
