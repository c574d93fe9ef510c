"""The summary table against sums and means taken straight from the episodes."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim.report import load_run, summary_table
from lobsim.report.tables import comparison_pairs, savings_columns
from tests.report.runs import random_frames, write_run_dir


@pytest.fixture
def table(random_run):
    run = load_run(random_run)
    return run, summary_table(run)


def _row(summary, fold, stock, strategy):
    rows = summary[
        (summary["fold"] == fold) & (summary["stock"] == stock) & (summary["strategy"] == strategy)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_one_row_per_variant_fold_stock_and_strategy(table):
    _, summary = table

    # 2 folds + "all", 5 stocks + "ALL", 3 strategies, 1 variant
    assert len(summary) == 3 * 6 * 3
    assert not summary.duplicated(["variant_id", "fold", "scope", "stock", "strategy"]).any()


def test_the_overall_universe_rows_come_first_in_manifest_order(table):
    run, summary = table

    head = summary.iloc[: len(run.strategies)]
    assert list(head["fold"]) == ["all"] * 3
    assert list(head["stock"]) == ["ALL"] * 3
    assert tuple(head["strategy"]) == run.strategies


def test_universe_cost_is_the_mean_over_days_of_the_sum_over_stocks(table):
    run, summary = table
    e = run.episodes
    mine = e[(e["strategy"] == "lstm") & (e["fold"] == 1)]
    totals = [day["cost"].sum() for _, day in mine.groupby("day")]

    row = _row(summary, "1", "ALL", "lstm")

    assert row["cost"] == pytest.approx(np.mean(totals))
    assert row["days"] == len(totals)
    assert row["stocks"] == 5


def test_fold_all_pools_the_days_of_every_fold(table):
    run, summary = table
    e = run.episodes
    mine = e[(e["strategy"] == "twap") & (e["stock"] == "S003")]

    row = _row(summary, "all", "S003", "twap")

    assert row["cost"] == pytest.approx(mine["cost"].mean())
    assert row["days"] == len(mine)


def test_bps_are_cost_over_value_traded(table):
    run, summary = table
    e = run.episodes
    mine = e[(e["strategy"] == "vwap") & (e["fold"] == 0)]
    value = mine["shares"] * mine["arrival_price"]
    episode_bps = 1e4 * mine["cost"] / value

    row = _row(summary, "0", "ALL", "vwap")

    # the value-weighted mean of the episodes' own bps
    assert row["cost_bps"] == pytest.approx(np.average(episode_bps, weights=value))


def test_savings_are_the_baseline_cost_minus_the_strategy_cost_on_the_same_days(table):
    run, summary = table
    e = run.episodes.set_index(["fold", "stock", "day", "strategy"])["cost"]
    diff = (e.xs("twap", level="strategy") - e.xs("lstm", level="strategy")).xs(
        "S001", level="stock"
    )

    row = _row(summary, "all", "S001", "lstm")
    head, _bps, _pct, se = savings_columns("twap")

    assert row[head] == pytest.approx(diff.mean())
    assert row[se] == pytest.approx(diff.std(ddof=1) / np.sqrt(len(diff)))


def test_savings_percent_is_relative_to_the_baseline_cost(table):
    _, summary = table
    base = _row(summary, "all", "ALL", "vwap")
    mine = _row(summary, "all", "ALL", "lstm")
    head, bps, pct, _se = savings_columns("vwap")

    assert mine[pct] == pytest.approx(100 * (base["cost"] - mine["cost"]) / base["cost"])
    assert mine[bps] == pytest.approx(1e4 * mine[head] / mine["value_traded"])


def test_a_strategy_saves_nothing_against_itself(table):
    _, summary = table

    rows = summary[summary["strategy"] == "vwap"]

    assert (rows[savings_columns("vwap")[0]] == 0).all()


def test_a_ticker_named_all_is_kept_apart_from_the_universe(tmp_path):
    episodes, decisions, manifest = random_frames()
    for frame in (episodes, decisions):
        frame["stock"] = frame["stock"].replace("S000", "ALL")
    run = load_run(write_run_dir(tmp_path / "run", episodes, decisions, manifest))

    summary = summary_table(run)
    rows = summary[(summary["stock"] == "ALL") & (summary["fold"] == "all")]

    assert sorted(rows["scope"].unique()) == ["stock", "universe"]
    ticker = rows[(rows["scope"] == "stock") & (rows["strategy"] == "twap")].iloc[0]
    mine = episodes[(episodes["stock"] == "ALL") & (episodes["strategy"] == "twap")]
    assert ticker["cost"] == pytest.approx(mine["cost"].mean())


def test_comparison_pairs_put_strategies_before_baselines_without_reverse_pairs():
    pairs = comparison_pairs(("twap", "vwap", "lstm", "dp"), ("vwap", "twap"))

    assert pairs == [
        ("lstm", "vwap"),
        ("dp", "vwap"),
        ("lstm", "twap"),
        ("dp", "twap"),
        ("vwap", "twap"),
    ]
