"""The live board (Textual): flows and tasks, inspect, cancel, retry, approve, reopen.

    board_app.py   BoardApp: wiring, the service's answers (@on), check_action, the ledger actions
    app_state.py   what the app knows (the view spec, a reactive; the last board; the service)
    navigation.py  the keys that change the view; commands.py the command palette; bindings.py
    view/          plain data and rules, no Textual: rows, targets, text, history, the key table
    service/       the one database thread: typed requests in, Textual messages out
    widgets/       the flow list, the header, the log view, the row renderer
    screens/       the inspector, time travel, the confirm dialog, the help
    theme/         theme files, status colours and glyphs, switching themes live
    pictures/      headless SVG, picture files, the README's pictures
"""

from __future__ import annotations

from .board_app import BoardApp

__all__ = ["BoardApp"]
