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


def test_a_participation_cap_holds_every_planned_child_order_to_its_share(fold):
    from lobsim.strategies._calibration import interval_volume

    plain = fold.fitted(AlmgrenChriss(risk_aversion=2e-6))
    capped = fold.fitted(AlmgrenChriss(risk_aversion=2e-6, max_participation=0.08))
    cap = 0.08 * interval_volume(fold.train).T / fold.train.parent[:, None]  # fraction, (N, K)
    sales = -np.diff(capped.holdings_, axis=1)
    assert (sales <= cap * (1 + 1e-9)).all() and (sales >= -1e-12).all()
    assert (-np.diff(plain.holdings_, axis=1) > cap).any()  # it binds where AC is urgent
    np.testing.assert_allclose(capped.holdings_[:, -1], 0.0)


def test_a_participation_cap_no_schedule_meets_is_refused_naming_the_stock(fold):
    with pytest.raises(InputError, match=r"for \w+ a participation cap of 0.001"):
        fold.fitted(AlmgrenChriss(max_participation=0.001))


@pytest.mark.parametrize("strategy", [AlmgrenChriss, PowerLawAC])
def test_a_positive_drift_makes_a_seller_wait_and_estimate_reads_the_training_days(fold, strategy):
    base = fold.fitted(strategy(risk_aversion=1e-7)).holdings_
    up = fold.fitted(strategy(risk_aversion=1e-7, drift=0.5)).holdings_
    assert (up[:, 1:-1] >= base[:, 1:-1]).all() and (up[:, 1:-1] > base[:, 1:-1]).any()
    estimated = fold.fitted(strategy(risk_aversion=1e-7, drift="estimate"))
    price = fold.train.panel.price
    np.testing.assert_allclose(estimated.drift_, (price[:, -1] - price[:, 0]).mean(axis=0))


def test_the_portfolio_mode_solves_the_basket_jointly(fold):
    from lobsim.almgren_chriss import ac_portfolio_cost_variance

    lam = 1e-6
    joint = fold.fitted(AlmgrenChriss(risk_aversion=lam, portfolio=True))
    alone = fold.fitted(AlmgrenChriss(risk_aversion=lam))
    cov = joint.covariance_
    np.testing.assert_allclose(np.diag(cov), alone.sigma_**2)
    assert (np.abs(cov - np.diag(np.diag(cov))) > 0).any()  # the stocks move together
    shares = fold.train.parent.astype(float)

    def utility(fractions):
        path = (fractions * shares[:, None]).T
        e, v = ac_portfolio_cost_variance(path, 1.0, cov, joint.eta_, joint.gamma_, joint.epsilon_)
        return e + lam * v

    assert utility(joint.holdings_) < utility(alone.holdings_)
    uncorrelated = AlmgrenChriss(risk_aversion=lam, portfolio=True)
    uncorrelated.fit(fold.train)  # and with the correlations gone it is the per-stock answer:
    from lobsim import ac_portfolio_trajectory

    diagonal = ac_portfolio_trajectory(shares, 1.0, fold.train.schedule.n_decisions,
                                       np.diag(np.diag(cov)), joint.eta_, joint.gamma_,
                                       joint.epsilon_, lam)  # fmt: skip
    np.testing.assert_allclose(diagonal.T / shares[:, None], alone.holdings_, atol=1e-9)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"drift": "guess"}, "drift must be a number, one per stock, or 'estimate'"),
        ({"max_participation": 1.5}, r"max_participation must be a fraction in \(0, 1\]"),
        ({"min_trade": -1}, "min_trade must be a number of shares >= 0"),
        ({"portfolio": True, "max_participation": 0.1}, "portfolio mode solves the basket"),
        ({"portfolio": "yes"}, "portfolio must be true or false"),
    ],
)
def test_bad_extension_options_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        AlmgrenChriss(**options).check_options()
