"""The hindsight yardstick: the cheapest schedule given the day's true volumes and books,
executed through the simulator at exactly its cost, below every market-order strategy, and
the run's check that no strategy beats it."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from lobsim import (
    BookModel,
    Schedule,
    StrategyError,
    parse_scenario,
    run_scenario,
    simulate,
    synthesize_market,
)
from lobsim.simulation.hindsight import HindsightBeaten, check_above, hindsight
from lobsim.simulation.simulate import _prepare

SCHEDULE = Schedule(minutes=60, interval=5)


def market(stocks=4, days=6, seed=3):
    panel = synthesize_market(stocks, days + 4, minutes=60, seed=seed)
    train, test = panel.days(0, 4), panel.days(4, days + 4)
    parent = np.rint(0.05 * train.adv).astype(np.int64)
    return train, test, parent


class Follow:
    """Trade a given allocation (E, K) of shares per decision: an oracle the tests build."""

    def __init__(self, allocation, test):
        self.allocation, self.test = allocation, test

    def decide(self, obs):
        day = int(np.flatnonzero(self.test.dates == obs.dates[0])[0])
        n = self.test.n_stocks
        done = self.allocation[day * n : (day + 1) * n, : obs.k + 1].sum(axis=1)
        return obs.initial - done


BOOKS = {
    "plain": {},
    "noisy": {"alpha_noise": 0.3, "depth_noise": 0.4, "empty_prob": 0.15, "half_spread": 1},
    "noisy_depth": {"alpha_noise": 0.3, "alpha_noise_convention": "depth"},
}


@pytest.mark.parametrize("side", [-1, 1])
@pytest.mark.parametrize("shape", list(BOOKS))
def test_the_allocation_executed_costs_exactly_the_hindsight_cost(shape, side):
    train, test, parent = market()
    book = BookModel(**BOOKS[shape]).calibrated(train.volume, parent, SCHEDULE.decision_times)
    run = _prepare(test, book, parent, side, SCHEDULE, train.adv, 0.0, 5)
    cost, filled, allocation = hindsight(run)
    assert (filled == run.initial).all() and (allocation.sum(axis=1) == run.initial).all()
    oracle = simulate(test, Follow(allocation, test), book=book, parent=parent, side=side,
                      schedule=SCHEDULE, adv=train.adv, seed=5).episodes  # fmt: skip
    np.testing.assert_allclose(oracle["cost"], cost, rtol=1e-12)
    for strategy in (_TWAP(), _Front()):
        other = simulate(test, strategy, book=book, parent=parent, side=side,
                         schedule=SCHEDULE, adv=train.adv, seed=5).episodes  # fmt: skip
        assert (other["cost"].to_numpy() >= cost * (1 - 1e-12)).all()


class _TWAP:
    def decide(self, obs):
        return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)


class _Front:
    def decide(self, obs):
        return obs.initial * 0.7 ** (obs.k + 1)


def test_no_allocation_on_a_grid_is_cheaper():
    """Three decisions, one stock-day: every split of the order on a 1% grid, executed."""
    schedule = Schedule(minutes=15, interval=5)
    panel = synthesize_market(1, 5, minutes=15, seed=8)
    train, test = panel.days(0, 4), panel.days(4, 5)
    parent = np.rint(0.3 * train.adv).astype(np.int64)
    book = BookModel(alpha_noise=0.2).calibrated(train.volume, parent, schedule.decision_times)
    cost, _, _ = hindsight(_prepare(test, book, parent, -1, schedule, train.adv, 0.0, 2))
    x = int(parent[0])
    best = np.inf
    for a, b in itertools.product(range(0, 101, 4), repeat=2):
        if a + b > 100:
            continue
        split = np.array([[x * a // 100, x * b // 100, x - x * a // 100 - x * b // 100]])
        e = simulate(test, Follow(split, test), book=book, parent=parent, schedule=schedule,
                     adv=train.adv, seed=2).episodes  # fmt: skip
        best = min(best, float(e["cost"].iloc[0]))
    assert cost[0] <= best and cost[0] > 0.9 * best


@pytest.mark.parametrize("change", [{"resilience": 0.5}, {"permanent": 0.1}])
def test_where_the_bars_interact_the_yardstick_is_not_defined(change):
    train, test, parent = market()
    book = BookModel(resilience=change.get("resilience", 0.0)).calibrated(
        train.volume, parent, SCHEDULE.decision_times
    )
    run = _prepare(test, book, parent, -1, SCHEDULE, train.adv, change.get("permanent", 0.0), 1)
    assert np.isnan(hindsight(run)[0]).all()


def test_the_check_names_the_strategy_and_day_and_spares_limit_orders():
    frame = pd.DataFrame({
        "stock": ["A", "B", "C"], "day": pd.to_datetime(["2024-01-02"] * 3),
        "cost": [10.0, 5.0, 1.0], "passive_shares": [0, 0, 100],
    })  # fmt: skip
    check_above("ok", frame, np.array([10.0, np.nan, 2.0]))  # equal, undefined, limit orders
    with pytest.raises(HindsightBeaten, match=r"'cheat' cost \$5.000000 on B 2024-01-02"):
        check_above("cheat", frame, np.array([1.0, 6.0, 0.5]))


def test_a_run_writes_the_yardstick_reports_the_gap_and_refuses_a_strategy_below_it(
    tmp_path, monkeypatch
):
    text = """
[run]
name = "hs"
[market.synthetic]
stocks = 3
days = 10
[schedule]
minutes = 60
[folds]
train_days = 6
test_days = 4
count = 1
[strategies.twap]
[strategies.vwap]
"""
    out = tmp_path / "run"
    run_scenario(parse_scenario(text), out)
    h = pd.read_parquet(out / "hindsight.parquet")
    e = pd.read_parquet(out / "episodes.parquet")
    assert len(h) == 12 and np.isfinite(h["hindsight_cost"]).all()
    assert (e.groupby("strategy")["cost"].sum() > h["hindsight_cost"].sum()).all()
    md = (out / "summary.md").read_text()
    assert "## Hindsight" in md and "vwap-to-hindsight gap" in md

    import lobsim.run.task as task

    real = task.hindsight
    monkeypatch.setattr(
        task, "hindsight", lambda run: (lambda c, f, a: (c * 10, f, a))(*real(run))
    )
    with pytest.raises(StrategyError, match=r"'twap' cost .* less than the hindsight optimum"):
        run_scenario(parse_scenario(text), tmp_path / "again")
    assert not (tmp_path / "again" / "episodes.parquet").exists()
