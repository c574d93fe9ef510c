"""The portfolio view: the day's basket as one trade, and the model frontier a portfolio
strategy records, from a real run of a small scenario."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lobsim import load_run, parse_scenario, run_scenario
from lobsim.report.basket import basket_days, basket_table, model_frontiers

SCENARIO = """
[run]
name = "basket"
seed = 5
[market.synthetic]
stocks = 5
days = 24
[schedule]
minutes = 60
interval = 5
[folds]
train_days = 16
test_days = 8
count = 1
[strategies.twap]
[strategies.ac]
class = "almgren_chriss"
risk_aversion = 1e-6
[strategies.ac_joint]
class = "almgren_chriss"
risk_aversion = 1e-6
portfolio = true
"""


@pytest.fixture(scope="module")
def basket_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("basket") / "run"
    run_scenario(parse_scenario(SCENARIO), out)
    return load_run(out)


def test_the_basket_sums_each_days_stocks(basket_run):
    days = basket_days(basket_run, basket_run.variants[0].id)
    e = basket_run.episodes
    one = e[(e["strategy"] == "ac") & (e["day"] == e["day"].min())]
    row = days[(days["strategy"] == "ac") & (days["day"] == e["day"].min())].iloc[0]
    assert row["cost"] == pytest.approx(one["cost"].sum())
    assert row["shortfall"] == pytest.approx(one["shortfall"].sum())
    table = basket_table(basket_run, basket_run.variants[0].id)
    assert list(table.index) == ["twap", "ac", "ac_joint"] and (table["days"] == 8).all()
    per_day = days[days["strategy"] == "twap"]["shortfall"]
    assert table.loc["twap", "shortfall_sd"] == pytest.approx(per_day.std())


def test_the_joint_strategy_records_its_frontier_and_the_report_draws_it(basket_run):
    (frontier,) = model_frontiers(basket_run, basket_run.variants[0].id)
    assert frontier.strategy == "ac_joint" and frontier.fold == 0
    t = frontier.table
    assert (np.diff(t["joint_cost"]) > 0).all() and (np.diff(t["joint_variance"]) < 0).all()
    own = frontier.at_own()
    assert own["risk_aversion"] == 1e-6
    # Joint is the better trade-off: at the per-stock cost, no more variance than per stock.
    assert frontier.joint_variance_at(own["alone_cost"]) <= own["alone_variance"] * (1 + 1e-9)
    assert own["joint_cost"] + 1e-6 * own["joint_variance"] <= (
        own["alone_cost"] + 1e-6 * own["alone_variance"]
    )
    manifest = json.loads((basket_run.path / "manifest.json").read_text())
    assert "frontiers" in manifest["tasks"][0]
    text = (basket_run.path / "summary.md").read_text()
    assert "## Basket" in text and "Variance saved (%)" in text
    assert (basket_run.path / "plots" / "basket_frontier.png").stat().st_size > 0
    assert "plots/basket_frontier.png" in text


def test_a_run_without_a_portfolio_strategy_has_the_basket_table_only(tmp_path):
    text = SCENARIO.split("[strategies.ac_joint]")[0]
    out = tmp_path / "run"
    run_scenario(parse_scenario(text), out)
    md = (out / "summary.md").read_text()
    assert "## Basket" in md and "Variance saved" not in md
    assert not (out / "plots" / "basket_frontier.png").exists()
    assert "frontiers" not in json.loads((out / "manifest.json").read_text())["tasks"][0]
