"""Market orders sent through the engine against freshly built power-law books.

These lay out the levels, bulk-load them into an engine book and walk them with a market
order, so that users and tests can hold the engine's walk against the closed form. The
simulator walks the same levels without the book (:func:`lobsim.books.kernels.sweep_levels`)
and charges each child order, bit for bit, what :func:`walk_costs_in_minute` charges it (the
tests and ``lobsim bench simulate`` check so).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lobsim.books.kernels import ASK, BID, build_levels
from lobsim.engine.batch import BookBatch
from lobsim.engine.kernels import load_side, submit_market
from lobsim.engine.records import BUY, FILL_DTYPE, SELL
from lobsim.errors import InputError

_MAX_LEVELS = 1 << 16


@njit(cache=True)
def _walk_costs(
    orders, volume, price, alpha, eps, tick, direction, state, level_prices, level_qtys, fills, out
):
    """Send ``orders`` one after another into one book; loss against the mid of each.

    The book is laid out once, deep enough for all orders together, so liquidity consumed by
    an order stays consumed for the next (the same minute).
    """
    side = BID if direction == SELL else ASK
    total = 0
    for j in range(orders.shape[0]):
        total += orders[j]
    nlev, built = build_levels(
        side,
        price,
        volume,
        alpha,
        eps,
        tick,
        0,
        0.0,
        total,
        0.0,
        0.0,
        0,
        0,
        level_prices,
        level_qtys,
    )
    load_side(state, 0, side, level_prices, level_qtys, nlev)
    for j in range(orders.shape[0]):
        filled, nf = submit_market(state, 0, direction, orders[j], j, fills, 0)
        loss = 0.0
        for f in range(nf):
            loss += direction * fills[f]["qty"] * (fills[f]["price"] * tick - price)
        out[j] = loss if filled == orders[j] else np.inf
    return built


def walk_costs_in_minute(
    orders,
    volume: float,
    price: float,
    alpha: float,
    epsilon: float,
    tick: float,
    side: str = "sell",
) -> np.ndarray:
    """Loss against the mid of several market orders sent into the same minute's book.

    Parameters
    ----------
    orders : sequence of int
        Order sizes in shares, in the order they arrive.
    volume, price, alpha, epsilon : float
        The minute's volume V, mid S, shape a and scale eps.
    tick : float
        Grid step in currency.
    side : {"sell", "buy"}

    Returns
    -------
    ndarray(float64, (len(orders),))
        Currency lost by each order; +inf for an order the book could not fill.
    """
    orders = np.asarray(orders)
    if orders.ndim != 1 or orders.dtype.kind not in "iu" or np.any(orders <= 0):
        raise InputError(f"orders must be positive whole share counts, got {orders!r}")
    for name, value in (
        ("volume", volume),
        ("price", price),
        ("epsilon", epsilon),
        ("tick", tick),
    ):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive finite number, got {value!r}")
    if not alpha > -1:
        raise InputError(f"alpha must be > -1, got {alpha!r}")
    if side not in ("sell", "buy"):
        raise InputError(f"side must be 'sell' or 'buy', got {side!r}")
    direction = SELL if side == "sell" else BUY
    books = BookBatch(1, max_levels=_MAX_LEVELS, max_orders=_MAX_LEVELS)
    prices = np.zeros(_MAX_LEVELS, dtype=np.int64)
    qtys = np.zeros(_MAX_LEVELS, dtype=np.int64)
    fills = np.zeros(_MAX_LEVELS + 1, dtype=FILL_DTYPE)
    out = np.zeros(len(orders))
    built = _walk_costs(
        orders.astype(np.int64),
        float(volume),
        float(price),
        float(alpha),
        float(epsilon),
        float(tick),
        direction,
        books.state,
        prices,
        qtys,
        fills,
        out,
    )
    if built < orders.sum() and np.isinf(out).any():
        raise InputError(
            f"the orders need more than {_MAX_LEVELS} levels at tick={tick}: use a coarser tick"
        )
    return out


def book_walk_cost(n, volume, price, alpha, epsilon, tick, side: str = "sell"):
    """Loss against the mid of a market order of ``n`` shares through the engine.

    One freshly built power-law book per element (arguments broadcast); the engine's
    tick-by-tick realisation of :func:`lobsim.powerlaw_cost`, which it approaches as the tick
    shrinks.

    Returns
    -------
    float or ndarray(float64)
        Currency lost against the mid.
    """
    n_b, v_b, s_b, a_b, e_b, t_b = np.broadcast_arrays(n, volume, price, alpha, epsilon, tick)
    out = np.empty(n_b.shape)
    for idx in np.ndindex(n_b.shape):
        if n_b[idx] != np.round(n_b[idx]):
            raise InputError(f"n must be whole shares, got {n_b[idx]}")
        out[idx] = walk_costs_in_minute(
            np.array([int(n_b[idx])]), v_b[idx], s_b[idx], a_b[idx], e_b[idx], t_b[idx], side
        )[0]
    return out[()] if out.ndim == 0 else out
