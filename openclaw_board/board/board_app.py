"""The live board: a Textual app over the ledger.

Threads: the UI thread draws and never touches the database; the service thread reads
and acts (board/service/ledger_thread.py); a watcher thread pokes the service when the ledger's files
change (board/service/file_watch.py); the embedded supervisor runs in threads of its own.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ..ledger.db import is_postgres
from ..ledger.notify import ChangeWatcher
from ..safetext import visible
from .bindings import bindings
from .commands import BoardCommands
from .navigation import ViewActions
from .screens.dialogs import ConfirmScreen
from .screens.inspector import InspectorScreen
from .screens.time_travel import ReplayScreen
from .service.answers import ActionDone, HistoryRead, Inspected, Loaded, Trouble
from .service.file_watch import FileWatch
from .service.ledger_thread import Service, sqlite_path
from .service.requests import Act, Inspect
from .split import SplitView
from .theme.palette import theme_variable_defaults
from .theme.runtime import Theming
from .view import targets as act
from .view.keys import Scope, When, key_of, palette_key, when_of
from .view.model import Board
from .widgets.detailpane import DetailPane
from .widgets.flowlist import FlowList
from .widgets.header import BoardHeader


class BoardApp(ViewActions, SplitView, Theming):
    CSS_PATH = "board.tcss"
    TITLE = "openclaw-board"
    COMMANDS = App.COMMANDS | {BoardCommands}
    BINDINGS = bindings(Scope.APP)
    COMMAND_PALETTE_BINDING = palette_key()

    # -- setup ----------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults()

    def compose(self) -> ComposeResult:
        yield BoardHeader(self.clock, self.title_text, id="header")
        yield Static("", id="banner")
        yield Static("", id="columns")
        with Horizontal(id="body"):
            yield FlowList(self.clock, id="flows")
            yield DetailPane(live=self.live, id="pane")
        yield Input(placeholder="filter: text in goal, label, task label or id "
                                f"(Enter keeps it, {key_of('clear_filter')} clears)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._apply_theme()
        self.query_one("#banner").display = False
        self.pane.display = False
        flt = self.query_one("#filter", Input)
        flt.display = False
        flt.cursor_blink = self.live
        self.query_one(FlowList).focus()
        poll = (2.0 if sqlite_path(self.url) else 0.5) if self.live else None
        if self.at is not None:
            from .service.past import past_service

            poll = None  # a past moment never changes
            self.service = past_service(self.at)(self.url, self._deliver, clock=self.clock, poll_s=None)
        else:
            self.service = Service(self.url, self._deliver, clock=self.clock, poll_s=poll)
        self.service.start()
        self._request_load()
        if self.live:
            path = sqlite_path(self.url)
            if path is not None:
                self.change_watch = FileWatch(path, self.service.poke)
                self.change_watch.start()
            elif isinstance(self.url, str) and is_postgres(self.url):
                # Another host's commit reaches us over LISTEN/NOTIFY; the poll stays as the net.
                self.change_watch = ChangeWatcher(self.url, self.service.poke)
                self.change_watch.start()
            self.set_interval(1.0, self._tick, name="tick")
        if self.supervise:
            self.query_one(BoardHeader).starting = True
            self.run_worker(self._start_supervisor, thread=True, group="supervisor", exit_on_error=False)
        self._draw_columns()
        self._theme_at_start = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_chosen)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast (screens' and widgets' too go through here): messages quote labels, goals
        and errors, so they are never markup and their control characters are made visible."""
        super().notify(visible(message, multiline=True), title=visible(title), severity=severity,
                       timeout=timeout, markup=False)

    # -- the service's answers --------------------------------------------------------------

    @on(Loaded)
    def _loaded_board(self, answer: Loaded) -> None:
        self._handled += 1
        self._show_board(answer.board)

    @on(Trouble)
    def _trouble(self, answer: Trouble) -> None:
        self._handled += 1
        banner = self.query_one("#banner", Static)
        if answer.message:
            banner.update(Text(f"⚠ {visible(answer.message)}", no_wrap=True, overflow="ellipsis"))
            banner.display = True
        else:
            banner.display = False
            self.notify("the ledger is back", timeout=3)

    @on(ActionDone)
    def _action_done(self, answer: ActionDone) -> None:
        self._handled += 1
        self.notify(answer.message, severity="information" if answer.ok else "error",
                    title="" if answer.ok else "refused", timeout=4 if answer.ok else 8)

    @on(Inspected)
    def _inspected(self, answer: Inspected) -> None:
        self._handled += 1
        screen = self.screen
        if isinstance(screen, InspectorScreen) and screen.ref == answer.ref:
            screen.show(answer.data, answer.error)
        self.show_preview(answer)

    @on(HistoryRead)
    def _history_read(self, answer: HistoryRead) -> None:
        self._handled += 1
        screen = self.screen
        if isinstance(screen, ReplayScreen) and screen.flow_id == answer.history.flow_id:
            screen.show(answer.history)

    def _show_board(self, board: Board) -> None:
        self.board = board
        self.query_one(BoardHeader).board = board
        self.query_one(FlowList).set_rows(board.rows)
        self._loaded.set()
        screen = self.screen
        if isinstance(screen, InspectorScreen) and self.service is not None:
            self.service.submit(Inspect(screen.kind, screen.ref))
        self.preview_selected(again=True)
        self.refresh_bindings()

    def _tick(self) -> None:
        self.query_one(BoardHeader).redraw()
        self.query_one(FlowList).tick()

    # -- the embedded supervisor ----------------------------------------------------------------

    def _start_supervisor(self) -> None:
        try:
            if self.supervisor_factory is not None:
                sup = self.supervisor_factory()
            else:
                from ..supervisor import Supervisor

                if not isinstance(self.url, str):
                    raise ValueError("an embedded supervisor runs on one ledger, not several side by side")
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

    def _supervisor_failed(self, why: str) -> None:
        self.query_one(BoardHeader).starting = False
        self.notify(f"the embedded supervisor did not start: {why}", severity="error", timeout=10)

    # -- targets and the footer ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allows(action, self.screen)

    def allows(self, action: str, screen: Screen[Any]) -> bool:
        """Whether `action` may run on `screen`, by the rule the key table gives it (the keys,
        the footer and the command palette all ask here)."""
        when = when_of(action)
        if when is When.ALWAYS:
            return True
        on_board = bool(self.screen_stack) and screen is self.screen_stack[0]
        if when is When.LEDGER_ACTION:
            if self.readonly or not (on_board or isinstance(screen, InspectorScreen)):
                return False
            return act.applies(action, self.target(screen))
        if not on_board:
            return False
        row = self.selected
        if when is When.ROW:
            return row is not None
        if when is When.TASK_ROW:
            return self.at is None and row is not None and row.kind == "task"
        if when is When.FLOW_OR_TASK_ROW:
            return row is not None and row.kind in ("flow", "task")
        if when is When.MORE:
            return bool(self.board and self.board.rows and self.board.rows[-1].kind == "more")
        if when is When.FILTERED:
            return bool(self.spec.text or self.spec.status != "all" or self.query_one("#filter").display)
        return True  # When.ON_BOARD

    @on(FlowList.Moved)
    def _moved(self) -> None:
        if self.screen_stack:  # a move queued while the app closes has no screen left to refresh
            self.refresh_bindings()
            self.preview_selected()

    @on(FlowList.Activated)
    def _activated(self) -> None:
        self.action_inspect()

    @on(InspectorScreen.OpenTask)
    def _open_task(self, message: InspectorScreen.OpenTask) -> None:
        self._open_inspector("task", message.task_id, "details")

    # -- the view (key actions that change it are in navigation.py) -------------------------------

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        if event.value != self.spec.text:
            self.spec = self._spec(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        box = self.query_one("#filter", Input)
        if not event.value:
            box.display = False
        self.query_one(FlowList).focus()

    def _draw_columns(self) -> None:
        from rich.style import Style

        from .widgets.cells import header_text

        cols = self.query_one("#columns", Static)
        width = self.query_one(FlowList).size.width or self.size.width - 3
        cols.update(header_text(max(20, width), Style(bold=True, dim=True)))

    def on_resize(self) -> None:
        self.call_after_refresh(self.place_split)  # self.size is the new one by then
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
                    self.service.submit(Act(verb, target.ref, label))

            self.push_screen(ConfirmScreen(title, body), answered)
            return
        self.service.submit(Act(verb, target.ref, label))

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
        if self.change_watch is not None:
            self.change_watch.stop()
            self.change_watch = None
        if self.service is not None:
            self.service.stop()
            self.service = None
        return running

    async def on_unmount(self) -> None:
        if self.service is not None or self.change_watch is not None:
            self.shutdown()
