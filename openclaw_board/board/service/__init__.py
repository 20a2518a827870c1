"""The board's one database thread and what it reads: loads, refreshes, inspections, actions."""
