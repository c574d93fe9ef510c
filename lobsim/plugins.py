"""Finding strategy plug-ins by name.

A strategy is named either by an import path, ``"package.module:Class"``, or by a short name
registered in the entry-point group ``lobsim.strategies`` (the built-ins are registered there by
lobsim's own pyproject.toml; a plug-in package registers its own the same way).
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points

from lobsim.errors import InputError

GROUP = "lobsim.strategies"


def registered() -> dict[str, str]:
    """Short name -> ``"package.module:Class"`` for every registered strategy."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_strategy(spec: str) -> type:
    """The strategy class named by ``spec`` (a short name or ``"package.module:Class"``)."""
    if not isinstance(spec, str) or not spec:
        raise InputError(f"a strategy is named by a non-empty string, got {spec!r}")
    names = registered()
    target = names.get(spec, spec)
    if ":" not in target:
        known = ", ".join(sorted(names)) or "none"
        raise InputError(
            f"unknown strategy {spec!r}: not a registered short name ({known}) and not of the "
            "form 'package.module:Class'"
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"strategy {spec!r}: cannot import module {module_name!r}: {exc}"
        ) from exc
    cls = getattr(module, attr, None)
    if cls is None:
        raise InputError(f"strategy {spec!r}: module {module_name!r} has no {attr!r}")
    if not callable(getattr(cls, "decide", None)):
        raise InputError(f"strategy {spec!r}: {target} has no decide(obs) method")
    return cls


def options(cls: type) -> dict[str, object]:
    """Constructor options of a strategy class and their defaults (``inspect.Parameter.empty``
    for a required one)."""
    params = inspect.signature(cls.__init__).parameters
    return {
        name: p.default
        for name, p in params.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def summary(cls: type) -> str:
    """First line of the class docstring."""
    doc = inspect.getdoc(cls) or ""
    return doc.splitlines()[0] if doc else ""
