"""`tasks list --json` streams its rows: the bytes must be exactly what one json.dumps gives."""

from __future__ import annotations

import io
import json
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_board.cli.app import print_json, print_json_list

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
rows = st.lists(st.dictionaries(st.text(max_size=8), values, max_size=4), max_size=5)


def _captured(write, *args) -> str:
    buf, real = io.StringIO(), sys.stdout
    sys.stdout = buf
    try:
        write(*args)
    finally:
        sys.stdout = real
    return buf.getvalue()


@settings(max_examples=200, deadline=None)
@given(rows)
def test_streamed_list_is_byte_for_byte_one_document(items: list[dict]) -> None:
    whole = _captured(print_json, {"count": len(items), "tasks": items})
    streamed = _captured(print_json_list, "tasks", len(items), iter(items))
    assert streamed == whole
    assert json.loads(streamed) == {"count": len(items), "tasks": items}


def test_not_a_number_is_written_as_json_dumps_writes_it() -> None:
    from openclaw_board.cli.json_text import indented

    value = {"p": [float("nan"), float("inf"), -float("inf"), 0.1], "q": {}}
    assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)
