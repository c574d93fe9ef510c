"""The dynamic-programming strategy: its recursion, its adaptivity and its cost against VWAP."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import SELL, InputError, MarketPanel, Schedule, load_strategy, synthesize_market
from lobsim.sandbox import Sandbox
from lobsim.strategies._dp_kernels import policy_nb, volume_state_nb
from lobsim.strategies.almgren_chriss import PowerLawAC
from lobsim.strategies.dp import DynamicProgramming, _label
from lobsim.strategies.vwap import VWAP
from tests.strategies.folds import make_fold


@pytest.fixture(scope="module")
def fold():
    return make_fold(n_stocks=6, train_days=40, test_days=3, seed=11)


def effective_volume_policy(dp: DynamicProgramming) -> np.ndarray:
    """The risk-neutral optimum by its closed form, independently of the kernels.

    J_k(q, b) = A_k(b) q**p. With f the probability that the order fills (cost c already
    weighted by it), keeping theta q costs c (1 - theta)**p + f theta**p Abar + (1 - f) Abar,
    minimised by theta = U / (W + U) with W = c**(-1/phi), U = (f Abar)**(-1/phi), and then
    A_k = (W + U)**(-phi) + (1 - f) Abar; A_{K-1} = c + (1 - f) penalty. Returns theta,
    (N, K - 1, B).
    """
    phi = dp.power_ - 1.0
    cost, fill, trans = dp.cost_, dp.fill_, dp.transition_
    n_stocks, steps, bins = cost.shape
    a = cost[:, -1, :] + (1.0 - fill[:, -1, :]) * dp.penalty_[:, None]
    theta = np.empty((n_stocks, steps - 1, bins))
    for k in range(steps - 2, -1, -1):
        ahead = np.einsum("ibc,ic->ib", trans, a)
        future = (fill[:, k, :] * ahead) ** (-1.0 / phi)
        now = cost[:, k, :] ** (-1.0 / phi)
        theta[:, k] = future / (now + future)
        a = (now + future) ** (-phi) + (1.0 - fill[:, k, :]) * ahead
    return theta


def hot_day(fold, factor: float) -> MarketPanel:
    """One test day whose every minute trades ``factor`` times the training mean."""
    profile = fold.train.panel.volume.mean(axis=0)[None]
    return MarketPanel(
        fold.test.price[:1], factor * profile, fold.test.tickers, fold.test.dates[:1]
    )


def test_risk_neutral_policy_is_the_effective_volume_recursion(fold):
    dp = fold.fitted(DynamicProgramming())
    expected = effective_volume_policy(dp)
    n_stocks, steps, bins = dp.cost_.shape
    keep = np.empty(n_stocks)
    stocks = np.arange(n_stocks)

    for k in (0, 30, steps - 2):
        for b in (0, bins // 2, bins - 1):
            state = np.full(n_stocks, b)
            q = np.full(n_stocks, 0.37)
            policy_nb(q, stocks, state, k, dp.cost_, dp.fill_, dp.risk_, dp.power_, dp.future_,
                      *dp.grid_, keep)  # fmt: skip
            np.testing.assert_allclose(keep, expected[:, k, b], rtol=1e-9)


@pytest.fixture(scope="module")
def thin_fold():
    return make_fold(n_stocks=12, train_days=40, test_days=20, seed=5, preset="thin")


def test_on_a_thin_market_the_recursion_counts_orders_that_do_not_fill(thin_fold):
    dp = thin_fold.fitted(DynamicProgramming())
    assert 0.05 < 1.0 - dp.fill_.mean() < 0.6  # many windows without a trade
    expected = effective_volume_policy(dp)
    n_stocks, steps, bins = dp.cost_.shape
    keep = np.empty(n_stocks)
    stocks = np.arange(n_stocks)

    for k in (0, 30, steps - 2):
        for b in (0, bins - 1):
            q = np.full(n_stocks, 0.37)
            policy_nb(q, stocks, np.full(n_stocks, b), k, dp.cost_, dp.fill_, dp.risk_,
                      dp.power_, dp.future_, *dp.grid_, keep)  # fmt: skip
            np.testing.assert_allclose(keep, expected[:, k, b], rtol=1e-9)


def test_on_a_thin_market_it_costs_no_more_than_vwap(thin_fold):
    dp = thin_fold.simulate(thin_fold.fitted(DynamicProgramming())).episodes
    vwap = thin_fold.simulate(thin_fold.fitted(VWAP())).episodes

    assert vwap["unfilled"].sum() > 0  # the test has days the last window cannot fill
    assert dp["cost"].sum() < vwap["cost"].sum()  # penalties for what is left included


def test_single_state_is_vwap_where_every_hour_trades_alike():
    # Volume exactly on its profile: (V / m) ** -phi is 1 at every time of day.
    fold = make_fold(n_stocks=6, train_days=10, test_days=1, seed=11, volume_mode="deterministic")
    dp = fold.fitted(DynamicProgramming(bins=1))
    done = fold.fitted(VWAP()).done_  # (N, K): VWAP's cumulative fractions
    n_stocks, steps, _ = dp.cost_.shape
    keep = np.empty((steps - 1, n_stocks))
    zeros = np.zeros(n_stocks, dtype=np.int64)

    for k in range(steps - 1):
        q = np.full(n_stocks, 0.5)
        policy_nb(q, np.arange(n_stocks), zeros, k, dp.cost_, dp.fill_, dp.risk_, dp.power_,
                  dp.future_, *dp.grid_, keep[k])  # fmt: skip

    before = np.hstack([np.ones((n_stocks, 1)), 1.0 - done[:, :-2]])
    np.testing.assert_allclose(keep.T, (1.0 - done[:, :-1]) / before, rtol=1e-9)


def test_with_known_volume_and_risk_aversion_it_is_the_power_law_trajectory():
    fold = make_fold(n_stocks=3, train_days=5, test_days=1, volume_mode="deterministic")
    dp = fold.fitted(DynamicProgramming(bins=1, risk_aversion=2e-7))
    reference = fold.fitted(PowerLawAC(risk_aversion=2e-7)).holdings_

    held = fold.held(dp)

    np.testing.assert_allclose(held, reference, atol=2e-3)
    assert np.all(held[:, 39] < 0.45)  # visibly front-loaded: VWAP holds about 0.6 here


@pytest.mark.parametrize(("factor", "faster"), [(1.6, True), (0.6, False)])
def test_it_trades_faster_when_volume_runs_above_profile(fold, factor, faster):
    dp = fold.fitted(DynamicProgramming())

    # Sold beyond what it sells on a day on profile, (N, K + 1).
    ahead = fold.held(dp, hot_day(fold, 1.0)) - fold.held(dp, hot_day(fold, factor))

    middle = ahead[:, 10:60]
    assert np.all(middle > 0) if faster else np.all(middle < 0)


def test_it_costs_no_more_than_vwap_on_persistent_volume_shocks():
    # The default synthetic market: intraday volume shocks with a 45-minute half-life.
    fold = make_fold(n_stocks=20, train_days=60, test_days=45, seed=21)
    dp = fold.fitted(DynamicProgramming())
    vwap = fold.fitted(VWAP())

    dp_cost, vwap_cost = fold.cost(dp), fold.cost(vwap)

    assert dp_cost.mean() < vwap_cost.mean()
    assert np.mean(dp_cost < vwap_cost) > 0.5  # on most days, not by a few lucky ones


@pytest.mark.slow
def test_it_costs_less_than_vwap_in_every_fold_of_a_large_market():
    market = synthesize_market(100, 225, seed=31, workers=2)
    savings = []
    for start in (0, 60, 120):
        fold = make_fold(market=market.days(start, start + 105), train_days=60, test_days=45)
        dp = fold.cost(fold.fitted(DynamicProgramming()))
        vwap = fold.cost(fold.fitted(VWAP()))
        savings.append(1.0 - dp.sum() / vwap.sum())

    assert min(savings) > 0.0


def test_risk_aversion_front_loads(fold):
    neutral = fold.held(fold.fitted(DynamicProgramming()))
    averse_dp = fold.fitted(DynamicProgramming(risk_aversion=1e-6))

    averse = fold.held(averse_dp)

    assert np.all(averse[:, 1:-1].mean(axis=0) < neutral[:, 1:-1].mean(axis=0))


@pytest.mark.parametrize(
    ("option", "value"),
    [("bins", 0), ("bins", 2.5), ("half_life", 0.0), ("prior", -1.0), ("risk_aversion", -1e-6)],
)
def test_bad_options_are_refused_by_name(fold, option, value):
    with pytest.raises(InputError, match=f"dp: {option}"):
        fold.fitted(DynamicProgramming(**{option: value}))


def test_a_different_schedule_is_refused(fold):
    dp = fold.fitted(DynamicProgramming())
    other = make_fold(
        n_stocks=6, train_days=3, test_days=1, seed=11, schedule=Schedule(interval=10)
    )

    with pytest.raises(InputError, match="fitted for"):
        other.cost(dp)


class _RecordingDP(DynamicProgramming):
    """The DP strategy, keeping the volume state of every decision it makes."""

    def volume_state(self, obs):
        bins = super().volume_state(obs)
        self.seen_.append(bins.copy())
        return bins


@pytest.mark.parametrize("half_life", [8.0, np.inf])
def test_volume_states_carried_from_decision_to_decision_are_the_fits(fold, half_life):
    dp = fold.fitted(_RecordingDP(half_life=half_life))
    dp.seen_ = []
    days = fold.train.panel.days(0, 2)  # training days: the fit labelled them too
    visible = fold.train.schedule.decision_times - fold.train.schedule.lag
    states = np.empty((2, len(visible), days.volume.shape[2]))
    volume_state_nb(days.volume, dp.profile_, visible, dp.decay_, states)

    fold.simulate(dp, days)

    seen = np.array(dp.seen_[: 2 * (len(visible) - 1)]).reshape(2, len(visible) - 1, -1)
    np.testing.assert_array_equal(seen, _label(states, dp.edges_)[:, :-1])


def test_decisions_out_of_order_are_refused(fold):
    dp = fold.fitted(DynamicProgramming())
    panel = fold.test
    sandbox = Sandbox(
        panel, fold.train.schedule, parent=fold.train.parent, side=SELL, adv=panel.adv
    )
    remaining = np.asarray(fold.train.parent, dtype=np.int64)
    dp.decide(sandbox.observe(0, 0, remaining))

    with pytest.raises(InputError, match="in order; expected k=1, got k=2"):
        dp.decide(sandbox.observe(0, 2, remaining))


def test_short_name_is_registered():
    assert load_strategy("dp") is DynamicProgramming


def test_keep_fractions_of_whole_days_are_what_each_decision_keeps(fold):
    dp = fold.fitted(DynamicProgramming())
    panel = fold.test
    whole = dp.keep_fractions(panel.volume)  # (D, K, N)
    sandbox = Sandbox(
        panel, fold.train.schedule, parent=fold.train.parent, side=SELL, adv=panel.adv
    )
    remaining = np.asarray(fold.train.parent, dtype=np.int64)

    for d in range(panel.n_days):
        for k in range(fold.train.schedule.n_decisions):
            obs = sandbox.observe(d, k, remaining)
            np.testing.assert_array_equal(dp.keep_fraction(obs), whole[d, k, obs.stock])
    assert np.all((whole >= 0) & (whole <= 1))
    assert whole.std() > 0  # the state moves it


def test_keep_fraction_is_the_share_decide_keeps_of_any_holdings(fold):
    dp = fold.fitted(DynamicProgramming())
    twin = DynamicProgramming.from_fitted_state(dp.fitted_state())
    panel = fold.test
    sandbox = Sandbox(
        panel, fold.train.schedule, parent=fold.train.parent, side=SELL, adv=panel.adv
    )
    held = np.asarray(fold.train.parent, dtype=np.int64) // 3

    for k in range(fold.train.schedule.n_decisions - 1):
        obs = sandbox.observe(0, k, held)
        keep = dp.keep_fraction(obs)  # of one parent order
        np.testing.assert_allclose(twin.decide(obs) / held, keep, rtol=1e-6)


def test_fitted_state_makes_the_same_policy_again(fold):
    dp = fold.fitted(DynamicProgramming(bins=5, half_life=12.0))
    again = DynamicProgramming.from_fitted_state(dp.fitted_state())

    np.testing.assert_array_equal(fold.simulate(again).inventory, fold.simulate(dp).inventory)
    assert (again.bins, again.half_life) == (5, 12.0)
