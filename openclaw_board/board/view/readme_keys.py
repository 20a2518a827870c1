"""The README's key table, made from the key table (view/keys.py) so that the two cannot differ.

    python -m openclaw_board.board.view.readme_keys            # print the table
    python -m openclaw_board.board.view.readme_keys --write    # replace it in README.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .keys import KEYS, SECTIONS, shown_keys

README = Path(__file__).resolve().parents[3] / "README.md"
BEGIN = "<!-- keys: made by `python -m openclaw_board.board.view.readme_keys --write` from board/view/keys.py -->"
END = "<!-- end of keys -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "\\<")


def _keys_cell(keys: str) -> str:
    return " ".join(f"`{group}`" for group in keys.split("  "))


def key_table() -> str:
    """Markdown: one table per help section, each under its title."""
    out: list[str] = []
    for title, scopes in SECTIONS:
        if title:
            out += ["", f"{title}:", ""]
        out += ["| Keys | What they do |", "| --- | --- |"]
        out += [f"| {_keys_cell(shown_keys(k))} | {_cell(k.help)} |" for k in KEYS if k.scope in scopes]
    return "\n".join(out) + "\n"


def with_table(readme: str) -> str:
    """The README text with the part between the markers made anew."""
    try:
        head, rest = readme.split(BEGIN + "\n", 1)
        _old, tail = rest.split(END, 1)
    except ValueError:
        raise ValueError(f"the README has no key table markers ({BEGIN!r} ... {END!r})") from None
    return f"{head}{BEGIN}\n{key_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openclaw_board.board.view.readme_keys",
                                     description="print the README's key table, or write it into README.md")
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    if not args.write:
        sys.stdout.write(key_table())
        return 0
    text = args.readme.read_text(encoding="utf-8")
    new = with_table(text)
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
