"""The simulator's kernels: the working child orders of one minute, chunk by chunk.

For each episode a kernel rebuilds that minute's book around the impacted mid (only the levels
the order needs), bulk-loads it into an engine book, sends the market order through the engine
and accounts for every fill. What the book cannot fill (a minute without volume) stays working
for the next minute's book. Episodes are split into chunks, one engine book per chunk, so
chunks run on separate threads without sharing a book.

Arguments travel in named records: ``Episodes`` (what is fixed per episode), ``Shape`` (the
run's book scalars), ``Live`` (what the run updates per episode), ``Orders`` (the shares of
each child order still working and their costs), ``Scratch`` (each chunk's engine book and
buffers) and ``FillLog`` (where fills are written when they are recorded).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from lobsim.books.flow import background_flow
from lobsim.books.kernels import ASK, BID, build_levels, uniform01
from lobsim.engine.batch import BookState
from lobsim.engine.kernels import load_side, submit_market
from lobsim.engine.records import (
    BK_LEVELS,
    BK_OWN,
    BULK_ID,
    LV_HEAD,
    LV_PRICE,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
)
from lobsim.simulation.passive import passive_minute

# Status codes per episode, turned into errors by the Python layer.
OK = 0
SHORT_BOOK = 1  # the order needed more levels than max_levels

# Columns of Live.acc, by name; the simulator's episode table reads them through these.
ACC_COLUMNS = (
    "temporary_cost",
    "permanent_cost",
    "timing_cost",
    "shortfall",
    "filled",
    "notional",
    "posted",
    "passive",
)
TEMPORARY, PERMANENT, TIMING, SHORTFALL, FILLED, NOTIONAL, POSTED, PASSIVE = range(
    len(ACC_COLUMNS)
)


class Episodes(NamedTuple):
    """Per-episode inputs, E episodes over a panel of D days x M minutes x N stocks."""

    stock: np.ndarray  # int64 (E,): column of the stock
    day: np.ndarray  # int64 (E,): row of the day
    price: np.ndarray  # float64 (D, M, N): mids
    volume: np.ndarray  # float64 (D, M, N): minute volumes
    eps: np.ndarray  # float64 (N,): book scale per stock
    adv: np.ndarray  # float64 (N,): ADV for permanent impact
    tick: np.ndarray  # float64 (E,): grid step in currency
    keys: np.ndarray  # uint64 (E,): noise keys
    s0: np.ndarray  # float64 (E,): arrival price


class Shape(NamedTuple):
    """The run's book and impact scalars."""

    direction: int  # SELL (-1) or BUY (+1)
    alpha: float
    alpha_noise: float
    half_spread: int
    depth_sd: float
    empty_prob: float
    resilience: float
    half_life: float
    g: float  # linear permanent impact


class Live(NamedTuple):
    """Per-episode state the kernels update."""

    missing: np.ndarray  # float64 (E,): consumed depth still missing, as of missing_minute
    missing_minute: np.ndarray  # float64 (E,)
    traded: np.ndarray  # float64 (E,): shares traded so far
    acc: np.ndarray  # float64 (E, len(ACC_COLUMNS)): costs, shares filled, notional
    status: np.ndarray  # int64 (E,): OK or SHORT_BOOK after each decision
    fill_counts: np.ndarray  # int64 (E,): fills of the last decision


class Orders(NamedTuple):
    """The child orders of one decision, as they work through the minutes until the next."""

    working: np.ndarray  # int64 (E,), in/out: shares not yet filled
    cost: np.ndarray  # float64 (E,), in/out: temporary cost of each order so far (currency)


class Scratch(NamedTuple):
    """One engine book and its buffers per chunk (row c is chunk c's)."""

    books: BookState  # C books
    level_prices: np.ndarray  # int64 (C, L)
    level_qtys: np.ndarray  # int64 (C, L)
    fills: np.ndarray  # FILL_DTYPE (C, L + 1)


class FillLog(NamedTuple):
    """Where fills go when they are recorded: episode e writes its fills from offsets[e]."""

    out: np.ndarray  # FILL_DTYPE (F,): empty when fills are not recorded
    offsets: np.ndarray  # int64 (E,)


@njit(cache=True)
def _build_book(e, minute, mult, n, ep, sh, live, level_prices, level_qtys):
    """Lay out the levels episode e's order of n shares needs in this minute's book.

    Returns (mid, impacted mid, missing depth, book side, levels written).
    """
    i = ep.stock[e]
    s = ep.price[ep.day[e], minute - 1, i]
    v = ep.volume[ep.day[e], minute - 1, i] * mult
    # Linear permanent impact of our own earlier trades (DESIGN.md section 1).
    s_imp = s * (1.0 + sh.direction * sh.g * live.traded[e] / ep.adv[i])
    a = sh.alpha
    if sh.alpha_noise > 0.0:
        a = sh.alpha + sh.alpha_noise * (2.0 * uniform01(ep.keys[e], minute, 0, 3) - 1.0)
    deficit = live.missing[e] * 0.5 ** ((minute - live.missing_minute[e]) / sh.half_life)
    side = BID if sh.direction < 0 else ASK
    nlev, _ = build_levels(
        side,
        s_imp,
        v,
        a,
        ep.eps[i],
        ep.tick[e],
        sh.half_spread,
        deficit,
        n,
        sh.depth_sd,
        sh.empty_prob,
        ep.keys[e],
        minute,
        level_prices,
        level_qtys,
    )
    return s, s_imp, deficit, side, nlev


@njit(cache=True, nogil=True)
def execute_chunk(lo, hi, c, minute, mult, orders, ep, sh, live, scratch, log):
    """Send the working orders of episodes lo..hi-1 into minute ``minute``'s book (engine book c).

    ``mult`` is the minute's depth multiplier. What fills leaves ``orders.working`` and adds its
    temporary cost to ``orders.cost``; costs, fills and the resilience deficit accumulate in
    ``live``. Fills are copied into ``log.out`` only when it is not empty.

    The caller runs chunks on Python threads (the kernel releases the GIL) rather than under
    ``prange``: inside a parallel region every call that passes an array updates that array's
    shared reference count atomically, and two threads doing so per order ran 4x slower than
    one.
    """
    level_prices = scratch.level_prices[c]
    level_qtys = scratch.level_qtys[c]
    fills = scratch.fills[c]
    working = orders.working
    direction = sh.direction
    acc = live.acc
    for e in range(lo, hi):
        n = working[e]
        live.status[e] = OK
        live.fill_counts[e] = 0
        if n <= 0:
            continue
        s, s_imp, deficit, side, nlev = _build_book(
            e, minute, mult, n, ep, sh, live, level_prices, level_qtys
        )
        load_side(scratch.books, c, side, level_prices, level_qtys, nlev)
        filled, nf = submit_market(scratch.books, c, direction, n, e, fills, 0)
        if filled < n and nlev == level_prices.shape[0]:
            live.status[e] = SHORT_BOOK
        temporary = 0.0
        notional = 0.0
        tick = ep.tick[e]
        for f in range(nf):
            q = fills[f]["qty"]
            p = fills[f]["price"] * tick
            temporary += direction * q * (p - s_imp)
            notional += q * p
        if log.out.shape[0] > 0:
            start = log.offsets[e]
            for f in range(nf):
                log.out[start + f] = fills[f]
        s0 = ep.s0[e]
        acc[e, TEMPORARY] += temporary
        acc[e, PERMANENT] += direction * filled * (s_imp - s)
        acc[e, TIMING] += direction * filled * (s - s0)
        acc[e, SHORTFALL] += direction * (notional - filled * s0)  # computed on its own
        acc[e, FILLED] += filled
        acc[e, NOTIONAL] += notional
        orders.cost[e] += temporary
        working[e] = n - filled
        live.fill_counts[e] = nf
        live.traded[e] += filled
        # Consumed depth partly missing from the next rebuild, recovering with the half-life.
        live.missing[e] = deficit * 0.5 ** (1.0 / sh.half_life) + sh.resilience * filled
        live.missing_minute[e] = minute + 1


@njit(cache=True)
def levels_needed(lo, hi, minute, mult, working, ep, sh, live, level_prices, level_qtys, out):
    """Levels the orders of episodes lo..hi-1 will walk (an upper bound on their fills)."""
    for e in range(lo, hi):
        out[e] = 0
        if working[e] > 0:
            out[e] = _build_book(
                e, minute, mult, working[e], ep, sh, live, level_prices, level_qtys
            )[4]


# Own limit orders' ids: episode * ID_STRIDE + a per-episode sequence number, so a fill names
# its episode without a lookup table.
ID_STRIDE = 1 << 24


class PassiveBooks(NamedTuple):
    """One persistent engine book per episode of the day, and the passive minute's buffers."""

    books: BookState  # N books: episode e of the day uses book e - first
    first: int  # the day's first episode
    bid_prices: np.ndarray  # int64 (L,)
    bid_qtys: np.ndarray  # int64 (L,)
    ask_prices: np.ndarray  # int64 (L,)
    ask_qtys: np.ndarray  # int64 (L,)
    directions: np.ndarray  # int64 (F,): background orders
    sizes: np.ndarray  # int64 (F,)
    fills: np.ndarray  # FILL_DTYPE (R,)
    sigma: np.ndarray  # float64 (E,): the day's sd of one-minute mid changes per episode
    n_orders: float  # expected background orders a minute


@njit(cache=True)
def passive_chunk(lo, hi, minute, mult, ep, sh, live, pb, every, cost, log_out, log_count):
    """The passive minute of episodes lo..hi-1 that have own limit orders resting (``every``:
    of all of them, so that an order placed next queues in this minute's book).

    Each such episode's book refills around the impacted mid, the minute's background orders
    (:func:`lobsim.books.flow.background_flow`) trade through it, and every fill of an own
    order is accounted like an aggressive one (a sell above the mid books a negative temporary
    cost, also added to ``cost[e]``). Fills of own orders are copied into ``log_out`` from row
    ``log_count[0]`` when it is not empty. Returns the background shares traded.
    """
    direction = sh.direction
    own_side = ASK if direction < 0 else BID
    acc = live.acc
    traded_background = 0
    for e in range(lo, hi):
        b = e - pb.first
        if not every and pb.books.books[b, BK_OWN + own_side] == 0:
            continue
        i = ep.stock[e]
        d = ep.day[e]
        s = ep.price[d, minute - 1, i]
        volume = ep.volume[d, minute - 1, i]
        change = s - ep.price[d, minute - 2, i] if minute >= 2 else 0.0
        s_imp = s * (1.0 + direction * sh.g * live.traded[e] / ep.adv[i])
        tick = ep.tick[e]
        a = sh.alpha
        if sh.alpha_noise > 0.0:  # the same draw as the aggressive book of this minute
            a = sh.alpha + sh.alpha_noise * (2.0 * uniform01(ep.keys[e], minute, 0, 3) - 1.0)
        n = 0
        if pb.n_orders > 0:  # none: only the mid moves and the book refills
            n = background_flow(
                volume, change, pb.sigma[e], pb.n_orders, ep.keys[e], minute, pb.directions,
                pb.sizes,
            )  # fmt: skip
        largest = 0
        for j in range(n):
            largest = max(largest, pb.sizes[j])
        # Deep enough for the largest background order, and to the deepest own order.
        need_own = max(
            largest,
            _shares_to_deepest_own(
                pb.books, b, own_side, s_imp, tick, volume * mult, ep.eps[i], a
            ),
        )
        need_bid = need_own if own_side == BID else largest
        need_ask = need_own if own_side == ASK else largest
        # Own orders deeper than the book can hold keep their own levels: the shape stops short.
        room = pb.bid_prices.shape[0] - pb.books.books[b, BK_OWN + own_side] - 1
        bid_cap = room if own_side == BID else pb.bid_prices.shape[0]
        ask_cap = room if own_side == ASK else pb.ask_prices.shape[0]
        n_bid, _ = build_levels(
            BID, s_imp, volume * mult, a, ep.eps[i], tick, sh.half_spread, 0.0,
            max(need_bid, 1), sh.depth_sd, sh.empty_prob, ep.keys[e], minute,
            pb.bid_prices[:bid_cap], pb.bid_qtys[:bid_cap],
        )  # fmt: skip
        n_ask, _ = build_levels(
            ASK, s_imp, volume * mult, a, ep.eps[i], tick, sh.half_spread, 0.0,
            max(need_ask, 1), sh.depth_sd, sh.empty_prob, ep.keys[e], minute,
            pb.ask_prices[:ask_cap], pb.ask_qtys[:ask_cap],
        )  # fmt: skip
        if n_bid > 0 and n_ask > 0 and pb.bid_prices[0] >= pb.ask_prices[0]:
            # A mid on a tick with no half-spread: the asks start one tick above it.
            for j in range(n_ask - 1):
                pb.ask_prices[j] = pb.ask_prices[j + 1]
                pb.ask_qtys[j] = pb.ask_qtys[j + 1]
            n_ask -= 1
        nf, traded = passive_minute(
            pb.books, b, s_imp / tick, pb.bid_prices, pb.bid_qtys, n_bid, pb.ask_prices,
            pb.ask_qtys, n_ask, pb.directions, pb.sizes, n, pb.fills, 0,
        )  # fmt: skip
        traded_background += traded
        s0 = ep.s0[e]
        for f in range(nf):
            maker = pb.fills[f].maker_id
            if maker < 0:
                continue  # bulk depth traded
            q = pb.fills[f].qty
            p = pb.fills[f].price * tick
            temporary = direction * q * (p - s_imp)
            acc[e, TEMPORARY] += temporary
            cost[e] += temporary
            acc[e, PERMANENT] += direction * q * (s_imp - s)
            acc[e, TIMING] += direction * q * (s - s0)
            acc[e, SHORTFALL] += direction * (q * p - q * s0)
            acc[e, FILLED] += q
            acc[e, PASSIVE] += q
            acc[e, NOTIONAL] += q * p
            live.traded[e] += q
            if log_out.shape[0] > 0 and log_count[0] < log_out.shape[0]:
                log_out[log_count[0]] = pb.fills[f]
                log_count[0] += 1
    return traded_background


@njit(cache=True)
def _shares_to_deepest_own(books, b, side, mid, tick, volume, eps, a):
    """Shares of the power-law shape between the mid and the deepest own order of ``side``
    (0 without one), so that the refill keeps the depth ahead of it."""
    levels = books.levels
    orders = books.orders
    m = books.books[b, BK_LEVELS + side]
    for i in range(m):  # worst level first
        s = levels[b, side, i, LV_HEAD]
        while s != NO_SLOT:
            if orders[b, s, OR_ID] != BULK_ID:
                price = levels[b, side, i, LV_PRICE] * tick
                x = abs(price - mid) / mid  # relative depth of the level
                shares = volume * (x / eps) ** (1.0 + a)
                return np.int64(shares) + 1
            s = orders[b, s, OR_NEXT]
    return 0
