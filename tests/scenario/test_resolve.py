"""resolve_strategies: importing strategy classes and checking their options."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Literal

import numpy as np
import pytest

from lobsim import ScenarioError, plugins
from lobsim.scenario import parse_scenario, resolve_strategies


class Tiny:
    """Sells a fixed fraction at the first decision, the rest at the last."""

    def __init__(self, fraction: float = 0.5, mode: Literal["fast", "slow"] = "fast"):
        self.fraction = fraction
        self.mode = mode

    def decide(self, obs):
        return np.where(obs.k == 0, obs.initial * (1 - self.fraction), obs.remaining)


class NeedsWindow:
    """A strategy with a required option."""

    def __init__(self, window: int):
        self.window = window

    def decide(self, obs):
        return obs.remaining


class TakesAnything:
    """A strategy that takes any option."""

    def __init__(self, **options):
        self.options = options

    def decide(self, obs):
        return obs.remaining


NotAStrategy = 3


def _scenario(cls: str, **options) -> str:
    lines = ["[strategies.mine]", f'class = "{__name__}:{cls}"']
    lines += [f"{k} = {v}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def test_import_path_resolves_to_the_class():
    resolved = resolve_strategies(parse_scenario(_scenario("Tiny", fraction=0.25)))
    assert resolved["mine"].cls is Tiny


def test_build_passes_the_options():
    resolved = resolve_strategies(parse_scenario(_scenario("Tiny", fraction=0.25)))
    assert resolved["mine"].build().fraction == 0.25


def test_build_gives_a_fresh_instance_each_time():
    resolved = resolve_strategies(parse_scenario(_scenario("Tiny")))["mine"]
    assert resolved.build() is not resolved.build()


def test_unknown_option_is_named_with_a_suggestion():
    scenario = parse_scenario(_scenario("Tiny", fracton=0.25))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.fracton: .*did you mean"):
        resolve_strategies(scenario)


def test_option_of_the_wrong_type_is_named():
    scenario = parse_scenario(_scenario("Tiny", fraction='"half"'))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.fraction: expected a number"):
        resolve_strategies(scenario)


def test_option_outside_a_literal_is_named():
    scenario = parse_scenario(_scenario("Tiny", mode='"fats"'))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.mode: .*did you mean \"fast\""):
        resolve_strategies(scenario)


def test_missing_required_option_is_named():
    scenario = parse_scenario(_scenario("NeedsWindow"))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.window: .* needs this option"):
        resolve_strategies(scenario)


def test_keyword_catch_all_accepts_any_option():
    resolved = resolve_strategies(parse_scenario(_scenario("TakesAnything", depth=3)))
    assert resolved["mine"].build().options == {"depth": 3}


def test_missing_class_is_named():
    scenario = parse_scenario(_scenario("Absent"))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.class: .*has no 'Absent'"):
        resolve_strategies(scenario)


def test_non_class_is_refused():
    scenario = parse_scenario(_scenario("NotAStrategy"))
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.class"):
        resolve_strategies(scenario)


def test_short_name_resolves_through_the_entry_points(monkeypatch):
    entry = EntryPoint(name="tiny", value=f"{__name__}:Tiny", group=plugins.GROUP)
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [entry] if group == entry.group else []
    )
    resolved = resolve_strategies(parse_scenario("[strategies.tiny]\n"))
    assert resolved["tiny"].cls is Tiny


def test_unknown_short_name_gets_a_suggestion(monkeypatch):
    monkeypatch.setattr(plugins, "registered", lambda: {"tiny": f"{__name__}:Tiny"})
    scenario = parse_scenario('[strategies.t]\nclass = "tinny"\n')
    with pytest.raises(ScenarioError, match=r"strategies\.t\.class: .*did you mean 'tiny'\?"):
        resolve_strategies(scenario)
