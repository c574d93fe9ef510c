"""The batched simulator: accounting, inventory rules, the lag, determinism."""

import numpy as np
import pandas as pd
import pytest

from lobsim import (
    BookModel,
    InputError,
    MarketPanel,
    Schedule,
    StrategyError,
    powerlaw_cost,
    simulate,
    walk_costs_in_minute,
)
from tests.simulation.strategies import TWAP, Fixed

MINUTES = 30
SCHEDULE = Schedule(minutes=MINUTES, interval=5, lag=1)


def make_panel(days=3, stocks=2, seed=0, drift=0.0):
    rng = np.random.default_rng(seed)
    steps = rng.normal(drift, 1e-3, size=(days, MINUTES, stocks))
    price = 50.0 * np.exp(np.cumsum(steps, axis=1)) * np.arange(1, stocks + 1)
    volume = rng.lognormal(np.log(2e4), 0.5, size=(days, MINUTES, stocks)).round()
    dates = pd.bdate_range("2024-01-02", periods=days).values.astype("datetime64[D]")
    return MarketPanel(price, volume, [f"S{i}" for i in range(stocks)], dates)


BOOK = BookModel(epsilon=1e-3, levels_per_eps=100)
PARENT = np.array([30_000, 12_000])


def run(panel=None, strategy=TWAP, book=BOOK, **kw):
    kw.setdefault("parent", PARENT)
    return simulate(panel or make_panel(), strategy, book=book, schedule=SCHEDULE, **kw)


def test_shortfall_is_temporary_plus_permanent_plus_timing_for_every_episode():
    res = run(make_panel(drift=2e-4), permanent_impact=0.3)
    e = res.episodes

    parts = e.temporary_cost + e.permanent_cost + e.timing_cost
    np.testing.assert_allclose(e.shortfall, parts, rtol=1e-12, atol=1e-9 * e.shortfall.abs().max())
    assert (e.permanent_cost > 0).all()


def test_every_share_is_sold_and_costs_are_positive():
    e = run().episodes

    assert (e.shares_filled == e.shares).all()
    assert (e.unfilled == 0).all()
    assert (e.temporary_cost > 0).all()
    assert list(e.stock) == ["S0", "S1"] * 3


def test_bps_are_relative_to_the_arrival_value():
    e = run().episodes

    np.testing.assert_allclose(e.cost_bps, 1e4 * e.cost / (e.shares * e.arrival_price))


def test_child_costs_add_up_to_the_temporary_cost():
    res = run()

    np.testing.assert_allclose(res.child_cost.sum(axis=1), res.episodes.temporary_cost)


def test_with_full_refill_each_child_pays_what_it_would_pay_alone():
    panel = make_panel()
    res = run(panel)
    tick = res.episodes.arrival_price.to_numpy() * 1e-3 / 100
    child = -np.diff(res.inventory, axis=1)

    for e, (d, i) in enumerate([(d, i) for d in range(3) for i in range(2)]):
        for k, t in enumerate(SCHEDULE.decision_times):
            alone = walk_costs_in_minute(
                [child[e, k]],
                panel.volume[d, t - 1, i],
                panel.price[d, t - 1, i],
                0.5,
                1e-3,
                tick[e],
            )[0]
            assert res.child_cost[e, k] == pytest.approx(alone, rel=1e-12)


def test_with_resilience_the_second_child_pays_for_the_first():
    panel = make_panel()
    half_life = 3.0
    book = BookModel(epsilon=1e-3, resilience=0.5, half_life=half_life)
    res = run(panel, book=book)
    plain = run(panel)
    child = -np.diff(res.inventory, axis=1)

    assert res.child_cost[0, 0] == pytest.approx(plain.child_cost[0, 0])
    assert (res.child_cost[:, 1:] > plain.child_cost[:, 1:]).all()
    # As specified: half of the first child's shares are missing one minute later, and the
    # missing depth halves every `half_life` minutes, so at the next decision (5 minutes on)
    # the book lacks 0.5 * n1 * 0.5 ** (4 / half_life) shares from its top.
    t1, t2 = SCHEDULE.decision_times[:2]
    deficit = 0.5 * child[0, 0] * 0.5 ** ((t2 - t1 - 1) / half_life)
    s, v = panel.price[0, t2 - 1, 0], panel.volume[0, t2 - 1, 0]
    eps = 1e-3
    # The deficit removes the top of the book: walking n2 shares now costs what walking
    # shares deficit..deficit+n2 of the fresh book costs.
    tick = res.episodes.arrival_price.iloc[0] * eps / 100
    both = walk_costs_in_minute([round(deficit), child[0, 1]], v, s, 0.5, eps, tick)
    assert res.child_cost[0, 1] == pytest.approx(both[1], rel=2e-3)


def test_alpha_noise_of_width_zero_is_identical_to_the_noiseless_book():
    panel = make_panel()
    plain = run(panel).episodes
    zero = run(panel, book=BookModel(epsilon=1e-3, alpha_noise=0.0)).episodes
    noisy = run(panel, book=BookModel(epsilon=1e-3, alpha_noise=0.3)).episodes

    pd.testing.assert_frame_equal(plain, zero)
    assert not np.allclose(plain.temporary_cost, noisy.temporary_cost)


def test_same_seed_same_numbers_whatever_the_batching_of_days():
    panel = make_panel(days=4)
    book = BookModel(epsilon=1e-3, alpha_noise=0.3, depth_noise=0.2, empty_prob=0.1)
    whole = run(panel, book=book, seed=11).episodes
    parts = pd.concat(
        [
            run(panel.days(0, 1), book=book, seed=11, adv=panel.adv).episodes,
            run(panel.days(1, 4), book=book, seed=11, adv=panel.adv).episodes,
        ],
        ignore_index=True,
    )
    again = run(panel, book=book, seed=11).episodes
    other_seed = run(panel, book=book, seed=12).episodes

    pd.testing.assert_frame_equal(whole, parts)
    pd.testing.assert_frame_equal(whole, again)
    assert not np.allclose(whole.temporary_cost, other_seed.temporary_cost)


def test_a_batch_is_one_day_and_its_observation_ends_at_the_lag():
    seen = []

    def peek(obs):
        seen.append((obs.dates[0], obs.t, obs.price.shape, obs.past_price.shape[0]))
        with pytest.raises(IndexError):
            obs.volume[:, obs.t - 1, :]  # the bar the child order trades in
        with pytest.raises(ValueError, match="read-only"):
            obs.price[0, 0, 0] = 1.0
        return obs.remaining

    panel = make_panel()
    run(panel, strategy=Fixed(peek))

    asked = SCHEDULE.decision_times[:-1]
    expected = [(date, t, (1, t - 1, 2), d) for d, date in enumerate(panel.dates) for t in asked]
    replay = expected[-len(asked) :]  # the last day again, on a copy made before the first
    assert seen == expected + replay


def test_targets_are_clipped_to_what_remains_and_never_buy_back():
    wild = Fixed(lambda o: np.where(o.k % 2 == 0, 2.0 * o.initial, -5.0))
    res = run(strategy=wild)

    assert (np.diff(res.inventory, axis=1) <= 0).all()
    assert (res.inventory[:, -1] == 0).all()


def test_the_last_decision_liquidates_whatever_the_strategy_wants():
    res = run(strategy=Fixed(lambda o: o.initial.astype(float)))

    child = -np.diff(res.inventory, axis=1)
    assert (child[:, :-1] == 0).all()
    assert (child[:, -1] == PARENT[[0, 1, 0, 1, 0, 1]]).all()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda o: np.where(o.stock == 1, np.nan, 0.0), "episode 1"),
        (lambda o: np.zeros(o.n_episodes + 1), "shape"),
        (lambda o: np.array(["1"] * o.n_episodes), "dtype"),
        (lambda o: [0.0] * o.n_episodes, "numpy array"),
        (lambda o: np.full(o.n_episodes, np.inf), "episode 0"),
    ],
)
def test_bad_strategy_output_is_an_error_naming_the_strategy(output, message):
    with pytest.raises(StrategyError, match=message) as info:
        run(strategy=Fixed(output, name="broken"))

    assert "'broken'" in str(info.value)


def test_a_buy_program_mirrors_a_sell_program():
    panel = make_panel()
    sell = run(panel).episodes
    buy = run(panel, side=1).episodes

    assert (buy.temporary_cost > 0).all()
    np.testing.assert_allclose(buy.temporary_cost, sell.temporary_cost, rtol=0.02)
    np.testing.assert_allclose(
        buy.shortfall, buy.temporary_cost + buy.permanent_cost + buy.timing_cost
    )


def test_permanent_impact_matches_its_definition():
    panel = make_panel(days=1)
    g = 0.5
    adv = np.array([1e6, 1e6])
    res = run(panel, permanent_impact=g, adv=adv)
    child = -np.diff(res.inventory, axis=1)

    for e in range(2):
        sold_before = np.concatenate(([0], np.cumsum(child[e])[:-1]))
        mids = panel.price[0, SCHEDULE.decision_times - 1, e]
        expected = np.sum(child[e] * mids * g * sold_before / adv[e])
        assert res.episodes.permanent_cost.iloc[e] == pytest.approx(expected, rel=1e-12)


def test_recorded_fills_add_up_to_the_episodes():
    res = run(record_fills=True)
    f = res.fills

    by_episode = f.groupby("episode").qty.sum()
    np.testing.assert_array_equal(by_episode.to_numpy(), res.episodes.shares_filled.to_numpy())
    notional = (f.price * f.qty).groupby(f.episode).sum()
    np.testing.assert_allclose(notional / by_episode, res.episodes.avg_price)


def test_twap_on_a_deterministic_profile_costs_the_calibration_target():
    # Constant prices and the same volume every day: TWAP's cost is the calibration's reference.
    panel = make_panel(days=2)
    volume = np.broadcast_to(panel.volume[:1], panel.volume.shape).copy()
    flat = MarketPanel(np.full_like(panel.price, 40.0), volume, panel.tickers, panel.dates)
    book = BookModel(target_bps=1.7).calibrated(volume, PARENT, SCHEDULE.decision_times)

    e = run(flat, book=book).episodes

    np.testing.assert_allclose(e.cost_bps, 1.7, rtol=2e-3)


def test_the_closed_form_and_the_simulator_agree_on_a_single_child():
    panel = make_panel(days=1)
    everything_at_once = Fixed(lambda o: np.zeros(o.n_episodes))
    e = run(
        panel, strategy=everything_at_once, book=BookModel(epsilon=1e-3, levels_per_eps=400)
    ).episodes
    t = SCHEDULE.decision_times[0]

    exact = powerlaw_cost(PARENT, panel.volume[0, t - 1], panel.price[0, t - 1], 0.5, 1e-3)
    np.testing.assert_allclose(e.temporary_cost, exact, rtol=2e-3)


def test_an_order_that_needs_more_levels_than_the_book_holds_is_an_error_naming_the_key():
    everything_at_once = Fixed(lambda o: np.zeros(o.n_episodes))
    shallow = BookModel(epsilon=1e-3, levels_per_eps=100, max_levels=100)

    with pytest.raises(InputError, match=r"needs more than book.max_levels=100 levels"):
        run(strategy=everything_at_once, book=shallow, parent=np.array([200_000, 12_000]))
