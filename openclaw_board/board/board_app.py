"""The live board: a Textual app over the ledger.

Threads: the UI thread draws and never touches the database; the service thread reads
and acts (board/service/ledger_thread.py); a watcher thread pokes the service when the ledger's files
change (board/service/file_watch.py); the embedded supervisor runs in threads of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.actions import ActionParseResult
from textual.actions import parse as parse_action
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ..ledger.db import is_postgres
from ..ledger.notify import ChangeWatcher
from ..safetext import visible
from .bindings import bindings
from .commands import BoardCommands
from .driver import board_driver_class
from .marks import MarkActions
from .navigation import ViewActions
from .screens.dialogs import ConfirmScreen
from .screens.inspector import InspectorScreen
from .screens.time_travel import ReplayScreen
from .service.answers import ActionDone, HistoryRead, Inspected, Loaded, Trouble
from .service.file_watch import FileWatch
from .service.ledger_thread import Service, sqlite_path
from .service.requests import Act, Inspect
from .side_screens import SideScreens
from .split import SplitView
from .theme.palette import theme_variable_defaults
from .theme.runtime import Theming
from .view import targets as act
from .view.keys import Scope, When, app_actions, key_of, palette_key, when_of
from .view.model import Board
from .view.refusals import empty_view_text, refusal
from .widgets.column_header import ColumnHeader
from .widgets.detailpane import DetailPane
from .widgets.flowlist import FlowList
from .widgets.header import BoardHeader


class BoardApp(ViewActions, MarkActions, SplitView, SideScreens, Theming):
    CSS_PATH = "board.tcss"
    TITLE = "openclaw-board"
    COMMANDS = App.COMMANDS | {BoardCommands}
    BINDINGS = bindings(Scope.APP)
    COMMAND_PALETTE_BINDING = palette_key()
    ACTIONS_WITH_RULES = frozenset(a for a in app_actions() if when_of(a) is not When.ALWAYS)

    # -- setup ----------------------------------------------------------------------------

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, but one that resumes after SIGCONT only if it had suspended."""
        return board_driver_class(super().get_driver_class())

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return theme_variable_defaults()

    def compose(self) -> ComposeResult:
        yield BoardHeader(self.clock, self.title_text, id="header")
        yield Static("", id="banner")
        yield ColumnHeader(lambda: self.query_one(FlowList).row_width, id="columns")
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
        if not self.closing:
            self._show_board(answer.board)

    @on(Trouble)
    def _trouble(self, answer: Trouble) -> None:
        self._handled += 1
        if self.closing:
            return
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
        if self.closing:
            return
        screen = self.screen
        if isinstance(screen, InspectorScreen) and screen.ref == answer.ref:
            screen.show(answer.data, answer.error)
        self.show_preview(answer)

    @on(HistoryRead)
    def _history_read(self, answer: HistoryRead) -> None:
        self._handled += 1
        if self.closing:
            return
        screen = self.screen
        if isinstance(screen, ReplayScreen) and screen.flow_id == answer.history.flow_id:
            screen.show(answer.history)

    def _show_board(self, board: Board) -> None:
        self.board = board
        self.query_one(BoardHeader).board = board
        flows = self.query_one(FlowList)
        flows.set_rows(board.rows)
        flows.show_view(empty_view_text(self.spec, board.rows), self.spec.text.strip())
        self._draw_columns()  # the flat view has titles of its own
        self._loaded.set()
        screen = self.screen
        if isinstance(screen, InspectorScreen) and self.service is not None:
            self.service.submit(Inspect(screen.kind, screen.ref))
        self.side_screens_changed()
        self.preview_selected(again=True)
        self.refresh_bindings()

    def _tick(self) -> None:
        if self.closing:
            return
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
        if self.closing:
            return
        header = self.query_one(BoardHeader)
        header.own, header.starting = sid, False

    def _supervisor_failed(self, why: str) -> None:
        if self.closing:
            return
        self.query_one(BoardHeader).starting = False
        self.notify(f"the embedded supervisor did not start: {why}", severity="error", timeout=10)

    # -- targets and the footer ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.allows(action, self.screen)

    async def run_action(self, action: str | ActionParseResult, default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        """A key (or palette entry) whose action the rules refuse here says why, in a toast:
        the footer hides what does not apply, but a pressed key is never silent."""
        destination, name, params = action if isinstance(action, tuple) else parse_action(action)
        if (not destination and default_namespace in (None, self) and name in self.ACTIONS_WITH_RULES
                and self.check_action(name, params) is False):
            self.notify(self.why_not(name), severity="warning", timeout=3)
            return True
        return await super().run_action(action, default_namespace, namespaces)

    def why_not(self, action: str) -> str:
        on_board = bool(self.screen_stack) and self.screen is self.screen_stack[0]
        return refusal(action, when_of(action), readonly=self.readonly, on_board=on_board,
                       row=self.selected if on_board else None, target=self.target(), in_past=self.at is not None)

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
            if on_board and self.query_one(FlowList).marks:
                return True  # with marks, keys act on the marked rows, and say why when none applies
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
        if when is When.MARKED:
            return bool(self.query_one(FlowList).marks)
        if when is When.FILTERED:
            return bool(self.spec.text or self.spec.status != "all" or self.query_one("#filter").display
                        or self.query_one(FlowList).marks)
        return True  # When.ON_BOARD

    @on(FlowList.Moved)
    def _moved(self) -> None:
        if not self.closing:
            self.refresh_bindings()
            self.preview_selected()

    @on(FlowList.Activated)
    def _activated(self) -> None:
        self.action_inspect()

    @on(FlowList.MarksChanged)
    def _marks_changed(self) -> None:
        if not self.closing:
            self._draw_columns()
            self.refresh_bindings()

    @on(FlowList.Expand)
    def _expand(self, message: FlowList.Expand) -> None:
        self.set_flow_open(message.open_it)

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

    @on(ColumnHeader.SortClicked)
    def _sort_clicked(self, event: ColumnHeader.SortClicked) -> None:
        """A click on a column title sorts by it; a click on the sorted one reverses."""
        same = event.sort == self.spec.sort
        self.sort_by(event.sort, reverse=not self.spec.reverse if same else False)

    def _draw_columns(self) -> None:
        """The titles for this view (the flat view has its own) and the count of marked rows."""
        if self.closing:  # asked for after a refresh or a resize, which may come as the board closes
            return
        self.query_one(ColumnHeader).set_view(self.spec.flat, len(self.query_one(FlowList).marks))

    @on(FlowList.Resized)
    def _list_resized(self) -> None:
        """The titles follow the list's own width (the app's resize may come before the list's)."""
        self._draw_columns()

    def on_resize(self) -> None:
        self.call_after_refresh(self.place_split)  # self.size is the new one by then

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
        if self.screen_stack and self.screen is self.screen_stack[0] and self._act_marked(action):
            return
        target = self.target()
        verb = act.ledger_call(action, target) if target is not None else None
        if target is None or verb is None or not act.applies(action, target):
            self.notify(self.why_not(action), severity="warning", title="refused")
            return
        label = act.done_text(action, target)
        title, body, yes = act.question(action, target)

        def answered(answer: bool | None) -> None:
            if answer and self.service is not None and verb is not None:
                self.service.submit(Act(verb, target.ref, label))

        # Every action that starts, stops or discards work asks first, No focused.
        self.push_screen(ConfirmScreen(title, body, yes), answered)

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
