"""The power-law book's closed form and the calibration of its scale (DESIGN.md section 1).

The bid side of minute t has resting shares with density, in relative depth x from the mid,

    rho_t(x) = (1 + a) V_t x**a / eps**(1 + a),    N_t(x) = V_t (x / eps)**(1 + a),

so that trading one minute's volume in one order moves the price by the fraction eps
(Papanicolaou et al., "An Optimal Control Strategy for Execution of Large Stock Orders Using
LSTMs", J. Comput. Finance 26(4), 2023, section 2). A sell of n shares walks to
x(n) = eps (n / V)**(1 / (1 + a)) and loses, against the mid,

    L_t(n) = eps (1 + a) / (2 + a) * S_t * n**p * V_t**(1 - p),    p = (2 + a) / (1 + a).

a = 1/2 gives the 2/3-power price impact of Almgren, Thum, Hauptmann and Li (2005).
"""

from __future__ import annotations

import numpy as np

from lobsim.errors import InputError


def cost_exponent(alpha: float | np.ndarray) -> float | np.ndarray:
    """p = (2 + a) / (1 + a): the power of n in the walk cost."""
    return (2.0 + alpha) / (1.0 + alpha)


def powerlaw_cost(n, volume, price, alpha, epsilon):
    """Loss against the mid of a market order of ``n`` shares walking a power-law book.

    Parameters
    ----------
    n : array_like (float64)
        Shares in the order (>= 0). Broadcasts with the other arguments.
    volume : array_like (float64)
        The minute's traded volume V (>= 0); V = 0 with n > 0 costs +inf (no liquidity).
    price : array_like (float64)
        The mid S.
    alpha : array_like (float64)
        Shape a of the density (> -1).
    epsilon : array_like (float64)
        Relative depth that one minute's volume reaches (> 0).

    Returns
    -------
    ndarray(float64) or float
        ``eps (1 + a) / (2 + a) * S * n**p * V**(1 - p)``, in currency; 0 where n = 0.
    """
    n = np.asarray(n, dtype=np.float64)
    volume = np.asarray(volume, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    if np.any(alpha <= -1.0):
        raise InputError(f"alpha must be > -1, got min {alpha.min()}")
    if np.any(n < 0):
        raise InputError(f"n must be >= 0, got min {n.min()}")
    if np.any(volume < 0):
        raise InputError(f"volume must be >= 0, got min {volume.min()}")
    p = cost_exponent(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(n > 0, n / volume, 0.0)
        cost = epsilon * (1.0 + alpha) / (2.0 + alpha) * price * n * ratio ** (p - 1.0)
    cost = np.where(n > 0, cost, 0.0)
    return cost[()] if cost.ndim == 0 else cost


def reference_cost_bps(
    profile: np.ndarray, shares: np.ndarray, decision_minutes: np.ndarray, alpha: float
) -> np.ndarray:
    """Cost in bps, at eps = 1, of TWAP on a volume profile: the calibration's reference.

    Parameters
    ----------
    profile : ndarray(float64, (M, N))
        Mean volume per minute of each stock (e.g. over the training days).
    shares : ndarray(float64, (N,))
        Parent order per stock.
    decision_minutes : ndarray(int64, (K,))
        1-based minutes in which the child orders trade.
    alpha : float

    Returns
    -------
    ndarray(float64, (N,))
        Cost of the reference execution in basis points of the order's value, per unit eps.
    """
    volumes = profile[decision_minutes - 1]  # (K, N)
    child = shares[None, :] / len(decision_minutes)
    # S cancels between the cost and the order's value; price 1 keeps the units of bps.
    cost = powerlaw_cost(child, volumes, 1.0, alpha, 1.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1e4 * cost / shares


def calibrate_epsilon(
    profile: np.ndarray,
    shares: np.ndarray,
    decision_minutes: np.ndarray,
    alpha: float,
    target_bps: float,
    tickers=None,
) -> np.ndarray:
    """eps per stock such that TWAP on the mean volume profile costs ``target_bps``.

    The walk cost is linear in eps, so this is one division (DESIGN.md section 1). ``tickers``
    name the stocks in errors.

    Returns
    -------
    ndarray(float64, (N,))
    """
    if not target_bps > 0:
        raise InputError(f"target_bps must be > 0, got {target_bps}")
    unit = reference_cost_bps(
        profile, np.asarray(shares, dtype=np.float64), decision_minutes, alpha
    )
    bad = ~np.isfinite(unit) | (unit <= 0)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        name = tickers[first] if tickers is not None else f"stock column {first}"
        raise InputError(
            f"cannot calibrate epsilon for {name}: its mean volume in a decision "
            "minute is zero or its parent order is empty"
        )
    return target_bps / unit
