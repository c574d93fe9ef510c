"""Reading scenario files: defaults, refusals with key paths, paths, round trips."""

from __future__ import annotations

import typing

import pytest

from lobsim import ScenarioError
from lobsim.market import SYNTH_PRESETS
from lobsim.scenario import load_scenario, parse_scenario, scenario_from_dict
from lobsim.scenario._convert import key_path
from lobsim.scenario.schema import SyntheticMarketSpec


def test_minimal_scenario_takes_the_design_defaults(minimal_text):
    scenario = parse_scenario(minimal_text)
    assert (scenario.folds.train_days, scenario.folds.test_days, scenario.folds.step_days) == (
        60,
        45,
        60,
    )
    assert (scenario.schedule.minutes, scenario.schedule.interval, scenario.schedule.lag) == (
        390,
        5,
        1,
    )
    assert scenario.book.alpha == 0.5 and scenario.parent.side == "sell"


def test_strategy_class_defaults_to_its_label(minimal_text):
    scenario = parse_scenario(minimal_text)
    assert [(s.label, s.cls) for s in scenario.strategies] == [("twap", "twap"), ("vwap", "vwap")]


def test_strategy_options_pass_through(minimal_text):
    text = minimal_text + '\n[strategies.net]\nclass = "lstm"\nepochs = 5\nhidden = [50, 50]\n'
    spec = parse_scenario(text).strategy("net")
    assert (spec.cls, spec.options) == ("lstm", {"epochs": 5, "hidden": [50, 50]})


def test_misspelt_key_gets_a_suggestion(minimal_text):
    with pytest.raises(
        ScenarioError, match=r"unknown key book\.alpah; did you mean book\.alpha\?"
    ):
        parse_scenario(minimal_text + "\n[book]\nalpah = 0.4\n")


def test_misspelt_table_gets_a_suggestion(minimal_text):
    with pytest.raises(ScenarioError, match=r"unknown key shedule; did you mean schedule\?"):
        parse_scenario(minimal_text + "\n[shedule]\nlag = 1\n")


def test_bool_is_not_an_integer(minimal_text):
    with pytest.raises(ScenarioError, match=r"run\.max_variants: expected an integer, got true"):
        parse_scenario(minimal_text.replace("seed = 3", "seed = 3\nmax_variants = true"))


def test_integer_is_accepted_for_a_number(minimal_text):
    scenario = parse_scenario(minimal_text + "\n[impact]\npermanent = 1\n")
    assert scenario.impact.permanent == 1.0 and isinstance(scenario.impact.permanent, float)


def test_book_model_error_names_the_key(minimal_text):
    with pytest.raises(ScenarioError, match=r"book\.half_life must be > 0"):
        parse_scenario(minimal_text + "\n[book]\nhalf_life = 0\n")


def test_schedule_error_names_the_key(minimal_text):
    with pytest.raises(ScenarioError, match=r"schedule\.lag must be in \[1, interval=5\]"):
        parse_scenario(minimal_text + "\n[schedule]\nlag = 6\n")


def test_synth_params_error_names_the_key(minimal_text):
    text = minimal_text + "\n[market.synthetic.params]\novernight_share = 1.5\n"
    with pytest.raises(ScenarioError, match=r"market\.synthetic\.params\.overnight_share"):
        parse_scenario(text)


def test_drought_error_names_its_index(minimal_text):
    text = minimal_text + (
        "\n[[book.droughts]]\nfirst = 1\nlast = 2\nmultiplier = 0.5\n"
        "[[book.droughts]]\nfirst = 9\nlast = 3\nmultiplier = 0.5\n"
    )
    with pytest.raises(ScenarioError, match=r"book\.droughts\[1\]: need 1 <= first <= last"):
        parse_scenario(text)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[schedule]\nlag = 0", ("schedule", "lag")),  # a check of the Schedule's
        ("[book]\nalpha = -2.0", ("book", "alpha")),  # of the BookModel's
        (
            "[[book.droughts]]\nfirst = 1\nlast = 2\nmultiplier = 0.0",
            ("book", "droughts", 0, "multiplier"),
        ),
        (
            "[market.synthetic.params]\nadv_range = [0.0, 1.0]",
            ("market", "synthetic", "params", "adv_range"),
        ),
        ("[impact]\npermanent = -1.0", ("impact", "permanent")),  # of the schema's
        ("[parent]\nside = 1", ("parent", "side")),  # of the conversion's
    ],
)
def test_an_error_about_one_value_carries_its_key_path(minimal_text, table, key):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(minimal_text + "\n" + table + "\n")

    error = caught.value
    assert error.key == key
    assert str(error) == key_path(key) + error.detail


def test_per_stock_epsilon_is_read_as_a_tuple(minimal_text):
    text = minimal_text + "\n[book]\nepsilon = [0.001, 0.002, 0.003, 0.004]\n"
    assert parse_scenario(text).book.epsilon == (0.001, 0.002, 0.003, 0.004)


def test_array_element_of_the_wrong_type_is_named(minimal_text):
    text = minimal_text + '\n[book]\nepsilon = [0.001, "x", 0.003, 0.004]\n'
    with pytest.raises(ScenarioError, match=r"book\.epsilon\[1\]: expected a number"):
        parse_scenario(text)


def test_dates_are_refused_with_the_key(minimal_text):
    with pytest.raises(ScenarioError, match=r"run\.description: dates and times"):
        parse_scenario(minimal_text.replace("seed = 3", "seed = 3\ndescription = 2024-01-02"))


def test_file_market_path_is_read_from_the_scenario_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bars.csv").write_text("timestamp,ticker,close,volume\n")
    scenario_file = tmp_path / "s.toml"
    scenario_file.write_text(
        '[market]\nsource = "file"\npath = "data/bars.csv"\n[strategies.twap]\n'
    )
    assert load_scenario(scenario_file).market.path == tmp_path / "data" / "bars.csv"


def test_missing_market_file_is_named(tmp_path):
    scenario_file = tmp_path / "s.toml"
    scenario_file.write_text('[market]\nsource = "file"\npath = "nope.csv"\n[strategies.twap]\n')
    with pytest.raises(ScenarioError, match=r"market\.path: no such file or directory"):
        load_scenario(scenario_file)


def test_run_name_defaults_to_the_file_name(tmp_path):
    scenario_file = tmp_path / "paper noisy.toml"
    scenario_file.write_text("[strategies.twap]\n")
    assert load_scenario(scenario_file).run.name == "paper_noisy"


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "absent.toml")


def test_bytes_that_are_not_utf8_are_refused(tmp_path):
    scenario_file = tmp_path / "s.toml"
    scenario_file.write_bytes(b'[run]\nname = "\xff"\n')
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(scenario_file)


def test_toml_syntax_error_names_the_line(minimal_text):
    with pytest.raises(ScenarioError, match="line 3"):
        parse_scenario("[run]\nseed = 1\nname = \n")


def test_error_from_a_file_names_the_file(tmp_path):
    scenario_file = tmp_path / "s.toml"
    scenario_file.write_text("[strategies.twap]\n[folds]\ncount = 0\n")
    with pytest.raises(ScenarioError, match=rf"^{tmp_path / 's.toml'}: folds\.count"):
        load_scenario(scenario_file)


def test_toml_text_round_trips_through_a_file(tmp_path, minimal_text):
    scenario = parse_scenario(minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.0, 0.2]\n')
    scenario_file = tmp_path / "resolved.toml"
    scenario_file.write_text(scenario.to_toml())
    assert load_scenario(scenario_file) == scenario


def test_dict_form_round_trips(minimal_text):
    scenario = parse_scenario(
        minimal_text + "\n[[book.droughts]]\nfirst=5\nlast=9\nmultiplier=2\n"
    )
    assert scenario_from_dict(scenario.to_dict()) == scenario


def test_dict_given_is_not_modified(minimal_text):
    import tomllib

    doc = tomllib.loads(minimal_text + "\n[sweep]\nbook.alpha_noise = [0.0, 0.2]\n")
    before = repr(doc)
    scenario_from_dict(doc, overrides=["book.alpha=0.3"])
    assert repr(doc) == before


def test_scalar_for_a_number_or_array_names_both(minimal_text):
    with pytest.raises(ScenarioError, match=r"book\.epsilon: expected a number or an array of"):
        parse_scenario(minimal_text + '\n[book]\nepsilon = "small"\n')


def test_a_preset_fills_the_synthetic_parameters_the_file_leaves_out(minimal_text):
    text = minimal_text.replace("days = 120", 'days = 120\npreset = "thin"')
    text += "\n[market.synthetic.params]\nadv_range = [1e4, 2e4]\n"

    params = parse_scenario(text).market.synthetic.params

    assert params.trades_per_day == SYNTH_PRESETS["thin"].trades_per_day
    assert params.price_range == SYNTH_PRESETS["thin"].price_range
    assert params.adv_range == (1e4, 2e4)  # what the file gives wins


def test_a_preset_parameter_can_be_set_back_to_its_default(minimal_text):
    text = minimal_text.replace("days = 120", 'days = 120\npreset = "thin"')
    text += "\n[market.synthetic.params]\ntrades_per_day = 0.0\n"

    assert parse_scenario(text).market.synthetic.params.trades_per_day == 0.0


def test_an_unknown_preset_is_refused_with_a_suggestion(minimal_text):
    text = minimal_text.replace("days = 120", 'days = 120\npreset = "thn"')

    with pytest.raises(ScenarioError, match=r"market\.synthetic\.preset.*did you mean \"thin\""):
        parse_scenario(text)


def test_the_schema_lists_every_preset():
    hint = typing.get_type_hints(SyntheticMarketSpec)["preset"]

    assert typing.get_args(hint) == tuple(SYNTH_PRESETS)
