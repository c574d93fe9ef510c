"""Step every episode of a run in lockstep, decision time by decision time.

An episode is one (stock, day). At each decision time the simulator builds the observation,
asks the strategy once for the whole batch, executes every child order in one kernel call
against that minute's books, applies permanent impact and accounts for every fill.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lobsim.books.model import BookModel
from lobsim.engine.batch import BookBatch
from lobsim.engine.records import FILL_DTYPE
from lobsim.errors import InputError, StrategyError
from lobsim.simulation.kernels import (
    FILLED,
    SHORT_BOOK,
    Episodes,
    Live,
    Shape,
    execute_chunk,
    levels_needed,
)
from lobsim.strategy import BUY, SELL, Observation, Schedule

# Columns of the accumulator the kernel fills, in order.
_ACC = ("temporary_cost", "permanent_cost", "timing_cost", "shortfall", "filled", "notional")


@dataclass(frozen=True)
class SimulationResult:
    """What one simulation returns.

    Attributes
    ----------
    episodes : pandas.DataFrame
        One row per (stock, day): see :func:`simulate` for the columns.
    inventory : ndarray(int64, (E, K + 1))
        Remaining shares before each decision and after the last, episode order as ``episodes``.
    child_cost : ndarray(float64, (E, K))
        Temporary cost of each child order (currency).
    fills : pandas.DataFrame or None
        With ``record_fills``: one row per fill (episode, decision, minute, price, qty).
    """

    episodes: pd.DataFrame
    inventory: np.ndarray
    child_cost: np.ndarray
    fills: pd.DataFrame | None = None


def _strategy_name(strategy) -> str:
    return getattr(strategy, "name", None) or type(strategy).__name__


def _check_targets(targets, n_episodes: int, name: str, k: int) -> np.ndarray:
    """The strategy's output as float64 (E,), or a StrategyError naming the first bad episode."""
    where = f"strategy {name!r} at decision {k}"
    if not isinstance(targets, np.ndarray):
        raise StrategyError(f"{where} returned {type(targets).__name__}, expected a numpy array")
    if targets.dtype.kind not in "iuf":
        raise StrategyError(
            f"{where} returned dtype {targets.dtype}, expected real numbers (float or int)"
        )
    if targets.shape != (n_episodes,):
        raise StrategyError(
            f"{where} returned shape {targets.shape}, expected ({n_episodes},): "
            "one target remaining inventory per episode"
        )
    out = targets.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        raise StrategyError(f"{where} returned {out[e]} for episode {e} (and {bad.sum()} in all)")
    return out


def _episode_keys(seed: np.random.SeedSequence, dates: np.ndarray, n_stocks: int) -> np.ndarray:
    """A 64-bit noise key per (day, stock), from the run's seed and the episode's identity only.

    Keys depend on the date and the stock's column, not on batching, so every strategy and
    every worker sees the same book noise for the same episode.
    """
    day_numbers = dates.astype("datetime64[D]").astype(np.int64)
    keys = np.empty((len(dates), n_stocks), dtype=np.uint64)
    for d, day_number in enumerate(day_numbers):
        seq = np.random.SeedSequence(
            seed.entropy, spawn_key=(*seed.spawn_key, 0xB00C, int(day_number))
        )
        keys[d] = seq.generate_state(n_stocks, np.uint64)
    return keys.reshape(-1)


def _as_seed(seed) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.SeedSequence(seed)
    raise InputError(f"seed must be an int or a numpy SeedSequence, got {type(seed).__name__}")


def _chunks(n_episodes: int) -> np.ndarray:
    """Chunk bounds: one chunk per thread numba is allowed (``numba.set_num_threads``)."""
    from numba import get_num_threads

    n = max(1, min(n_episodes, get_num_threads()))
    return np.linspace(0, n_episodes, n + 1).astype(np.int64)


def simulate(
    panel,
    strategy,
    *,
    book: BookModel,
    parent,
    side: int = SELL,
    schedule: Schedule | None = None,
    adv=None,
    permanent_impact: float = 0.0,
    seed=0,
    record_fills: bool = False,
) -> SimulationResult:
    """Run ``strategy`` on every (stock, day) of ``panel``.

    Parameters
    ----------
    panel : MarketPanel
        The days to trade (for a fold, its test days), every stock of the universe.
    strategy : object with ``decide(obs)``
        Already fitted; see :mod:`lobsim.strategy`.
    book : BookModel
        With epsilon resolved (``BookModel.calibrated``).
    parent : array_like of int, shape (N,)
        Parent order per stock in shares (>= 0).
    side : int
        SELL (-1) or BUY (+1).
    schedule : Schedule, optional
        Decision times and lag; the default is 5-minute decisions with a 1-minute lag.
    adv : array_like of float, shape (N,), optional
        Average daily volume per stock seen by the strategy and used by permanent impact
        (the training window's, for a fold); default: the panel's own.
    permanent_impact : float
        g of the impacted mid S~ = S (1 -/+ g X_traded_before / ADV); 0 (the paper's) by default.
    seed : int or SeedSequence
        Root of the book noise; the same seed gives the same numbers however the days are
        batched.
    record_fills : bool
        Also return every fill.

    Returns
    -------
    SimulationResult
        ``episodes`` columns: stock, day, strategy, side, shares, shares_filled, unfilled,
        arrival_price, avg_price, day_volume, temporary_cost, permanent_cost, timing_cost,
        shortfall, cost (= temporary + permanent: what our trading cost, drift excluded),
        and the same five in bps of shares * arrival_price (``*_bps``; ``cost_bps``).
        shortfall = temporary + permanent + timing to floating-point precision.
    """
    schedule = schedule or Schedule()
    if side not in (SELL, BUY):
        raise InputError(f"side must be SELL (-1) or BUY (+1), got {side!r}")
    d_count, m_count, n_stocks = panel.price.shape
    if m_count != schedule.minutes:
        raise InputError(
            f"the panel has {m_count} minutes a day but the schedule expects {schedule.minutes}"
        )
    parent = np.asarray(parent)
    if parent.shape != (n_stocks,) or parent.dtype.kind not in "iuf":
        raise InputError(f"parent must be {n_stocks} share counts, got shape {parent.shape}")
    if np.any(parent < 0) or np.any(parent != np.round(parent)):
        raise InputError("parent orders must be whole, non-negative numbers of shares")
    parent = parent.astype(np.int64)
    adv = np.asarray(panel.adv if adv is None else adv, dtype=np.float64)
    if adv.shape != (n_stocks,) or not np.all(adv > 0):
        raise InputError(f"adv must be {n_stocks} positive volumes")
    if not permanent_impact >= 0:
        raise InputError(f"permanent_impact must be >= 0, got {permanent_impact}")
    seed = _as_seed(seed)
    eps = book.epsilons(n_stocks)
    name = _strategy_name(strategy)

    n_ep = d_count * n_stocks
    stock = np.tile(np.arange(n_stocks, dtype=np.int64), d_count)
    day = np.repeat(np.arange(d_count, dtype=np.int64), n_stocks)
    price = np.ascontiguousarray(panel.price, dtype=np.float64)
    volume = np.ascontiguousarray(panel.volume, dtype=np.float64)
    times = schedule.decision_times
    n_dec = len(times)
    first = max(int(times[0]) - 1, 1)
    # Arrival price: the last mid before the first child order's bar (bar 1 if it is bar 1).
    s0 = price[day, first - 1, stock].copy()
    if book.tick is None:
        tick = s0 * eps[stock] / book.levels_per_eps
    else:
        tick = np.full(n_ep, float(book.tick))
    keys = _episode_keys(seed, panel.dates, n_stocks)
    mult = book.depth_multiplier(m_count)

    chunk_bounds = _chunks(n_ep)
    n_chunks = len(chunk_bounds) - 1
    books = BookBatch(n_chunks, max_levels=book.max_levels, max_orders=book.max_levels + 1)
    level_prices = np.zeros((n_chunks, book.max_levels), dtype=np.int64)
    level_qtys = np.zeros((n_chunks, book.max_levels), dtype=np.int64)
    scratch_fills = np.zeros((n_chunks, book.max_levels + 1), dtype=FILL_DTYPE)

    remaining = parent[stock].copy()
    initial = remaining.copy()
    inventory = np.zeros((n_ep, n_dec + 1), dtype=np.int64)
    child_cost = np.zeros((n_ep, n_dec), dtype=np.float64)
    ep = Episodes(stock, day, price, volume, eps, adv, tick, keys, s0)
    sh = Shape(
        side,
        book.alpha,
        book.alpha_noise,
        book.half_spread,
        book.depth_noise,
        book.empty_prob,
        book.resilience,
        book.half_life,
        float(permanent_impact),
    )
    live = Live(
        np.zeros(n_ep),
        np.zeros(n_ep),
        np.zeros(n_ep),
        np.zeros((n_ep, len(_ACC)), dtype=np.float64),
        np.zeros(n_ep, dtype=np.int64),
        np.zeros(n_ep, dtype=np.int64),
    )
    acc = live.acc
    side_arr = np.full(n_ep, side, dtype=np.int8)
    fill_tables = []
    price_ro = price.view()
    price_ro.flags.writeable = False
    volume_ro = volume.view()
    volume_ro.flags.writeable = False
    tickers = tuple(panel.tickers)
    no_fills = np.zeros(0, dtype=FILL_DTYPE)

    # Chunks run on threads: the kernel releases the GIL (see execute_chunk on why not prange).
    pool = ThreadPoolExecutor(n_chunks) if n_chunks > 1 else None
    try:
        for k, t in enumerate(times):
            t = int(t)
            visible = t - schedule.lag
            obs = Observation(
                k=k,
                t=t,
                schedule=schedule,
                stock=stock,
                day=day,
                side=side_arr,
                initial=initial,
                remaining=remaining.copy(),
                price=price_ro[:, :visible, :],
                volume=volume_ro[:, :visible, :],
                adv=adv,
                tickers=tickers,
                dates=panel.dates,
            )
            inventory[:, k] = remaining
            if k == n_dec - 1:
                target = np.zeros(n_ep, dtype=np.int64)
            else:
                raw = _check_targets(strategy.decide(obs), n_ep, name, k)
                target = np.clip(np.rint(raw), 0, remaining).astype(np.int64)
            child = remaining - target
            fill_out, offsets = no_fills, np.zeros(n_ep, dtype=np.int64)
            if record_fills:
                need = np.zeros(n_ep, dtype=np.int64)
                levels_needed(
                    t, mult[t - 1], child, ep, sh, live, level_prices[0], level_qtys[0], need
                )
                offsets = np.concatenate(([0], np.cumsum(need)[:-1])).astype(np.int64)
                fill_out = np.zeros(int(need.sum()), dtype=FILL_DTYPE)

            def run_chunk(c, t=t, k=k, child=child, fill_out=fill_out, offsets=offsets):
                execute_chunk(
                    chunk_bounds[c],
                    chunk_bounds[c + 1],
                    c,
                    t,
                    mult[t - 1],
                    child,
                    books.state,
                    ep,
                    sh,
                    live,
                    child_cost[:, k],
                    level_prices[c],
                    level_qtys[c],
                    scratch_fills[c],
                    fill_out,
                    offsets,
                )

            if pool is None:
                run_chunk(0)
            else:
                list(pool.map(run_chunk, range(n_chunks)))
            for c in range(n_chunks):
                books.check(c, "simulating a decision")
            short = live.status == SHORT_BOOK
            if short.any():
                e = int(np.flatnonzero(short)[0])
                raise InputError(
                    f"the child order of {child[e]} shares for {tickers[stock[e]]} on "
                    f"{panel.dates[day[e]]} at minute {t} needs more than book.max_levels="
                    f"{book.max_levels} levels; raise max_levels or lower levels_per_eps"
                )
            remaining = initial - acc[:, FILLED].astype(np.int64)
            if record_fills:
                fill_tables.append(_fills_frame(fill_out, offsets, live.fill_counts, k, t, tick))
    finally:
        if pool is not None:
            pool.shutdown()
    inventory[:, n_dec] = remaining

    episodes = _episodes_frame(panel, stock, day, name, side, initial, remaining, s0, acc, volume)
    fills = pd.concat(fill_tables, ignore_index=True) if record_fills else None
    return SimulationResult(episodes, inventory, child_cost, fills)


def _fills_frame(fill_out, offsets, counts, k, t, tick) -> pd.DataFrame:
    rows = np.concatenate([np.arange(o, o + c) for o, c in zip(offsets, counts, strict=True)])
    f = fill_out[rows.astype(np.int64)]
    episode = f["taker_id"]
    return pd.DataFrame(
        {
            "episode": episode,
            "decision": k,
            "minute": t,
            "price": f["price"] * tick[episode],
            "qty": f["qty"],
        }
    )


def _episodes_frame(panel, stock, day, name, side, initial, remaining, s0, acc, volume):
    notional0 = initial * s0
    frame = pd.DataFrame(
        {
            "stock": np.asarray(panel.tickers, dtype=object)[stock],
            "day": pd.to_datetime(panel.dates[day]),
            "strategy": name,
            "side": "sell" if side == SELL else "buy",
            "shares": initial,
            "shares_filled": acc[:, 4].astype(np.int64),
            "unfilled": remaining,
            "arrival_price": s0,
            "avg_price": np.divide(
                acc[:, 5], acc[:, 4], out=np.full(len(s0), np.nan), where=acc[:, 4] > 0
            ),
            "day_volume": volume.sum(axis=1)[day, stock],
        }
    )
    for j, col in enumerate(_ACC[:4]):
        frame[col] = acc[:, j]
    frame["cost"] = acc[:, 0] + acc[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for col in ("temporary_cost", "permanent_cost", "timing_cost", "shortfall", "cost"):
            bps = np.where(notional0 > 0, 1e4 * frame[col].to_numpy() / notional0, 0.0)
            frame[col.replace("_cost", "") + "_bps"] = bps
    return frame
