"""``--set key.path=value``: parsing, applying before validation, and refusing bad paths."""

from __future__ import annotations

import os

import pytest

from lobsim import ScenarioError
from lobsim.scenario import expand_sweep, parse_override, parse_scenario


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("book.alpha=0.3", (("book", "alpha"), 0.3)),
        ("run.seed=7", (("run", "seed"), 7)),
        ("strategies.lstm.verbose=true", (("strategies", "lstm", "verbose"), True)),
        ("parent.side=buy", (("parent", "side"), "buy")),
        ('run.name="123"', (("run", "name"), "123")),
        ("report.baselines=['twap']", (("report", "baselines"), ["twap"])),
        ('sweep."book.alpha"=[0.1, 0.2]', (("sweep", "book.alpha"), [0.1, 0.2])),
        (" book.alpha = 0.3 ", (("book", "alpha"), 0.3)),
    ],
)
def test_override_is_parsed_as_a_toml_key_and_value(text, expected):
    assert parse_override(text) == expected


def test_value_with_an_extra_line_stays_a_string():
    assert parse_override("run.name=1\nseed = 2") == (("run", "name"), "1\nseed = 2")


def test_override_without_equals_is_refused():
    with pytest.raises(ScenarioError, match="expected KEY=VALUE"):
        parse_override("book.alpha")


def test_override_changes_the_value(minimal_text):
    scenario = parse_scenario(minimal_text, overrides=["book.alpha=0.25"])
    assert scenario.book.alpha == 0.25


def test_later_override_wins(minimal_text):
    scenario = parse_scenario(minimal_text, overrides=["run.seed=1", "run.seed=2"])
    assert scenario.run.seed == 2


def test_override_is_applied_before_validation(minimal_text):
    broken = minimal_text + "\n[book]\nalpha_noise = 5.0\n"
    scenario = parse_scenario(broken, overrides=["book.alpha_noise=0.1"])
    assert scenario.book.alpha_noise == 0.1


def test_override_of_an_unknown_key_names_it(minimal_text):
    with pytest.raises(ScenarioError, match=r"--set run\.sede=1: .*did you mean run\.seed\?"):
        parse_scenario(minimal_text, overrides=["run.sede=1"])


def test_override_below_a_value_is_refused(minimal_text):
    with pytest.raises(ScenarioError, match=r"run\.seed is a value, not a table"):
        parse_scenario(minimal_text, overrides=["run.seed.x=1"])


def test_override_value_of_the_wrong_type_names_the_key(minimal_text):
    with pytest.raises(ScenarioError, match=r"folds\.count: expected an integer"):
        parse_scenario(minimal_text, overrides=["folds.count=two"])


def test_override_of_an_option_of_an_unknown_strategy_is_refused(minimal_text):
    with pytest.raises(ScenarioError, match=r"strategies\.vwapp: no such strategy.*vwap\?"):
        parse_scenario(minimal_text, overrides=["strategies.vwapp.window=3"])


def test_override_sets_a_strategy_option(minimal_text):
    scenario = parse_scenario(minimal_text, overrides=["strategies.vwap.window=3"])
    assert scenario.strategy("vwap").options == {"window": 3}


def test_override_can_add_a_strategy_by_its_class(minimal_text):
    scenario = parse_scenario(minimal_text, overrides=['strategies.ac.class="almgren_chriss"'])
    assert scenario.strategy("ac").cls == "almgren_chriss"


def test_override_of_one_exclusive_key_drops_the_other(minimal_text):
    text = minimal_text + "\n[book]\ntarget_bps = 2.0\n"
    scenario = parse_scenario(text, overrides=["book.epsilon=0.001"])
    assert scenario.book.epsilon == 0.001 and "target_bps" not in scenario.to_dict()["book"]


def test_override_of_shares_replaces_fraction_of_adv(minimal_text):
    text = minimal_text + "\n[parent]\nfraction_adv = 0.1\n"
    scenario = parse_scenario(text, overrides=["parent.shares=5000"])
    assert (scenario.parent.shares, scenario.parent.fraction_adv) == (5000, None)


def test_override_of_a_swept_key_pins_it(minimal_text):
    text = minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.0, 0.1, 0.2]\n'
    scenario = parse_scenario(text, overrides=["book.alpha_noise=0.1"])
    assert scenario.sweep == () and scenario.book.alpha_noise == 0.1


def test_override_of_a_sweep_entry_replaces_its_values(minimal_text):
    text = minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.0, 0.1, 0.2]\n'
    scenario = parse_scenario(text, overrides=["sweep.book.alpha_noise=[0.3]"])
    assert [v.label for v in expand_sweep(scenario)] == ["book.alpha_noise=0.3"]


def test_override_path_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "bars.csv").write_text("timestamp,ticker,close,volume\n")
    monkeypatch.chdir(tmp_path)
    text = '[market]\nsource = "file"\npath = "elsewhere.csv"\n[strategies.twap]\n'
    scenario = parse_scenario(text, base_dir=os.sep, overrides=["market.path=bars.csv"])
    assert scenario.market.path == tmp_path / "bars.csv"


def test_override_of_an_array_of_tables_sets_it_whole(minimal_text):
    text = minimal_text + "\n[[book.droughts]]\nfirst = 1\nlast = 2\nmultiplier = 0.5\n"
    scenario = parse_scenario(
        text, overrides=["book.droughts=[{first = 10, last = 20, multiplier = 0.3}]"]
    )
    assert [(d.first, d.last, d.multiplier) for d in scenario.book.droughts] == [(10, 20, 0.3)]


def test_override_can_set_the_whole_sweep(minimal_text):
    scenario = parse_scenario(minimal_text, overrides=["sweep={book.alpha = [0.3, 0.4]}"])
    assert [v.label for v in expand_sweep(scenario)] == ["book.alpha=0.3", "book.alpha=0.4"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("schedule.lag=0", "--set schedule.lag=0: schedule.lag must be in [1, interval=5], got 0"),
        (  # a check across tables, about the value the --set gave
            "book.epsilon=[0.1, 0.2]",
            "--set book.epsilon=[0.1, 0.2]: book.epsilon has 2 values but "
            "market.synthetic.stocks = 4",
        ),
    ],
)
def test_a_refused_value_that_a_set_gave_names_the_set(minimal_text, override, message):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(minimal_text, overrides=[override])

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("schedule.minutes=7", "schedule.interval=5 does not divide minutes=7"),
        (  # a value inside the array the --set gave
            "book.droughts=[{first = 9, last = 3, multiplier = 0.5}]",
            "book.droughts[0]: need 1 <= first <= last, got 9..3",
        ),
    ],
)
def test_a_refused_value_that_a_set_did_not_give_does_not_name_it(minimal_text, override, message):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(minimal_text, overrides=[override])

    assert str(caught.value) == message
