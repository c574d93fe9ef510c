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
"""

from __future__ import annotations

import math
import operator

import numpy as np
import pandas as pd

from lobsim.errors import InputError

__all__ = [
    "ac_cost_variance",
    "ac_frontier",
    "ac_kappa",
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


def _ac_args(
    fn: str, horizon: float, steps: int, sigma: float, eta: float, gamma: float, lam: float
) -> tuple[int, float]:
    """Validate the arguments of the optimal trajectory; return N and kappa tau."""
    n = operator.index(steps) if isinstance(steps, (int, np.integer)) else 0
    if isinstance(steps, bool) or n < 1:
        raise InputError(f"{fn}: steps must be an integer >= 1, got {steps!r}")
    tau = _real(fn, "horizon", horizon, positive=True) / n
    eta_tilde = _real(fn, "eta", eta, positive=True) - 0.5 * _real(fn, "gamma", gamma) * tau
    if eta_tilde <= 0.0:  # [AC] section 1.5: E + lambda V is convex only if eta_tilde > 0
        raise InputError(
            f"{fn}: eta_tilde = eta - gamma * tau / 2 must be > 0, got {eta_tilde!r} "
            f"({eta=}, {gamma=}, tau={tau!r}); use more steps or a smaller gamma"
        )
    kappa_tilde_sq = _real(fn, "risk_aversion", lam) * _real(fn, "sigma", sigma) ** 2 / eta_tilde
    # cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2 is sinh(kappa tau / 2) = kappa_tilde tau / 2,
    # which keeps full precision when kappa tau is small (arccosh(1 + small) does not).
    return n, 2.0 * math.asinh(0.5 * math.sqrt(kappa_tilde_sq) * tau)


def ac_kappa(
    horizon: float, steps: int, sigma: float, eta: float, gamma: float, risk_aversion: float
) -> float:
    """The urgency kappa of the optimal trajectory ([AC] section 2.2), 1 / (unit of time).

    kappa solves cosh(kappa tau) = 1 + kappa_tilde^2 tau^2 / 2 with kappa_tilde^2 =
    lambda sigma^2 / eta_tilde and eta_tilde = eta - gamma tau / 2; 1 / kappa is the trade's
    half-life ([AC] section 2.3). Arguments as in :func:`ac_trajectory`.
    """
    steps, kappa_tau = _ac_args("ac_kappa", horizon, steps, sigma, eta, gamma, risk_aversion)
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
) -> np.ndarray:
    """The holdings that minimise E + lambda V ([AC] section 2.2).

    x_j = X sinh(kappa (T - t_j)) / sinh(kappa T), j = 0..N, kappa as in :func:`ac_kappa`.
    ``risk_aversion = 0`` (or ``sigma = 0``) gives the straight line x_j = X (N - j) / N
    exactly, and small lambda tends to it continuously.

    Parameters
    ----------
    shares, horizon, steps : float, float, int
        X >= 0 shares to sell, T > 0, N >= 1 trading intervals; tau = T / N.
    sigma, eta, gamma, epsilon, risk_aversion : float
        Volatility, temporary and permanent impact, fixed cost per share (units in the module
        docstring) and lambda, all >= 0, with eta > 0 and eta_tilde = eta - gamma tau / 2 > 0.
        epsilon does not move the optimum; it is checked like the others.

    Returns
    -------
    ndarray(float64, (steps + 1,))
        x_0 = X, ..., x_N = 0, non-increasing.
    """
    fn = "ac_trajectory"
    shares = _real(fn, "shares", shares)
    _real(fn, "epsilon", epsilon)
    steps, kappa_tau = _ac_args(fn, horizon, steps, sigma, eta, gamma, risk_aversion)
    kappa_tau = min(kappa_tau, 1e3)  # beyond, every trade after the first is below 1e-434 X
    j = np.arange(steps + 1, dtype=np.float64)
    if kappa_tau * steps < 1e-8:  # sinh(a) / sinh(b) = a / b to within (b^2 - a^2) / 6 < 1e-17
        fraction = (steps - j) / steps
    else:
        # sinh(a) / sinh(b) = e^(a - b) (1 - e^(-2a)) / (1 - e^(-2b)), a = kappa (T - t_j),
        # b = kappa T: no overflow however large kappa T is.
        growth = np.expm1(-2.0 * kappa_tau * (steps - j)) / math.expm1(-2.0 * kappa_tau * steps)
        fraction = np.exp(-kappa_tau * j) * growth
    holdings = shares * fraction
    holdings[0], holdings[-1] = shares, 0.0
    return holdings


def ac_cost_variance(
    holdings: np.ndarray, horizon: float, sigma: float, eta: float, gamma: float, epsilon: float
) -> tuple[float, float]:
    """Expected shortfall and its variance for any trajectory ([AC] sections 1.4-1.5).

    E = gamma X^2 / 2 + epsilon sum_k |n_k| + (eta_tilde / tau) sum_k n_k^2 and
    V = sigma^2 sum_{k=1..N} tau x_k^2, with N = len(holdings) - 1 and tau = T / N. The
    trajectory may buy back (n_k < 0) but must end flat, as E assumes x_N = 0.

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
    n = x[:-1] - x[1:]
    eta_tilde = eta - 0.5 * gamma * tau
    expected = 0.5 * gamma * x[0] ** 2 + epsilon * np.abs(n).sum() + eta_tilde / tau * (n @ n)
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
        path = ac_trajectory(shares, horizon, steps, sigma, eta, gamma, epsilon, lam)
        points[i] = ac_cost_variance(path, horizon, sigma, eta, gamma, epsilon)
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
) -> float:
    """The power-law objective J of a schedule, in $ ([G] ch. 3-4, discretised).

    J = sum_k V_k eta |v_k / V_k|^(1 + phi) tau + risk_aversion sigma^2 / 2 sum_k tau q_k^2
    over k = 1..N, with v_k = n_k / tau and V_k market rates. Only v_k / V_k enters, so
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
    q = _holdings(fn, holdings, volumes.size + 1)
    impact = eta * np.sum(volumes * np.abs((q[:-1] - q[1:]) / volumes) ** (1.0 + phi))
    return float(impact + 0.5 * gamma * sigma**2 * horizon / volumes.size * (q[1:] @ q[1:]))


def powerlaw_trajectory(
    shares: float,
    volumes: np.ndarray,
    sigma: float,
    eta: float,
    phi: float,
    risk_aversion: float,
    horizon: float = 1.0,
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

    Parameters
    ----------
    shares : float
        X >= 0, the shares to sell. The other arguments as in :func:`powerlaw_cost`.

    Returns
    -------
    ndarray(float64, (N + 1,))
        q_0 = X, ..., q_N = 0, non-increasing (trades below double precision are 0).
    """
    fn = "powerlaw_trajectory"
    shares = _real(fn, "shares", shares)
    volumes, sigma, eta, phi, gamma, horizon = _powerlaw_args(
        fn, volumes, sigma, eta, phi, risk_aversion, horizon
    )
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


def __getattr__(name: str):
    """The strategy classes ``AlmgrenChriss`` and ``PowerLawAC``, defined in
    :mod:`lobsim.strategies._ac_strategy` to keep this module the maths alone; looked up lazily so
    that the two modules can import each other's names."""
    if name in ("AlmgrenChriss", "PowerLawAC"):
        from lobsim.strategies import _ac_strategy

        return getattr(_ac_strategy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
