"""The live board (Textual): flows and tasks, inspect, cancel, retry, approve, reopen."""

from __future__ import annotations

from .board_app import BoardApp

__all__ = ["BoardApp"]
