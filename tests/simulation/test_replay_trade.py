"""Strategies trading on replayed LOBSTER days: the plug-in contract, our orders consuming the
real book (held against the pure-Python replay of the same orders), exact cost accounting, and
orders that keep working when the book runs out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lobsim import Decision, InputError, Limits, Schedule
from lobsim.cli import main
from lobsim.market.lobster import PRICE_SCALE
from lobsim.market.lobster_market import load_lobster_market, write_synthetic_market
from lobsim.run import run_scenario
from lobsim.scenario import parse_scenario
from lobsim.simulation.replay import reference_replay
from lobsim.simulation.replay_trade import simulate_replay
from lobsim.strategies.twap import TWAP
from lobsim.strategy import BUY, SELL

SCHEDULE = Schedule(interval=30)  # 13 decisions a day


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    out = tmp_path_factory.mktemp("lobster")
    write_synthetic_market(out, stocks=2, days=2, messages=3_000, levels=5, seed=3)
    return load_lobster_market(out)


def parent_of(market, fraction=0.05):
    return np.rint(fraction * market.panel.adv).astype(np.int64)


@pytest.mark.parametrize("side", [SELL, BUY])
def test_costs_add_up_to_the_shortfall_and_follow_the_fills(market, side):
    parent = parent_of(market)
    result = simulate_replay(market, TWAP(), parent=parent, side=side, schedule=SCHEDULE,
                             record_fills=True)  # fmt: skip
    e = result.episodes
    assert (e["unfilled"] == 0).all() and (e["shares_filled"] == e["shares"]).all()
    parts = e[["temporary_cost", "permanent_cost", "timing_cost", "opportunity_cost"]].sum(axis=1)
    np.testing.assert_allclose(parts, e["shortfall"], rtol=0, atol=1e-9)
    fills = result.fills
    s0 = e["arrival_price"].to_numpy()[fills["episode"]]
    sign = -side
    shortfall = (sign * fills["qty"] * (s0 - fills["price"])).groupby(fills["episode"]).sum()
    np.testing.assert_allclose(shortfall.to_numpy(), e["shortfall"], rtol=1e-12)
    assert (e["temporary_cost"] > 0).all()  # a market order pays at least the half-spread
    # What is left of the shortfall once the market's drift is out: what our trading cost.
    impact = sign * (e["arrival_price"] - e["avg_price"]) - e["timing_cost"] / e["shares"]
    np.testing.assert_allclose(impact * e["shares"], e["temporary_cost"] + e["permanent_cost"])
    assert (impact > 0).all()


def test_our_fills_are_those_of_the_reference_replay_of_the_same_orders(market):
    """The strategy's orders, sent after the rows the schedule names, take what the pure-Python
    replay (an implementation of its own) takes for the same orders, share for share."""
    parent = parent_of(market)
    result = simulate_replay(market, TWAP(), parent=parent, schedule=SCHEDULE, record_fills=True)
    n = market.panel.n_stocks
    for d, row in enumerate(market.pairs):
        for i, pair in enumerate(row):
            day = pair.read()
            e = d * n + i
            fills = result.fills[result.fills["episode"] == e]
            orders = fills.groupby("decision")["qty"].sum()
            starts = [
                max(
                    int(np.searchsorted(day.time, pair.start_ms / 1000 + 60 * (t - 1), "right")), 1
                )
                for t in SCHEDULE.decision_times[orders.index.to_numpy()]
            ]
            reference = reference_replay(
                day, compare=False,
                orders=(np.array(starts), np.full(len(starts), -1), orders.to_numpy()),
            )  # fmt: skip
            np.testing.assert_array_equal(reference.fills["qty"], fills["qty"])
            np.testing.assert_array_equal(reference.fills["maker"], fills["order_id"])
            np.testing.assert_allclose(reference.fills["price"] / PRICE_SCALE, fills["price"])
            assert result.episodes["replay_adjusted"].iloc[e] == reference.adjusted


def test_an_order_larger_than_the_book_keeps_working(market):
    """Half the day's volume in one order at the first decision: the book runs out, the rest
    is sent again as depth arrives; the same run is the same numbers."""

    class AllAtOnce:
        def decide(self, obs):
            return np.zeros(obs.n_episodes)

    parent = parent_of(market, 0.5)
    one = simulate_replay(market, AllAtOnce(), parent=parent, schedule=SCHEDULE, record_fills=True)
    fills = one.fills
    first = fills[fills["decision"] == 0]
    assert first["minute"].nunique() > 1  # filled over several minutes of its window
    e = one.episodes
    penalty = e["unfilled"] * e["arrival_price"]
    np.testing.assert_allclose(e["penalty_cost"], penalty)
    assert (e["cost"] >= e["temporary_cost"] + e["permanent_cost"]).all()
    two = simulate_replay(market, AllAtOnce(), parent=parent, schedule=SCHEDULE)
    assert one.episodes.equals(two.episodes)


class Slices:
    """TWAP's slices posted ``ticks`` from the mid; what a slice left is cancelled and crossed
    at the next decision (strategies.passive's PassiveSlicer, without a fit)."""

    def __init__(self, ticks=0.0):
        self.ticks = ticks
        self.seen = []

    def decide(self, obs):
        n, k = obs.n_episodes, obs.schedule.n_decisions
        self.seen.append(obs.resting.copy())
        size = np.rint(obs.initial / k).astype(np.int64)
        limits = Limits(np.arange(n), size, ticks=np.full(n, self.ticks))
        targets = obs.initial * (1.0 - obs.k / k)
        return Decision(targets, limits=limits, cancel=obs.resting["id"])


@pytest.mark.parametrize("side", [SELL, BUY])
def test_limit_orders_queue_fill_at_their_limits_and_are_booked_like_market_fills(market, side):
    parent = parent_of(market)
    result = simulate_replay(market, Slices(), parent=parent, side=side, schedule=SCHEDULE,
                             record_fills=True)  # fmt: skip
    e, fills = result.episodes, result.fills
    assert (e["shares_filled"] == e["shares"]).all()  # the last decision crosses the rest
    assert ((0 < e["passive_shares"]) & (e["passive_shares"] <= e["posted_shares"])).all()
    passive = fills[fills["passive"]]
    np.testing.assert_array_equal(
        passive.groupby("episode")["qty"].sum(), e["passive_shares"].to_numpy()
    )
    # One price per order: its limit, never through the arrival side of the book.
    assert (passive.groupby("order_id")["price"].nunique() == 1).all()
    parts = e[["temporary_cost", "permanent_cost", "timing_cost", "opportunity_cost"]].sum(axis=1)
    np.testing.assert_allclose(parts, e["shortfall"], rtol=0, atol=1e-9)
    s0 = e["arrival_price"].to_numpy()[fills["episode"]]
    shortfall = (-side * fills["qty"] * (s0 - fills["price"])).groupby(fills["episode"]).sum()
    np.testing.assert_allclose(shortfall.to_numpy(), e["shortfall"], rtol=1e-12)
    twap = simulate_replay(market, TWAP(), parent=parent, side=side, schedule=SCHEDULE)
    # Posting at the touch earns the spread TWAP pays: cheaper on every stock-day here.
    assert (e["temporary_cost"] < twap.episodes["temporary_cost"]).all()


def test_the_strategy_sees_its_resting_orders_and_cancels_return_their_shares(market):
    parent = parent_of(market)
    far = Slices(ticks=10_000)  # $100 from the mid: never reached
    result = simulate_replay(market, far, parent=parent, schedule=SCHEDULE, record_fills=True)
    e = result.episodes
    assert (e["passive_shares"] == 0).all() and (e["shares_filled"] == e["shares"]).all()
    k = SCHEDULE.n_decisions
    assert (e["posted_shares"] == (k - 1) * np.rint(parent / k)[[0, 1, 0, 1]]).all()
    second = far.seen[1]  # decision 1 of the first day: decision 0's orders, one a stock
    assert second["episode"].tolist() == [0, 1] and (second["ahead"] == 0).all()
    assert (second["size"] == np.rint(parent / k)).all()
    assert (second["price"] > market.panel.price[0, 0] + 90).all()
    assert (result.fills["passive"] == False).all()  # noqa: E712


def test_a_schedule_of_other_minutes_is_refused(market):
    with pytest.raises(InputError, match="cover 390 minutes"):
        simulate_replay(market, TWAP(), parent=parent_of(market), schedule=Schedule(minutes=60))


LOBSTER_SCENARIO = """
[run]
name = "replay"
[market]
source = "lobster"
path = "{path}"
[folds]
train_days = 1
test_days = 1
[schedule]
interval = 30
[book]  # the strategies' model; a day of 1,500 messages is too thin to calibrate it on
epsilon = 0.001
[strategies.twap]
[strategies.vwap]
[strategies.passive]
schedule = "twap"
"""


def test_a_scenario_replays_its_test_days(tmp_path):
    folder = tmp_path / "lob"
    assert main(["data", "lobster", "--out", str(folder), "--stocks", "2", "--days", "2",
                 "--messages", "1500", "--levels", "3"]) == 0  # fmt: skip
    scenario = parse_scenario(LOBSTER_SCENARIO.format(path=folder))
    run = run_scenario(scenario, tmp_path / "out")
    episodes = pd.read_parquet(run.out / "episodes.parquet")
    assert set(episodes["strategy"]) == {"twap", "vwap", "passive"}
    assert (episodes.loc[episodes["strategy"] == "passive", "passive_shares"] > 0).all()
    assert (episodes["day"] == np.datetime64("2024-01-03")).all()
    assert (episodes["replay_adjusted"] > 0).all()
    assert np.isfinite(episodes["cost_bps"]).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[impact]\npermanent = 0.1\n", "impact.permanent must be 0"),
        ("[market.load]\ntz = 'UTC'\n", "market.load is only for"),
    ],
)
def test_a_lobster_scenario_refuses_what_a_replay_cannot_honour(tmp_path, extra, message):
    from lobsim.errors import ScenarioError

    with pytest.raises(ScenarioError, match=message):
        parse_scenario(LOBSTER_SCENARIO.format(path=tmp_path) + extra)
