"""Themes: the TOML files, the status colours and glyphs, and switching themes while the board runs."""
