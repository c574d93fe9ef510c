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

from lobsim.books.kernels import ASK, BID, build_levels, uniform01
from lobsim.engine.batch import BookState
from lobsim.engine.kernels import load_side, submit_market

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
)
TEMPORARY, PERMANENT, TIMING, SHORTFALL, FILLED, NOTIONAL = range(len(ACC_COLUMNS))


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
