"""Almgren-Chriss with drift, bounds on each child order, and whole portfolios, against
computations of their own: direct linear solves of the first-order conditions, the price
dynamics stepped through, an enumeration of every active set, and the KKT conditions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lobsim import (
    InputError,
    ac_bounded_trajectory,
    ac_cost_variance,
    ac_frontier,
    ac_portfolio_cost_variance,
    ac_portfolio_frontier,
    ac_portfolio_trajectory,
    ac_trajectory,
    powerlaw_trajectory,
)
from lobsim.almgren_chriss import powerlaw_cost

# The 2001 paper's example: 1e6 shares over 5 days, $ prices.
PAPER = {"horizon": 5.0, "sigma": 0.95, "eta": 2.5e-6, "gamma": 2.5e-7, "epsilon": 0.0625}
X = 1e6


def objective(x, steps, lam, drift, p=PAPER):
    """E + lambda V of holdings x (N + 1,), by the sums of [AC] section 1 plus the drift."""
    e, v = ac_cost_variance(x, p["horizon"], p["sigma"], p["eta"], p["gamma"], p["epsilon"],
                            drift)  # fmt: skip
    return e + lam * v


def direct_optimum(steps, lam, drift, p=PAPER):
    """The interior holdings solving grad (E + lambda V) = 0, a linear system, by LAPACK."""
    tau = p["horizon"] / steps
    eta_tilde = p["eta"] - 0.5 * p["gamma"] * tau
    m = steps - 1
    a = (2 * eta_tilde / tau) * (2 * np.eye(m) - np.eye(m, k=1) - np.eye(m, k=-1))
    a += 2 * lam * p["sigma"] ** 2 * tau * np.eye(m)
    b = np.full(m, drift * tau)
    b[0] += 2 * eta_tilde / tau * X
    return np.concatenate([[X], np.linalg.solve(a, b), [0.0]])


@pytest.mark.parametrize("drift", [0.0, 0.3, -0.3, 2.0])
@pytest.mark.parametrize("lam", [0.0, 1e-8, 1e-6, 1e-4])
def test_the_drifted_trajectory_is_the_direct_optimum(lam, drift):
    path = ac_trajectory(X, steps=20, risk_aversion=lam, drift=drift, **PAPER)
    np.testing.assert_allclose(path, direct_optimum(20, lam, drift), rtol=1e-9, atol=1e-6 * X)


def test_expected_cost_with_drift_matches_the_price_dynamics():
    """X S0 - sum n_k S~_k with the mid drifting alpha tau an interval (no noise: the noise
    has mean 0 and enters linearly)."""
    drift, steps = 0.4, 10
    path = ac_trajectory(X, steps=steps, risk_aversion=1e-6, drift=drift, **PAPER)
    tau = PAPER["horizon"] / steps
    price, capture = 50.0, 0.0
    for k in range(1, steps + 1):
        sold = path[k - 1] - path[k]
        capture += sold * (price - PAPER["epsilon"] * np.sign(sold) - PAPER["eta"] * sold / tau)
        price += drift * tau - PAPER["gamma"] * sold
    expected = ac_cost_variance(path, PAPER["horizon"], PAPER["sigma"], PAPER["eta"],
                                PAPER["gamma"], PAPER["epsilon"], drift)[0]  # fmt: skip
    assert expected == pytest.approx(X * 50.0 - capture, rel=1e-12)


def test_a_rising_price_makes_a_seller_hold_and_a_falling_one_hurry():
    plain = ac_trajectory(X, steps=10, risk_aversion=1e-6, **PAPER)
    up = ac_trajectory(X, steps=10, risk_aversion=1e-6, drift=0.5, **PAPER)
    down = ac_trajectory(X, steps=10, risk_aversion=1e-6, drift=-0.5, **PAPER)
    assert (up[1:-1] > plain[1:-1]).all() and (down[1:-1] < plain[1:-1]).all()
    # [AC]'s x_bar: the level the drift pulls the holdings to, alpha / (2 lambda sigma^2).
    far = ac_trajectory(X, steps=200, risk_aversion=1e-3, drift=0.5, **PAPER)
    assert far[100] == pytest.approx(0.5 / (2 * 1e-3 * PAPER["sigma"] ** 2), rel=1e-9)


def test_vanishing_risk_aversion_with_drift_tends_to_the_parabola():
    steps, drift = 16, 0.3
    tau = PAPER["horizon"] / steps
    eta_tilde = PAPER["eta"] - 0.5 * PAPER["gamma"] * tau
    j = np.arange(steps + 1)
    parabola = X * (steps - j) / steps + drift * tau**2 * j * (steps - j) / (4 * eta_tilde)
    np.testing.assert_allclose(ac_trajectory(X, steps=steps, risk_aversion=0.0, drift=drift,
                                             **PAPER), parabola, rtol=1e-13)  # fmt: skip
    for lam in (1e-12, 1e-16, 1e-24):
        path = ac_trajectory(X, steps=steps, risk_aversion=lam, drift=drift, **PAPER)
        np.testing.assert_allclose(path, parabola, rtol=1e-4 * lam / 1e-12 + 1e-12)


def test_an_extreme_urgency_with_drift_stays_finite():
    path = ac_trajectory(X, steps=50, risk_aversion=1e3, drift=5.0, **PAPER)
    assert np.isfinite(path).all() and path[0] == X and path[-1] == 0.0


def bounded_objective(sales, steps, lam, drift, p=PAPER):
    return objective(np.concatenate([[X], X - np.cumsum(sales)]), steps, lam, drift, p)


def gradient(sales, steps, lam, drift, p=PAPER):
    """d(E + lambda V)/dn_k with x_j = X - sum_{i<=j} n_i (exact for the quadratic)."""
    tau = p["horizon"] / steps
    eta_tilde = p["eta"] - 0.5 * p["gamma"] * tau
    x = X - np.cumsum(sales)  # x_1..x_N
    tail = np.cumsum((2 * lam * p["sigma"] ** 2 * tau * x[:-1] - drift * tau)[::-1])[::-1]
    return 2 * eta_tilde / tau * sales - np.concatenate([tail, [0.0]])


def assert_kkt(sales, lo, hi, grad, scale):
    """Some mu with grad_k = mu where n_k is inside its bounds, >= mu at its lower bound and
    <= mu at its upper one."""
    at_lo, at_hi = sales <= lo + 1e-9 * scale, sales >= hi - 1e-9 * scale
    free = ~at_lo & ~at_hi
    tol = 1e-7 * max(np.abs(grad).max(), 1e-300)
    if free.any():
        mu = np.median(grad[free])
        assert np.abs(grad[free] - mu).max() <= tol
    else:  # every order at a bound: any mu between the two sides' gradients
        mu = grad[at_hi].max(initial=-np.inf)
    assert (grad[at_lo] >= mu - tol).all()
    assert (grad[at_hi] <= mu + tol).all()


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 40),
    st.sampled_from([0.0, 1e-7, 1e-6, 1e-5]),
    st.floats(-1.0, 1.0),
    st.floats(1.05, 3.0),
    st.floats(0.0, 0.9),
)
def test_the_bounded_optimum_meets_the_kkt_conditions(steps, lam, drift, cap, floor):
    hi, lo = cap * X / steps, floor * X / steps
    path = ac_bounded_trajectory(X, steps=steps, risk_aversion=lam, drift=drift, min_trade=lo,
                                 max_trade=hi, **PAPER)  # fmt: skip
    sales = path[:-1] - path[1:]
    assert path[0] == X and path[-1] == 0.0
    assert sales.sum() == pytest.approx(X, rel=1e-12)
    assert (sales >= lo - 1e-6).all() and (sales <= hi + 1e-6).all()
    assert_kkt(sales, lo, hi, gradient(sales, steps, lam, drift), X / steps)


def test_the_bounded_optimum_is_the_best_of_every_active_set():
    """N = 5: for each assignment of each n_k to its lower bound, its upper bound or free, the
    equality-constrained optimum (a linear solve); the best feasible one is the optimum."""
    steps, lam, drift = 5, 2e-6, 0.2
    lo = np.array([0.0, 1e5, 0.0, 5e4, 0.0])
    hi = np.array([3e5, 3e5, 2.5e5, 2.5e5, 4e5])
    tau = PAPER["horizon"] / steps
    eta_tilde = PAPER["eta"] - 0.5 * PAPER["gamma"] * tau
    # E + lambda V as 1/2 n'Q n - c'n + const in n (x_j = X - sum_{i<=j} n_i, j < N).
    lower = np.tril(np.ones((steps - 1, steps)))
    q = 2 * eta_tilde / tau * np.eye(steps) + 2 * lam * PAPER["sigma"] ** 2 * tau * lower.T @ lower
    c = lower.T @ (2 * lam * PAPER["sigma"] ** 2 * tau * X * np.ones(steps - 1)) - drift * tau * (
        lower.T @ np.ones(steps - 1))  # fmt: skip
    best = math.inf
    for assignment in itertools.product((0, 1, 2), repeat=steps):
        fixed = np.array(assignment)
        free = fixed == 2
        n = np.where(fixed == 0, lo, hi).astype(float)
        if free.any():
            f = np.flatnonzero(free)
            kkt = np.zeros((f.size + 1, f.size + 1))
            kkt[: f.size, : f.size] = q[np.ix_(f, f)]
            kkt[: f.size, -1] = kkt[-1, : f.size] = 1.0
            rhs = np.concatenate([c[f] - q[np.ix_(f, ~free)] @ n[~free], [X - n[~free].sum()]])
            n[f] = np.linalg.solve(kkt, rhs)[:-1]
        if abs(n.sum() - X) > 1e-6 or (n < lo - 1e-6).any() or (n > hi + 1e-6).any():
            continue
        best = min(best, bounded_objective(n, steps, lam, drift))
    path = ac_bounded_trajectory(X, steps=steps, risk_aversion=lam, drift=drift, min_trade=lo,
                                 max_trade=hi, **PAPER)  # fmt: skip
    assert bounded_objective(path[:-1] - path[1:], steps, lam, drift) == pytest.approx(
        best, rel=1e-12
    )


@pytest.mark.parametrize("drift", [0.0, 0.1])
def test_bounds_that_do_not_bind_give_the_closed_form(drift):
    free = ac_trajectory(X, steps=30, risk_aversion=1e-6, drift=drift, **PAPER)
    bounded = ac_bounded_trajectory(X, steps=30, risk_aversion=1e-6, drift=drift, **PAPER)
    np.testing.assert_allclose(bounded, free, rtol=1e-10, atol=1e-7)


def test_a_cap_on_each_child_order_spreads_the_urgent_start():
    path = ac_bounded_trajectory(X, steps=10, risk_aversion=1e-5, max_trade=2e5, **PAPER)
    sales = path[:-1] - path[1:]
    assert sales.max() == pytest.approx(2e5) and (sales[:3] == pytest.approx(2e5))
    plain = ac_trajectory(X, steps=10, risk_aversion=1e-5, **PAPER)
    assert objective(path, 10, 1e-5, 0.0) > objective(plain, 10, 1e-5, 0.0)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"min_trade": 2e5}, "no schedule meets the bounds"),
        ({"max_trade": 5e4}, "no schedule meets the bounds"),
        ({"min_trade": 10.0, "max_trade": 5.0}, "0 <= min_trade <= max_trade"),
        ({"min_trade": -1.0}, "0 <= min_trade"),
        ({"max_trade": [1e6, 1e6]}, "one per interval"),
    ],
)
def test_bounds_no_schedule_meets_are_refused(bounds, message):
    with pytest.raises(InputError, match=message):
        ac_bounded_trajectory(X, steps=10, risk_aversion=1e-6, **PAPER, **bounds)


# A three-stock basket: daily covariance of price changes ($^2 / share^2), impacts per stock.
COV = np.array([[0.90, 0.45, -0.20], [0.45, 0.60, 0.10], [-0.20, 0.10, 0.40]])
SHARES = np.array([1e6, 5e5, -3e5])  # the third is bought back
ETA = np.array([2.5e-6, 1.5e-6, 1e-6])
GAMMA = np.array([2.5e-7, 1e-7, 5e-8])
EPS = np.array([0.06, 0.04, 0.03])


def portfolio_direct(steps, lam, drift, horizon=1.0):
    """The stacked interior holdings solving the portfolio's first-order conditions."""
    tau = horizon / steps
    eta_tilde = np.diag(ETA) - 0.5 * tau * np.diag(GAMMA)
    m, n = len(SHARES), steps - 1
    second = 2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    a = np.kron(second, 2 * eta_tilde / tau) + np.kron(np.eye(n), 2 * lam * tau * COV)
    b = np.tile(drift * tau, n)
    b[:m] += 2 * eta_tilde / tau @ SHARES
    inner = np.linalg.solve(a, b).reshape(n, m)
    return np.vstack([SHARES, inner, np.zeros(m)])


@pytest.mark.parametrize("drift", [None, np.array([0.3, -0.2, 0.1])])
@pytest.mark.parametrize("lam", [0.0, 1e-7, 1e-5])
def test_the_portfolio_trajectory_is_the_direct_optimum(lam, drift):
    path = ac_portfolio_trajectory(SHARES, 1.0, 12, COV, ETA, GAMMA, EPS, lam, drift=drift)
    direct = portfolio_direct(12, lam, np.zeros(3) if drift is None else drift)
    np.testing.assert_allclose(path, direct, rtol=1e-9, atol=1e-6 * np.abs(SHARES).max())


def test_uncorrelated_assets_are_the_single_asset_solutions():
    drift = np.array([0.2, 0.0, -0.1])
    path = ac_portfolio_trajectory(SHARES, 1.0, 20, np.diag(np.diag(COV)), ETA, GAMMA, EPS,
                                   1e-6, drift=drift)  # fmt: skip
    for i in range(3):
        alone = ac_trajectory(abs(SHARES[i]), 1.0, 20, math.sqrt(COV[i, i]), ETA[i], GAMMA[i],
                              EPS[i], 1e-6, np.sign(SHARES[i]) * drift[i])  # fmt: skip
        np.testing.assert_allclose(path[:, i], np.sign(SHARES[i]) * alone, rtol=1e-10, atol=1e-4)


def test_the_joint_solution_is_at_least_as_good_as_solving_each_stock_alone():
    lam = 1e-6
    joint = ac_portfolio_trajectory(SHARES, 1.0, 20, COV, ETA, GAMMA, EPS, lam)
    alone = np.column_stack([
        np.sign(SHARES[i]) * ac_trajectory(abs(SHARES[i]), 1.0, 20, math.sqrt(COV[i, i]),
                                           ETA[i], GAMMA[i], EPS[i], lam)
        for i in range(3)
    ])  # fmt: skip

    def utility(path):
        e, v = ac_portfolio_cost_variance(path, 1.0, COV, ETA, GAMMA, EPS)
        return e + lam * v

    assert utility(joint) < utility(alone)


def test_one_asset_portfolio_costs_what_the_single_asset_formulas_say():
    path = ac_trajectory(X, steps=10, risk_aversion=1e-6, drift=0.2, **PAPER)
    single = ac_cost_variance(path, PAPER["horizon"], PAPER["sigma"], PAPER["eta"],
                              PAPER["gamma"], PAPER["epsilon"], 0.2)  # fmt: skip
    joint = ac_portfolio_cost_variance(path[:, None], PAPER["horizon"], [[PAPER["sigma"] ** 2]],
                                       [PAPER["eta"]], [PAPER["gamma"]], [PAPER["epsilon"]],
                                       [0.2])  # fmt: skip
    assert joint == pytest.approx(single, rel=1e-12)


def test_the_portfolio_frontier_trades_cost_for_variance():
    frontier = ac_portfolio_frontier(SHARES, 1.0, 20, COV, ETA, GAMMA, EPS,
                                     np.geomspace(1e-9, 1e-4, 8))  # fmt: skip
    assert (np.diff(frontier["expected_cost"]) > 0).all()
    assert (np.diff(frontier["variance"]) < 0).all()
    single = ac_frontier(X, steps=10, risk_aversions=[1e-6], drift=0.1, **PAPER)
    path = ac_trajectory(X, steps=10, risk_aversion=1e-6, drift=0.1, **PAPER)
    assert single["expected_cost"].iloc[0] == pytest.approx(objective(path, 10, 0.0, 0.1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"covariance": COV + np.eye(3, k=1) * 0.1}, "covariance must be symmetric"),
        ({"covariance": -COV}, "positive semi-definite"),
        ({"gamma": np.diag(GAMMA) + np.eye(3, k=1) * 1e-8}, "gamma must be symmetric"),
        ({"eta": np.array([2.5e-6, 1e-12, 1e-6])}, "positive definite"),
        ({"eta": np.ones(2)}, r"eta must be finite, of shape \(3,\) or \(3, 3\)"),
        ({"drift": np.ones(2)}, "drift must be None or 3 finite numbers"),
    ],
)
def test_bad_portfolios_are_refused_by_name(change, message):
    args = {"covariance": COV, "eta": ETA, "gamma": GAMMA, "drift": None} | change
    with pytest.raises(InputError, match=message):
        ac_portfolio_trajectory(SHARES, 1.0, 10, args["covariance"], args["eta"], args["gamma"],
                                EPS, 1e-6, drift=args["drift"])  # fmt: skip


VOLUMES = np.array([4.0, 2.0, 1.0, 1.0, 1.5, 3.0]) * 1e5


def powerlaw_gradient(q, volumes, sigma, eta, phi, risk, drift):
    steps = len(volumes)
    tau = 1.0 / steps
    n = q[:-1] - q[1:]
    marginal = eta * (1 + phi) * (n / volumes) ** phi
    tail = np.cumsum((risk * sigma**2 * tau * q[1:-1] - drift * tau)[::-1])[::-1]
    return marginal - np.concatenate([tail, [0.0]])


@pytest.mark.parametrize("drift", [0.0, 0.5, -0.5])
@pytest.mark.parametrize("cap", [None, 0.4])
def test_the_powerlaw_schedule_with_drift_and_a_participation_cap_meets_its_kkt(drift, cap):
    sigma, eta, phi, risk, shares = 1.2, 0.05, 0.6, 1e-5, 4.5e5
    hi = np.inf if cap is None else cap * VOLUMES
    q = powerlaw_trajectory(shares, VOLUMES, sigma, eta, phi, risk, drift=drift, max_trade=hi)
    n = q[:-1] - q[1:]
    assert (n >= 0).all() and (n <= hi + 1e-6).all() and n.sum() == pytest.approx(shares)
    grad = powerlaw_gradient(q, VOLUMES, sigma, eta, phi, risk, drift)
    assert_kkt(n, np.zeros_like(n), np.broadcast_to(hi, n.shape), grad, shares / len(n))
    if cap is not None:
        assert np.isclose(n, hi, rtol=1e-9).any()  # the cap binds somewhere
    # Cheaper than VWAP, feasible under the cap too (shares / sum V = 0.36 < 0.4).
    vwap = shares - np.concatenate([[0.0], np.cumsum(shares * VOLUMES / VOLUMES.sum())])
    vwap[-1] = 0.0
    cost = powerlaw_cost(q, VOLUMES, sigma, eta, phi, risk, drift=drift)
    assert cost < powerlaw_cost(vwap, VOLUMES, sigma, eta, phi, risk, drift=drift)


def test_powerlaw_bounds_that_do_not_bind_give_the_unbounded_schedule():
    args = (6e5, VOLUMES, 1.2, 0.05, 0.6, 1e-5)
    np.testing.assert_allclose(powerlaw_trajectory(*args, max_trade=1e12),
                               powerlaw_trajectory(*args), rtol=1e-10)  # fmt: skip
