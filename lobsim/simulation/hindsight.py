"""The hindsight yardstick: each episode's cheapest schedule, given the day's true volumes and
books. It uses the future; it is reported beside the strategies, never ranked with them.

A market child order of decision k trades in its fill bar (the first bar of its window with
volume, :meth:`lobsim.Schedule.fill_bars`), walking that bar's book level by level. With no
permanent impact and no resilience (``impact.permanent = 0``, ``book.resilience = 0``, the
paper's set-up) the bars do not interact, and each bar's cost is convex and piecewise linear in
the shares it takes: level j of bar k costs c_kj = |S_k - P_kj| a share (the walk's concession
against the bar's mid), rising with j. The cheapest way to trade X shares over the K bars is
then to take the X cheapest shares of all the bars' levels together, which this module finds
exactly: it lays out each bar's book as the simulator does (the same grid, shape, noise and
empty levels, :func:`lobsim.books.kernels.build_levels`), bisects on the marginal cost to the
last share, and takes the shares at the margin in cost order. Executing the allocation through
the simulator costs exactly this (the tests do it), so no market-order strategy can cost less
on any episode: a run checks that it does not (:func:`check_above`).

Where the bars do interact (permanent impact, resilience) or orders are not all market orders
(limit orders can earn the spread), the yardstick is not defined and is NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lobsim.books.kernels import ASK, BID, build_levels
from lobsim.errors import StrategyError
from lobsim.simulation.kernels import shape_at


class HindsightBeaten(StrategyError):
    """A strategy cost less than the hindsight optimum: it saw the future, or the yardstick
    is wrong. Either way the run's numbers cannot be trusted."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="beat hindsight")


def hindsight(run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hindsight optimum of every episode of a prepared run (``lobsim.simulation``'s
    ``_Run``, episodes day-major).

    Returns
    -------
    (cost, filled, allocation) : ndarray(float64, (E,)), ndarray(int64, (E,)),
        ndarray(int64, (E, K))
        The temporary cost in currency (NaN where the yardstick is not defined, or the day's
        books cannot take the whole parent order), the shares it trades and their split over
        the decisions.
    """
    ep, sh, schedule = run.ep, run.sh, run.schedule
    n_ep = len(run.initial)
    k = schedule.n_decisions
    cost = np.full(n_ep, np.nan)
    filled = np.zeros(n_ep, dtype=np.int64)
    allocation = np.zeros((n_ep, k), dtype=np.int64)
    if sh.g != 0.0 or sh.resilience != 0.0:
        return cost, filled, allocation
    bars = schedule.fill_bars(ep.volume)  # (D, K, N)
    bars = np.ascontiguousarray(bars[ep.day, :, ep.stock])  # (E, K)
    _hindsight(ep, sh, run.mult, bars, run.initial, run.book.max_levels, cost, filled,
               allocation)  # fmt: skip
    return cost, filled, allocation


def check_above(name: str, episodes, bound: np.ndarray, rtol: float = 1e-9) -> None:
    """Raise :class:`HindsightBeaten` if an episode of ``name`` traded with market orders
    only cost less than ``bound`` (the hindsight cost, NaN where undefined)."""
    cost = episodes["cost"].to_numpy()
    market_only = episodes["passive_shares"].to_numpy() == 0
    slack = rtol * np.abs(bound) + 1e-9
    beaten = market_only & np.isfinite(bound) & (cost < bound - slack)
    if beaten.any():
        i = int(np.flatnonzero(beaten)[0])
        row = episodes.iloc[i]
        raise HindsightBeaten(
            f"strategy {name!r} cost ${cost[i]:,.6f} on {row['stock']} {row['day']:%Y-%m-%d}, "
            f"less than the hindsight optimum ${bound[i]:,.6f} (the cheapest schedule given the "
            "day's true volumes and books): it saw the future, or lobsim has a bug; "
            f"{int(beaten.sum())} episode(s) in all"
        )


@njit(cache=True)
def _hindsight(ep, sh, mult, bars, initial, max_levels, cost, filled, allocation):
    n_ep, k_count = bars.shape
    prices = np.zeros((k_count, max_levels), dtype=np.int64)
    qtys = np.zeros((k_count, max_levels), dtype=np.int64)
    unit = np.zeros((k_count, max_levels))  # cost a share, currency, ascending in j
    cum = np.zeros((k_count, max_levels + 1), dtype=np.int64)
    nlev = np.zeros(k_count, dtype=np.int64)
    held = np.zeros(k_count, dtype=np.int64)
    side = BID if sh.direction < 0 else ASK
    for e in range(n_ep):
        x = initial[e]
        if x <= 0:
            cost[e] = 0.0
            continue
        i, d = ep.stock[e], ep.day[e]
        total_volume = 0.0
        for k in range(k_count):
            if bars[e, k] > 0:
                total_volume += ep.volume[d, bars[e, k] - 1, i]
        for attempt in range(2):
            for k in range(k_count):
                t = bars[e, k]
                nlev[k] = 0
                held[k] = 0
                if t == 0:
                    continue
                s = ep.price[d, t - 1, i]
                v = ep.volume[d, t - 1, i] * mult[t - 1]
                a, eps = shape_at(sh, ep.keys[e], t, ep.eps[i])
                need = x
                if attempt == 0 and total_volume > 0.0:  # enough for a generous guess first
                    need = min(x, int(4.0 * x * ep.volume[d, t - 1, i] / total_volume) + 64)
                nlev[k], held[k] = build_levels(
                    side, s, v, a, eps, ep.tick[e], sh.half_spread, 0.0, need,
                    sh.depth_sd, sh.empty_prob, ep.keys[e], t, prices[k], qtys[k],
                )  # fmt: skip
                tick = ep.tick[e]
                for j in range(nlev[k]):
                    unit[k, j] = abs(s - prices[k, j] * tick)
                    cum[k, j + 1] = cum[k, j] + qtys[k, j]
            done = _allocate(x, unit, qtys, cum, nlev, allocation[e])
            cost[e], filled[e] = done
            # A bar whose guessed depth the allocation used up may have cheaper shares beyond.
            short = False
            for k in range(k_count):
                built_for_guess = held[k] < x and nlev[k] < max_levels and held[k] > 0
                if built_for_guess and allocation[e, k] >= cum[k, nlev[k]]:
                    short = True
            if not short:
                break
        if filled[e] < x:
            cost[e] = np.nan  # the day's books cannot take the parent order


@njit(cache=True)
def _allocate(x, unit, qtys, cum, nlev, out):
    """Take the x cheapest shares of the bars' levels; write each bar's shares into ``out``;
    returns (cost, shares taken)."""
    k_count = nlev.shape[0]
    top = 0.0
    available = 0
    for k in range(k_count):
        available += cum[k, nlev[k]]
        if nlev[k] > 0:
            top = max(top, unit[k, nlev[k] - 1])
    if available <= x:  # everything
        total = 0.0
        for k in range(k_count):
            out[k] = cum[k, nlev[k]]
            for j in range(nlev[k]):
                total += qtys[k, j] * unit[k, j]
        return total, available
    lo, hi = -1.0, top  # shares(lo) < x <= shares(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        if _shares_upto(mid, unit, cum, nlev) < x:
            lo = mid
        else:
            hi = mid
    total = 0.0
    taken = 0
    for k in range(k_count):  # every level at or below lo, whole
        m = _count_upto(lo, unit[k], nlev[k])
        out[k] = cum[k, m]
        taken += cum[k, m]
        for j in range(m):
            total += qtys[k, j] * unit[k, j]
    # The rest from the levels in (lo, hi], cheapest first.
    while taken < x:
        best_k, best = -1, np.inf
        for k in range(k_count):
            j = _count_upto(lo, unit[k], nlev[k])
            level_taken = out[k] - cum[k, j]
            while j < nlev[k] and level_taken >= qtys[k, j]:
                level_taken -= qtys[k, j]
                j += 1
            if j < nlev[k] and unit[k, j] <= hi and unit[k, j] < best:
                best, best_k = unit[k, j], k
        if best_k < 0:
            break
        k = best_k
        j = _count_upto(lo, unit[k], nlev[k])
        level_taken = out[k] - cum[k, j]
        while level_taken >= qtys[k, j]:
            level_taken -= qtys[k, j]
            j += 1
        q = min(qtys[k, j] - level_taken, x - taken)
        out[k] += q
        taken += q
        total += q * unit[k, j]
    return total, taken


@njit(cache=True)
def _count_upto(level, unit_k, n):
    """Levels of a bar whose cost a share is <= ``level`` (costs ascend with the level)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if unit_k[mid] <= level:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def _shares_upto(level, unit, cum, nlev):
    total = 0
    for k in range(nlev.shape[0]):
        total += cum[k, _count_upto(level, unit[k], nlev[k])]
    return total
