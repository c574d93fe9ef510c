"""Numba kernels of the market layer: arrays and scalars in, preallocated outputs written.

Random numbers are drawn by the callers from seeded ``numpy.random.Generator`` objects and
passed in; nothing here touches global random state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

VOLUME_STOCHASTIC = 0
VOLUME_DETERMINISTIC = 1
VOLUME_CONSTANT = 2


@njit(cache=True, nogil=True)
def ar1_nb(innovations, phi, out):
    """Stationary AR(1) with unit variance along axis 0, column by column.

    out[0] = innovations[0]; out[t] = phi * out[t-1] + sqrt(1 - phi**2) * innovations[t].
    ``innovations`` and ``out`` are float64 (T, K); with i.i.d. N(0, 1) innovations every
    out[t] is N(0, 1) and corr(out[t], out[t+h]) = phi**h.
    """
    scale = np.sqrt(1.0 - phi * phi)
    n_steps, n_cols = innovations.shape
    for k in range(n_cols):
        out[0, k] = innovations[0, k]
    for t in range(1, n_steps):
        for k in range(n_cols):
            out[t, k] = phi * out[t - 1, k] + scale * innovations[t, k]


@njit(cache=True, nogil=True)
def _bridge(z, step_sd, cum_var, sd, target, out):
    """Gaussian path with independent increments sd*step_sd[t]*z[t], pinned to end at target.

    out[t] = W[t] - cum_var[t] * (W[M-1] - target), W = cumsum(sd * step_sd * z). When target is
    drawn with the same law as W[M-1], the pinned path has the law of W (a Brownian bridge
    argument), so daily closes can be drawn first and the intraday path filled in later.
    """
    acc = 0.0
    for t in range(z.shape[0]):
        acc += sd * step_sd[t] * z[t]
        out[t] = acc
    gap = acc - target
    for t in range(z.shape[0]):
        out[t] -= cum_var[t] * gap


@njit(cache=True, nogil=True)
def synth_day_nb(
    market_draws,
    stock_draws,
    log_base_volume,
    base_volume,
    day_shock,
    loading,
    phi,
    intraday_sd,
    noise_sd,
    step_sd,
    cum_var,
    beta,
    market_sd,
    idio_sd,
    market_target,
    idio_target,
    open_log_price,
    compensator,
    volume_mode,
    price_out,
    volume_out,
):
    """One synthetic day for N stocks: mid prices and minute volumes.

    Parameters
    ----------
    market_draws : float64 (2, M)
        N(0, 1) draws: row 0 the innovations of the market intraday volume shock, row 1 the
        market factor's price increments.
    stock_draws : float64 (N, 3, M)
        N(0, 1) draws per stock: idiosyncratic volume-shock innovations, i.i.d. minute noise,
        idiosyncratic price increments.
    log_base_volume : float64 (M, N)
        log(adv * profile) minus the log-normal mean corrections of all volume shocks.
    base_volume : float64 (M, N)
        Volume used as is in the deterministic and constant modes.
    day_shock : float64 (N,)
        The day's log-volume shock per stock.
    loading : float64 (N,)
        Weight of the market component in each stock's intraday volume shock (0..1).
    phi, intraday_sd, noise_sd : float
        AR(1) coefficient per minute and sd of the persistent intraday log-volume shock; sd of
        the i.i.d. minute log-volume noise.
    step_sd, cum_var : float64 (M,)
        Intraday volatility shape: sd weight of each minute's return (sum of squares 1) and the
        cumulative share of the day's intraday variance up to each minute.
    beta : float64 (N,)
    market_sd : float
        Sd of the market factor's intraday log return.
    idio_sd : float64 (N,)
        Sd of each stock's idiosyncratic intraday log return.
    market_target : float
        The market factor's intraday log return of the day (drawn with the daily layer).
    idio_target : float64 (N,)
        Each stock's idiosyncratic intraday log return of the day.
    open_log_price : float64 (N,)
        Log price at the open (previous close plus the overnight return).
    compensator : float64 (N,)
        Log-price drift over the session: -variance/2 (so prices are martingales) plus drift.
    volume_mode : int
        VOLUME_STOCHASTIC, VOLUME_DETERMINISTIC or VOLUME_CONSTANT.
    price_out, volume_out : float64 (M, N)
        Written in place.
    """
    n_minutes = market_draws.shape[1]
    n_stocks = stock_draws.shape[0]
    market_shock = np.empty((n_minutes, 1))
    ar1_nb(market_draws[0:1, :].T, phi, market_shock)
    market_path = np.empty(n_minutes)
    _bridge(market_draws[1], step_sd, cum_var, market_sd, market_target, market_path)
    idio_shock = np.empty((n_minutes, 1))
    idio_path = np.empty(n_minutes)
    for i in range(n_stocks):
        _bridge(stock_draws[i, 2], step_sd, cum_var, idio_sd[i], idio_target[i], idio_path)
        for t in range(n_minutes):
            price_out[t, i] = np.exp(
                open_log_price[i]
                + beta[i] * market_path[t]
                + idio_path[t]
                + compensator[i] * cum_var[t]
            )
        if volume_mode != VOLUME_STOCHASTIC:
            for t in range(n_minutes):
                volume_out[t, i] = base_volume[t, i]
            continue
        ar1_nb(stock_draws[i, 0:1, :].T, phi, idio_shock)
        own = np.sqrt(1.0 - loading[i] * loading[i])
        for t in range(n_minutes):
            shock = intraday_sd * (loading[i] * market_shock[t, 0] + own * idio_shock[t, 0])
            volume_out[t, i] = np.exp(
                log_base_volume[t, i] + day_shock[i] + shock + noise_sd * stock_draws[i, 1, t]
            )


@njit(cache=True, nogil=True)
def _clock(step_sd, shock, scale, out_step, out_cum):
    """A volume clock: the intraday variance shape ``step_sd**2`` reweighted by
    exp(scale * shock[t]) and renormalised to sum 1 (sd weights into ``out_step``, their
    cumulative variance into ``out_cum``, ending at exactly 1)."""
    total = 0.0
    for t in range(step_sd.shape[0]):
        w = step_sd[t] * step_sd[t] * np.exp(scale * shock[t])
        out_cum[t] = w
        total += w
    acc = 0.0
    for t in range(step_sd.shape[0]):
        w = out_cum[t] / total
        out_step[t] = np.sqrt(w)
        acc += w
        out_cum[t] = acc
    out_cum[step_sd.shape[0] - 1] = 1.0


@njit(cache=True, nogil=True)
def synth_day_clock_nb(
    market_draws,
    stock_draws,
    log_base_volume,
    day_shock,
    loading,
    phi,
    intraday_sd,
    noise_sd,
    step_sd,
    cum_calendar,
    beta,
    market_sd,
    idio_sd,
    market_target,
    idio_target,
    open_log_price,
    comp_market,
    comp_idio,
    comp_drift,
    clock,
    price_out,
    volume_out,
):
    """:func:`synth_day_nb` with returns on a volume clock (stochastic volume only): each
    minute's share of the day's return variance is its calendar share times
    exp(clock * s_t), renormalised, s_t the minute's log-volume deviation (the market's own
    for the market factor, the stock's for its idiosyncratic part), so busy minutes move more
    (Clark 1973; Ane and Geman 2000). The day's variance is the one drawn with the daily layer
    (``market_sd``, ``idio_sd``, already scaled by the day's volume); each component's
    martingale correction runs on its own clock (``comp_*``, drift on the calendar).
    """
    n_minutes = market_draws.shape[1]
    n_stocks = stock_draws.shape[0]
    market_shock = np.empty((n_minutes, 1))
    ar1_nb(market_draws[0:1, :].T, phi, market_shock)
    shock = np.empty(n_minutes)
    step = np.empty(n_minutes)
    cum_market = np.empty(n_minutes)
    for t in range(n_minutes):
        shock[t] = intraday_sd * market_shock[t, 0]
    _clock(step_sd, shock, clock, step, cum_market)
    market_path = np.empty(n_minutes)
    _bridge(market_draws[1], step, cum_market, market_sd, market_target, market_path)
    idio_shock = np.empty((n_minutes, 1))
    idio_path = np.empty(n_minutes)
    cum_idio = np.empty(n_minutes)
    for i in range(n_stocks):
        ar1_nb(stock_draws[i, 0:1, :].T, phi, idio_shock)
        own = np.sqrt(1.0 - loading[i] * loading[i])
        for t in range(n_minutes):
            persistent = intraday_sd * (loading[i] * market_shock[t, 0] + own * idio_shock[t, 0])
            noise = noise_sd * stock_draws[i, 1, t]
            # The sum in synth_day_nb's order: the clock leaves the volumes' bytes alone.
            volume_out[t, i] = np.exp(log_base_volume[t, i] + day_shock[i] + persistent + noise)
            shock[t] = persistent + noise
        _clock(step_sd, shock, clock, step, cum_idio)
        _bridge(stock_draws[i, 2], step, cum_idio, idio_sd[i], idio_target[i], idio_path)
        for t in range(n_minutes):
            price_out[t, i] = np.exp(
                open_log_price[i]
                + beta[i] * market_path[t]
                + idio_path[t]
                + comp_market[i] * cum_market[t]
                + comp_idio[i] * cum_idio[t]
                + comp_drift[i] * cum_calendar[t]
            )


@njit(cache=True, nogil=True)
def scatter_bars_nb(day, minute, stock, close, volume, price_out, volume_out):
    """Place bars into (D, M, N) grids; return the index of the first bar whose cell is taken.

    Bars with ``day`` < 0 are skipped. ``price_out`` must be NaN-filled and ``volume_out``
    zero-filled. Returns -1 when every (day, minute, stock) cell received at most one bar.
    """
    for k in range(day.shape[0]):
        d, m, i = day[k], minute[k], stock[k]
        if d < 0:
            continue
        if not np.isnan(price_out[d, m, i]):
            return k
        price_out[d, m, i] = close[k]
        volume_out[d, m, i] = volume[k]
    return -1


@njit(cache=True, nogil=True)
def fill_forward_nb(price):
    """Carry the last price forward over NaN cells along axis 0; back-fill a leading gap.

    ``price`` is float64 (T, N), modified in place. Returns the number of cells filled.
    A column that is entirely NaN is left as is (the caller refuses such data first).
    """
    n_steps, n_cols = price.shape
    filled = 0
    for i in range(n_cols):
        first = -1
        for t in range(n_steps):
            if not np.isnan(price[t, i]):
                first = t
                break
        if first < 0:
            continue
        for t in range(first):
            price[t, i] = price[first, i]
            filled += 1
        last = price[first, i]
        for t in range(first + 1, n_steps):
            if np.isnan(price[t, i]):
                price[t, i] = last
                filled += 1
            else:
                last = price[t, i]
    return filled


@njit(cache=True, nogil=True)
def first_order_problem_nb(group, ts, n_groups):
    """First row (in row order) whose timestamp is not after its group's previous one.

    ``group`` int64 (R,) in [0, n_groups), ``ts`` int64 (R,). Returns (row, previous row) of the
    first row whose timestamp is <= the latest earlier timestamp of its group, or (-1, -1).
    The previous row is the one holding that latest timestamp.
    """
    latest = np.empty(n_groups, dtype=np.int64)
    latest_row = np.full(n_groups, -1, dtype=np.int64)
    for k in range(group.shape[0]):
        g = group[k]
        if latest_row[g] >= 0 and ts[k] <= latest[g]:
            return k, latest_row[g]
        latest[g] = ts[k]
        latest_row[g] = k
    return -1, -1
