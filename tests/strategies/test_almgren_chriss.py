"""Almgren-Chriss closed forms and the power-law solver against independent computation.

The references here do not reuse the module's formulas: the price dynamics of Almgren &
Chriss (2001) section 1 are simulated step by step, E + lambda V is minimised by Newton's method
on finite differences, and the power-law cost is summed in its rate form.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lobsim.errors import InputError
from lobsim.strategies.almgren_chriss import (
    ac_cost_variance,
    ac_frontier,
    ac_kappa,
    ac_trajectory,
    powerlaw_cost,
    powerlaw_trajectory,
)

# The numerical example of Almgren & Chriss (2001): 1e6 shares over 5 days, prices in $.
PAPER = {"horizon": 5.0, "sigma": 0.95, "eta": 2.5e-6, "gamma": 2.5e-7, "epsilon": 0.0625}
SHARES = 1e6


def paper_trajectory(steps: int = 10, risk_aversion: float = 1e-6) -> np.ndarray:
    return ac_trajectory(SHARES, steps=steps, risk_aversion=risk_aversion, **PAPER)


def simulated_shortfall(holdings: np.ndarray, xi: np.ndarray, s0: float = 50.0) -> float:
    """X S_0 - sum_k n_k S~_k along one price path of [AC] section 1 (linear g and h)."""
    tau = PAPER["horizon"] / (len(holdings) - 1)
    price, capture = s0, 0.0
    for k in range(1, len(holdings)):
        sold = holdings[k - 1] - holdings[k]
        rate = sold / tau
        fill = price - (PAPER["epsilon"] * np.sign(sold) + PAPER["eta"] * rate)
        capture += sold * fill
        price += PAPER["sigma"] * math.sqrt(tau) * xi[k - 1] - tau * PAPER["gamma"] * rate
    return holdings[0] * s0 - capture


def mean_variance(interior: np.ndarray, steps: int, risk_aversion: float) -> float:
    """E + lambda V by the direct sums of [AC] section 1.4, for x_1..x_{N-1}."""
    x = np.concatenate([[SHARES], interior, [0.0]])
    tau = PAPER["horizon"] / steps
    sold = x[:-1] - x[1:]
    permanent = np.sum(tau * x[1:] * PAPER["gamma"] * sold / tau)
    temporary = np.sum(sold * (PAPER["epsilon"] * np.sign(sold) + PAPER["eta"] * sold / tau))
    return permanent + temporary + risk_aversion * PAPER["sigma"] ** 2 * np.sum(tau * x[1:] ** 2)


def newton_minimise(f, start: np.ndarray, h: float, iterations: int = 3) -> np.ndarray:
    """Newton's method with central finite-difference gradient and Hessian."""
    y = start.copy()
    eye = np.eye(y.size) * h
    for _ in range(iterations):
        grad = np.array([(f(y + e) - f(y - e)) / (2 * h) for e in eye])
        hess = np.array(
            [[f(y + a + b) - f(y + a - b) - f(y - a + b) + f(y - a - b) for b in eye] for a in eye]
        ) / (4 * h * h)
        y = y - np.linalg.solve(hess, grad)
    return y


def rate_form_cost(holdings, volumes, sigma, eta, phi, risk_aversion, horizon) -> float:
    """sum_k V_k eta |v_k / V_k|^(1+phi) tau + gamma sigma^2 / 2 sum_k tau q_k^2, V_k as rates."""
    tau = horizon / len(volumes)
    rates = (holdings[:-1] - holdings[1:]) / tau
    market = np.asarray(volumes) / tau
    impact = np.sum(market * eta * np.abs(rates / market) ** (1 + phi) * tau)
    return impact + risk_aversion * sigma**2 / 2 * np.sum(tau * holdings[1:] ** 2)


def feasible_perturbations(trades: np.ndarray, rng: np.random.Generator, count: int):
    """Trade lists with the same total and no buying, near and far from ``trades``."""
    for scale in np.geomspace(1e-6, 0.5, count):
        delta = rng.normal(size=trades.size)
        delta -= delta.mean()
        delta *= scale * trades.sum() / np.abs(delta).max()
        shrink = np.min(np.where(delta < 0, trades / -delta, np.inf))
        yield trades + delta * min(1.0, 0.99 * shrink)


def holdings_from(trades: np.ndarray, shares: float) -> np.ndarray:
    return np.concatenate([[shares], shares - np.cumsum(trades)[:-1], [0.0]])


U_SHAPE = 1e4 * (1.0 + 3.0 * np.linspace(-1.0, 1.0, 26) ** 2)


# --- Almgren-Chriss closed forms -----------------------------------------------------------


def test_expected_cost_matches_the_price_dynamics():
    rng = np.random.default_rng(1)
    holdings = np.concatenate([[SHARES], rng.uniform(-2e5, 1.2e6, 7), [0.0]])  # buys back too

    expected, _ = ac_cost_variance(holdings, **PAPER)

    assert expected == pytest.approx(simulated_shortfall(holdings, np.zeros(8)), rel=1e-10)


def test_variance_matches_the_price_dynamics():
    rng = np.random.default_rng(2)
    holdings = np.concatenate([[SHARES], rng.uniform(-2e5, 1.2e6, 7), [0.0]])
    base = simulated_shortfall(holdings, np.zeros(8))
    # The shortfall is linear in the shocks xi_k ~ N(0, 1): V is the sum of squared slopes.
    slopes = [simulated_shortfall(holdings, unit) - base for unit in np.eye(8)]

    _, variance = ac_cost_variance(holdings, **PAPER)

    assert variance == pytest.approx(np.sum(np.square(slopes)), rel=1e-8)


def test_kappa_solves_the_cosh_relation():
    tau = PAPER["horizon"] / 10
    eta_tilde = PAPER["eta"] - PAPER["gamma"] * tau / 2
    kappa_tilde_sq = 1e-6 * PAPER["sigma"] ** 2 / eta_tilde

    kappa = ac_kappa(PAPER["horizon"], 10, PAPER["sigma"], PAPER["eta"], PAPER["gamma"], 1e-6)

    assert math.cosh(kappa * tau) == pytest.approx(1 + kappa_tilde_sq * tau**2 / 2, rel=1e-14)


def test_trajectory_solves_the_discrete_euler_lagrange_equation():
    steps, lam = 12, 3e-6
    tau = PAPER["horizon"] / steps
    kappa_tilde_sq = lam * PAPER["sigma"] ** 2 / (PAPER["eta"] - PAPER["gamma"] * tau / 2)

    x = paper_trajectory(steps, lam)

    second_difference = (x[:-2] - 2 * x[1:-1] + x[2:]) / tau**2
    np.testing.assert_allclose(second_difference, kappa_tilde_sq * x[1:-1], rtol=1e-9)


@pytest.mark.parametrize("risk_aversion", [2e-7, 1e-6, 2e-5])
def test_trajectory_minimises_mean_plus_lambda_variance(risk_aversion):
    steps = 8
    line = np.linspace(SHARES, 0.0, steps + 1)[1:-1]

    def objective(y):
        return mean_variance(y, steps, risk_aversion)

    optimum = newton_minimise(objective, line, h=0.5)  # below every trade: no kink crossed

    np.testing.assert_allclose(
        paper_trajectory(steps, risk_aversion)[1:-1], optimum, rtol=0, atol=1e-9 * SHARES
    )


def test_zero_risk_aversion_is_the_straight_line():
    x = paper_trajectory(10, 0.0)

    np.testing.assert_allclose(x, np.linspace(SHARES, 0.0, 11), rtol=0, atol=1e-9)


def test_vanishing_risk_aversion_tends_continuously_to_the_straight_line():
    lambdas = np.geomspace(1e-30, 1e-8, 45)  # crosses the switch to the exact line near 1e-23
    line = np.linspace(SHARES, 0.0, 11)

    gaps = np.array([np.max(np.abs(paper_trajectory(10, lam) - line)) for lam in lambdas])

    assert np.all(np.diff(gaps) >= -1e-9)
    assert gaps[0] <= 1e-9
    assert gaps[-1] > 0.0


def test_extreme_risk_aversion_sells_everything_at_once():
    x = paper_trajectory(10, 1e30)

    assert x[0] == SHARES
    np.testing.assert_allclose(x[1:], 0.0, atol=1e-20)


def test_cost_and_variance_of_the_optimum_match_the_paper_closed_forms():
    steps, lam = 5, 1e-6
    tau, horizon = PAPER["horizon"] / steps, PAPER["horizon"]
    eta_tilde = PAPER["eta"] - PAPER["gamma"] * tau / 2
    k = ac_kappa(horizon, steps, PAPER["sigma"], PAPER["eta"], PAPER["gamma"], lam)
    sinh_t, sinh_tau = math.sinh(k * horizon), math.sinh(k * tau)
    paper_e = PAPER["gamma"] * SHARES**2 / 2 + PAPER["epsilon"] * SHARES
    paper_e += (
        eta_tilde * SHARES**2 * math.tanh(k * tau / 2)
        * (tau * math.sinh(2 * k * horizon) + 2 * horizon * sinh_tau) / (2 * tau**2 * sinh_t**2)
    )  # fmt: skip
    paper_v = (
        PAPER["sigma"] ** 2 * SHARES**2 / 2
        * (tau * sinh_t * math.cosh(k * (horizon - tau)) - horizon * sinh_tau)
        / (sinh_t**2 * sinh_tau)
    )  # fmt: skip

    expected, variance = ac_cost_variance(paper_trajectory(steps, lam), **PAPER)

    assert (expected, variance) == pytest.approx((paper_e, paper_v), rel=1e-12)


def test_frontier_slope_is_minus_lambda():
    lam, h = 1e-6, 1e-9
    frontier = ac_frontier(SHARES, steps=10, risk_aversions=[lam - h, lam + h], **PAPER)

    slope = np.diff(frontier["expected_cost"]) / np.diff(frontier["variance"])

    assert slope[0] == pytest.approx(-lam, rel=1e-5)


def test_frontier_trades_expected_cost_for_variance():
    frontier = ac_frontier(SHARES, steps=10, risk_aversions=np.geomspace(1e-8, 1e-4, 9), **PAPER)

    assert list(frontier.columns) == ["risk_aversion", "expected_cost", "variance"]
    assert np.all(np.diff(frontier["expected_cost"]) > 0)
    assert np.all(np.diff(frontier["variance"]) < 0)


# --- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"shares": -1.0}, "shares"),
        ({"horizon": 0.0}, "horizon"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"sigma": math.nan}, "sigma"),
        ({"eta": 0.0}, "eta"),
        ({"gamma": -1e-7}, "gamma"),
        ({"epsilon": math.inf}, "epsilon"),
        ({"risk_aversion": -1e-6}, "risk_aversion"),
        ({"gamma": 1e-5}, "eta_tilde"),  # eta - gamma tau / 2 < 0
    ],
)
def test_trajectory_refuses_bad_arguments_by_name(change, named):
    args = {"shares": SHARES, "steps": 10, "risk_aversion": 1e-6, **PAPER, **change}

    with pytest.raises(InputError, match=named):
        ac_trajectory(**args)


@pytest.mark.parametrize(
    "holdings", [[SHARES, 5e5, 1.0], [SHARES], [[SHARES, 0.0]], [SHARES, math.nan, 0.0]]
)
def test_cost_variance_refuses_bad_holdings(holdings):
    with pytest.raises(InputError, match="holdings"):
        ac_cost_variance(holdings, **PAPER)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"volumes": np.r_[U_SHAPE[:-1], 0.0]}, "volumes"),
        ({"volumes": np.ones((2, 13))}, "volumes"),
        ({"phi": 0.0}, "phi"),
        ({"eta": -0.1}, "eta"),
        ({"risk_aversion": math.nan}, "risk_aversion"),
        ({"horizon": -1.0}, "horizon"),
        ({"shares": -5.0}, "shares"),
    ],
)
def test_powerlaw_trajectory_refuses_bad_arguments_by_name(change, named):
    args = {"shares": 1e5, "volumes": U_SHAPE, "sigma": 0.5, "eta": 0.1, "phi": 0.6}
    args = {**args, "risk_aversion": 1e-6, **change}

    with pytest.raises(InputError, match=named):
        powerlaw_trajectory(**args)


def test_powerlaw_cost_refuses_holdings_of_the_wrong_length():
    with pytest.raises(InputError, match="holdings"):
        powerlaw_cost(np.linspace(1e5, 0, 5), U_SHAPE, 0.5, 0.1, 0.6, 1e-6)


# --- power-law cost with a volume curve ----------------------------------------------------


def test_powerlaw_cost_is_the_rate_form_objective():
    rng = np.random.default_rng(3)
    holdings = np.concatenate([[1e5], np.sort(rng.uniform(0, 1e5, 25))[::-1], [0.0]])

    cost = powerlaw_cost(holdings, U_SHAPE, 0.5, 0.1, 0.6, 2e-6, horizon=0.25)

    assert cost == pytest.approx(
        rate_form_cost(holdings, U_SHAPE, 0.5, 0.1, 0.6, 2e-6, 0.25), rel=1e-12
    )


def test_zero_risk_aversion_gives_vwap():
    volumes = np.random.default_rng(4).lognormal(9.0, 1.0, 40)

    q = powerlaw_trajectory(1e5, volumes, 0.5, 0.1, 2 / 3, 0.0)

    np.testing.assert_allclose(-np.diff(q), 1e5 * volumes / volumes.sum(), rtol=1e-12)


def test_no_feasible_perturbation_of_vwap_lowers_the_risk_neutral_cost():
    volumes = np.random.default_rng(5).lognormal(9.0, 1.0, 30)
    vwap = 1e5 * volumes / volumes.sum()
    base = rate_form_cost(holdings_from(vwap, 1e5), volumes, 0.5, 0.1, 2 / 3, 0.0, 1.0)

    costs = [
        rate_form_cost(holdings_from(trades, 1e5), volumes, 0.5, 0.1, 2 / 3, 0.0, 1.0)
        for trades in feasible_perturbations(vwap, np.random.default_rng(6), 300)
    ]

    assert min(costs) >= base * (1 - 1e-14)


def test_constant_volume_twap_equals_vwap():
    q = powerlaw_trajectory(1e5, np.full(20, 3e4), 0.5, 0.1, 0.6, 0.0)

    np.testing.assert_allclose(q, np.linspace(1e5, 0.0, 21), rtol=0, atol=1e-9)


def test_no_feasible_perturbation_lowers_the_risk_averse_cost():
    args = (U_SHAPE, 0.5, 0.1, 0.6, 1e-6, 1.0)
    trades = -np.diff(powerlaw_trajectory(1e5, *args))
    base = rate_form_cost(holdings_from(trades, 1e5), *args)

    costs = [
        rate_form_cost(holdings_from(other, 1e5), *args)
        for other in feasible_perturbations(trades, np.random.default_rng(7), 300)
    ]

    assert min(costs) >= base * (1 - 1e-14)


def test_front_loading_increases_with_risk_aversion():
    schedules = [
        powerlaw_trajectory(1e5, U_SHAPE, 0.5, 0.1, 0.6, lam) for lam in (0.0, 1e-7, 1e-6, 1e-5)
    ]

    for lower, higher in itertools.pairwise(schedules):
        assert np.all(higher[1:-1] < lower[1:-1])


def test_quadratic_case_with_constant_volume_is_almgren_chriss():
    steps, horizon, volume, eta, risk = 20, 2.0, 5e4, 0.3, 3e-5
    tau = horizon / steps

    q = powerlaw_trajectory(2e5, np.full(steps, volume), 0.8, eta, 1.0, risk, horizon)

    # Same discretisation (risk on q_1..q_N); L = eta n^2 / V is [AC]'s (eta tau / V) n^2 / tau.
    x = ac_trajectory(2e5, horizon, steps, 0.8, eta * tau / volume, 0.0, 0.0, risk / 2)
    np.testing.assert_allclose(q, x, rtol=0, atol=1e-9 * 2e5)


def test_single_interval_sells_everything():
    assert powerlaw_trajectory(7.0, [1e3], 0.5, 0.1, 0.6, 1e-3).tolist() == [7.0, 0.0]


volume_curves = st.lists(st.floats(1e2, 1e6), min_size=2, max_size=60).map(np.array)
risk_aversions = st.one_of(st.just(0.0), st.floats(1e-10, 1e-2))


@settings(max_examples=60, deadline=None)
@given(volumes=volume_curves, phi=st.floats(0.2, 3.0), risk=risk_aversions)
def test_solution_satisfies_the_first_order_conditions(volumes, phi, risk):
    shares, sigma, eta, horizon = 1e5, 0.5, 0.1, 1.0
    tau = horizon / volumes.size

    q = powerlaw_trajectory(shares, volumes, sigma, eta, phi, risk, horizon)

    trades = q[:-1] - q[1:]
    marginal = eta * (1 + phi) * (trades / volumes) ** phi
    exposure = risk * sigma**2 * tau * np.cumsum(q[1:][::-1])[::-1]
    # Trades below 1e-9 X are too small to read back from differences of q.
    multiplier = (marginal - exposure)[trades > 1e-9 * shares]
    assert np.ptp(multiplier) <= 1e-9 * marginal.max()


@settings(max_examples=60, deadline=None)
@given(volumes=volume_curves, phi=st.floats(0.05, 6.0), risk=st.floats(0.0, 1e3))
def test_solution_is_a_monotone_sale(volumes, phi, risk):
    q = powerlaw_trajectory(1e5, volumes, 0.5, 0.1, phi, risk)

    assert q[0] == 1e5 and q[-1] == 0.0
    assert np.all(np.diff(q) <= 0.0)


def test_trades_beyond_double_range_are_dropped_cleanly():
    # Regression: phi = 6 with this urgency puts the root at log mu < -1e300.
    volumes = 1e5 * (1 + 4 * (np.linspace(0, 1, 390) - 0.5) ** 2)

    q = powerlaw_trajectory(1e6, volumes, 0.5, 0.05, 6.0, 1.0)

    trades = q[:-1] - q[1:]
    assert np.all(np.isfinite(q)) and np.all(trades >= 0.0)
    assert trades[0] > 0.0 and trades[-1] == 0.0
    marginal = 0.05 * 7.0 * (trades / volumes) ** 6.0
    exposure = 1.0 * 0.5**2 / 390 * np.cumsum(q[1:][::-1])[::-1]
    multiplier = (marginal - exposure)[trades > 1e-9 * 1e6]
    assert np.ptp(multiplier) <= 1e-9 * marginal.max()
