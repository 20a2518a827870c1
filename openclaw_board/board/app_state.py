"""What the board app knows, apart from how it is drawn: the view asked for, the last board,
the service thread and the way requests and answers travel between them.

The base of BoardApp and of its behaviours (navigation.py, theme/runtime.py), so that each
of them can be read, and type-checked, against the state it works on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.reactive import reactive
from textual.screen import Screen

from ..ledger.clock import Clock, iso, system_clock
from ..ledger.db import redact
from ..ledger.notify import ChangeWatcher
from .screens.inspector import InspectorScreen
from .service.answers import Answer
from .service.file_watch import FileWatch
from .service.ledger_thread import Service
from .service.requests import ChangeView, Load
from .view import targets as act
from .view.model import Board, Row, ViewSpec
from .view.sorting import sort_label
from .widgets.column_header import ColumnHeader
from .widgets.flowlist import FlowList
from .widgets.header import BoardHeader


class BoardState(App[int]):
    # What the operator asked to see; setting it asks the service thread for the rows.
    spec: reactive[ViewSpec] = reactive(ViewSpec, init=False)

    def __init__(
        self,
        url: str | tuple[str, ...],
        *,
        clock: Clock | None = None,
        live: bool = True,
        supervise: bool = False,
        readonly: bool = False,
        theme: str | None = None,
        title: str | None = None,
        supervisor_factory: Callable[[], Any] | None = None,
        page_size: int = 200,
        at: int | None = None,
    ) -> None:
        super().__init__()
        self.url = url
        self.clock: Clock = clock or system_clock
        self.live = live
        self.supervise = supervise
        self.at = at  # time travel: the board as it was at this moment (read-only)
        self.readonly = readonly or at is not None
        self.theme_name = theme
        # The ledger's URL, never with its password; side by side, every ledger's.
        urls = (url,) if isinstance(url, str) else url
        self.title_text = title or " + ".join(redact(u) for u in urls)
        self.supervisor_factory = supervisor_factory
        self.supervisor: Any = None
        self.page_size = page_size
        self.set_reactive(BoardState.spec, ViewSpec(terminal_limit=page_size))
        self.board: Board | None = None
        self.service: Service | None = None
        self.change_watch: FileWatch | ChangeWatcher | None = None
        self._posted = 0
        self._handled = 0
        self._loaded = asyncio.Event()
        self._seq = 0
        self._theme_at_start: str | None = None
        if not live:
            self.animation_level = "none"

    @property
    def closing(self) -> bool:
        """True once the board has begun to close. Answers, resizes and moves queued before that
        are still delivered while Textual removes the widgets, so every handler that draws asks
        this first (one rule, instead of each catching whichever widget went first)."""
        return not self.is_running or not self.screen_stack

    # -- the view asked for --------------------------------------------------------------------

    def watch_spec(self, old: ViewSpec, new: ViewSpec) -> None:
        if self.service is None:
            return  # not started yet: the first load reads the spec as it is then
        # A new filter or page reads anew; expanding, collapsing and sorting reuse what was read.
        full = (new.status, new.text, new.terminal_limit) != (old.status, old.text, old.terminal_limit)
        self._request_load(full)

    def _spec(self, **changes: Any) -> ViewSpec:
        from dataclasses import replace

        return replace(self.spec, **changes)

    def _request_load(self, full: bool = True) -> None:
        assert self.service is not None
        self._seq += 1
        self.service.submit(Load(self.spec, self._seq) if full else ChangeView(self.spec, self._seq))
        self._view_note()

    def _view_note(self) -> None:
        bits = []
        if self.spec.status != "all":
            bits.append(f"showing {self.spec.status}")
        if self.spec.text:
            text = self.spec.text
            # `screenshot --flow` filters on a whole flow id: name the flow, not a 36-character filter
            bits.append(f"flow {text[:8]}" if text in self.spec.expanded else f"filter “{text[:30]}”")
        if self.at is not None:
            bits.append(f"as of {iso(self.at)}")
        elif self.readonly:
            bits.append("read-only")
        bits.append(f"sort {sort_label(self.spec.sort, self.spec.reverse)}")  # last: cut first when narrow
        self.query_one(BoardHeader).view_note = " · ".join(bits)
        self.query_one(ColumnHeader).set_sort(self.spec.sort, self.spec.reverse)

    # -- the service's answers ----------------------------------------------------------------

    def _deliver(self, answer: Answer) -> None:
        """Called on the service thread (post_message is thread-safe)."""
        self._posted += 1
        self.post_message(answer)

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait until every request was answered and drawn (tests and screenshots)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        await asyncio.wait_for(self._loaded.wait(), timeout)
        while loop.time() < end:
            service = self.service
            if service is None:
                return
            if service.pending == 0 and self._posted == self._handled:
                await asyncio.sleep(0.02)
                if self.service is None or (service.pending == 0 and self._posted == self._handled):
                    return
            await asyncio.sleep(0.01)

    # -- what actions apply to ------------------------------------------------------------------

    @property
    def selected(self) -> Row | None:
        return self.query_one(FlowList).selected

    def target(self, screen: Screen[Any] | None = None) -> act.Target | None:
        """What an action applies to on `screen` (the current one by default): the inspected
        flow or task (a flow's highlighted task while its Tasks tab is shown), or the selected row."""
        screen = self.screen if screen is None else screen
        if isinstance(screen, InspectorScreen):
            if screen.data is None:
                return None
            f = screen.data["fields"]
            pointed = screen.pointed_task()
            if pointed is not None:
                return act.Target("task", pointed["task_id"], pointed["label"], pointed["status"], f["flow_id"],
                                  flow_name=f["goal"])
            if screen.kind == "task":
                return act.Target("task", f["task_id"], f["label"], f["status"], f["flow_id"])
            return act.Target("flow", f["flow_id"], f["goal"], f["status"], f["flow_id"],
                              f["cancel_requested_at"] is not None, tuple(f["task_counts"].items()))
        row = self.selected
        if row is None or row.flow is None:
            return None
        if row.kind == "task" and row.task is not None:
            t = row.task
            return act.Target("task", t.task_id, t.label, t.status, t.flow_id, flow_name=row.flow.goal)
        fl = row.flow
        return act.Target("flow", fl.flow_id, fl.goal, fl.status, fl.flow_id,
                          fl.cancel_requested_at is not None, fl.counts)
