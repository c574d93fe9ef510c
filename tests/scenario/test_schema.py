"""The schema's dataclasses: defaults, checks, derived values, dict form and content hash."""

from __future__ import annotations

import typing

import pytest

from lobsim import ScenarioError
from lobsim.books.model import BookModel
from lobsim.market.synth import VOLUME_MODES
from lobsim.scenario import (
    MarketSpec,
    ParentSpec,
    RunSpec,
    Scenario,
    StrategySpec,
    SyntheticMarketSpec,
    content_hash,
    parse_scenario,
)


def _scenario(**kwargs) -> Scenario:
    kwargs.setdefault("strategies", (StrategySpec(label="twap", cls="twap"),))
    return Scenario(**kwargs)


def test_parent_defaults_to_five_percent_of_adv():
    assert ParentSpec().fraction_adv == 0.05


def test_parent_refuses_fraction_and_shares_together():
    with pytest.raises(ScenarioError, match=r"parent\.fraction_adv and parent\.shares"):
        ParentSpec(fraction_adv=0.1, shares=100)


def test_parent_with_shares_has_no_fraction():
    assert ParentSpec(shares=1000).fraction_adv is None


def test_file_market_needs_a_path():
    with pytest.raises(ScenarioError, match=r"market\.path is required"):
        MarketSpec(source="file")


def test_synthetic_market_gets_default_options():
    assert MarketSpec().synthetic == SyntheticMarketSpec()


def test_run_name_with_a_space_is_refused():
    with pytest.raises(ScenarioError, match=r"run\.name"):
        RunSpec(name="my run")


def test_scenario_needs_a_strategy():
    with pytest.raises(ScenarioError, match="at least one"):
        Scenario(strategies=())


def test_volume_modes_match_the_market_generator():
    hint = typing.get_type_hints(SyntheticMarketSpec)["volume_mode"]
    assert set(typing.get_args(hint)) == set(VOLUME_MODES)


def test_market_seed_defaults_to_run_seed():
    scenario = _scenario(run=RunSpec(seed=11))
    assert scenario.market_seed == 11


def test_market_seed_given_wins_over_run_seed():
    scenario = _scenario(
        run=RunSpec(seed=11), market=MarketSpec(synthetic=SyntheticMarketSpec(seed=4))
    )
    assert scenario.market_seed == 4


def test_default_baselines_are_the_vwap_and_twap_strategies_by_class():
    strategies = (
        StrategySpec(label="mine", cls="pkg.mod:Mine"),
        StrategySpec(label="slow_twap", cls="twap"),
        StrategySpec(label="v", cls="vwap"),
    )
    assert _scenario(strategies=strategies).baselines == ("v", "slow_twap")


def test_to_dict_keeps_only_epsilon_when_it_is_given():
    scenario = _scenario(book=BookModel(epsilon=0.002))
    book = scenario.to_dict()["book"]
    assert book["epsilon"] == 0.002 and "target_bps" not in book


def test_to_dict_reads_back_equal(minimal_text):
    scenario = parse_scenario(minimal_text)
    again = parse_scenario(scenario.to_toml())
    assert again == scenario


def test_hash_ignores_key_order_and_integer_spelling_of_floats(minimal_text):
    a = parse_scenario(minimal_text + "\n[book]\nalpha = 1\nalpha_noise = 0.5\n")
    b = parse_scenario(minimal_text + "\n[book]\nalpha_noise = 0.5\nalpha = 1.0\n")
    assert a.content_hash == b.content_hash


def test_hash_changes_with_any_value(minimal_text):
    a = parse_scenario(minimal_text)
    b = parse_scenario(minimal_text, overrides=["book.levels_per_eps=201"])
    assert a.content_hash != b.content_hash


def test_hash_is_sha256_of_canonical_json(minimal_text):
    scenario = parse_scenario(minimal_text)
    assert scenario.content_hash == content_hash(scenario.to_dict())
    assert len(scenario.content_hash) == 64


def test_strategy_kwargs_are_a_fresh_copy():
    spec = StrategySpec(label="lstm", cls="lstm", options={"layers": [50, 50]})
    spec.kwargs()["layers"].append(1)
    assert spec.options == {"layers": [50, 50]}


def test_strategy_class_of_a_bad_form_is_refused():
    with pytest.raises(ScenarioError, match=r"strategies\.mine\.class"):
        StrategySpec(label="mine", cls="pkg.mod.Mine")


def test_drought_after_the_day_is_refused():
    from lobsim.books.model import Drought

    book = BookModel(droughts=(Drought(first=391, last=400, multiplier=0.5),))
    with pytest.raises(ScenarioError, match=r"book\.droughts\[0\]\.first"):
        _scenario(book=book)


def test_scenario_survives_pickling(minimal_text):
    import pickle

    scenario = parse_scenario(minimal_text + '\n[sweep]\n"run.seed" = [1, 2]\n')
    assert pickle.loads(pickle.dumps(scenario)) == scenario


def test_hash_does_not_depend_on_the_interpreter_hash_seed(minimal_text):
    import os
    import subprocess
    import sys

    code = (
        "import sys; from lobsim.scenario import parse_scenario; "
        "print(parse_scenario(sys.stdin.read()).content_hash)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=minimal_text,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == parse_scenario(minimal_text).content_hash
