"""JSON text as `json.dumps(obj, indent=2, ensure_ascii=False)` writes it, several times faster.

With `indent`, the standard library encodes in pure Python (its C encoder serves only compact
output), which made `tasks list --json` spend more time indenting than reading the ledger.
This walks the same shapes (dicts, lists, str, int, float, bool, None) with the C string
encoder; anything else falls back to the standard library. Byte-for-byte equality with
json.dumps is a property test (tests/test_cli_json_stream.py).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C implementation when available
from typing import Any

_INFINITY = float("inf")


def _float(value: float) -> str:
    # What json.encoder's floatstr writes (allow_nan=True, its default).
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def indented(obj: Any, pad: str = "") -> str:
    """`obj` as indent=2 JSON, its lines after the first prefixed with `pad`."""
    if isinstance(obj, str):
        return encode_basestring(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return _float(obj)
    inner = pad + "  "
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        parts = [f"{inner}{_key(k)}: {indented(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(parts) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        return "[\n" + ",\n".join(inner + indented(v, inner) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    # json.dumps turns other keys into strings the same way; keep its exact rules.
    return json.dumps({key: None}, ensure_ascii=False)[1:-7]
