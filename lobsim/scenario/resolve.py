"""Turning a scenario's strategy specs into classes, and checking their options.

Loading a scenario does not import strategies (a plug-in may not be installed where the file is
checked); the run calls :func:`resolve_strategies` when it is built.
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lobsim import plugins
from lobsim.errors import InputError, ScenarioError, StrategyError
from lobsim.sandbox import last_line
from lobsim.scenario._convert import convert, suggest
from lobsim.scenario.schema import Scenario, StrategySpec

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


@dataclass(frozen=True, kw_only=True)
class ResolvedStrategy:
    """A strategy of the scenario with its class imported and its options checked."""

    label: str
    cls: type
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        """A fresh instance (the constructor only stores its options, DESIGN.md section 3),
        with its options checked by its ``check_options()`` if it has one.

        Raises
        ------
        StrategyError
            The constructor or ``check_options`` refused the options or raised: the message
            names the strategy, the call and the line that raised.
        """
        who = f"strategy {self.label!r}"
        call = f"{self.cls.__name__}(**{self.options})"
        try:
            strategy = self.cls(**copy.deepcopy(self.options))
        except InputError as exc:  # the strategy's own message for the user
            raise StrategyError(f"{who}: {exc}") from exc
        except Exception as exc:  # third-party code may raise anything: name it
            raise StrategyError(f"{who}: {call} raised {last_line(exc)}") from exc
        check = getattr(strategy, "check_options", None)
        if callable(check):
            try:
                check()
            except InputError as exc:
                raise StrategyError(f"{who}: {exc}") from exc
            except Exception as exc:
                raise StrategyError(f"{who}: check_options() raised {last_line(exc)}") from exc
        return strategy


def _signature(cls: type) -> inspect.Signature:
    try:
        return inspect.signature(cls, eval_str=True)
    except (NameError, TypeError, SyntaxError):
        # Annotations that cannot be evaluated here are simply not type-checked.
        return inspect.signature(cls)


def check_options(cls: type, spec: StrategySpec) -> None:
    """Check ``spec.options`` against the constructor of ``cls``.

    Names must be parameters of the constructor (unless it takes ``**kwargs``), every required
    parameter must be given, and a value must match a simple annotation (int, float, str, bool,
    Literal, tuple, their unions); other annotations are not checked.

    Raises
    ------
    ScenarioError
        Naming ``strategies.LABEL.OPTION``.
    """
    where = f"strategies.{spec.label}"
    name = f"{cls.__module__}:{cls.__qualname__}"
    params = _signature(cls).parameters
    named = {n: p for n, p in params.items() if p.kind in _NAMED}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for option, value in spec.options.items():
        param = named.get(option)
        if param is None:
            if takes_any:
                continue
            guess = suggest(option, named)
            hint = f"; did you mean {where}.{guess}?" if guess else ""
            known = ", ".join(named) or "none"
            raise ScenarioError(
                f"{where}.{option}: {name} has no option {option!r}{hint} (its options: {known})"
            )
        if param.annotation is not inspect.Parameter.empty:
            try:
                convert(value, param.annotation, ("strategies", spec.label, option), Path.cwd())
            except TypeError:
                pass  # an annotation the scenario schema has no words for: not checked
    for param in params.values():
        if param.default is not inspect.Parameter.empty:
            continue
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise ScenarioError(
                f"{where}: {name} needs the positional argument {param.name!r}, which a "
                "scenario cannot give; a strategy takes keyword options only"
            )
        if param.kind in _NAMED and param.name not in spec.options:
            raise ScenarioError(f"{where}.{param.name}: {name} needs this option; none is given")


def resolve_strategy(spec: StrategySpec) -> ResolvedStrategy:
    """Import the class of one strategy spec and check its options (see :func:`check_options`)."""
    try:
        cls = plugins.load_strategy(spec.cls)
    except InputError as exc:
        guess = suggest(spec.cls, plugins.registered())
        hint = f"; did you mean {guess!r}?" if guess and ":" not in spec.cls else ""
        raise ScenarioError(f"strategies.{spec.label}.class: {exc}{hint}") from exc
    if not isinstance(cls, type):
        raise ScenarioError(
            f"strategies.{spec.label}.class: {spec.cls!r} names a {type(cls).__name__}, "
            "expected a class"
        )
    check_options(cls, spec)
    return ResolvedStrategy(label=spec.label, cls=cls, options=spec.kwargs())


def resolve_strategies(scenario: Scenario) -> dict[str, ResolvedStrategy]:
    """Every strategy of ``scenario``, imported and checked: label -> ResolvedStrategy.

    Short names come from the entry-point group ``lobsim.strategies``; other names are
    ``"package.module:Class"`` import paths (see :mod:`lobsim.plugins`).

    Raises
    ------
    ScenarioError
        Naming ``strategies.LABEL.class`` for a class that cannot be imported, or
        ``strategies.LABEL.OPTION`` for an option the constructor does not take or a value of
        the wrong type.
    """
    return {spec.label: resolve_strategy(spec) for spec in scenario.strategies}
