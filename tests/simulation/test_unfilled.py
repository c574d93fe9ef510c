"""Minutes without volume: orders that keep working, shares left at the close and their costs."""

import numpy as np
import pandas as pd
import pytest

from lobsim import BookModel, MarketPanel, Schedule, powerlaw_cost, simulate
from lobsim.strategy import BUY, SELL
from tests.simulation.strategies import TWAP, Fixed

MINUTES = 30
SCHEDULE = Schedule(minutes=MINUTES, interval=5, lag=1)  # decisions at 5, 10, ..., 30
BOOK = BookModel(epsilon=1e-3, levels_per_eps=400)
PARENT = np.array([6_000, 3_000])


HOLD = Fixed(lambda o: o.remaining, "hold")  # waits for the last decision


def make_panel(days=1, seed=0):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 1e-3, size=(days, MINUTES, 2))
    price = np.array([40.0, 90.0]) * np.exp(np.cumsum(steps, axis=1))
    volume = rng.lognormal(np.log(2e4), 0.5, size=(days, MINUTES, 2)).round()
    dates = pd.bdate_range("2024-01-02", periods=days).values.astype("datetime64[D]")
    return MarketPanel(price, volume, ["A", "B"], dates)


def with_volume(panel, volume):
    return MarketPanel(panel.price, volume, panel.tickers, panel.dates)


def run(panel, strategy=TWAP, side=SELL, **kw):
    return simulate(panel, strategy, book=BOOK, parent=PARENT, schedule=SCHEDULE, side=side, **kw)


def test_schedule_windows_run_from_each_decision_to_the_next_and_the_last_to_the_close():
    assert list(SCHEDULE.window(0)) == [5, 6, 7, 8, 9]
    assert list(SCHEDULE.window(5)) == [30]
    assert list(Schedule(minutes=30, interval=10).window(1)) == [
        20,
        21,
        22,
        23,
        24,
        25,
        26,
        27,
        28,
        29,
    ]


def test_fill_bars_name_the_first_bar_of_each_window_with_volume():
    volume = np.ones((1, MINUTES, 1))
    volume[0, 4:7, 0] = 0.0  # bars 5, 6, 7 empty: decision 0 fills in bar 8
    volume[0, 9:14, 0] = 0.0  # bars 10 .. 14 empty: decision 1 never fills

    bars = SCHEDULE.fill_bars(volume)[0, :, 0]

    assert list(bars) == [8, 0, 15, 20, 25, 30]


def test_an_order_that_meets_an_empty_book_fills_in_the_next_minute_with_volume():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, 4:7, 0] = 0.0  # stock A: bars 5, 6 and 7 without trades
    res = run(with_volume(panel, volume), record_fills=True)

    first = res.fills[(res.fills.episode == 0) & (res.fills.decision == 0)]
    assert set(first.minute) == {8}
    assert first.qty.sum() == PARENT[0] // 6  # the whole child, three minutes late
    # ... at the price of bar 8's book, which is what the closed form charges there.
    exact = powerlaw_cost(PARENT[0] // 6, volume[0, 7, 0], panel.price[0, 7, 0], 0.5, 1e-3)
    np.testing.assert_allclose(res.child_cost[0, 0], exact, rtol=5e-3)
    assert res.episodes.unfilled.sum() == 0


def test_what_a_window_cannot_fill_returns_to_the_inventory_and_the_next_order_takes_it():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, 4:9, 0] = 0.0  # stock A: no trade in decision 0's window (bars 5 .. 9)
    res = run(with_volume(panel, volume), record_fills=True)

    inventory = res.inventory[0]
    assert inventory[1] == inventory[0] == PARENT[0]  # nothing sold at decision 0
    second = res.fills[(res.fills.episode == 0) & (res.fills.decision == 1)]
    assert second.qty.sum() == 2 * PARENT[0] // 6  # TWAP catches up at decision 1
    assert res.episodes.unfilled.iloc[0] == 0


def test_shares_left_at_the_close_are_reported_and_charged():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, 29, 0] = 0.0  # stock A: nothing trades in the last bar
    e = run(with_volume(panel, volume)).episodes

    u = PARENT[0] // 6
    assert list(e.unfilled) == [u, 0]
    assert list(e.shares_filled) == [PARENT[0] - u, PARENT[1]]
    s0 = e.arrival_price.iloc[0]
    close = panel.price[0, -1, 0]
    np.testing.assert_allclose(e.opportunity_cost.iloc[0], u * (s0 - close), rtol=1e-12)
    thinnest = volume[0, volume[0, :, 0] > 0, 0].min()
    p = 2.5 / 1.5
    penalty = 1e-3 * (1.5 / 2.5) * s0 * u**p * thinnest ** (1 - p)
    np.testing.assert_allclose(e.penalty_cost.iloc[0], min(penalty, u * s0), rtol=1e-12)
    assert e.opportunity_cost.iloc[1] == e.penalty_cost.iloc[1] == 0.0
    # Perold's shortfall and the ranked cost, every bps over the whole order's arrival value.
    parts = e.temporary_cost + e.permanent_cost + e.timing_cost + e.opportunity_cost
    np.testing.assert_allclose(e.shortfall, parts, rtol=1e-12)
    np.testing.assert_allclose(e.cost, e.temporary_cost + e.permanent_cost + e.penalty_cost)
    value = e.shares * e.arrival_price
    for name in ("temporary", "opportunity", "penalty", "shortfall"):
        column = "shortfall" if name == "shortfall" else f"{name}_cost"
        np.testing.assert_allclose(e[f"{name}_bps"], 1e4 * e[column] / value)
    np.testing.assert_allclose(e.cost_bps, 1e4 * e.cost / value)


def test_a_day_without_any_trade_charges_the_whole_value():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, :, 1] = 0.0
    e = run(with_volume(panel, volume), adv=np.array([5e5, 5e5])).episodes

    assert e.unfilled.iloc[1] == PARENT[1]
    np.testing.assert_allclose(e.penalty_cost.iloc[1], PARENT[1] * e.arrival_price.iloc[1])
    assert e.temporary_cost.iloc[1] == 0.0


def test_the_penalty_is_at_least_what_those_shares_cost_in_any_traded_minute():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, 29, :] = 0.0
    e = run(with_volume(panel, volume), strategy=HOLD).episodes  # everything left at the close

    for i in range(2):
        u = e.unfilled.iloc[i]
        assert u == PARENT[i]
        traded = volume[0, volume[0, :, i] > 0, i]
        prices = panel.price[0, volume[0, :, i] > 0, i]
        alone = powerlaw_cost(u, traded, prices * 0 + e.arrival_price.iloc[i], 0.5, 1e-3)
        assert e.penalty_cost.iloc[i] >= alone.max() * (1 - 1e-12)


def test_not_trading_never_ranks_cheaper_than_trading():
    # Holding to the last decision on days whose last bar is empty leaves everything unfilled.
    panel = make_panel(days=5, seed=3)
    volume = panel.volume.copy()
    volume[:, 29, :] = 0.0
    thin = with_volume(panel, volume)

    hold, twap = run(thin, strategy=HOLD).episodes, run(thin).episodes

    assert (hold.unfilled == PARENT[hold.index % 2]).all()
    assert (hold.cost.to_numpy() > twap.cost.to_numpy()).all()
    assert (hold.cost_bps > twap.cost_bps).all()


def test_a_buy_program_values_its_unfilled_shares_the_other_way():
    panel = make_panel()
    volume = panel.volume.copy()
    volume[0, 29, 0] = 0.0
    sell = run(with_volume(panel, volume)).episodes
    buy = run(with_volume(panel, volume), side=BUY).episodes

    assert buy.unfilled.iloc[0] == sell.unfilled.iloc[0] > 0
    np.testing.assert_allclose(buy.opportunity_cost.iloc[0], -sell.opportunity_cost.iloc[0])
    np.testing.assert_allclose(buy.penalty_cost.iloc[0], sell.penalty_cost.iloc[0])


@pytest.mark.parametrize("record_fills", [False, True])
def test_a_market_that_trades_every_minute_leaves_nothing_and_charges_nothing(record_fills):
    e = run(make_panel(days=2), record_fills=record_fills).episodes

    assert (e.unfilled == 0).all()
    assert (e.opportunity_cost == 0).all() and (e.penalty_cost == 0).all()
