"""The live board: a Textual app over the ledger (issue 4).

Threads: the UI thread draws and never touches the database; the service thread reads
and acts (board/service/ledger_thread.py); a watcher thread pokes the service when the ledger's files
change (board/service/file_watch.py); the embedded supervisor runs in threads of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Input, Static

from ..ledger.clock import Clock, system_clock
from ..ledger.db import is_postgres, redact
from ..ledger.notify import ChangeWatcher
from ..safetext import visible
from .commands import BoardCommands
from .navigation import ViewActions
from .screens.dialogs import ConfirmScreen
from .screens.inspector import InspectorScreen
from .screens.replay import ReplayScreen
from .service.file_watch import FileWatch
from .service.ledger_thread import ActionDone, Inspected, Loaded, Service, Trouble, sqlite_path
from .theme.palette import theme_variable_defaults
from .theme.runtime import Theming
from .view import targets as act
from .view.history import Replayed
from .view.model import Board, Row, ViewSpec
from .widgets.flowlist import FlowList
from .widgets.header import BoardHeader

STATUS_KEYS = {"1": "all", "2": "active", "3": "issues", "4": "blocked"}


class Delivered(Message):
    def __init__(self, payload: object) -> None:
        self.payload = payload
        super().__init__()


class BoardApp(ViewActions, Theming, App[int]):
    CSS_PATH = "board.tcss"
    TITLE = "openclaw-board"
    COMMANDS = App.COMMANDS | {BoardCommands}
    BINDINGS = [
        Binding("q", "quit_board", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("enter", "inspect", "Inspect"),
        Binding("space", "toggle", "Expand", show=False),
        Binding("c", "cancel", "Cancel"),
        Binding("r", "retry", "Retry"),
        Binding("o", "reopen", "Reopen"),
        Binding("a", "approve", "Approve"),
        Binding("d", "deny", "Deny"),
        Binding("l", "logs", "Logs"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("m", "more", "More", show=False),
        Binding("t", "time_travel", "Time travel", show=False),
        Binding("ctrl+s", "save_screenshot", "Screenshot", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        *[Binding(k, f"status_filter('{v}')", v.capitalize(), show=False) for k, v in STATUS_KEYS.items()],
    ]

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
        self.spec = ViewSpec(terminal_limit=page_size)
        self.board: Board | None = None
        self.service: Service | None = None
        self.watch: FileWatch | ChangeWatcher | None = None
        self.left_running = 0
        self._posted = 0
        self._handled = 0
        self._loaded = asyncio.Event()
        self._seq = 0
        if not live:
            self.animation_level = "none"

    # -- setup ----------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults()

    def compose(self) -> ComposeResult:
        yield BoardHeader(self.clock, self.title_text, id="header")
        yield Static("", id="banner")
        yield Static("", id="columns")
        yield FlowList(self.clock, id="flows")
        yield Input(placeholder="filter: text in goal, label, task label or id (Enter keeps it, Esc clears)",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_theme()
        self.query_one("#banner").display = False
        flt = self.query_one("#filter", Input)
        flt.display = False
        flt.cursor_blink = self.live
        self.query_one(FlowList).focus()
        poll = (2.0 if sqlite_path(self.url) else 0.5) if self.live else None
        if self.at is not None:
            from .snapshot_ledger import past_service

            poll = None  # a past moment never changes
            self.service = past_service(self.at)(self.url, self._deliver, clock=self.clock, poll_s=None)
        else:
            self.service = Service(self.url, self._deliver, clock=self.clock, poll_s=poll)
        self.service.start()
        self._request_load()
        if self.live:
            path = sqlite_path(self.url)
            if path is not None:
                self.watch = FileWatch(path, self.service.poke)
                self.watch.start()
            elif isinstance(self.url, str) and is_postgres(self.url):
                # Another host's commit reaches us over LISTEN/NOTIFY; the poll stays as the net.
                self.watch = ChangeWatcher(self.url, self.service.poke)
                self.watch.start()
            self.set_interval(1.0, self._tick, name="tick")
        if self.supervise:
            self.query_one(BoardHeader).starting = True
            self.run_worker(self._start_supervisor, thread=True, group="supervisor", exit_on_error=False)
        self._draw_columns()
        self._theme_at_start: str | None = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_chosen)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast (screens' and widgets' too go through here): messages quote labels, goals
        and errors, so they are never markup and their control characters are made visible."""
        super().notify(visible(message, multiline=True), title=visible(title), severity=severity,
                       timeout=timeout, markup=False)

    # -- the service's answers --------------------------------------------------------------

    def _deliver(self, payload: object) -> None:
        """Called on the service thread."""
        self._posted += 1
        self.post_message(Delivered(payload))

    def on_delivered(self, message: Delivered) -> None:
        self._handled += 1
        p = message.payload
        if isinstance(p, Loaded):
            self._show_board(p.board)
        elif isinstance(p, Trouble):
            banner = self.query_one("#banner", Static)
            if p.message:
                banner.update(Text(f"⚠ {visible(p.message)}", no_wrap=True, overflow="ellipsis"))
                banner.display = True
            else:
                banner.display = False
                self.notify("the ledger is back", timeout=3)
        elif isinstance(p, ActionDone):
            self.notify(p.message, severity="information" if p.ok else "error",
                        title=None if p.ok else "refused", timeout=4 if p.ok else 8)
        elif isinstance(p, Inspected):
            screen = self.screen
            if isinstance(screen, InspectorScreen) and screen.ref == p.ref:
                screen.show(p.data, p.error)
        elif isinstance(p, Replayed):
            screen = self.screen
            if isinstance(screen, ReplayScreen) and screen.flow_id == p.flow_id:
                screen.show(p)

    def _show_board(self, board: Board) -> None:
        self.board = board
        header = self.query_one(BoardHeader)
        header.board = board
        header.redraw()
        self.query_one(FlowList).set_rows(board.rows)
        self._loaded.set()
        screen = self.screen
        if isinstance(screen, InspectorScreen) and self.service is not None:
            self.service.submit("inspect", screen.kind, screen.ref)
        self.refresh_bindings()

    def _tick(self) -> None:
        self.query_one(BoardHeader).redraw()
        self.query_one(FlowList).tick()

    def _request_load(self, full: bool = True) -> None:
        assert self.service is not None
        self._seq += 1
        self.service.submit("load" if full else "view", self.spec, self._seq)
        self._view_note()

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

    # -- the embedded supervisor ----------------------------------------------------------------

    def _start_supervisor(self) -> None:
        try:
            if self.supervisor_factory is not None:
                sup = self.supervisor_factory()
            else:
                from ..supervisor import Supervisor

                sup = Supervisor(self.url, mode="embedded")
            self._sup_thread = sup.start_thread()
            sup.ready.wait(15)
        except Exception as exc:  # noqa: BLE001 - show why, keep the board
            self.call_from_thread(self._supervisor_failed, str(exc) or type(exc).__name__)
            return
        self.supervisor = sup
        self.call_from_thread(self._supervisor_started, getattr(sup, "supervisor_id", None))

    def _supervisor_started(self, sid: str | None) -> None:
        header = self.query_one(BoardHeader)
        header.own, header.starting = sid, False
        header.redraw()

    def _supervisor_failed(self, why: str) -> None:
        header = self.query_one(BoardHeader)
        header.starting = False
        header.redraw()
        self.notify(f"the embedded supervisor did not start: {why}", severity="error", timeout=10)

    # -- targets and the footer ----------------------------------------------------------------

    @property
    def selected(self) -> Row | None:
        return self.query_one(FlowList).selected

    def target(self) -> act.Target | None:
        screen = self.screen
        if isinstance(screen, InspectorScreen):
            if screen.data is None:
                return None
            f = screen.data["fields"]
            if screen.kind == "task":
                return act.Target("task", f["task_id"], f["label"], f["status"], f["flow_id"])
            return act.Target("flow", f["flow_id"], f["goal"], f["status"], f["flow_id"],
                              f["cancel_requested_at"] is not None, tuple(f["task_counts"].items()))
        row = self.selected
        if row is None or row.flow is None:
            return None
        if row.kind == "task" and row.task is not None:
            t = row.task
            return act.Target("task", t.task_id, t.label, t.status, t.flow_id)
        fl = row.flow
        return act.Target("flow", fl.flow_id, fl.goal, fl.status, fl.flow_id,
                          fl.cancel_requested_at is not None, fl.counts)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_board = len(self.screen_stack) == 1
        in_inspector = isinstance(self.screen, InspectorScreen)
        if action in ("cancel", "retry", "reopen", "approve", "deny"):
            if self.readonly or not (on_board or in_inspector):
                return False
            return act.applies(action, self.target())
        if action in ("inspect", "logs", "time_travel"):
            if not on_board or (action == "logs" and self.at is not None):
                return False
            row = self.selected
            if action == "logs":
                return row is not None and row.kind == "task"
            return row is not None
        if action in ("toggle", "filter", "sort", "more", "status_filter", "clear_filter"):
            if not on_board:
                return False
            if action == "toggle":
                row = self.selected
                return row is not None and row.kind in ("flow", "task")
            if action == "more":
                return bool(self.board and self.board.rows and self.board.rows[-1].kind == "more")
            if action == "clear_filter":
                return bool(self.spec.text or self.spec.status != "all" or self.query_one("#filter").display)
        return True

    @on(FlowList.Moved)
    def _moved(self) -> None:
        if self.screen_stack:  # a move queued while the app closes has no screen left to refresh
            self.refresh_bindings()

    @on(FlowList.Activated)
    def _activated(self) -> None:
        self.action_inspect()

    # -- the view (key actions that change it are in navigation.py) -------------------------------

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if event.value != self.spec.text:
            self.spec = self._spec(text=event.value)
            self._request_load()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        if not event.value:
            box.display = False
        self.query_one(FlowList).focus()

    def _view_note(self) -> None:
        bits = []
        if self.spec.status != "all":
            bits.append(f"showing {self.spec.status}")
        if self.spec.text:
            text = self.spec.text
            # `screenshot --flow` filters on a whole flow id: name the flow, not a 36-character filter
            bits.append(f"flow {text[:8]}" if text in self.spec.expanded else f"filter “{text[:30]}”")
        if self.spec.sort != "status":
            bits.append(f"sort {self.spec.sort}")
        if self.at is not None:
            from ..ledger.clock import iso

            bits.append(f"as of {iso(self.at)}")
        elif self.readonly:
            bits.append("read-only")
        header = self.query_one(BoardHeader)
        header.view_note = " · ".join(bits)
        header.redraw()

    def _draw_columns(self) -> None:
        from rich.style import Style

        from .widgets.cells import header_text

        cols = self.query_one("#columns", Static)
        width = self.query_one(FlowList).size.width or self.size.width - 3
        cols.update(header_text(max(20, width), Style(bold=True, dim=True)))

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw_columns)

    def get_system_commands(self, screen: Any) -> Any:
        """Textual's own screenshot command saves elsewhere; ours (ctrl+s) replaces it."""
        for command in super().get_system_commands(screen):
            if command.title.lower() != "screenshot":
                yield command

    # -- actions through the Ledger API -----------------------------------------------------------

    def _act(self, action: str) -> None:
        if self.readonly:
            self.notify("read-only board: actions are off", severity="warning", title="refused")
            return
        target = self.target()
        if target is None:
            return
        verb = act.ledger_call(action, target)
        if verb is None or not act.applies(action, target):
            reason = f"cannot {action} a {target.kind} that is {target.status}"
            self.notify(reason, severity="warning", title="refused")
            return
        assert self.service is not None
        label = act.done_text(action, target)
        if action == "cancel":
            title, body = act.confirm_text(target)

            def answered(yes: bool | None) -> None:
                if yes and self.service is not None:
                    self.service.submit("action", verb, target.ref, label)

            self.push_screen(ConfirmScreen(title, body), answered)
            return
        self.service.submit("action", verb, target.ref, label)

    def action_cancel(self) -> None:
        self._act("cancel")

    def action_retry(self) -> None:
        self._act("retry")

    def action_reopen(self) -> None:
        self._act("reopen")

    def action_approve(self) -> None:
        self._act("approve")

    def action_deny(self) -> None:
        self._act("deny")

    # -- leaving ---------------------------------------------------------------------------------

    def action_quit_board(self) -> None:
        self.exit(self.shutdown())

    def shutdown(self) -> int:
        """Stop our threads; running tasks stay detached. Returns how many were left running."""
        running = 0
        if self.supervisor is not None:
            try:
                self.supervisor.request_stop()
                thread = getattr(self, "_sup_thread", None)
                if thread is not None:
                    thread.join(timeout=5)
                running = int(getattr(self.supervisor, "detached", 0) or self.supervisor.running_count())
            except Exception:  # noqa: BLE001 - leaving must always work
                running = 0
            self.supervisor = None
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
        if self.service is not None:
            self.service.stop()
            self.service = None
        self.left_running = running
        return running

    async def on_unmount(self) -> None:
        if self.service is not None or self.watch is not None:
            self.shutdown()
