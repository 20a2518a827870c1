"""The board's own widgets: the flow list, the header, the log view, and the row renderer they share."""
