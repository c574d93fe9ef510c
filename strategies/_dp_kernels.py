"""Numba kernels of the dynamic-programming strategy (see :mod:`lobsim.strategies.dp`).

Value functions are stored divided by q**p, p = 1 + phi the power of the walk cost: with no
risk term the cost-to-go is exactly proportional to q**p (the power-law cost is homogeneous and
the volume state does not depend on our trades), so the stored function is then flat in q and
interpolating it loses nothing; with a risk term it varies slowly in log q.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Tolerances on theta, the fraction kept: the policy is solved to rounding; inside the
# recursion only the minimum's value matters, which an error d in theta moves by O(d^2).
_POLICY_TOLERANCE = 1e-13
_VALUE_TOLERANCE = 1e-8
_MAX_STEPS = 200


@njit(cache=True)
def volume_state_nb(volume, profile, visible, decay, out):
    """The volume state of every training day at every decision.

    z = log(sum_t w_t V_t / sum_t w_t m_t) over the visible minutes t <= T_k, with weights
    w_t = decay**(T_k - t): the recent volume relative to the training profile m. z = 0 when no
    minute is visible yet.

    Parameters
    ----------
    volume : ndarray(float64, (D, M, N))
    profile : ndarray(float64, (M, N))
        Mean volume per minute over the training days.
    visible : ndarray(int64, (K,))
        Minutes visible at each decision, t_k - lag, increasing.
    decay : float
        Per-minute weight decay in (0, 1] (1: the day so far).
    out : ndarray(float64, (D, K, N))
    """
    n_days, _, n_stocks = volume.shape
    n_dec = visible.shape[0]
    for d in range(n_days):
        for i in range(n_stocks):
            sum_v = 0.0
            sum_m = 0.0
            minute = 0
            for k in range(n_dec):
                while minute < visible[k]:
                    sum_v = decay * sum_v + volume[d, minute, i]
                    sum_m = decay * sum_m + profile[minute, i]
                    minute += 1
                if minute == 0 or sum_m <= 0.0:
                    out[d, k, i] = 0.0
                else:
                    out[d, k, i] = math.log(max(sum_v, 1e-12 * sum_m) / sum_m)


@njit(cache=True)
def advance_volume_state_nb(
    volume, profile, edges, day, stock, start, stop, decay, sum_v, sum_m, out
):  # fmt: skip
    """Fold minutes start..stop-1 of each episode's day into its running sums; its bin now.

    The running form of :func:`volume_state_nb`, with the same arithmetic in the same order
    (so a day's states are the ones the fit computed for it): per episode,
    ``sum_v = decay * sum_v + V_t`` and ``sum_m = decay * sum_m + m_t``, minute by minute,
    then z = log(max(sum_v, 1e-12 sum_m) / sum_m) (0 while no minute is visible or the
    profile is empty so far) and its bin, the number of the stock's edges below z.

    Parameters
    ----------
    volume : ndarray(float64, (D, T, N))
        The visible minutes (T >= stop).
    profile : ndarray(float64, (M, N))
    edges : ndarray(float64, (N, B - 1))
        Each stock's bin edges.
    day, stock : ndarray(int64, (E,))
        Each episode's row of ``volume`` and its stock column.
    start, stop : int
        Minutes already folded in, and visible now.
    decay : float
    sum_v, sum_m : ndarray(float64, (E,))
        In/out: the running sums over minutes 0..start-1 (zeros for start = 0).
    out : ndarray(int64, (E,))
        Each episode's bin.
    """
    for e in range(day.shape[0]):
        d = day[e]
        i = stock[e]
        v = sum_v[e]
        m = sum_m[e]
        for minute in range(start, stop):
            v = decay * v + volume[d, minute, i]
            m = decay * m + profile[minute, i]
        sum_v[e] = v
        sum_m[e] = m
        z = 0.0
        if stop > 0 and m > 0.0:
            z = math.log(max(v, 1e-12 * m) / m)
        b = 0
        for j in range(edges.shape[1]):
            if z > edges[i, j]:
                b += 1
        out[e] = b


@njit(cache=True)
def _interp(values, log_q0, dlog, log_x):
    """Linear interpolation in log q on the uniform log grid, flat beyond its ends.

    Returns (value, slope in log q)."""
    last = values.shape[0] - 1
    pos = (log_x - log_q0) / dlog
    if last == 0 or pos <= 0.0:
        return values[0], 0.0
    if pos >= last:
        return values[last], 0.0
    j = int(pos)
    w = pos - j
    return values[j] * (1.0 - w) + values[j + 1] * w, (values[j + 1] - values[j]) / dlog


@njit(cache=True)
def _objective(theta, q, cost, fill, risk, p, future, log_q0, dlog):
    """(cost now + risk of what is held + expected cost-to-go) / q**p, keeping theta q, over
    the days the order fills (probability ``fill``; ``cost`` is already weighted by it)."""
    value = cost * (1.0 - theta) ** p + fill * risk * q ** (2.0 - p) * theta * theta
    if theta > 0.0:
        value += fill * theta**p * _interp(future, log_q0, dlog, math.log(q * theta))[0]
    return value


@njit(cache=True)
def _slope(theta, q, cost, fill, risk, p, future, log_q0, dlog):
    """d objective / d theta (increasing: the objective is convex in theta)."""
    phi = p - 1.0
    value = -cost * p * (1.0 - theta) ** phi + fill * 2.0 * risk * q ** (2.0 - p) * theta
    if theta > 0.0:
        h, dh = _interp(future, log_q0, dlog, math.log(q * theta))
        value += fill * theta**phi * (p * h + dh)
    return value


@njit(cache=True)
def best_fraction(q, cost, fill, risk, p, future, log_q0, dlog, tolerance):
    """The fraction theta of the holdings q to keep, and the minimum it attains.

    The objective is convex in theta on [0, 1]: its slope is negative at 0 (selling the first
    share costs nothing at the margin) and the minimum is where the slope changes sign, found by
    the Illinois variant of regula falsi, which keeps a bracket and converges superlinearly.
    """
    lo, hi = 0.0, 1.0
    g_lo = _slope(lo, q, cost, fill, risk, p, future, log_q0, dlog)
    g_hi = _slope(hi, q, cost, fill, risk, p, future, log_q0, dlog)
    if g_hi <= 0.0:
        theta = 1.0
    elif g_lo >= 0.0:
        theta = 0.0
    else:
        theta = 0.5
        side = 0
        for _ in range(_MAX_STEPS):
            theta = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
            g = _slope(theta, q, cost, fill, risk, p, future, log_q0, dlog)
            if g == 0.0 or hi - lo < tolerance:
                break
            if g > 0.0:
                hi, g_hi = theta, g
                if side == 1:
                    g_lo *= 0.5  # Illinois: halve the stale end so it cannot stall
                side = 1
            else:
                lo, g_lo = theta, g
                if side == -1:
                    g_hi *= 0.5
                side = -1
            if hi - lo < tolerance:
                theta = 0.5 * (lo + hi)
                break
    return theta, _objective(theta, q, cost, fill, risk, p, future, log_q0, dlog)


@njit(cache=True, parallel=True)
def backward_induction_nb(cost, fill, transition, risk, penalty, p, log_q0, dlog, future_out):
    """Bellman's recursion from the last decision back to the first, per stock.

    With h_k(q, b) = J_k(q, b) / q**p the cost-to-go before the trade of decision k in volume
    state b, divided by q**p, f = fill[k, b] the probability that the order fills (a bar of
    its window has volume) and F(q) = sum_b' P(b' | b) h_{k+1}(q, b'):

        h_{K-1}(q, b) = cost[K-1, b] + (1 - f) penalty    (everything is offered; what cannot
                                                          fill is left at the close)
        h_k(q, b) = min_theta  cost[k, b] (1 - theta)**p
                               + f (risk q**(2-p) theta**2 + theta**p F(theta q))
                    + (1 - f) (risk q**(2-p) + F(q))     (unfilled: the whole q is carried).

    Parameters
    ----------
    cost : ndarray(float64, (N, K, B))
        Expected normalised cost of selling all holdings q = 1 at decision k in state b, zero
        on the days the order does not fill.
    fill : ndarray(float64, (N, K, B))
        Probability that decision k's order fills, in state b.
    transition : ndarray(float64, (N, B, B))
        P(b' | b) from one decision to the next; rows sum to one.
    risk : ndarray(float64, (N,))
        Normalised weight of the squared holdings after each trade (0: risk neutral).
    penalty : ndarray(float64, (N,))
        Normalised charge per q**p for holdings left at the close.
    p : float
        Power of the walk cost, 1 + phi.
    log_q0, dlog : float
        The inventory grid: q_j = exp(log_q0 + j dlog), j = 0..Q-1.
    future_out : ndarray(float64, (N, K, B, Q))
        Output: sum_b' P(b' | b) h_{k+1}(q_j, b') for k < K-1 (row K-1 is set to 0).
    """
    n_stocks, n_dec, n_bins = cost.shape
    n_grid = future_out.shape[3]
    for i in prange(n_stocks):
        h = np.empty((n_bins, n_grid))
        h_next = np.empty((n_bins, n_grid))
        for b in range(n_bins):
            for j in range(n_grid):
                h[b, j] = cost[i, n_dec - 1, b] + (1.0 - fill[i, n_dec - 1, b]) * penalty[i]
                future_out[i, n_dec - 1, b, j] = 0.0
        for k in range(n_dec - 2, -1, -1):
            for b in range(n_bins):
                for j in range(n_grid):
                    total = 0.0
                    for c in range(n_bins):
                        total += transition[i, b, c] * h[c, j]
                    future_out[i, k, b, j] = total
            # Without a risk term h does not depend on q: solve once, fill the row.
            points = n_grid if risk[i] > 0.0 else 1
            for b in range(n_bins):
                for j in range(points):
                    q = math.exp(log_q0 + j * dlog)
                    f = fill[i, k, b]
                    h_next[b, j] = best_fraction(
                        q,
                        cost[i, k, b],
                        f,
                        risk[i],
                        p,
                        future_out[i, k, b],
                        log_q0,
                        dlog,
                        _VALUE_TOLERANCE,
                    )[1]
                    if f < 1.0:
                        held = risk[i] * q ** (2.0 - p) + future_out[i, k, b, j]
                        h_next[b, j] += (1.0 - f) * held
                for j in range(points, n_grid):
                    h_next[b, j] = h_next[b, 0]
            h, h_next = h_next, h


@njit(cache=True)
def policy_nb(q, stock, state, k, cost, fill, risk, p, future, log_q0, dlog, out):
    """The fraction of its holdings each episode keeps at decision k.

    Parameters
    ----------
    q : ndarray(float64, (E,))
        Holdings in units of the stock's training parent order.
    stock, state : ndarray(int64, (E,))
        Each episode's stock column and volume-state bin.
    k : int
    cost, fill, risk, future : as in :func:`backward_induction_nb`
    out : ndarray(float64, (E,))
    """
    for e in range(q.shape[0]):
        if q[e] <= 0.0:
            out[e] = 0.0
            continue
        i = stock[e]
        b = state[e]
        out[e] = best_fraction(
            q[e],
            cost[i, k, b],
            fill[i, k, b],
            risk[i],
            p,
            future[i, k, b],
            log_q0,
            dlog,
            _POLICY_TOLERANCE,
        )[0]
