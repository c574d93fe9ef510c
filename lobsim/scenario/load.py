"""Reading scenarios: TOML text -> :class:`~lobsim.scenario.schema.Scenario`, overrides, sweeps.

Order of work: the file is parsed; each ``--set key.path=value`` is applied to the parsed
document (before any validation, so an override may repair a bad file); the document is
validated into a Scenario; the sweep is expanded and every variant validated too, so a file
that loads has no bad variant.

Rules a user sees:

- Relative paths in the file are read from the file's folder; relative paths given with
  ``--set`` from the current directory.
- ``--set`` on a swept key pins it: the key leaves the sweep and takes the one value given.
- Setting one of two keys that exclude each other (book.epsilon / book.target_bps,
  parent.fraction_adv / parent.shares) by ``--set`` or by a sweep drops the other one.
- ``[sweep]`` keys may be written quoted (``"book.alpha_noise" = [...]``) or dotted
  (``book.alpha_noise = [...]``); both mean the same key path.
- Arrays of tables (``book.droughts``) are set whole: ``--set 'book.droughts=[{first = 1,
  last = 30, multiplier = 0.5}]'``.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lobsim.errors import ScenarioError
from lobsim.market.synth import SYNTH_PRESETS, SynthParams
from lobsim.scenario import _toml
from lobsim.scenario._convert import (
    EXCLUSIVE,
    build,
    check_plain,
    convert,
    hints,
    key_path,
    keyed,
    suggest,
    unknown_key,
)
from lobsim.scenario.schema import (
    NAME,
    Scenario,
    StrategySpec,
    SweepAxis,
    Variant,
    content_hash,
)

_STRATEGIES = "strategies"
_SWEEP = "sweep"


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """``"book.alpha=0.3"`` -> ``(("book", "alpha"), 0.3)``.

    The key is a TOML key (dotted, segments may be quoted); the value is read as a TOML value
    (``0.3``, ``true``, ``[1, 2]``, ``"text"``), and taken as a bare string when it is not one
    (``side=buy``).
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ScenarioError(f"--set {text!r}: expected KEY=VALUE, like book.alpha=0.3")
    try:
        parsed = tomllib.loads(f"{name} = 0")
    except tomllib.TOMLDecodeError:
        raise ScenarioError(
            f"--set {text!r}: {name!r} is not a key path like book.alpha"
        ) from None
    segments: list[str] = []
    node: Any = parsed
    while isinstance(node, dict) and len(node) == 1:
        ((seg, node),) = node.items()
        segments.append(seg)
    if node != 0 or isinstance(node, dict):
        raise ScenarioError(f"--set {text!r}: {name!r} is not one key path")
    raw = raw.strip()
    try:
        doc = tomllib.loads(f"v = {raw}")
        value = doc["v"] if list(doc) == ["v"] else raw
    except tomllib.TOMLDecodeError:
        value = raw
    return tuple(segments), value


def _flatten_sweep(table: Any, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Dotted and quoted sweep keys alike -> ``{"book.alpha_noise": [...]}``."""
    if not isinstance(table, dict):
        raise keyed((_SWEEP, *prefix), ": expected a table of key paths")
    out: dict[str, Any] = {}
    for name, value in table.items():
        parts = (*prefix, *name.split("."))
        items = (
            _flatten_sweep(value, parts) if isinstance(value, dict) else {".".join(parts): value}
        )
        for path, values in items.items():
            if path in out:
                raise keyed((_SWEEP,), f": the key path {path} is given twice")
            out[path] = values
    return out


def _leaf_hint(segments: tuple[str, ...], doc: Mapping[str, Any]) -> Any:
    """The type hint of the key at ``segments``, None where the schema is free-form.

    Raises ScenarioError (with a suggestion) for a key path the schema does not have.
    """
    top = hints(Scenario)
    if not segments or segments[0] not in top:
        raise ScenarioError(unknown_key((), segments[0] if segments else "", top))
    head = segments[0]
    if head == _SWEEP:
        if len(segments) > 1:
            inner = tuple(".".join(segments[1:]).split("."))
            if inner[0] == _SWEEP:
                raise keyed((_SWEEP,), ": a sweep cannot sweep the sweep")
            _leaf_hint(inner, doc)
        return None
    if head == _STRATEGIES:
        if len(segments) >= 2 and not NAME.fullmatch(segments[1]):
            raise keyed(segments[:2], ": not a valid strategy label")
        table = doc.get(_STRATEGIES)
        labels = list(table) if isinstance(table, dict) else []
        if len(segments) >= 3 and segments[2] != "class" and segments[1] not in labels:
            guess = suggest(segments[1], labels)
            hint = f"; did you mean {key_path((head, guess))}?" if guess else ""
            raise keyed(segments[:2], f": no such strategy{hint}")
        return str if len(segments) == 3 and segments[2] == "class" else None
    hint: Any = top[head]
    for i, seg in enumerate(segments[1:], start=1):
        options = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
        tables = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
        if not tables:
            raise keyed(segments[:i], " is a value, not a table")
        fields = hints(tables[0])
        if seg not in fields:
            raise ScenarioError(unknown_key(segments[:i], seg, fields))
        hint = fields[seg]
    return hint


def _set(doc: dict[str, Any], segments: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``segments`` in a raw document, creating tables on the way."""
    node = doc
    for i, seg in enumerate(segments[:-1]):
        node = node.setdefault(seg, {})
        if not isinstance(node, dict):
            raise keyed(segments[: i + 1], " is a value, not a table")
    last = segments[-1]
    for other in EXCLUSIVE.get(segments[:-1], ()):
        if other != last:
            node.pop(other, None)
    node[last] = copy.deepcopy(value)


def _apply_override(doc: dict[str, Any], text: str) -> None:
    segments, value = parse_override(text)
    try:
        check_plain(value, segments)
        hint = _leaf_hint(segments, doc)
    except ScenarioError as exc:
        raise OverrideError(f"--set {text}: {exc}") from None
    if hint is Path or (typing.get_origin(hint) is not None and Path in typing.get_args(hint)):
        if isinstance(value, str) and value:
            value = str(Path.cwd() / Path(value).expanduser())
    if segments[0] == _SWEEP:
        if len(segments) > 1:
            segments = (_SWEEP, ".".join(segments[1:]))
    else:
        doc.get(_SWEEP, {}).pop(".".join(segments), None)
    _set(doc, segments, value)


def _strategies(table: Any) -> tuple[StrategySpec, ...]:
    if not isinstance(table, dict):
        raise keyed((_STRATEGIES,), ": expected tables [strategies.LABEL]")
    specs = []
    for label, body in table.items():
        if not isinstance(body, dict):
            raise keyed(
                (_STRATEGIES, label),
                f": expected a table of options, got {body!r}; write [strategies.{label}] and "
                "its options below it",
            )
        options = dict(body)
        cls = options.pop("class", label)
        if not isinstance(cls, str):
            raise keyed((_STRATEGIES, label, "class"), f": expected a string, got {cls!r}")
        specs.append(StrategySpec(label=label, cls=cls, options=options))
    return tuple(specs)


def _sweep(table: dict[str, Any], doc: Mapping[str, Any], base_dir: Path) -> tuple[SweepAxis, ...]:
    axes = []
    for path, values in table.items():
        where = (_SWEEP, path)
        try:
            hint = _leaf_hint(tuple(path.split(".")), doc)
        except ScenarioError as exc:
            raise keyed(where, f": {exc}") from None
        if not isinstance(values, list) or not values:
            raise keyed(where, ": expected a non-empty array of the values to sweep")
        if hint is Path:
            values = [
                str(convert(v, Path, (_SWEEP, path, i), base_dir)) for i, v in enumerate(values)
            ]
        axes.append(SweepAxis(path=path, values=tuple(values)))
    for a, b in itertools.permutations(axes, 2):
        if b.path.startswith(a.path + "."):
            raise keyed((_SWEEP,), f": the key paths {a.path} and {b.path} overlap")
    return tuple(axes)


def _to_scenario(doc: dict[str, Any], base_dir: Path) -> Scenario:
    """A Scenario from a raw document whose sweep is already flat."""
    fields = hints(Scenario)
    kwargs: dict[str, Any] = {}
    for name, table in doc.items():
        if name not in fields:
            raise ScenarioError(unknown_key((), name, fields))
        if not isinstance(table, dict):
            raise keyed((name,), f": expected a table [{name}], got {table!r}")
        if name == _STRATEGIES:
            kwargs[name] = _strategies(table)
        elif name == _SWEEP:
            kwargs[name] = _sweep(table, doc, base_dir)
        else:
            if name == "market":
                table = _with_preset(table)
            kwargs[name] = build(fields[name], table, (name,), base_dir)
    if _STRATEGIES not in kwargs:
        raise ScenarioError("missing [strategies.LABEL]: a scenario needs at least one strategy")
    scenario = Scenario(**kwargs)
    path = scenario.market.path
    if path is not None and not path.exists():
        hint = ""
        if scenario.market.source == "lobster":
            hint = (
                f"; to replay a synthetic LOBSTER market there, write one first: lobsim data "
                f"lobster --out {path} --stocks 3 --days 6 --levels 5"
            )
        raise keyed(
            ("market", "path"),
            f": no such file or directory: {path} (relative paths in a scenario file are read "
            f"from the file's folder){hint}",
        )
    return scenario


def _with_preset(market: dict[str, Any]) -> dict[str, Any]:
    """``market`` with ``synthetic.params`` filled in from ``synthetic.preset`` where the file
    leaves a parameter out (what the file gives wins)."""
    synthetic = market.get("synthetic")
    if not isinstance(synthetic, dict) or synthetic.get("preset") not in SYNTH_PRESETS:
        return market  # no preset, or one that building the table refuses with a hint
    preset = SYNTH_PRESETS[synthetic["preset"]]
    default = SynthParams()
    params = {
        f.name: list(v) if isinstance(v := getattr(preset, f.name), tuple) else v
        for f in dataclasses.fields(SynthParams)
        if getattr(preset, f.name) != getattr(default, f.name)
    }
    given = synthetic.get("params", {})
    if isinstance(given, dict):
        params.update(given)
    else:
        params = given
    return {**market, "synthetic": {**synthetic, "params": params}}


def scenario_from_dict(
    doc: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    name: str | None = None,
    overrides: Iterable[str] = (),
) -> Scenario:
    """Validate a TOML-shaped document (as :func:`tomllib.loads` gives) into a Scenario.

    Parameters
    ----------
    doc : mapping
        The document; it is not modified.
    base_dir : path, optional
        Folder that relative paths in ``doc`` are read from (default: the current directory).
    name : str, optional
        ``run.name`` when the document does not give one.
    overrides : iterable of str
        ``"key.path=value"`` strings, applied in order before validation.

    Raises
    ------
    ScenarioError
        Naming the key path, what was expected and, for a misspelt key, the closest key.
    """
    base = Path.cwd() if base_dir is None else Path(base_dir)
    raw = copy.deepcopy(dict(doc))
    check_plain(raw, ())
    if _SWEEP in raw:
        raw[_SWEEP] = _flatten_sweep(raw[_SWEEP])
    overrides = tuple(overrides)
    for text in overrides:
        _apply_override(raw, text)
    if _SWEEP in raw:
        raw[_SWEEP] = _flatten_sweep(raw[_SWEEP])  # again: --set may have set it whole
    if name is not None and isinstance(raw.get("run", {}), dict):
        raw.setdefault("run", {}).setdefault("name", name)
    try:
        scenario = _to_scenario(raw, base)
        expand_sweep(scenario)
    except ScenarioError as exc:
        for text in overrides:  # the error is about the value this --set gave
            if exc.key == parse_override(text)[0]:
                raise OverrideError(f"--set {text}: {exc}") from None
        raise
    return scenario


class OverrideError(ScenarioError):
    """A value given with ``--set`` that the schema refuses: the message names the --set."""


def parse_scenario(
    text: str,
    *,
    base_dir: str | Path | None = None,
    name: str | None = None,
    overrides: Iterable[str] = (),
) -> Scenario:
    """Validate TOML text into a Scenario; see :func:`scenario_from_dict`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}") from None
    return scenario_from_dict(doc, base_dir=base_dir, name=name, overrides=overrides)


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read and validate a scenario file.

    ``run.name`` defaults to the file's name without ``.toml``; relative paths in the file are
    read from its folder. Every error names the file and then the key path.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")  # editors on Windows save a byte-order mark
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from None
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem).lstrip("_.-") or "scenario"
    try:
        return parse_scenario(text, base_dir=path.resolve().parent, name=stem, overrides=overrides)
    except OverrideError:
        raise
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else _toml.value(value)


def expand_sweep(scenario: Scenario) -> tuple[Variant, ...]:
    """The grid of variants of ``scenario``: one per combination of the ``[sweep]`` values.

    Without a sweep the grid is the scenario itself (one variant labelled ``"base"``).

    Raises
    ------
    ScenarioError
        If the grid is larger than ``run.max_variants``, if a variant is invalid (naming the
        variant and the key), or if two variants are the same scenario.
    """
    sizes = [len(axis.values) for axis in scenario.sweep]
    total = math.prod(sizes)
    if total > scenario.run.max_variants:
        raise keyed(
            (_SWEEP,),
            f": {' x '.join(map(str, sizes))} = {total} variants exceed run.max_variants = "
            f"{scenario.run.max_variants}; shrink the grid or raise run.max_variants",
        )
    base = scenario.to_dict()
    base[_SWEEP] = {}
    paths = [axis.path for axis in scenario.sweep]
    variants: list[Variant] = []
    seen: dict[str, str] = {}
    for index, combo in enumerate(itertools.product(*(axis.values for axis in scenario.sweep))):
        overrides = tuple(zip(paths, combo, strict=True))
        label = ", ".join(f"{p}={_label_value(v)}" for p, v in overrides) or "base"
        doc = copy.deepcopy(base)
        for path, value in overrides:
            _set(doc, tuple(path.split(".")), value)
        try:
            resolved = _to_scenario(doc, Path.cwd())
        except ScenarioError as exc:
            raise keyed((_SWEEP,), f" variant {label}: {exc}") from None
        digest = resolved.content_hash
        if digest in seen:
            raise keyed(
                (_SWEEP,), f": the variants {seen[digest]} and {label} are the same scenario"
            )
        seen[digest] = label
        variant_id = "v" + content_hash(sorted([p, v] for p, v in overrides))[:8]
        variants.append(
            Variant(
                index=index, id=variant_id, label=label, overrides=overrides, scenario=resolved
            )
        )
    return tuple(variants)
