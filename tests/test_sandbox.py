"""The sandbox: what a strategy is handed holds no future, cannot be written, and is built once."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lobsim import BookModel, MarketPanel, Sandbox, Schedule, TrainData, simulate
from lobsim.sandbox import child_orders, sandboxed_train

SCHEDULE = Schedule(minutes=30, interval=5, lag=2)
N_DAYS, N_STOCKS = 4, 3


def coded_panel() -> MarketPanel:
    """Every value names its own (day, minute, stock): 1e6 (day + 1) + 1e3 minute + stock."""
    d, m, i = np.meshgrid(
        np.arange(N_DAYS), np.arange(SCHEDULE.minutes), np.arange(N_STOCKS), indexing="ij"
    )
    code = 1e6 * (d + 1) + 1e3 * m + i
    dates = np.arange("2024-01-02", N_DAYS, dtype="datetime64[D]")
    return MarketPanel(code + 0.5, code, [f"S{i}" for i in range(N_STOCKS)], dates)


def reachable_arrays(obs) -> list[tuple[str, np.ndarray]]:
    """Every array an observation holds, and every array behind them through ``.base``."""
    found = []
    for field in dataclasses.fields(obs):
        value = getattr(obs, field.name)
        path = f"obs.{field.name}"
        while isinstance(value, np.ndarray):
            found.append((path, value))
            value, path = value.base, path + ".base"
    return found


def sandbox_of(panel: MarketPanel) -> Sandbox:
    parent = np.array([100, 200, 300])
    return Sandbox(panel, SCHEDULE, parent=parent, side=-1, adv=np.full(N_STOCKS, 5e4))


def test_nothing_reachable_from_an_observation_holds_a_later_minute_or_day():
    panel = coded_panel()
    sandbox = sandbox_of(panel)
    for d in range(N_DAYS):
        for k, t in enumerate(SCHEDULE.decision_times):
            obs = sandbox.observe(d, k, sandbox.initial)
            for path, array in reachable_arrays(obs):
                if array.dtype != np.float64:
                    continue
                code = np.floor(array[np.isfinite(array)])
                day, minute = code // 1e6 - 1, (code % 1e6) // 1e3
                future = (day > d) | ((day == d) & (minute >= t - SCHEDULE.lag))
                assert not future.any(), f"{path} at day {d}, decision {k} holds the future"


def test_the_observation_shows_today_to_the_lag_and_every_earlier_day_whole():
    panel = coded_panel()
    sandbox = sandbox_of(panel)
    sandbox.observe(0, 0, sandbox.initial)

    obs = sandbox.observe(2, 3, sandbox.initial)

    t = SCHEDULE.decision_times[3]
    np.testing.assert_array_equal(obs.volume, panel.volume[2:3, : t - SCHEDULE.lag])
    np.testing.assert_array_equal(obs.price, panel.price[2:3, : t - SCHEDULE.lag])
    np.testing.assert_array_equal(obs.past_volume, panel.volume[:2])
    np.testing.assert_array_equal(obs.past_dates, panel.dates[:2])
    assert obs.dates.tolist() == panel.dates[2:3].tolist()
    assert obs.day.tolist() == [0, 0, 0] and obs.stock.tolist() == [0, 1, 2]


def test_every_array_handed_over_is_read_only_and_today_owns_its_memory():
    sandbox = sandbox_of(coded_panel())
    obs = sandbox.observe(1, 2, sandbox.initial)

    for path, array in reachable_arrays(obs):
        assert not array.flags.writeable, path
    for name in ("price", "volume", "remaining", "initial", "stock", "day", "side", "adv"):
        assert getattr(obs, name).base is None, name
    with pytest.raises(ValueError, match="read-only"):
        obs.remaining[0] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        obs.remaining = np.zeros(3)


def test_days_are_observed_in_order():
    sandbox = sandbox_of(coded_panel())
    sandbox.observe(2, 0, sandbox.initial)

    sandbox.observe(2, 5, sandbox.initial)  # the same day again is fine
    with pytest.raises(RuntimeError, match="history"):
        sandbox.observe(1, 0, sandbox.initial)


def test_the_training_data_is_an_owned_read_only_copy():
    panel = coded_panel()
    train = TrainData.for_training_days(panel.days(0, 3), SCHEDULE, seed=1)

    own = sandboxed_train(train)

    assert train.panel.volume.base is not None  # a view of the whole panel, test day included
    for array in (own.panel.price, own.panel.volume, own.parent):
        assert array.base is None and not array.flags.writeable
    np.testing.assert_array_equal(own.panel.volume, panel.volume[:3])


def test_orders_round_and_clip_targets_to_what_remains():
    remaining = np.array([100, 100, 100, 100])

    orders = child_orders(np.array([40.4, -7.0, 250.0, 99.6]), remaining)

    assert orders.tolist() == [60, 100, 0, 0]


class UnlocksItsCopy:
    """Makes its copy of obs.remaining writable and zeroes it: harms nothing but itself."""

    def decide(self, obs):
        mine = obs.remaining
        mine.flags.writeable = True
        mine[:] = 0
        return mine


class SellsAtOnce:
    def decide(self, obs):
        return np.zeros(obs.n_episodes)


def test_a_plugin_cannot_change_the_simulators_inventory():
    panel = coded_panel()
    book = BookModel(epsilon=1e-3)
    parent = np.array([100, 200, 300])
    args = dict(book=book, parent=parent, schedule=SCHEDULE, seed=1)

    unlocked = simulate(panel, UnlocksItsCopy(), **args)
    honest = simulate(panel, SellsAtOnce(), **args)

    np.testing.assert_array_equal(unlocked.inventory, honest.inventory)
    assert (unlocked.episodes.shares == np.tile(parent, N_DAYS)).all()
    assert (unlocked.inventory >= 0).all()
