"""The one rule for text that came from a task, a spec or the ledger and is shown to a human.

A terminal obeys control characters in what it prints: `ESC ] 0 ; T ESC \\` sets its title,
`ESC ] 52 ; c ; ...` writes the clipboard, `ESC [ 2 J` clears the screen, and on many
terminals the C1 code point U+009B is a one-character CSI. Bidi overrides (U+202E...)
make text read differently from what it is. So no such character from a spec, a task or a
log ever reaches a terminal, an SVG or a notification as itself:

- `visible(text)`: every control becomes a visible, harmless form (labels, goals, errors,
  events, notifications, screenshots). Whole escape sequences stay readable because only
  their control characters are replaced: `ESC ] 0 ; T ESC \\` shows as `␛]0;T␛\\`.
- `log_text(text)`: a task's output read as a log (`tasks logs` to a terminal, the tail kept
  in the ledger). Whole escape sequences (colours, titles, clipboard writes: CSI, OSC, DCS,
  SOS, PM, APC, and two-character ESC sequences, in their 7-bit and 8-bit forms) are
  removed, CR LF and lone CR become LF, then whatever control is left is made visible.
- `LogStream`: `log_text` for output that arrives in chunks (`tasks logs --follow`).

The visible forms: ESC `␛`, CR `␍`, LF `⏎` (where one line is expected), every other C0
control, DEL and C1 control as the four characters `\\xNN`, a bidi override as `\\uNNNN`.
Tab is kept: it only moves the cursor within the line. Safety never depends on recognising
a sequence: `visible` runs last and maps every control character one by one; the sequence
grammar only decides what a log drops as formatting.

JSON output is not passed through here: JSON escapes control characters itself, exactly.
This module imports nothing from the package, so that every layer may use it.
"""

from __future__ import annotations

import codecs
import re

# C0 except tab, DEL, C1; bidi embeddings/overrides (U+202A-202E) and isolates (U+2066-2069).
CONTROLS = frozenset([*range(0x00, 0x09), *range(0x0a, 0x20), *range(0x7f, 0xa0), *range(0x202a, 0x202f),
                      *range(0x2066, 0x206a)])
_SHOWN = {0x1b: "␛", 0x0d: "␍", 0x0a: "⏎"}


def _shown(code: int) -> str:
    return _SHOWN.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


# str.translate tables, and a search that lets the common case (no control at all) skip them:
# both C loops, so a log of a million controls takes a second, not minutes.
_ONE_LINE = {code: _shown(code) for code in CONTROLS}
_LINES = {code: shown for code, shown in _ONE_LINE.items() if code != 0x0a}


def _any_of(table: dict[int, str]) -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(table)) + "]")


_ANY_ONE_LINE, _ANY_LINES = _any_of(_ONE_LINE), _any_of(_LINES)

# ECMA-48 sequences, 7-bit (ESC x) and 8-bit (one C1 character) introducers alike. Every
# branch starts with its introducer, so that the engine skips plain text quickly.
_CSI_REST = "[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # parameters, intermediates, final
# A string's body stops at any ESC or C1, so that no match is tried across another
# introducer (the scan stays linear whatever a log holds); ST, or BEL as xterm accepts.
_STRING_REST = "[^\x1b\x07\x80-\x9f]*(?:\x1b\\\\|\x9c|\x07)"
ESCAPE_SEQUENCE = re.compile(
    "\x1b(?:"
    f"\\[{_CSI_REST}"  # CSI
    f"|[\\]PX^_]{_STRING_REST}"  # OSC, DCS, SOS, PM, APC
    # Two-character (and nF) sequences: ESC 7, ESC c, ESC ( B; not the introducers above, so
    # that an unterminated string or a malformed CSI stays visible as `␛]...`, `␛[...`.
    "|[\x20-\x2f]*[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
    f"|\x9b{_CSI_REST}"
    f"|[\x90\x98\x9d\x9e\x9f]{_STRING_REST}"
)
# A sequence that may still be arriving at the end of a chunk: held back by LogStream.
_PARTIAL = re.compile(
    "(?:(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*"
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x1b\x07\x80-\x9f]*\x1b?"
    "|\x1b[\x20-\x2f]*)\\Z"
)
PARTIAL_MAX = 4096  # a longer unterminated sequence is not held back: it is shown


def visible(text: object, *, multiline: bool = False) -> str:
    """`text` with every control character in a visible form; LF kept only when `multiline`."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="backslashreplace")
    text = str(text)
    if (_ANY_LINES if multiline else _ANY_ONE_LINE).search(text) is None:
        return text
    return text.translate(_LINES if multiline else _ONE_LINE)


def log_text(text: str) -> str:
    """A task's output for a human: escape sequences removed, CR as LF, other controls visible."""
    if "\x1b" in text or not text.isascii():  # else no sequence can be there: skip the scan
        text = ESCAPE_SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return visible(text, multiline=True)


class LogStream:
    """`log_text` over bytes that arrive in pieces: a UTF-8 character or an escape sequence
    split between two reads is put back together before it is judged.

    Bytes that are not UTF-8 are shown as `\\xNN` (a raw 0x9b byte is a CSI to a terminal in
    an 8-bit mode, so it must never be written as is)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")
        self._held = ""

    def feed(self, chunk: bytes) -> str:
        text = self._held + self._decoder.decode(chunk)
        partial = _PARTIAL.search(text, max(0, len(text) - PARTIAL_MAX))
        cut = partial.start() if partial is not None else len(text) - text.endswith("\r")  # CR: half a CR LF?
        text, self._held = text[:cut], text[cut:]
        return log_text(text)

    def flush(self) -> str:
        """The end of the output: whatever was held back, judged as it is."""
        text = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return log_text(text)
