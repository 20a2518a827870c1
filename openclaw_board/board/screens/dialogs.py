"""Modal screens: the confirm dialog (naming exactly what will be stopped) and the help."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

KEYS: list[tuple[str, str]] = [
    ("↑ ↓  j k", "move"),
    ("g G  Home End", "first / last row"),
    ("PgUp PgDn", "page"),
    ("space", "expand / collapse a flow"),
    ("Enter", "inspect the flow or task (fields, events, attempts, log)"),
    ("l", "the task's log, following it as it grows"),
    ("c", "cancel the task, or the whole flow (asks first)"),
    ("r", "retry a finished task (a new attempt)"),
    ("o", "reopen a blocked, failed, cancelled or lost flow"),
    ("a  d", "approve / deny a task awaiting approval"),
    ("/", "filter by text (goal, label, task label, id prefix)"),
    ("1 2 3 4", "show all / active / issues / blocked"),
    ("s", "sort: status, updated, created, goal"),
    ("m", "show more older finished flows"),
    ("t", "time travel: replay the flow event by event"),
    ("ctrl+s", "save a screenshot (SVG) in <state dir>/screenshots"),
    ("Esc", "clear the filter; close a screen"),
    ("ctrl+p", "command palette (every action by name)"),
    ("?", "this help"),
    ("q", "quit (running tasks keep running, detached)"),
    ("", ""),
    ("In the inspector", ""),
    ("1 2 3 4", "tabs: details, events, attempts, log"),
    ("p", "pause / follow the log"),
    ("/  n  N", "search the log, next, previous match"),
    ("", ""),
    ("In time travel", ""),
    ("← →  h l", "the previous / next event"),
    ("g G  Home End", "the first / last event"),
    ("PgUp PgDn", "ten events back / forward"),
]


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str, yes: str = "Yes, cancel it") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(Text(self.body), id="dialog-body")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button("No (n)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, readonly: bool = False) -> None:
        super().__init__()
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("openclaw-board: keys\n", style="bold")
        if self.readonly:
            text.append("read-only: actions are off (started with --readonly)\n", style="italic")
        for key, what in KEYS:
            if not key and not what:
                text.append("\n")
            elif not what:
                text.append(f"{key}\n", style="bold")
            else:
                text.append(f"  {key:<16}", style="bold")
                text.append(f"{what}\n")
        text.append("\nEsc or ? closes this help.", style="dim")
        with VerticalScroll(id="help"):
            yield Static(text)

    def action_close(self) -> None:
        self.dismiss(None)
