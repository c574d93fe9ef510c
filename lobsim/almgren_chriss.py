"""Almgren-Chriss optimal execution and its power-law, volume-curve generalisation.

Pure functions of NumPy arrays and floats, no simulator state. References:

- [AC] R. Almgren and N. Chriss (2001), "Optimal execution of portfolio transactions",
  Journal of Risk 3(2), 5-39. Section numbers below are those of the paper.
- [G] O. Gueant (2016), The Financial Mathematics of Market Liquidity, CRC Press, ch. 3-4.

Notation of [AC] section 1 (a sell program; a buy program is its mirror image): X shares are
sold over [0, T], cut into N intervals of length tau = T / N, t_k = k tau. Holdings x_0 = X,
x_1, ..., x_N = 0; n_k = x_{k-1} - x_k is the sale in interval k = 1..N. The mid moves by
sigma tau^(1/2) xi_k - tau g(n_k / tau) in interval k and the sale n_k fills at
S_{k-1} - h(n_k / tau), with the linear impact of [AC] section 1.5:

    g(v) = gamma v,        h(v) = epsilon sgn(n_k) + eta v.

Units: prices in $ / share, time in the unit of ``horizon``; sigma in $ / (share sqrt(time)),
eta in $ time / share^2, gamma in $ / share^2, epsilon in $ / share, the risk aversion lambda
in 1 / $. The expected shortfall E is in $, its variance V in $^2.

Extensions ([AC] section 2.5 for drift; [G] ch. 3-4 for bounds and portfolios):

- **Drift** alpha ($ / (share time), the ``drift`` argument): the expected price change per
  unit time, the trader's view of where the price is going. The mid then moves by an extra
  alpha tau in each interval and E gains - alpha tau sum_{k=1..N} x_k: for a sell program a
  positive drift rewards holding. The optimum solves the Euler-Lagrange recurrence
  (x_{j-1} - 2 x_j + x_{j+1}) / tau^2 = kappa_tilde^2 (x_j - x_bar) with x_bar = alpha /
  (2 lambda sigma^2): the undriven sinh path plus a bulge that the drift adds (or takes) in
  the middle of the horizon, which may make the program buy back or oversell.
- **Bounds** on each child order, min_trade <= n_k <= max_trade (a rate bound times tau, or
  a participation cap times each interval's expected volume): :func:`ac_bounded_trajectory`
  and :func:`powerlaw_trajectory` solve the constrained problem exactly (see there).
- **Portfolios** of m assets (:func:`ac_portfolio_trajectory`, [AC] section 5): holdings x_k
  and trades n_k in R^m, temporary impact h(v) = epsilon sgn(v) + H v and permanent
  g(v) = Gamma v (H, Gamma m x m; diagonal when given as vectors), C the covariance of the
  price changes per unit time; V = tau sum_k x_k' C x_k.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pandas as pd

from lobsim.errors import InputError

__all__ = [
    "ac_bounded_trajectory",
    "ac_cost_variance",
    "ac_frontier",
    "ac_kappa",
    "ac_portfolio_cost_variance",
    "ac_portfolio_frontier",
    "ac_portfolio_trajectory",
    "ac_trajectory",
    "powerlaw_cost",
    "powerlaw_trajectory",
]


def _real(fn: str, name: str, value: float, *, positive: bool = False) -> float:
    """``value`` as a float; refuses NaN, infinities, negatives and (if positive) zero."""
    out = float(value) if isinstance(value, (int, float, np.number)) else math.nan
    if not math.isfinite(out) or out < 0.0 or (positive and out == 0.0):
        expected = "> 0" if positive else ">= 0"
        raise InputError(f"{fn}: {name} must be a finite number {expected}, got {value!r}")
    return out


def _signed(fn: str, name: str, value: float) -> float:
    """``value`` as a finite float of either sign."""
    out = float(value) if isinstance(value, (int, float, np.number)) else math.nan
    if not math.isfinite(out):
        raise InputError(f"{fn}: {name} must be a finite number, got {value!r}")
    return out


def _holdings(fn: str, holdings: np.ndarray, size: int | None = None) -> np.ndarray:
    """A trajectory as float64, 1-D, finite, ending flat (the cost formulas assume it)."""
    x = np.asarray(holdings, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or (size is not None and x.size != size):
        expected = f"({size},)" if size is not None else "(N + 1,) with N >= 1"
        raise InputError(f"{fn}: holdings must have shape {expected}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        i = int(np.argmin(np.isfinite(x)))
        raise InputError(f"{fn}: holdings must be finite, got {x[i]} at index {i}")
    if x[-1] != 0.0:
        raise InputError(f"{fn}: holdings must end at 0 (the position is closed), got {x[-1]}")
    return x


def _steps(fn: str, steps: int) -> int:
    n = operator.index(steps) if isinstance(steps, (int, np.integer)) else 0
    if isinstance(steps, bool) or n < 1:
        raise InputError(f"{fn}: steps must be an integer >= 1, got {steps!r}")
    return n


def _ac_args(
    fn: str, horizon: float, steps: int, sigma: float, eta: float, gamma: float, lam: float
) -> tuple[int, float, float, float]:
    """Validate the arguments of the optimal trajectory; return N, kappa tau, eta_tilde and
    lambda sigma^2."""
    n = _steps(fn, steps)
    tau = _real(fn, "horizon", horizon, positive=True) / n
    eta_tilde = _real(fn, "eta", eta, positive=True) - 0.5 * _real(fn, "gamma", gamma) * tau
    if eta_tilde <= 0.0:  # [AC] section 1.5: E + lambda V is convex only if eta_tilde > 0
        raise InputError(
            f"{fn}: eta_tilde = eta - gamma * tau / 2 must be > 0, got {eta_tilde!r} "
            f"({eta=}, {gamma=}, tau={tau!r}); use more steps or a smaller gamma"
        )
    risk = _real(fn, "risk_aversion", lam) * _real(fn, "sigma", sigma) ** 2
    # cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2 is sinh(kappa tau / 2) = kappa_tilde tau / 2,
    # which keeps full precision when kappa tau is small (arccosh(1 + small) does not).
    return n, 2.0 * math.asinh(0.5 * math.sqrt(risk / eta_tilde) * tau), eta_tilde, risk


def _kappa_tau(pull: float) -> float:
    """kappa tau from Lambda = kappa_tilde^2 tau^2 (as in :func:`_ac_args`)."""
    return 2.0 * math.asinh(0.5 * math.sqrt(max(pull, 0.0)))


def _decay(kappa_tau: float, steps: int) -> np.ndarray:
    """r_j = sinh(kappa tau (N - j)) / sinh(kappa tau N), j = 0..N: the undriven optimum as a
    fraction of the position (the straight line when kappa = 0)."""
    kappa_tau = min(kappa_tau, 1e3)  # beyond, every trade after the first is below 1e-434 X
    j = np.arange(steps + 1, dtype=np.float64)
    if kappa_tau * steps < 1e-8:  # sinh(a) / sinh(b) = a / b to within (b^2 - a^2) / 6 < 1e-17
        return (steps - j) / steps
    # sinh(a) / sinh(b) = e^(a - b) (1 - e^(-2a)) / (1 - e^(-2b)), a = kappa (T - t_j),
    # b = kappa T: no overflow however large kappa T is.
    growth = np.expm1(-2.0 * kappa_tau * (steps - j)) / math.expm1(-2.0 * kappa_tau * steps)
    return np.exp(-kappa_tau * j) * growth


def _bulge(kappa_tau: float, steps: int, pull: float) -> np.ndarray:
    """q_j, j = 0..N: the solution of q_{j-1} - 2 q_j + q_{j+1} = Lambda q_j - 1 with
    q_0 = q_N = 0, Lambda = ``pull`` = 4 sinh^2(kappa tau / 2): the path a unit drift forcing
    adds. q = (1 - r_j - r_{N-j}) / Lambda, written (1 - e^-a)(1 - e^-b) / ((1 + e^-c)
    Lambda) with a = kappa tau (N - j), b = kappa tau j, c = kappa tau N (no cancellation,
    no overflow); j (N - j) / 2 in the limit Lambda -> 0."""
    j = np.arange(steps + 1, dtype=np.float64)
    if kappa_tau * steps < 1e-8:
        return 0.5 * j * (steps - j)
    kappa_tau = min(kappa_tau, 1e3)  # the shape is 1 inside, 0 at the ends, from here on
    shape = np.expm1(-kappa_tau * (steps - j)) * np.expm1(-kappa_tau * j)
    return shape / ((1.0 + math.exp(-kappa_tau * steps)) * pull)


def ac_kappa(
    horizon: float, steps: int, sigma: float, eta: float, gamma: float, risk_aversion: float
) -> float:
    """The urgency kappa of the optimal trajectory ([AC] section 2.2), 1 / (unit of time).

    kappa solves cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2 with kappa_tilde^2 =
    lambda sigma^2 / eta_tilde and eta_tilde = eta - gamma tau / 2; 1 / kappa is the trade's
    half-life ([AC] section 2.3). Arguments as in :func:`ac_trajectory`.
    """
    steps, kappa_tau, _, _ = _ac_args("ac_kappa", horizon, steps, sigma, eta, gamma,
                                      risk_aversion)  # fmt: skip
    return kappa_tau * steps / float(horizon)


def ac_trajectory(
    shares: float,
    horizon: float,
    steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    risk_aversion: float,
    drift: float = 0.0,
) -> np.ndarray:
    """The holdings that minimise E + lambda V ([AC] sections 2.2 and 2.5).

    x_j = X sinh(kappa (T - t_j)) / sinh(kappa T) + alpha tau^2 / (2 eta_tilde) q_j, j = 0..N,
    kappa as in :func:`ac_kappa` and q_j the bulge of the drift (module docstring): with
    lambda sigma^2 > 0 it is x_bar (1 - [sinh(kappa (T - t_j)) + sinh(kappa t_j)] /
    sinh(kappa T)), x_bar = alpha / (2 lambda sigma^2), as in [AC]. ``risk_aversion = 0`` (or
    ``sigma = 0``) gives the straight line x_j = X (N - j) / N plus alpha tau^2 j (N - j) /
    (4 eta_tilde) exactly, and small lambda tends to it continuously.

    Parameters
    ----------
    shares, horizon, steps : float, float, int
        X >= 0 shares to sell, T > 0, N >= 1 trading intervals; tau = T / N.
    sigma, eta, gamma, epsilon, risk_aversion : float
        Volatility, temporary and permanent impact, fixed cost per share (units in the module
        docstring) and lambda, all >= 0, with eta > 0 and eta_tilde = eta - gamma tau / 2 > 0.
        epsilon does not move the optimum; it is checked like the others.
    drift : float
        alpha, the expected price change per unit time in $ / share, of either sign.

    Returns
    -------
    ndarray(float64, (steps + 1,))
        x_0 = X, ..., x_N = 0; non-increasing without drift. With drift it may rise or go
        below 0 (buying back, or selling short for a while): :func:`ac_bounded_trajectory`
        keeps every trade a sale.
    """
    fn = "ac_trajectory"
    shares = _real(fn, "shares", shares)
    _real(fn, "epsilon", epsilon)
    alpha = _signed(fn, "drift", drift)
    steps, kappa_tau, eta_tilde, risk = _ac_args(fn, horizon, steps, sigma, eta, gamma,
                                                 risk_aversion)  # fmt: skip
    holdings = shares * _decay(kappa_tau, steps)
    if alpha != 0.0:
        tau = float(horizon) / steps
        pull = risk * tau * tau / eta_tilde
        holdings += alpha * tau * tau / (2.0 * eta_tilde) * _bulge(kappa_tau, steps, pull)
    holdings[0], holdings[-1] = shares, 0.0
    return holdings


def ac_cost_variance(
    holdings: np.ndarray,
    horizon: float,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    drift: float = 0.0,
) -> tuple[float, float]:
    """Expected shortfall and its variance for any trajectory ([AC] sections 1.4-1.5, 2.5).

    E = gamma X^2 / 2 + epsilon sum_k |n_k| + (eta_tilde / tau) sum_k n_k^2
    - alpha tau sum_{k=1..N} x_k and V = sigma^2 sum_{k=1..N} tau x_k^2, with
    N = len(holdings) - 1, tau = T / N and alpha the ``drift``. The trajectory may buy back
    (n_k < 0) but must end flat, as E assumes x_N = 0.

    Parameters
    ----------
    holdings : array_like(float64, (N + 1,))
        x_0 = X, ..., x_N = 0, N >= 1. The other arguments as in :func:`ac_trajectory`,
        except that eta = 0 and eta_tilde <= 0 are allowed.

    Returns
    -------
    (float, float)
        E in $, V in $^2.
    """
    fn = "ac_cost_variance"
    x = _holdings(fn, holdings)
    tau = _real(fn, "horizon", horizon, positive=True) / (x.size - 1)
    sigma, eta = _real(fn, "sigma", sigma), _real(fn, "eta", eta)
    gamma, epsilon = _real(fn, "gamma", gamma), _real(fn, "epsilon", epsilon)
    alpha = _signed(fn, "drift", drift)
    n = x[:-1] - x[1:]
    eta_tilde = eta - 0.5 * gamma * tau
    expected = 0.5 * gamma * x[0] ** 2 + epsilon * np.abs(n).sum() + eta_tilde / tau * (n @ n)
    expected -= alpha * tau * x[1:].sum()
    return float(expected), float(sigma**2 * tau * (x[1:] @ x[1:]))


def ac_frontier(
    shares: float,
    horizon: float,
    steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    risk_aversions: np.ndarray,
    drift: float = 0.0,
) -> pd.DataFrame:
    """The efficient frontier ([AC] section 2.4): E and V of the optimal trajectory per lambda.

    Along it dE/dV = -lambda. Arguments as in :func:`ac_trajectory`, with
    ``risk_aversions`` an array_like(float64, (M,)) of lambdas >= 0, M >= 1, in any order.

    Returns
    -------
    pandas.DataFrame
        M rows in the order given; float64 columns ``risk_aversion``, ``expected_cost``
        (E, $) and ``variance`` (V, $^2).
    """
    lambdas = np.asarray(risk_aversions, dtype=np.float64)
    if lambdas.ndim != 1 or lambdas.size == 0:
        raise InputError(f"ac_frontier: risk_aversions must be 1-D, non-empty: {lambdas.shape}")
    points = np.empty((lambdas.size, 2))
    for i, lam in enumerate(lambdas):
        path = ac_trajectory(shares, horizon, steps, sigma, eta, gamma, epsilon, lam, drift)
        points[i] = ac_cost_variance(path, horizon, sigma, eta, gamma, epsilon, drift)
    columns = {"risk_aversion": lambdas, "expected_cost": points[:, 0], "variance": points[:, 1]}
    return pd.DataFrame(columns)


def ac_bounded_trajectory(
    shares: float,
    horizon: float,
    steps: int,
    sigma: float,
    eta: float,
    gamma: float,
    epsilon: float,
    risk_aversion: float,
    *,
    drift: float = 0.0,
    min_trade=0.0,
    max_trade=math.inf,
) -> np.ndarray:
    """The exact optimum of E + lambda V when every child order lies in [min_trade, max_trade].

    The same objective as :func:`ac_trajectory` (with its drift), over the sales n_1..n_N
    with sum n_k = X and min_trade_k <= n_k <= max_trade_k: a strictly convex quadratic
    programme. Its Karush-Kuhn-Tucker conditions read, for one multiplier mu,

        n_k = clip(tau / (2 eta_tilde) (mu + 2 lambda sigma^2 tau R_k - alpha tau (N - k)),
                   min_trade_k, max_trade_k),     R_k = sum_{j=k..N-1} x_j,

    and x_j depends on n_{j+1..N} only, so a given mu fixes n_N, n_{N-1}, ... backwards and
    x_0 = sum n_k grows with mu, continuously and piecewise linearly. The solver brackets the
    mu with x_0 = X, halves the bracket to double resolution, and interpolates on the last
    linear piece: the result meets the conditions to rounding (the tests check them). With
    bounds that do not bind it is :func:`ac_trajectory`.

    Parameters
    ----------
    shares, horizon, steps, sigma, eta, gamma, epsilon, risk_aversion, drift
        As in :func:`ac_trajectory`.
    min_trade, max_trade : float or array_like(float64, (steps,))
        Bounds on each child order in shares, one for all or one per interval:
        0 <= min_trade <= max_trade (max_trade may be inf). A rate bound v is v tau; a
        participation cap p is p times each interval's expected volume.

    Returns
    -------
    ndarray(float64, (steps + 1,))
        x_0 = X, ..., x_N = 0, with every x_{k-1} - x_k in the bounds.

    Raises
    ------
    InputError
        Bad arguments, or bounds no schedule meets: sum min_trade > X or sum max_trade < X.
    """
    fn = "ac_bounded_trajectory"
    shares = _real(fn, "shares", shares)
    _real(fn, "epsilon", epsilon)
    alpha = _signed(fn, "drift", drift)
    steps, _, eta_tilde, risk = _ac_args(fn, horizon, steps, sigma, eta, gamma, risk_aversion)
    tau = float(horizon) / steps
    lo, hi = _bounds(fn, shares, steps, min_trade, max_trade)
    scale = tau / (2.0 * eta_tilde)

    def trade(y: float, k: int) -> float:
        return y * scale

    return _bounded_schedule(shares, lo, hi, trade, 2.0 * risk * tau, alpha * tau,
                             shares / (steps * scale))  # fmt: skip


def _bounds(fn: str, shares: float, steps: int, min_trade, max_trade):
    """The bounds on each of the N child orders, checked: (lo, hi), each (N,)."""
    out = []
    for name, value in (("min_trade", min_trade), ("max_trade", max_trade)):
        try:
            b = np.broadcast_to(np.asarray(value, dtype=np.float64), (steps,)).copy()
        except (TypeError, ValueError):
            raise InputError(
                f"{fn}: {name} must be a number or {steps} numbers (one per interval), got "
                f"{value!r}"
            ) from None
        out.append(b)
    lo, hi = out
    bad = np.flatnonzero(~(np.isfinite(lo) & (lo >= 0.0)) | np.isnan(hi) | (hi < lo))
    if bad.size:
        k = int(bad[0])
        raise InputError(
            f"{fn}: need 0 <= min_trade <= max_trade in every interval (min_trade finite), got "
            f"min_trade={lo[k]!r}, max_trade={hi[k]!r} in interval {k + 1}"
        )
    low, high = float(lo.sum()), float(hi.sum())
    if low > shares * (1 + 1e-12) or high < shares * (1 - 1e-12):
        raise InputError(
            f"{fn}: no schedule meets the bounds: the {steps} child orders sum to between "
            f"{low:,.6g} and {high:,.6g} shares, and X = {shares:,.6g} must be among them; "
            "loosen min_trade or max_trade, or trade over more intervals"
        )
    return lo, hi


def _bounded_schedule(shares, lo, hi, trade, risk, drift, unit) -> np.ndarray:
    """Holdings from the backward conditions n_k = clip(trade(mu + risk R_k - drift (N - k),
    k), lo_k, hi_k), with the mu that makes them sum to ``shares`` (see
    :func:`ac_bounded_trajectory`); ``unit`` is a mu of the problem's scale."""
    steps = lo.size
    lo_list, hi_list = lo.tolist(), hi.tolist()

    def shoot(mu: float) -> tuple[float, list[float]]:
        sales = [0.0] * steps
        x = big_r = 0.0
        for k in range(steps, 0, -1):
            big_r += x  # R_k = x_k + ... + x_{N-1}; x = x_k here
            n = trade(mu + risk * big_r - drift * (steps - k), k - 1)
            n = min(max(n, lo_list[k - 1]), hi_list[k - 1])
            sales[k - 1] = n
            x += n
        return x, sales

    if shares == 0.0:
        return np.zeros(steps + 1)
    low, high = -abs(unit) - 1e-300, abs(unit) + 1e-300
    while shoot(high)[0] < shares:
        high *= 2.0
    while shoot(low)[0] > shares:
        low *= 2.0
    for _ in range(2200):  # halving from 1e308 to 1e-308 takes about 2,050 steps
        mid = 0.5 * (low + high)
        if not low < mid < high:
            break
        if shoot(mid)[0] < shares:
            low = mid
        else:
            high = mid
    (x_low, n_low), (x_high, n_high) = shoot(low), shoot(high)
    w = 0.0 if x_high == x_low else (shares - x_low) / (x_high - x_low)
    sales = (1.0 - w) * np.asarray(n_low) + w * np.asarray(n_high)
    sales = np.clip(sales, lo, hi)
    holdings = np.zeros(steps + 1)
    holdings[:-1] = np.cumsum(sales[::-1])[::-1]  # from the end: every sale stays >= 0
    holdings[0] = shares  # they sum to X to rounding: the first sale takes it
    return holdings


def _matrix(fn: str, name: str, value, m: int, *, vector_ok: bool = True) -> np.ndarray:
    """An (m, m) float matrix from an (m,) diagonal or an (m, m) array, finite."""
    a = np.asarray(value, dtype=np.float64)
    if vector_ok and a.shape == (m,):
        a = np.diag(a)
    if a.shape != (m, m) or not np.all(np.isfinite(a)):
        shapes = f"({m},) or ({m}, {m})" if vector_ok else f"({m}, {m})"
        raise InputError(f"{fn}: {name} must be finite, of shape {shapes}, got {a.shape}")
    return a


def _symmetric(fn: str, name: str, a: np.ndarray) -> None:
    if not np.allclose(a, a.T, rtol=1e-12, atol=1e-300):
        raise InputError(f"{fn}: {name} must be symmetric")


def _portfolio_args(fn, shares, horizon, steps, covariance, eta, gamma, epsilon, drift):
    """Validate a portfolio problem; return (X, N, tau, C, eta_tilde matrix, Gamma, epsilon,
    drift)."""
    x0 = np.asarray(shares, dtype=np.float64)
    if x0.ndim != 1 or x0.size == 0 or not np.all(np.isfinite(x0)):
        raise InputError(f"{fn}: shares must be a finite 1-D array of m >= 1 positions")
    m = x0.size
    n = _steps(fn, steps)
    tau = _real(fn, "horizon", horizon, positive=True) / n
    cov = _matrix(fn, "covariance", covariance, m, vector_ok=False)
    _symmetric(fn, "covariance", cov)
    lowest = np.linalg.eigvalsh(cov)[0] if m else 0.0
    if lowest < -1e-12 * max(np.abs(np.diag(cov)).max(), 1e-300):
        raise InputError(f"{fn}: covariance must be positive semi-definite (an eigenvalue is "
                         f"{lowest:.3g})")  # fmt: skip
    big_h = _matrix(fn, "eta", eta, m)
    big_gamma = _matrix(fn, "gamma", gamma, m)
    _symmetric(fn, "gamma", big_gamma)  # an antisymmetric part makes E depend on the order
    eps = np.broadcast_to(np.asarray(epsilon, dtype=np.float64), (m,))
    if not np.all(np.isfinite(eps) & (eps >= 0)):
        raise InputError(f"{fn}: epsilon must be {m} finite numbers >= 0")
    mu = np.zeros(m) if drift is None else np.asarray(drift, dtype=np.float64)
    if mu.shape != (m,) or not np.all(np.isfinite(mu)):
        raise InputError(f"{fn}: drift must be None or {m} finite numbers, got shape {mu.shape}")
    eta_tilde = 0.5 * (big_h + big_h.T) - 0.5 * tau * big_gamma
    h_values = np.linalg.eigvalsh(eta_tilde)
    if h_values[0] <= 0.0:
        raise InputError(
            f"{fn}: eta_tilde = sym(eta) - gamma tau / 2 must be positive definite (its least "
            f"eigenvalue is {h_values[0]:.3g}); use more steps or a smaller gamma"
        )
    return x0, n, tau, cov, eta_tilde, big_gamma, eps.copy(), mu


def ac_portfolio_trajectory(
    shares,
    horizon: float,
    steps: int,
    covariance,
    eta,
    gamma,
    epsilon,
    risk_aversion: float,
    *,
    drift=None,
) -> np.ndarray:
    """The holdings of m assets that minimise E + lambda V jointly ([AC] section 5).

    E = X' Gamma X / 2 + sum_k epsilon' |n_k| + (1 / tau) sum_k n_k' H~ n_k
    - tau sum_k alpha' x_k and V = tau sum_{k=1..N} x_k' C x_k, H~ = sym(H) - tau Gamma / 2
    (:func:`ac_portfolio_cost_variance`). Its optimum solves the vector recurrence
    H~ (x_{j-1} - 2 x_j + x_{j+1}) / tau^2 = lambda C x_j - alpha / 2, which the change of
    variables z = Q' H~^(1/2) x, with Q the eigenvectors of lambda tau^2 H~^(-1/2) C
    H~^(-1/2), splits into m scalar ones: each mode follows :func:`ac_trajectory`'s closed
    form with its own kappa. With a diagonal covariance (and diagonal eta and gamma) every
    asset is the single-asset solution.

    Parameters
    ----------
    shares : array_like(float64, (m,))
        X: the position in each asset to unwind (> 0 sold, < 0 bought back).
    horizon, steps, risk_aversion : float, int, float
        As in :func:`ac_trajectory`.
    covariance : array_like(float64, (m, m))
        C, of the price changes per unit time, in $^2 / (share^2 time); symmetric PSD.
    eta, gamma : array_like(float64, (m,) or (m, m))
        Temporary impact H ($ time / share^2; only its symmetric part matters) and permanent
        impact Gamma ($ / share^2; symmetric); a vector is a diagonal matrix.
    epsilon : array_like(float64, (m,))
        Fixed cost per share of each asset; it does not move the optimum.
    drift : array_like(float64, (m,)), optional
        alpha, the expected price change of each asset per unit time, $ / share.

    Returns
    -------
    ndarray(float64, (steps + 1, m))
        x_0 = X, ..., x_N = 0.
    """
    fn = "ac_portfolio_trajectory"
    lam = _real(fn, "risk_aversion", risk_aversion)
    x0, n, tau, cov, eta_tilde, _, _, alpha = _portfolio_args(
        fn, shares, horizon, steps, covariance, eta, gamma, epsilon, drift
    )
    h_values, h_vectors = np.linalg.eigh(eta_tilde)
    root = (h_vectors * np.sqrt(h_values)) @ h_vectors.T  # H~^(1/2)
    inv_root = (h_vectors / np.sqrt(h_values)) @ h_vectors.T
    s = lam * tau * tau * (inv_root @ cov @ inv_root)
    pulls, q = np.linalg.eigh(0.5 * (s + s.T))
    pulls = np.maximum(pulls, 0.0)
    z0 = q.T @ (root @ x0)
    force = q.T @ (inv_root @ alpha) * (0.5 * tau * tau)
    z = np.empty((n + 1, x0.size))
    for i, pull in enumerate(pulls.tolist()):
        kappa_tau = _kappa_tau(pull)
        z[:, i] = z0[i] * _decay(kappa_tau, n)
        if force[i] != 0.0:
            z[:, i] += force[i] * _bulge(kappa_tau, n, pull)
    holdings = z @ (inv_root @ q).T
    holdings[0], holdings[-1] = x0, 0.0
    return holdings


def ac_portfolio_cost_variance(
    holdings, horizon: float, covariance, eta, gamma, epsilon, drift=None
) -> tuple[float, float]:
    """E ($) and V ($^2) of any m-asset trajectory (formulas in
    :func:`ac_portfolio_trajectory`; arguments as there, ``holdings`` (N + 1, m) ending at 0)."""
    fn = "ac_portfolio_cost_variance"
    x = np.asarray(holdings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or not np.all(np.isfinite(x)):
        raise InputError(f"{fn}: holdings must be finite, of shape (N + 1, m) with N >= 1")
    if np.any(x[-1] != 0.0):
        raise InputError(f"{fn}: holdings must end at 0 (every position closed)")
    x0, _, tau, cov, eta_tilde, big_gamma, eps, alpha = _portfolio_args(
        fn, x[0], horizon, x.shape[0] - 1, covariance, eta, gamma, epsilon, drift
    )
    n = x[:-1] - x[1:]
    expected = 0.5 * x0 @ big_gamma @ x0 + np.abs(n).sum(axis=0) @ eps
    expected += np.einsum("ki,ij,kj->", n, eta_tilde, n) / tau - tau * x[1:].sum(axis=0) @ alpha
    variance = tau * np.einsum("ki,ij,kj->", x[1:], cov, x[1:])
    return float(expected), float(variance)


def ac_portfolio_frontier(
    shares, horizon: float, steps: int, covariance, eta, gamma, epsilon, risk_aversions, *,
    drift=None,
) -> pd.DataFrame:  # fmt: skip
    """The portfolio's efficient frontier: E and V of :func:`ac_portfolio_trajectory` per
    lambda (columns as :func:`ac_frontier`'s)."""
    lambdas = np.asarray(risk_aversions, dtype=np.float64)
    if lambdas.ndim != 1 or lambdas.size == 0:
        raise InputError(
            f"ac_portfolio_frontier: risk_aversions must be 1-D, non-empty: {lambdas.shape}"
        )
    points = np.empty((lambdas.size, 2))
    for i, lam in enumerate(lambdas):
        path = ac_portfolio_trajectory(shares, horizon, steps, covariance, eta, gamma, epsilon,
                                       lam, drift=drift)  # fmt: skip
        points[i] = ac_portfolio_cost_variance(path, horizon, covariance, eta, gamma, epsilon,
                                               drift)  # fmt: skip
    columns = {"risk_aversion": lambdas, "expected_cost": points[:, 0], "variance": points[:, 1]}
    return pd.DataFrame(columns)


def powerlaw_cost(
    holdings: np.ndarray,
    volumes: np.ndarray,
    sigma: float,
    eta: float,
    phi: float,
    risk_aversion: float,
    horizon: float = 1.0,
    drift: float = 0.0,
) -> float:
    """The power-law objective J of a schedule, in $ ([G] ch. 3-4, discretised).

    J = sum_k V_k eta |v_k / V_k|^(1 + phi) tau + risk_aversion sigma^2 / 2 sum_k tau q_k^2
    - alpha tau sum_k q_k over k = 1..N, with v_k = n_k / tau, V_k market rates and alpha the
    ``drift`` ($ / (share time), as in :func:`ac_cost_variance`). Only v_k / V_k enters, so
    ``volumes`` may as well be the volumes of the intervals (V_k tau); the first sum is then
    sum_k eta V_k |n_k / V_k|^(1 + phi). The risk term uses the end-of-interval holdings
    q_1..q_N, like the V of [AC]. lobsim's book (DESIGN.md section 1, power a, depth eps)
    costs eps (1 + a) / (2 + a) S n^p V^(1 - p), p = (2 + a) / (1 + a), for a sale of n
    against a volume V: this L with phi = 1 / (1 + a) and eta = eps (1 + a) / (2 + a) S.

    Parameters
    ----------
    holdings : array_like(float64, (N + 1,))
        q_0 = X, ..., q_N = 0.
    volumes : array_like(float64, (N,))
        Expected market volume of each interval, all > 0.
    sigma, eta, phi, risk_aversion, horizon : float
        Volatility ($ / (share sqrt(time))), impact scale eta > 0 ($ / share), exponent
        phi > 0, risk aversion gamma >= 0 (1 / $) and horizon T > 0; tau = T / N.
    """
    fn = "powerlaw_cost"
    volumes, sigma, eta, phi, gamma, horizon = _powerlaw_args(
        fn, volumes, sigma, eta, phi, risk_aversion, horizon
    )
    alpha = _signed(fn, "drift", drift)
    q = _holdings(fn, holdings, volumes.size + 1)
    tau = horizon / volumes.size
    impact = eta * np.sum(volumes * np.abs((q[:-1] - q[1:]) / volumes) ** (1.0 + phi))
    return float(impact + 0.5 * gamma * sigma**2 * tau * (q[1:] @ q[1:]) - alpha * tau * q.sum())


def powerlaw_trajectory(
    shares: float,
    volumes: np.ndarray,
    sigma: float,
    eta: float,
    phi: float,
    risk_aversion: float,
    horizon: float = 1.0,
    *,
    drift: float = 0.0,
    min_trade=0.0,
    max_trade=math.inf,
) -> np.ndarray:
    """The schedule that minimises :func:`powerlaw_cost` ([G] ch. 3-4, discretised).

    The problem is strictly convex, every n_k > 0 at its optimum, and the first-order
    conditions (the discrete Euler-Lagrange equation) read, for one multiplier mu > 0,

        eta (1 + phi) (n_k / V_k)^phi = mu + gamma sigma^2 tau R_k,   R_k = sum_{j>=k} q_j.

    So gamma = 0 gives VWAP, n_k proportional to V_k. Given mu, the conditions fix n_N,
    q_{N-1}, n_{N-1}, ... backwards with sums of positive terms only (kept in logarithms:
    nothing overflows or loses relative precision), and q_0 grows with mu; the solver finds
    the mu with q_0 = X by Newton's method in log mu, safeguarded by bisection. The result
    meets the conditions to rounding (about 1e-11 relative).

    With phi = 1 and a constant volume V per interval this is :func:`ac_trajectory` with
    eta_AC = eta tau / V, gamma_AC = epsilon = 0 and lambda = risk_aversion / 2.

    A drift alpha (as in :func:`ac_trajectory`) and bounds min_trade <= n_k <= max_trade
    (shares; a participation cap p is max_trade = p V_k) turn the conditions into
    eta (1 + phi) (n_k / V_k)^phi = mu + gamma sigma^2 tau R_k - alpha tau (N - k) where n_k
    lies strictly inside its bounds, with n_k at a bound otherwise: solved, as the bounded
    Almgren-Chriss problem, backwards for a given mu, with the mu that sells X found by
    halving to double resolution (:func:`ac_bounded_trajectory`). Every trade stays a sale.

    Parameters
    ----------
    shares : float
        X >= 0, the shares to sell. The other arguments as in :func:`powerlaw_cost`.
    drift : float
        alpha, $ / (share time), of either sign.
    min_trade, max_trade : float or array_like(float64, (N,))
        Bounds on each child order in shares, 0 <= min_trade <= max_trade <= inf.

    Returns
    -------
    ndarray(float64, (N + 1,))
        q_0 = X, ..., q_N = 0, non-increasing (trades below double precision are 0).

    Raises
    ------
    InputError
        Bad arguments, or bounds no schedule meets (as in :func:`ac_bounded_trajectory`).
    """
    fn = "powerlaw_trajectory"
    shares = _real(fn, "shares", shares)
    volumes, sigma, eta, phi, gamma, horizon = _powerlaw_args(
        fn, volumes, sigma, eta, phi, risk_aversion, horizon
    )
    alpha = _signed(fn, "drift", drift)
    lo, hi = _bounds(fn, shares, volumes.size, min_trade, max_trade)
    if alpha != 0.0 or lo.any() or np.isfinite(hi).any():
        tau = horizon / volumes.size
        marginal = eta * (1.0 + phi)
        log_volume = np.log(volumes).tolist()

        def trade(y: float, k: int) -> float:
            if y <= 0.0:
                return 0.0
            log_n = math.log(y / marginal) / phi + log_volume[k]
            return math.exp(log_n) if log_n < 709.0 else math.inf  # past it: more than any X

        unit = marginal * (shares / volumes.sum()) ** phi
        return _bounded_schedule(shares, lo, hi, trade, gamma * sigma**2 * tau, alpha * tau,
                                 unit)  # fmt: skip
    if shares == 0.0:
        return np.zeros(volumes.size + 1)
    mean_volume = volumes.mean()
    # In units X = 1, mean(V) = 1 (d_k = n_k / X, w_k = V_k / mean(V), u_k = q_k / X) the
    # conditions read d_k = w_k (m + r R_k)^(1 / phi), with this r (as a log: no overflow).
    log_r = -math.inf
    if gamma > 0.0 and sigma > 0.0:
        log_r = math.log(gamma) + 2.0 * math.log(sigma) + math.log(horizon / volumes.size)
        log_r += (1.0 - phi) * math.log(shares) + phi * math.log(mean_volume)
        log_r -= math.log(eta * (1.0 + phi))
    log_trades = _solve_multiplier(np.log(volumes / mean_volume), 1.0 / phi, log_r)
    trades = np.exp(log_trades - log_trades.max())
    holdings = np.zeros(volumes.size + 1)
    holdings[:-1] = np.cumsum(trades[::-1])[::-1] * (shares / trades.sum())
    holdings[0] = shares
    return holdings


def _solve_multiplier(log_w: np.ndarray, power: float, log_r: float) -> np.ndarray:
    """Find log m with u_0(m) = 1 (see :func:`_shoot`); return log d there, shape (N,)."""
    # At r = 0 the root is m = N^-phi (VWAP); r > 0 only adds to u_0, so that bounds it above.
    top = -math.log(log_w.size) / power
    log_u0, slope, log_d = _shoot(top, log_w, power, log_r)
    if log_u0 <= 0.0:
        return log_d
    # For phi > 1 the root can lie near log m = -1e200 (the late trades then astronomically
    # small): the bracket [top - far, top - near] grows by squaring.
    near, far = 0.0, 2.0
    while (lower := _shoot(top - far, log_w, power, log_r))[0] > 0.0:
        if far >= 1e300:
            # Every trade grows with m, so the last ones, below e^-800 even here, are zero in
            # double precision at the root: drop them (at least one) and solve the rest.
            keep = min(np.flatnonzero(lower[2] >= -800.0)[-1] + 1, log_w.size - 1)
            rest = _solve_multiplier(log_w[:keep], power, log_r)
            return np.concatenate([rest, np.full(log_w.size - keep, -np.inf)])
        near, far = far, min(far * far, 1e300)
    # Newton from the best point so far; bisection (of the order of magnitude while the
    # bracket spans many) when Newton leaves the bracket or did not halve |log u_0|.
    best, log_d_far, bisect = (0.0, log_u0, slope), lower[2], False
    for _ in range(500):
        dist, value, slope = best
        newton = dist + value / slope if math.isfinite(value) else math.nan
        if far > 1e3 * max(near, 1.0):
            dist = math.sqrt(max(near, 1.0)) * math.sqrt(far)
        elif not bisect and near < newton < far:
            dist = newton
        else:
            dist = 0.5 * (near + far)
        log_u0, slope, log_d = _shoot(top - dist, log_w, power, log_r)
        if log_u0 > 0.0:
            near = dist
        else:
            far, log_d_far = dist, log_d
        if abs(log_u0) <= 1e-14:
            return log_d
        if far - near <= 4e-16 * max(far, 1.0):
            return log_d_far  # the bracket is at double resolution
        bisect = not abs(log_u0) <= 0.5 * abs(value)
        if abs(log_u0) < abs(value):
            best = (dist, log_u0, slope)
    raise RuntimeError(f"powerlaw_trajectory: no multiplier found ({power=}, {log_r=})")


def _shoot(log_m: float, log_w: np.ndarray, power: float, log_r: float) -> tuple:
    """The first-order conditions solved backwards from the last interval, for one m.

    d_k = w_k (m + r R_k)^power, R_k = sum_{j=k..N-1} u_j, u_{k-1} = u_k + d_k, u_N = R_N = 0.
    Returns log u_0, its derivative in log m (forward mode) and log d, (N,); log u_0 = inf
    as soon as u passes e^40 (m is then far too large).
    """
    log_d = np.empty(log_w.size)
    log_u = log_big_r = -math.inf
    du = dr = 0.0  # derivatives of log u_k and log R_k in log m
    for k in range(log_w.size - 1, -1, -1):
        log_x, p = _logaddexp(log_m, log_r + log_big_r)
        log_d[k] = log_w[k] + power * log_x
        dd = power * (p + (1.0 - p) * dr)
        log_u, p = _logaddexp(log_u, log_d[k])
        if log_u > 40.0:
            return math.inf, math.nan, log_d
        du = p * du + (1.0 - p) * dd
        log_big_r, p = _logaddexp(log_big_r, log_u)
        dr = p * dr + (1.0 - p) * du
    return log_u, du, log_d


def _logaddexp(a: float, b: float) -> tuple[float, float]:
    """log(e^a + e^b) and the share e^a / (e^a + e^b) of the first term."""
    if a == -math.inf or b == -math.inf:
        return (a, 1.0) if b == -math.inf else (b, 0.0)
    out = max(a, b) + math.log1p(math.exp(-abs(a - b)))
    return out, math.exp(a - out)


def _powerlaw_args(fn: str, volumes: np.ndarray, *scalars: float) -> tuple:
    """Validate (volumes, sigma, eta, phi, risk_aversion, horizon); return them as floats."""
    sigma, eta, phi, risk_aversion, horizon = scalars
    vol = np.asarray(volumes, dtype=np.float64)
    if vol.ndim != 1 or vol.size == 0:
        raise InputError(f"{fn}: volumes must be 1-D and non-empty, got shape {vol.shape}")
    bad = np.flatnonzero(~(np.isfinite(vol) & (vol > 0.0)))
    if bad.size:
        # A zero-volume interval would make any trade in it infinitely expensive.
        raise InputError(f"{fn}: volumes must be finite and > 0, got {vol[bad[0]]} at {bad[0]}")
    return (
        vol,
        _real(fn, "sigma", sigma),
        _real(fn, "eta", eta, positive=True),
        _real(fn, "phi", phi, positive=True),
        _real(fn, "risk_aversion", risk_aversion),
        _real(fn, "horizon", horizon, positive=True),
    )
