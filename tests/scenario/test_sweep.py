"""``[sweep]``: the grid of variants, their labels, ids and hashes, and the cap."""

from __future__ import annotations

import pytest

from lobsim import ScenarioError
from lobsim.scenario import expand_sweep, parse_scenario

SWEEP = '\n[sweep]\n"book.alpha_noise" = [0.0, 0.1, 0.2]\n"parent.side" = ["sell", "buy"]\n'


def test_no_sweep_gives_the_scenario_itself(minimal_text):
    scenario = parse_scenario(minimal_text)
    (variant,) = expand_sweep(scenario)
    assert variant.label == "base" and variant.content_hash == scenario.content_hash


def test_grid_is_the_cartesian_product_in_file_order(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + SWEEP))
    got = [(v.scenario.book.alpha_noise, v.scenario.parent.side) for v in variants]
    assert got == [(a, s) for a in (0.0, 0.1, 0.2) for s in ("sell", "buy")]


def test_variant_label_names_the_keys_and_values(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + SWEEP))
    assert variants[3].label == "book.alpha_noise=0.1, parent.side=buy"


def test_variant_has_no_sweep_of_its_own(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + SWEEP))
    assert all(v.scenario.sweep == () for v in variants)


def test_dotted_and_quoted_sweep_keys_are_the_same(minimal_text):
    quoted = parse_scenario(minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.0, 0.1]\n')
    dotted = parse_scenario(minimal_text + "\n[sweep]\nbook.alpha_noise = [0.0, 0.1]\n")
    assert quoted == dotted


def test_variant_id_depends_only_on_its_own_values(minimal_text):
    small = expand_sweep(parse_scenario(minimal_text + '\n[sweep]\n"run.seed" = [1, 2]\n'))
    large = expand_sweep(parse_scenario(minimal_text + '\n[sweep]\n"run.seed" = [0, 2, 1]\n'))
    assert {v.label: v.id for v in small} == {
        v.label: v.id for v in large if v.label != "run.seed=0"
    }


def test_variant_hash_equals_the_hash_of_the_same_scenario_set_directly(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + SWEEP))
    direct = parse_scenario(minimal_text, overrides=["book.alpha_noise=0.2", "parent.side=buy"])
    assert variants[5].content_hash == direct.content_hash


def test_variant_hashes_differ(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + SWEEP))
    assert len({v.content_hash for v in variants}) == len(variants)


def test_sweep_of_the_run_seed_moves_the_market_seed(minimal_text):
    variants = expand_sweep(parse_scenario(minimal_text + '\n[sweep]\n"run.seed" = [5, 6]\n'))
    assert [v.scenario.market_seed for v in variants] == [5, 6]


def test_sweep_of_epsilon_drops_target_bps(minimal_text):
    text = minimal_text + '\n[book]\ntarget_bps = 2.0\n[sweep]\n"book.epsilon" = [0.001]\n'
    (variant,) = expand_sweep(parse_scenario(text))
    assert variant.scenario.book.epsilon == 0.001
    assert "target_bps" not in variant.scenario.to_dict()["book"]


def test_grid_past_the_cap_is_refused(minimal_text):
    text = minimal_text.replace("seed = 3", "seed = 3\nmax_variants = 5") + SWEEP
    with pytest.raises(ScenarioError, match=r"3 x 2 = 6 variants exceed run\.max_variants = 5"):
        parse_scenario(text)


def test_default_cap_refuses_a_huge_grid(minimal_text):
    text = (
        minimal_text + "\n[sweep]\n" + '"run.seed" = [' + ", ".join(map(str, range(300))) + "]\n"
    )
    with pytest.raises(ScenarioError, match=r"300 variants exceed run\.max_variants = 256"):
        parse_scenario(text)


def test_invalid_variant_is_named(minimal_text):
    text = minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.1, 1.6]\n'
    with pytest.raises(ScenarioError, match=r"sweep variant book\.alpha_noise=1\.6: book\.alpha"):
        parse_scenario(text)


def test_unknown_sweep_key_gets_a_suggestion(minimal_text):
    text = minimal_text + '\n[sweep]\n"book.alpha_nosie" = [0.1]\n'
    with pytest.raises(ScenarioError, match=r"did you mean book\.alpha_noise\?"):
        parse_scenario(text)


def test_sweep_values_must_be_an_array(minimal_text):
    with pytest.raises(ScenarioError, match=r'sweep\."book\.alpha": expected a non-empty array'):
        parse_scenario(minimal_text + '\n[sweep]\n"book.alpha" = 0.3\n')


def test_duplicate_values_are_refused(minimal_text):
    text = minimal_text + '\n[sweep]\n"book.alpha" = [1, 1.0]\n'
    with pytest.raises(ScenarioError, match="are the same scenario"):
        parse_scenario(text)


def test_overlapping_sweep_keys_are_refused(minimal_text):
    text = minimal_text + (
        '\n[sweep]\n"book.droughts" = [[]]\n'
        '"market.synthetic.stocks" = [4]\n"market.synthetic" = [{stocks = 4}]\n'
    )
    with pytest.raises(ScenarioError, match="overlap"):
        parse_scenario(text)


def test_sweep_of_a_strategy_option(minimal_text):
    text = minimal_text + '\n[sweep]\n"strategies.vwap.window" = [5, 10]\n'
    variants = expand_sweep(parse_scenario(text))
    assert [v.scenario.strategy("vwap").options["window"] for v in variants] == [5, 10]
