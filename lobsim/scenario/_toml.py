"""A minimal TOML writer for scenario documents (tomllib reads TOML but cannot write it).

It writes what scenarios hold: tables, arrays of tables, strings, integers, finite floats,
booleans and arrays of those, nested to any depth. Reading the output back with
:func:`tomllib.loads` gives the same document (tested, including hypothesis-generated values).
"""

from __future__ import annotations

import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(text: str) -> str:
    """A TOML basic string; control characters are escaped as TOML requires."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    """One key segment, bare when TOML allows it, quoted otherwise."""
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def value(obj: Any) -> str:
    """An inline TOML value: ``1``, ``0.5``, ``"x"``, ``[1, 2]``, ``{ a = 1 }``."""
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"cannot write the non-finite number {obj} to a scenario")
        return repr(obj)
    if isinstance(obj, str):
        return _string(obj)
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(value(v) for v in obj) + "]"
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in obj.items()) + " }"
    raise TypeError(f"cannot write {type(obj).__name__} to TOML")


def _is_table_array(obj: Any) -> bool:
    return (
        isinstance(obj, (list, tuple)) and len(obj) > 0 and all(isinstance(v, dict) for v in obj)
    )


def _table(doc: dict, path: list[str], lines: list[str], header: str) -> None:
    plain = {k: v for k, v in doc.items() if not isinstance(v, dict) and not _is_table_array(v)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    arrays = {k: v for k, v in doc.items() if _is_table_array(v)}
    # A table with only sub-tables needs no header of its own; an empty one does.
    if header and (plain or not (tables or arrays)):
        lines.extend(["", header])
    lines.extend(f"{key(k)} = {value(v)}" for k, v in plain.items())
    for name, sub in tables.items():
        sub_path = [*path, name]
        _table(sub, sub_path, lines, "[" + ".".join(map(key, sub_path)) + "]")
    for name, items in arrays.items():
        sub_path = [*path, name]
        for item in items:
            lines.extend(["", "[[" + ".".join(map(key, sub_path)) + "]]"])
            _table(item, sub_path, lines, "")


def dumps(doc: dict) -> str:
    """The TOML text of ``doc`` (a dict of plain values), tables in the order of the dict."""
    lines: list[str] = []
    _table(doc, [], lines, "")
    return "\n".join(lines).lstrip("\n") + "\n"
