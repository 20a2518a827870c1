"""Screens pushed over the board: the inspector, time travel, the confirm dialog and the help."""
