"""Reading a run directory, and refusing what does not fit the run contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lobsim.report import ReportError, load_run
from lobsim.report.load import parse_label
from tests.report.runs import random_frames, write_run_dir


def _broken(tmp_path, change):
    """A random run directory after ``change(episodes, decisions, manifest)``, which edits
    them in place or returns new ones."""
    frames = random_frames()
    frames = change(*frames) or frames
    return write_run_dir(tmp_path / "broken", *frames)


def test_load_keeps_the_manifest_order_of_strategies_and_baselines(random_run):
    run = load_run(random_run)

    assert run.strategies == ("twap", "vwap", "lstm")
    assert run.baselines == ("vwap", "twap")


def test_load_adds_the_value_traded(random_run):
    run = load_run(random_run)

    expected = run.episodes["shares"] * run.episodes["arrival_price"]
    np.testing.assert_allclose(run.episodes["value_traded"], expected)


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(ReportError, match="not a run directory"):
        load_run(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["manifest.json", "episodes.parquet", "decisions.parquet"])
def test_a_missing_file_is_named(random_run, name):
    (random_run / name).unlink()

    with pytest.raises(ReportError, match=name):
        load_run(random_run)


def test_a_corrupt_parquet_file_is_named(random_run):
    (random_run / "episodes.parquet").write_bytes(b"not parquet at all")

    with pytest.raises(ReportError, match=r"episodes\.parquet.*Parquet"):
        load_run(random_run)


def test_a_corrupt_manifest_is_named(random_run):
    (random_run / "manifest.json").write_text("{ not json", encoding="utf-8")

    with pytest.raises(ReportError, match=r"manifest\.json.*JSON"):
        load_run(random_run)


def test_a_missing_column_is_named(tmp_path):
    run = _broken(tmp_path, lambda e, d, m: (e.drop(columns="cost"), d, m))

    with pytest.raises(ReportError, match=r"missing column.*cost"):
        load_run(run)


def test_a_baseline_that_is_not_a_strategy_is_refused(tmp_path):
    run = _broken(tmp_path, lambda e, d, m: m.update(baselines=["vwap", "pov"]))

    with pytest.raises(ReportError, match="'pov'"):
        load_run(run)


def test_a_non_finite_cost_names_the_row_and_column(tmp_path):
    def change(episodes, decisions, manifest):
        episodes.loc[7, "cost"] = np.nan

    with pytest.raises(ReportError, match=r"row 7, column 'cost'"):
        load_run(_broken(tmp_path, change))


def test_a_fractional_fold_names_the_row_and_column(tmp_path):
    def change(episodes, decisions, manifest):
        episodes["fold"] = episodes["fold"].astype(float)
        episodes.loc[4, "fold"] = 0.5

    with pytest.raises(ReportError, match=r"row 4, column 'fold': expected a whole number"):
        load_run(_broken(tmp_path, change))


def test_a_cost_of_text_is_refused(tmp_path):
    def change(episodes, decisions, manifest):
        episodes["cost"] = episodes["cost"].astype(str)

    with pytest.raises(ReportError, match=r"column 'cost': expected numbers"):
        load_run(_broken(tmp_path, change))


def test_columns_are_read_as_the_run_contract_types_them(random_run):
    run = load_run(random_run)

    kinds = run.episodes.dtypes.map(str).to_dict()
    assert kinds["fold"] == kinds["shares"] == kinds["posted_shares"] == "int64"
    assert kinds["cost"] == kinds["penalty_cost"] == "float64"
    assert kinds["day"] == "datetime64[ms]"


def test_a_repeated_episode_is_refused(tmp_path):
    def change(episodes, decisions, manifest):
        episodes.loc[len(episodes)] = episodes.iloc[3]

    with pytest.raises(ReportError, match="repeats the episode"):
        load_run(_broken(tmp_path, change))


def test_an_episode_without_every_strategy_is_refused(tmp_path):
    def change(episodes, decisions, manifest):
        return episodes.drop(index=5), decisions, manifest

    with pytest.raises(ReportError, match="expected one per strategy"):
        load_run(_broken(tmp_path, change))


def test_an_unknown_variant_id_is_refused(tmp_path):
    def change(episodes, decisions, manifest):
        manifest["variants"][0]["id"] = "vdeadbeef"

    with pytest.raises(ReportError, match="not among the manifest's variants"):
        load_run(_broken(tmp_path, change))


def test_episodes_without_decisions_are_refused(tmp_path):
    def change(episodes, decisions, manifest):
        return episodes, decisions[decisions["stock"] != "S002"], manifest

    with pytest.raises(ReportError, match=r"no decisions for .*S002"):
        load_run(_broken(tmp_path, change))


def test_wrongly_typed_manifest_strategies_are_refused(random_run):
    manifest = json.loads((random_run / "manifest.json").read_text(encoding="utf-8"))
    manifest["strategies"] = "twap"
    (random_run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(ReportError, match="'strategies' must be a list"):
        load_run(random_run)


def test_numeric_tickers_are_read_as_text(tmp_path):
    def change(episodes, decisions, manifest):
        episodes["stock"] = episodes["stock"].str[1:].astype(int)
        decisions["stock"] = decisions["stock"].str[1:].astype(int)

    run = load_run(_broken(tmp_path, change))

    assert sorted(run.episodes["stock"].unique()) == ["0", "1", "2", "3", "4"]


def test_parse_label_reads_each_swept_value():
    values = parse_label(
        "book.alpha_noise=0.2, parent.side=buy", ("book.alpha_noise", "parent.side")
    )

    assert values == {"book.alpha_noise": 0.2, "parent.side": "buy"}


def test_parse_label_gives_nothing_for_a_label_of_other_keys():
    assert parse_label("book.tick=0.01", ("book.alpha_noise",)) == {}


def test_a_run_without_the_unfilled_charges_reads_them_as_zero(tmp_path):
    # Runs written before unfilled shares were charged have no such columns.
    episodes, decisions, manifest = random_frames()
    assert "penalty_cost" not in episodes

    run = load_run(write_run_dir(tmp_path / "old", episodes, decisions, manifest))

    assert (run.episodes["penalty_cost"] == 0).all()
    assert (run.episodes["opportunity_cost"] == 0).all()
