"""What the board shows, as plain data and pure rules: no Textual here (the service thread builds it,
the widgets draw it, the tests check it without a terminal)."""
