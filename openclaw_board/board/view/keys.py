"""Every documented key of the board, in one table: rebinding a key is one edit here.

From this table come the Textual bindings of the app, the flow list, the inspector, its log
and the replay screen; the help screen; the command palette's entries; the rule that
`check_action` applies to each action; and the README's key table (`readme_keys.py`).
It stays Textual-free: widgets turn `Bind`s into `Binding`s (`board/bindings.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Scope(Enum):
    """Where a key is bound (which widget's BINDINGS it goes to)."""

    APP = "app"
    LIST = "list"
    INSPECTOR = "inspector"
    LOG = "log"
    REPLAY = "replay"
    CONFIRM = "confirm"
    HELP = "help"
    PULSE = "pulse"
    SCHEDULES = "schedules"


class When(Enum):
    """When an app action is offered (footer, palette) and allowed (`check_action`)."""

    ALWAYS = "always"
    LEDGER_ACTION = "ledger_action"  # not read-only, on the board or the inspector, and the target allows it
    ROW = "row"  # on the board, a row selected
    TASK_ROW = "task_row"  # on the board, a task row selected, not in the past
    FLOW_OR_TASK_ROW = "flow_or_task_row"  # on the board, a flow or task row (not the pager)
    ON_BOARD = "on_board"  # on the board, no screen over it
    MORE = "more"  # on the board, the pager row is there
    FILTERED = "filtered"  # on the board, a filter (or marks) to clear
    MARKED = "marked"  # on the board, rows marked


@dataclass(frozen=True)
class Bind:
    key: str  # a Textual key name: "j", "down", "ctrl+s", "question_mark"
    action: str  # a Textual action string: "cancel", "status_filter('all')"
    footer: str = ""  # the footer's label ("" keeps it out of the footer)
    description: str = ""  # the binding's description when it has no footer label
    command: str = ""  # the command palette's name for it ("" keeps it out of the palette)
    command_help: str = ""
    when: When = When.ALWAYS
    scope: Scope | None = None  # bound elsewhere than the rest of its help line
    in_help: bool = True  # False: bound, but its help line does not list it (the log's own scrolling...)


@dataclass(frozen=True)
class Key:
    """One line of the help: its keys (groups of keys shown apart) and what they do."""

    scope: Scope
    groups: tuple[tuple[Bind, ...], ...]
    help: str


def _key(scope: Scope, help_text: str, *groups: tuple[Bind, ...] | Bind) -> Key:
    return Key(scope, tuple(g if isinstance(g, tuple) else (g,) for g in groups), help_text)


A, L, INS, G, R = Scope.APP, Scope.LIST, Scope.INSPECTOR, Scope.LOG, Scope.REPLAY
PU, SC = Scope.PULSE, Scope.SCHEDULES


def _log(key: str, action: str, description: str = "") -> Bind:
    """The log view scrolls with the list's keys (bound there, listed once in the help)."""
    return Bind(key, action, description=description, scope=G, in_help=False)


_ACT = When.LEDGER_ACTION

KEYS: tuple[Key, ...] = (
    _key(L, "move", (Bind("up", "cursor(-1)"), Bind("down", "cursor(1)")),
         (Bind("j", "cursor(1)", description="Down"), Bind("k", "cursor(-1)", description="Up")),
         (_log("j", "scroll_down", "Down"), _log("down", "scroll_down"), _log("k", "scroll_up", "Up"),
          _log("up", "scroll_up"))),
    _key(L, "first / last row", (Bind("g", "first", description="Top"), Bind("G", "last", description="Bottom")),
         (Bind("home", "first"), Bind("end", "last")),
         (_log("g", "scroll_home", "Top"), _log("home", "scroll_home"), _log("G", "follow_end", "End"),
          _log("end", "follow_end"))),
    _key(L, "page", (Bind("pageup", "page(-1)", description="Page up"),
                     Bind("pagedown", "page(1)", description="Page down")),
         (_log("pagedown", "page_down", "Page down"), _log("space", "page_down"),
          _log("pageup", "page_up", "Page up"))),
    _key(A, "expand / collapse a flow",
         Bind("e", "toggle_flow", description="Expand", command="Expand or collapse the flow",
              command_help="show its tasks", when=When.FLOW_OR_TASK_ROW),
         (Bind("right", "expand(True)", description="Expand", scope=L),
          Bind("left", "expand(False)", description="Collapse", scope=L))),
    _key(A, "mark / unmark a row; then c r a act on all marked",
         Bind("space", "toggle_mark", description="Mark", command="Mark or unmark the selected row",
              command_help="cancel, retry and approve act on every marked row", when=When.FLOW_OR_TASK_ROW)),
    _key(A, "clear the marks",
         Bind("u", "clear_marks", description="Unmark all", command="Clear the marks",
              command_help="unmark every marked row", when=When.MARKED)),
    _key(A, "flows / tasks: every latest task, one row each",
         Bind("f", "flat", "Flat", command="Toggle the flat view of tasks",
              command_help="every latest task across flows; 1-4 filter them", when=When.ON_BOARD)),
    _key(A, "inspect the flow or task (fields, events, attempts, log)",
         Bind("enter", "inspect", "Inspect", command="Inspect the selected row",
              command_help="fields, events, attempts and log", when=When.ROW)),
    _key(A, "split view, 160+ columns / its pane: details or log",
         Bind("v", "split", description="Split", command="Split view: details beside the list",
              command_help="on terminals 160 columns or wider", when=When.ON_BOARD),
         Bind("V", "split_mode", description="Details/log", command="Split view: details or log",
              command_help="what the pane beside the list shows", when=When.ON_BOARD)),
    _key(A, "the task's log, following it as it grows",
         Bind("l", "logs", "Logs", command="Follow the task's log", command_help="the log, following it as it grows",
              when=When.TASK_ROW)),
    _key(A, "cancel the task, or the whole flow (asks first)",
         Bind("c", "cancel", "Cancel", command="Cancel the selected task or flow",
              command_help="asks first; names what will be stopped", when=_ACT),
         (Bind("y", "answer(True)", "Yes", scope=Scope.CONFIRM, in_help=False),
          Bind("n", "answer(False)", "No", scope=Scope.CONFIRM, in_help=False),
          Bind("escape", "answer(False)", scope=Scope.CONFIRM, in_help=False),
          Bind("q", "answer(False)", scope=Scope.CONFIRM, in_help=False))),
    _key(A, "retry a finished task (a new attempt; asks first)",
         Bind("r", "retry", "Retry", command="Retry the selected task", command_help="a new attempt of a finished task",
              when=_ACT)),
    _key(A, "reopen a blocked, failed, cancelled or lost flow (asks first)",
         Bind("o", "reopen", "Reopen", command="Reopen the selected flow", command_help="retries what did not succeed",
              when=_ACT)),
    _key(A, "approve / deny a task awaiting approval (asks first)",
         Bind("a", "approve", "Approve", command="Approve the selected task", command_help="asks first; it will start",
              when=_ACT),
         Bind("d", "deny", "Deny", command="Deny the selected task", command_help="asks first; it is cancelled",
              when=_ACT)),
    _key(A, "filter by text (goal, label, task label, id prefix)",
         Bind("slash", "filter", "Filter", command="Filter by text", command_help="goal, label, task label, id prefix",
              when=When.ON_BOARD)),
    _key(A, "show all / active / issues / blocked", (
        Bind("1", "status_filter('all')", description="All", command="Show all flows",
             command_help="clear the status filter", when=When.ON_BOARD),
        Bind("2", "status_filter('active')", description="Active", command="Show active flows",
             command_help="queued, waiting, running", when=When.ON_BOARD),
        Bind("3", "status_filter('issues')", description="Issues", command="Show flows with issues",
             command_help="failed, timed out, lost, blocked", when=When.ON_BOARD),
        Bind("4", "status_filter('blocked')", description="Blocked", command="Show blocked flows",
             command_help="blocked flows and tasks", when=When.ON_BOARD))),
    _key(A, "sort by the next column / the other way (or click a column title)",
         Bind("s", "sort", "Sort", command="Change the sort order",
              command_help="status, updated, created, then each column", when=When.ON_BOARD),
         Bind("S", "sort_reverse", description="Reverse sort", command="Reverse the sort order",
              command_help="the same column, the other direction", when=When.ON_BOARD)),
    _key(A, "show more older finished flows",
         Bind("m", "more", description="More", command="Show more older flows", command_help="200 more finished flows",
              when=When.MORE)),
    _key(A, "time travel: replay the flow event by event",
         Bind("t", "time_travel", description="Time travel", command="Time travel: replay the selected flow",
              command_help="step through its events, as it was then", when=When.ROW)),
    _key(A, "pulse: finished, failed, queued per minute, last hour",
         Bind("P", "pulse", description="Pulse", command="Pulse: the last hour per runtime",
              command_help="finished tasks, failures and queue depth per minute", when=When.ON_BOARD)),
    _key(A, "schedules: next firing, last outcome; pause, run now",
         Bind("C", "schedules", description="Schedules", command="Schedules (cron)",
              command_help="next firing, last outcome; pause, resume, run now", when=When.ON_BOARD)),
    _key(A, "save a screenshot (SVG) in <state dir>/screenshots",
         Bind("ctrl+s", "save_screenshot", description="Screenshot", command="Save a screenshot of the screen",
              command_help="an SVG in <state dir>/screenshots")),
    _key(A, "clear the marks, else the filter; go back one screen (q too, off the list)",
         Bind("escape", "clear_filter", description="Clear filter", when=When.FILTERED),
         (Bind("escape", "close", "Back", scope=INS, in_help=False), Bind("q", "close", scope=INS, in_help=False))),
    # Textual binds its command palette itself (App.COMMAND_PALETTE_BINDING); this row sets that key.
    _key(A, "command palette (every action by name)", Bind("ctrl+p", "command_palette")),
    _key(A, "this help",
         Bind("question_mark", "help", "Help", command="Help: every key", command_help="the key reference"),
         (Bind("escape", "close", "Close", scope=Scope.HELP, in_help=False),
          Bind("q", "close", scope=Scope.HELP, in_help=False),
          Bind("question_mark", "close", scope=Scope.HELP, in_help=False))),
    _key(A, "quit, from the list (running tasks keep running, detached)",
         Bind("q", "quit_board", "Quit", command="Quit the board",
              command_help="running tasks keep running, detached", when=When.ON_BOARD)),
    _key(INS, "tabs: details, events, attempts (a flow's: tasks; c r a d act on the highlighted one), log", (
        Bind("1", "tab('details')", description="Details"), Bind("2", "tab('events')", description="Events"),
        Bind("3", "tab('attempts')", description="Attempts"), Bind("4", "tab('log')", description="Log"))),
    _key(G, "pause / follow the log", Bind("p", "toggle_pause", "Pause/follow")),
    _key(G, "wrap long lines / cut them at the edge", Bind("w", "toggle_wrap", "Wrap")),
    _key(G, "show / hide when each line came (UTC)", Bind("T", "toggle_times", description="Times")),
    _key(G, "show / hide ::progress lines (hidden: the bar says it)",
         Bind("R", "toggle_raw", description="Control lines")),
    _key(G, "save the log in <state dir>/logs (0600; the toast says where)", Bind("S", "save", description="Save log")),
    _key(G, "search the log, next, previous match", Bind("slash", "search", "Search log", scope=INS),
         Bind("n", "search_next", description="Next match"), Bind("N", "search_prev", description="Prev match")),
    _key(PU, "close the pulse", (Bind("escape", "close", "Close"), Bind("q", "close"), Bind("P", "close"))),
    _key(SC, "move", (Bind("up", "move(-1)"), Bind("down", "move(1)")),
         (Bind("j", "move(1)", description="Down"), Bind("k", "move(-1)", description="Up"))),
    _key(SC, "pause the schedule (asks first) / resume it",
         Bind("p", "pause_schedule", "Pause"), Bind("u", "resume_schedule", "Resume")),
    _key(SC, "run the schedule now, whatever its cron (asks first)", Bind("r", "run_schedule", "Run now")),
    _key(SC, "close the schedules", (Bind("escape", "close", "Close"), Bind("q", "close"), Bind("C", "close"))),
    _key(R, "the previous / next event", (Bind("left", "step(-1)", "Earlier"), Bind("right", "step(1)", "Later")),
         (Bind("h", "step(-1)"), Bind("l", "step(1)"))),
    _key(R, "the first / last event", (Bind("g", "jump(0)"), Bind("G", "jump(-1)")),
         (Bind("home", "jump(0)", "First"), Bind("end", "jump(-1)", "Last"))),
    _key(R, "ten events back / forward", (Bind("pageup", "step(-10)", description="-10"),
                                          Bind("pagedown", "step(10)", description="+10")),
         (Bind("escape", "close", "Close", in_help=False), Bind("q", "close", in_help=False),
          Bind("t", "close", in_help=False))),
)

# The footer's order (Textual draws bound actions in the order of their bindings).
FOOTER_ORDER: tuple[str, ...] = ("quit_board", "help", "inspect", "cancel", "retry", "reopen", "approve", "deny",
                                 "logs", "filter", "sort", "flat")

# The help's sections: a title ("" for the first) and the scopes whose keys it lists.
SECTIONS: tuple[tuple[str, tuple[Scope, ...]], ...] = (
    ("", (Scope.APP, Scope.LIST)),
    ("In the inspector", (Scope.INSPECTOR, Scope.LOG)),
    ("In time travel", (Scope.REPLAY,)),
    ("On the pulse screen", (Scope.PULSE,)),
    ("On the schedules screen", (Scope.SCHEDULES,)),
)

KEY_NAMES = {"up": "↑", "down": "↓", "left": "←", "right": "→", "home": "Home", "end": "End", "pageup": "PgUp",
             "pagedown": "PgDn", "enter": "Enter", "escape": "Esc", "slash": "/", "question_mark": "?"}


def key_name(key: str) -> str:
    """A Textual key name as people write it: `↑`, `PgUp`, `Esc`, `/`, `?`, `ctrl+s`."""
    return KEY_NAMES.get(key, key)


def shown_keys(key: Key) -> str:
    """`↑ ↓  j k`: the keys of a group one space apart, the groups two (those the help lists)."""
    groups = [[key_name(b.key) for b in group if b.in_help] for group in key.groups]
    return "  ".join(" ".join(g) for g in groups if g)


def binds(scope: Scope) -> list[Bind]:
    """Every Bind of a scope, in the table's order."""
    return [b for k in KEYS for group in k.groups for b in group if (b.scope or k.scope) is scope]


def keys_of(action: str, scope: Scope = Scope.APP) -> list[str]:
    """The keys bound to `action` in `scope`, as people write them, in the table's order: for
    the texts that name a key ("a approve", "(y)", "Esc close")."""
    found = [key_name(b.key) for b in binds(scope) if b.action == action]
    if not found:
        raise LookupError(f"no key for {action!r} in {scope.value}")
    return found


def key_of(action: str, scope: Scope = Scope.APP) -> str:
    return keys_of(action, scope)[0]


def help_lines() -> list[tuple[str, str]]:
    """(keys, what) per help line; ("", "") is a gap, (title, "") a section title."""
    lines: list[tuple[str, str]] = []
    for title, scopes in SECTIONS:
        if title:
            lines += [("", ""), (title, "")]
        lines += [(shown_keys(k), k.help) for k in KEYS if k.scope in scopes]
    return lines


def bare(action: str) -> str:
    """`status_filter('all')` -> `status_filter`."""
    return action.split("(", 1)[0]


def when_of(action: str) -> When:
    """The rule an app action follows (ALWAYS for actions the table does not name)."""
    for b in binds(Scope.APP):
        if bare(b.action) == action:
            return b.when
    return When.ALWAYS


def app_actions() -> set[str]:
    """The bare names of the app's actions."""
    return {bare(b.action) for b in binds(Scope.APP)}


def palette_key() -> str:
    return next(b.key for b in binds(Scope.APP) if b.action == "command_palette")


def commands() -> list[Bind]:
    """The command palette's entries: the app's Binds that have a name there."""
    return [b for b in binds(Scope.APP) if b.command]
