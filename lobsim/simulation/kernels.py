"""The simulator's kernel: every child order of one decision time in one call.

For each episode it rebuilds that minute's book around the impacted mid (only the levels the
order needs), bulk-loads it into an engine book, sends the market order through the engine and
accounts for every fill. Episodes are split into chunks, one engine book per chunk, so chunks
run on separate threads without sharing a book.
"""

from __future__ import annotations

from numba import njit

from lobsim.books.kernels import ASK, BID, build_levels, uniform01
from lobsim.engine.kernels import load_side, submit_market

# Status codes per episode, turned into errors by the Python layer.
OK = 0
SHORT_BOOK = 1  # the order needed more levels than max_levels


@njit(cache=True)
def _build_book(
    e,
    stock,
    day,
    price,
    volume,
    minute,
    mult,
    n,
    direction,
    eps,
    alpha,
    alpha_noise,
    tick,
    half_spread,
    depth_sd,
    empty_prob,
    keys,
    missing,
    missing_minute,
    half_life,
    traded_before,
    adv,
    g,
    level_prices,
    level_qtys,
):
    """Lay out the levels episode e's order of n shares needs in this minute's book.

    Returns (mid, impacted mid, missing depth, book side, levels written).
    """
    i = stock[e]
    s = price[day[e], minute - 1, i]
    v = volume[day[e], minute - 1, i] * mult
    # Linear permanent impact of our own earlier trades (DESIGN.md section 1).
    s_imp = s * (1.0 + direction * g * traded_before[e] / adv[i])
    a = alpha
    if alpha_noise > 0.0:
        a = alpha + alpha_noise * (2.0 * uniform01(keys[e], minute, 0, 3) - 1.0)
    deficit = missing[e] * 0.5 ** ((minute - missing_minute[e]) / half_life)
    side = BID if direction < 0 else ASK
    nlev, _ = build_levels(
        side,
        s_imp,
        v,
        a,
        eps[i],
        tick[e],
        half_spread,
        deficit,
        n,
        depth_sd,
        empty_prob,
        keys[e],
        minute,
        level_prices,
        level_qtys,
    )
    return s, s_imp, deficit, side, nlev


@njit(cache=True)
def _execute_one(
    e,
    c,
    state,
    stock,
    day,
    price,
    volume,
    minute,
    mult,
    child,
    direction,
    eps,
    alpha,
    alpha_noise,
    tick,
    half_spread,
    depth_sd,
    empty_prob,
    keys,
    resilience,
    half_life,
    missing,
    missing_minute,
    traded_before,
    adv,
    g,
    s0,
    acc,
    child_cost,
    level_prices,
    level_qtys,
    fills,
    fill_out,
    fill_offset,
):
    """Execute episode e's child order in engine book c; returns (status, fills written)."""
    n = child[e]
    if n <= 0:
        child_cost[e] = 0.0
        return OK, 0
    s, s_imp, deficit, side, nlev = _build_book(
        e,
        stock,
        day,
        price,
        volume,
        minute,
        mult,
        n,
        direction,
        eps,
        alpha,
        alpha_noise,
        tick,
        half_spread,
        depth_sd,
        empty_prob,
        keys,
        missing,
        missing_minute,
        half_life,
        traded_before,
        adv,
        g,
        level_prices,
        level_qtys,
    )
    load_side(state, c, side, level_prices, level_qtys, nlev)
    filled, nf = submit_market(state, c, direction, n, e, fills, 0)
    status = OK
    if filled < n and nlev == level_prices.shape[0]:
        status = SHORT_BOOK
    temporary = 0.0
    notional = 0.0
    for f in range(nf):
        q = fills[f]["qty"]
        p = fills[f]["price"] * tick[e]
        temporary += direction * q * (p - s_imp)
        notional += q * p
        if fill_out.shape[0] > 0:
            fill_out[fill_offset + f] = fills[f]
    acc[e, 0] += temporary
    acc[e, 1] += direction * filled * (s_imp - s)  # permanent
    acc[e, 2] += direction * filled * (s - s0[e])  # timing
    acc[e, 3] += direction * (notional - filled * s0[e])  # shortfall, computed on its own
    acc[e, 4] += filled
    acc[e, 5] += notional
    child_cost[e] = temporary
    traded_before[e] += filled
    # Consumed depth partly missing from the next rebuild, recovering with the half-life.
    missing[e] = deficit * 0.5 ** (1.0 / half_life) + resilience * filled
    missing_minute[e] = minute + 1
    return status, nf


@njit(cache=True, nogil=True)
def execute_chunk(
    lo,
    hi,
    c,
    state,
    stock,
    day,
    price,
    volume,
    minute,
    mult,
    child,
    direction,
    eps,
    alpha,
    alpha_noise,
    tick,
    half_spread,
    depth_sd,
    empty_prob,
    keys,
    resilience,
    half_life,
    missing,
    missing_minute,
    traded_before,
    adv,
    g,
    s0,
    acc,
    child_cost,
    status,
    level_prices,
    level_qtys,
    fills,
    fill_out,
    fill_offsets,
    fill_counts,
):
    """Execute the child orders ``child[lo:hi]`` of one decision in minute ``minute``.

    Episodes lo..hi-1 use engine book c and the scratch rows ``level_prices``, ``level_qtys``
    and ``fills`` given for it. ``acc`` (E, 6) accumulates per episode: temporary, permanent,
    timing, shortfall (currency, signed as costs), shares filled and notional. ``fill_out`` is
    empty unless fills are recorded; then episode e writes its fills from ``fill_offsets[e]``
    and counts them in ``fill_counts[e]``.

    The caller runs chunks on Python threads (the kernel releases the GIL) rather than under
    ``prange``: inside a parallel region every call that passes an array updates that array's
    shared reference count atomically, and two threads doing so per order ran 4x slower than
    one.
    """
    for e in range(lo, hi):
        offset = fill_offsets[e] if fill_out.shape[0] > 0 else 0
        st, nf = _execute_one(
            e,
            c,
            state,
            stock,
            day,
            price,
            volume,
            minute,
            mult,
            child,
            direction,
            eps,
            alpha,
            alpha_noise,
            tick,
            half_spread,
            depth_sd,
            empty_prob,
            keys,
            resilience,
            half_life,
            missing,
            missing_minute,
            traded_before,
            adv,
            g,
            s0,
            acc,
            child_cost,
            level_prices,
            level_qtys,
            fills,
            fill_out,
            offset,
        )
        status[e] = st
        fill_counts[e] = nf


@njit(cache=True)
def levels_needed(
    stock,
    day,
    price,
    volume,
    minute,
    mult,
    child,
    direction,
    eps,
    alpha,
    alpha_noise,
    tick,
    half_spread,
    depth_sd,
    empty_prob,
    keys,
    missing,
    missing_minute,
    half_life,
    traded_before,
    adv,
    g,
    level_prices,
    level_qtys,
    out,
):
    """Levels each episode's order will walk (an upper bound on its fills), for sizing."""
    for e in range(child.shape[0]):
        if child[e] <= 0:
            out[e] = 0
            continue
        out[e] = _build_book(
            e,
            stock,
            day,
            price,
            volume,
            minute,
            mult,
            child[e],
            direction,
            eps,
            alpha,
            alpha_noise,
            tick,
            half_spread,
            depth_sd,
            empty_prob,
            keys,
            missing,
            missing_minute,
            half_life,
            traded_before,
            adv,
            g,
            level_prices,
            level_qtys,
        )[4]
