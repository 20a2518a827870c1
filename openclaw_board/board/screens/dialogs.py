"""Modal screens: the confirm dialog (naming exactly what will be stopped) and the help (from view/keys.py)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from ..bindings import bindings
from ..view.keys import Scope, help_lines, key_of


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = bindings(Scope.CONFIRM)

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
                yield Button(f"{self.yes} ({key_of('answer(True)', Scope.CONFIRM)})", variant="error", id="yes")
                yield Button(f"No ({key_of('answer(False)', Scope.CONFIRM)})", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class HelpScreen(ModalScreen[None]):
    BINDINGS = bindings(Scope.HELP)

    def __init__(self, readonly: bool = False) -> None:
        super().__init__()
        self.readonly = readonly

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("openclaw-board: keys\n", style="bold")
        if self.readonly:
            text.append("read-only: actions are off (started with --readonly)\n", style="italic")
        for key, what in help_lines():
            if not key and not what:
                text.append("\n")
            elif not what:
                text.append(f"{key}\n", style="bold")
            else:
                text.append(f"  {key:<16}", style="bold")
                text.append(f"{what}\n")
        text.append(f"\n{key_of('close', Scope.HELP)} or {key_of('help')} closes this help.", style="dim")
        with VerticalScroll(id="help"):
            yield Static(text)
        yield Footer()  # its own keys (Esc closes), not the board's underneath

    def action_close(self) -> None:
        self.dismiss(None)
