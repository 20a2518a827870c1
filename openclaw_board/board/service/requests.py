"""What the UI asks of the service thread: one frozen dataclass per kind of request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..view.model import ViewSpec


@dataclass(frozen=True)
class Load:
    """Read everything the view shows, from scratch."""

    spec: ViewSpec
    seq: int


@dataclass(frozen=True)
class ChangeView:
    """Expand, collapse or sort: a new query only if the filter or the page changed."""

    spec: ViewSpec
    seq: int


@dataclass(frozen=True)
class Act:
    """Call a Ledger method on a flow or task (`verb` is its name: cancel_task, retry...)."""

    verb: str
    ref: str
    label: str  # what the toast says when it worked


@dataclass(frozen=True)
class ActMany:
    """A bulk action on marked rows: one Ledger call per (verb, ref), in order, then one
    toast that counts what was done and why the rest was skipped (`skipped` counts those
    the UI already knew would not apply)."""

    action: str  # cancel | retry | reopen | approve | deny (the toast's words)
    calls: tuple[tuple[str, str], ...]
    skipped: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Inspect:
    kind: str  # "flow" | "task"
    ref: str


@dataclass(frozen=True)
class Preview:
    """The split view's pane: like Inspect, but only the latest one is read. The cursor may
    cross ten rows while one read runs; the rows it passed are never fetched."""

    kind: str  # "flow" | "task"
    ref: str


@dataclass(frozen=True)
class Call:
    """Run `fn` with the ledger (None when it cannot be read), on the service thread."""

    fn: Callable[[Any], None]


Request = Load | ChangeView | Act | ActMany | Inspect | Preview | Call
