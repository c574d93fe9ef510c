"""Typed conversion of TOML tables into the schema's dataclasses, with key paths in every error.

The schema is the dataclasses themselves: a table's keys are the dataclass's init fields and a
value's expected type is the field's type hint (``int``, ``float``, ``str``, ``bool``,
``pathlib.Path``, ``Literal[...]``, ``X | None``, ``tuple[X, ...]`` or another dataclass).
Ranges and cross-field rules stay in each dataclass's ``__post_init__``; an
:class:`~lobsim.errors.InputError` raised there is re-raised as a ScenarioError at the table's
key path followed by the error's own ``key`` (:func:`placed`). So ``[book]`` follows
:class:`lobsim.BookModel` field for field, with its own checks, and gains any field the model
gains.

Every error about one value is made by :func:`keyed`: its key path and what is wrong, in parts.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import math
import types
import typing
from pathlib import Path
from typing import Any, Literal

from lobsim.errors import InputError, ScenarioError
from lobsim.scenario import _toml

Segment = str | int

# Keys of one table that exclude each other; the first one that is set wins when writing.
EXCLUSIVE: dict[tuple[str, ...], tuple[str, ...]] = {
    ("book",): ("epsilon", "target_bps"),
    ("parent",): ("shares", "fraction_adv"),
}


def key_path(path: typing.Iterable[Segment]) -> str:
    """``("book", "droughts", 1, "first")`` -> ``book.droughts[1].first``."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + _toml.key(seg)
    return out


def keyed(path: tuple[Segment, ...], detail: str) -> ScenarioError:
    """The error about the value at ``path``: the message is its key path followed by
    ``detail`` (``": expected a number, got 'x'"``, ``" must be >= 1, got 0"``)."""
    return ScenarioError(key_path(path) + detail, key=path, detail=detail)


def shown(obj: Any, limit: int = 60) -> str:
    """A value as it would be written in TOML, shortened for messages."""
    try:
        text = _toml.value(obj)
    except (TypeError, ValueError):
        text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(obj: Any) -> str:
    if isinstance(obj, bool):
        return "a boolean"
    for typ, name in (
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
    ):
        if isinstance(obj, typ):
            return name
    return type(obj).__name__


def suggest(word: str, choices: typing.Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelt ``word`` (difflib), or None."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key(path: tuple[Segment, ...], name: str, choices: typing.Iterable[str]) -> str:
    """The message for a key that the table at ``path`` does not have."""
    choices = list(choices)
    guess = suggest(name, choices)
    msg = f"unknown key {key_path((*path, name))}"
    if guess is not None:
        msg += f"; did you mean {key_path((*path, guess))}?"
    where = key_path(path) or "a scenario"
    return msg + f" ({where} takes: {', '.join(choices)})"


def check_plain(obj: Any, path: tuple[Segment, ...]) -> None:
    """Refuse values no scenario uses: dates and times, NaN and infinities."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_plain(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_plain(v, (*path, i))
    elif isinstance(obj, (datetime.date, datetime.time)):
        raise keyed(path, ": dates and times are not used in scenarios")
    elif isinstance(obj, float) and not math.isfinite(obj):
        raise keyed(path, f": expected a finite number, got {obj}")


@functools.cache
def hints(cls: type) -> dict[str, Any]:
    """Init field name -> resolved type hint of a dataclass, in declaration order (read-only)."""
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls) if f.init}


def _options(hint: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return None


def _items(hint: Any) -> tuple[Any, ...] | None:
    """Item types of a fixed-length ``tuple[X, Y]``; None for ``tuple[X, ...]``."""
    args = typing.get_args(hint)
    return None if len(args) == 2 and args[1] is Ellipsis else args


def describe(hint: Any, plural: bool = False) -> str:
    """What a value of type ``hint`` looks like in TOML, in words."""
    if hint is bool:
        return "true or false"
    names = {
        int: ("an integer", "integers"),
        float: ("a number", "numbers"),
        str: ("a string", "strings"),
        Path: ("a file path", "file paths"),
    }
    if hint in names:
        return names[hint][plural]
    if typing.get_origin(hint) is Literal:
        return "one of " + ", ".join(shown(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is tuple:
        items = _items(hint)
        if items is None:
            return "an array of " + describe(typing.get_args(hint)[0], plural=True)
        if len(set(items)) == 1:
            return f"an array of {len(items)} " + describe(items[0], plural=True)
        return "an array (" + ", ".join(describe(i) for i in items) + ")"
    if dataclasses.is_dataclass(hint):
        keys = ", ".join(hints(hint))
        return f"tables ({keys})" if plural else f"a table ({keys})"
    options = _options(hint)
    if options is not None:
        return " or ".join(describe(o, plural) for o in options if o is not type(None))
    return str(hint)


def _type_error(hint: Any, obj: Any, path: tuple[Segment, ...]) -> ScenarioError:
    return keyed(path, f": expected {describe(hint)}, got {shown(obj)} ({_kind(obj)})")


def _matches_kind(hint: Any, obj: Any) -> bool:
    """Whether ``obj``'s TOML kind (array, table, scalar) is the kind ``hint`` wants."""
    if isinstance(obj, list):
        return typing.get_origin(hint) is tuple
    if isinstance(obj, dict):
        return dataclasses.is_dataclass(hint)
    return typing.get_origin(hint) is not tuple and not dataclasses.is_dataclass(hint)


def convert(obj: Any, hint: Any, path: tuple[Segment, ...], base_dir: Path) -> Any:
    """``obj`` (a value read from TOML) as the type ``hint``; ScenarioError naming ``path``."""
    options = _options(hint)
    if options is not None:
        real = [o for o in options if o is not type(None)]
        candidates = [o for o in real if _matches_kind(o, obj)]
        if len(real) == 1 or (isinstance(obj, (list, dict)) and len(candidates) == 1):
            # The one option that fits says best what is wrong (a choice, an element, a key).
            return convert(obj, candidates[0] if candidates else real[0], path, base_dir)
        for option in candidates:
            try:
                return convert(obj, option, path, base_dir)
            except ScenarioError:
                continue
        raise _type_error(hint, obj, path)
    if dataclasses.is_dataclass(hint):
        if not isinstance(obj, dict):
            raise _type_error(hint, obj, path)
        return build(hint, obj, path, base_dir)
    if typing.get_origin(hint) is tuple:
        items = _items(hint)
        if not isinstance(obj, list) or (items is not None and len(obj) != len(items)):
            raise _type_error(hint, obj, path)
        items = items or (typing.get_args(hint)[0],) * len(obj)
        return tuple(
            convert(v, t, (*path, i), base_dir)
            for i, (v, t) in enumerate(zip(obj, items, strict=True))
        )
    if typing.get_origin(hint) is Literal:
        choices = typing.get_args(hint)
        if obj in choices and type(obj) is type(choices[0]):
            return obj
        guess = suggest(obj, choices) if isinstance(obj, str) else None
        hint_text = f"; did you mean {shown(guess)}?" if guess else ""
        raise keyed(path, f": expected {describe(hint)}, got {shown(obj)}{hint_text}")
    if hint is float:
        # An integer is a fine number; a boolean is not (bool is an int subclass in Python).
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            return float(obj)
        raise _type_error(hint, obj, path)
    if hint is int or hint is bool or hint is str:
        if type(obj) is hint:
            return obj
        raise _type_error(hint, obj, path)
    if hint is Path:
        if not isinstance(obj, str) or not obj:
            raise _type_error(hint, obj, path)
        return (base_dir / Path(obj).expanduser()).resolve()
    raise TypeError(f"the scenario schema has no converter for {hint!r} at {key_path(path)}")


def placed(exc: InputError, path: tuple[Segment, ...]) -> ScenarioError:
    """The InputError of a dataclass's own checks, built from the table at ``path``, as a
    ScenarioError at that path followed by the error's ``key`` and ``detail``; an error
    without a ``detail`` is placed at the table, followed by its message."""
    if exc.detail is not None:
        return keyed((*path, *exc.key), exc.detail)
    return keyed(path, f": {exc}")


def build(cls: type, table: dict, path: tuple[Segment, ...], base_dir: Path) -> Any:
    """An instance of dataclass ``cls`` from a TOML table; unknown and missing keys refused."""
    fields = hints(cls)
    for name in table:
        if name not in fields:
            raise ScenarioError(unknown_key(path, name, fields))
    group = EXCLUSIVE.get(tuple(path))
    if group is not None and sum(k in table for k in group) > 1:
        given = " and ".join(key_path((*path, k)) for k in group if k in table)
        raise ScenarioError(f"{given} exclude each other: give one of them")
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in table:
            raise ScenarioError(
                f"missing key {key_path((*path, name))} (expected {describe(fields[name])})"
            )
    kwargs = {k: convert(v, fields[k], (*path, k), base_dir) for k, v in table.items()}
    try:
        return cls(**kwargs)
    except ScenarioError:
        raise
    except InputError as exc:
        raise placed(exc, path) from exc
