"""The Almgren-Chriss strategies: calibration on the training days and their schedules."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import InputError, Sandbox, load_strategy, powerlaw_cost
from lobsim.market import synthetic_universe
from lobsim.strategies.almgren_chriss import AlmgrenChriss, PowerLawAC, ac_trajectory
from lobsim.strategies.twap import TWAP
from lobsim.strategies.vwap import VWAP
from tests.strategies.folds import make_fold


@pytest.fixture(scope="module")
def fold():
    return make_fold(n_stocks=4, train_days=20, test_days=2, seed=5)


def decisions(strategy, fold, k: int) -> np.ndarray:
    """The strategy's targets at decision k for every stock of the first test day."""
    sandbox = Sandbox(
        fold.test,
        fold.train.schedule,
        parent=fold.train.parent,
        side=-1,
        adv=fold.train.panel.adv,
    )
    return strategy.decide(sandbox.observe(0, k, fold.train.parent))


def test_zero_risk_aversion_is_twap(fold):
    ac = fold.fitted(AlmgrenChriss(risk_aversion=0.0))

    for k in (0, 20, 50):
        np.testing.assert_allclose(decisions(ac, fold, k), decisions(TWAP(), fold, k), rtol=1e-12)


@pytest.mark.parametrize("strategy", [AlmgrenChriss, PowerLawAC])
def test_higher_risk_aversion_front_loads(fold, strategy):
    low = fold.fitted(strategy(risk_aversion=1e-8)).holdings_
    high = fold.fitted(strategy(risk_aversion=1e-7)).holdings_

    assert np.all(high[:, 1:-1] < low[:, 1:-1])


def test_eta_and_epsilon_are_the_tangent_of_the_walk_cost(fold):
    ac = fold.fitted(AlmgrenChriss())
    train = fold.train
    steps = train.schedule.n_decisions
    child = train.parent / steps
    volume = train.panel.volume[:, train.schedule.decision_times - 1].mean(axis=(0, 1))
    price = train.panel.price.mean(axis=(0, 1))
    eps = train.book.epsilons(len(child))

    def per_share(n):  # the book's price concession per share for a walk of n shares
        return powerlaw_cost(n, volume, price, train.book.alpha, eps) / n

    slope = (per_share(child * 1.001) - per_share(child * 0.999)) / (0.002 * child)
    np.testing.assert_allclose(ac.eta_ * steps, slope, rtol=1e-5)  # eta / tau = h'(n0)
    np.testing.assert_allclose(ac.epsilon_ + ac.eta_ * steps * child, per_share(child), rtol=1e-12)


def test_sigma_estimates_the_synthetic_intraday_volatility():
    fold = make_fold(n_stocks=4, train_days=40, test_days=1, seed=6)
    universe = synthetic_universe(4, seed=6)
    daily_var = (universe.beta * 0.010) ** 2 + universe.idio_vol**2  # SynthParams defaults
    intraday = np.sqrt(0.75 * daily_var) * fold.train.panel.price.mean(axis=(0, 1))

    ac = fold.fitted(AlmgrenChriss())

    np.testing.assert_allclose(ac.sigma_, intraday, rtol=0.1)


def test_gamma_follows_the_permanent_impact():
    fold = make_fold(n_stocks=3, train_days=10, test_days=1, permanent_impact=0.05)

    ac = fold.fitted(AlmgrenChriss())

    price = fold.train.panel.price.mean(axis=(0, 1))
    np.testing.assert_allclose(ac.gamma_, 0.05 * price / fold.train.panel.adv, rtol=1e-12)


def test_given_parameters_are_used_as_given(fold):
    ac = fold.fitted(AlmgrenChriss(risk_aversion=2e-6, sigma=0.5, eta=1e-6, gamma=(0, 1e-9, 0, 0)))
    steps = fold.train.schedule.n_decisions
    expected = ac_trajectory(1.0, 1.0, steps, 0.5, 1e-6, 1e-9, 0.0, 2e-6)

    np.testing.assert_allclose(ac.holdings_[1], expected, rtol=1e-12)


def test_permanent_impact_beyond_the_temporary_one_is_refused(fold):
    strategy = AlmgrenChriss(eta=1e-9, gamma=1.0)

    with pytest.raises(InputError, match=fold.test.tickers[0]):
        fold.fitted(strategy)


def test_a_parameter_with_the_wrong_length_is_refused(fold):
    with pytest.raises(InputError, match="sigma must be one number or one per stock"):
        fold.fitted(AlmgrenChriss(sigma=(1.0, 2.0)))


@pytest.mark.parametrize("weighting", ["mean", "moment"])
def test_power_law_with_no_risk_aversion_is_vwap(fold, weighting):
    pl = fold.fitted(PowerLawAC(risk_aversion=0.0, weighting=weighting))
    vwap = fold.fitted(VWAP(weighting=weighting))

    np.testing.assert_allclose(pl.holdings_[:, 1:], 1.0 - vwap.done_, rtol=1e-9, atol=1e-12)


def test_a_different_number_of_decisions_is_refused(fold):
    ac = fold.fitted(AlmgrenChriss())
    ac.holdings_ = ac.holdings_[:, :10]

    with pytest.raises(InputError, match="fitted for 9 decisions"):
        decisions(ac, fold, 0)


@pytest.mark.parametrize(
    ("name", "cls"), [("almgren_chriss", AlmgrenChriss), ("powerlaw_ac", PowerLawAC)]
)
def test_short_names_are_registered(name, cls):
    assert load_strategy(name) is cls
