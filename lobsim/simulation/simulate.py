"""Step every episode of a run, one trading day at a time, decision time by decision time.

An episode is one (stock, day); a batch is the N episodes of one day. For each day in order and
each decision time the simulator builds the observation (:mod:`lobsim.sandbox`), asks the
strategy once for the batch, executes every child order against that minute's books (one
kernel call per thread chunk), applies permanent impact and accounts for every fill. Episodes
never share state, so the numbers do not depend on the batching.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lobsim._memory import check_fits
from lobsim.books.flow import day_sigma
from lobsim.books.model import BookModel
from lobsim.engine.kernels import cancel
from lobsim.engine.records import (
    ASK,
    BID,
    BK_OWN,
    BK_STATUS,
    FILL_DTYPE,
)
from lobsim.errors import InputError
from lobsim.sandbox import Sandbox, strategy_name, trade
from lobsim.simulation.kernels import (
    ACC_COLUMNS,
    FILLED,
    ID_STRIDE,
    NOTIONAL,
    PASSIVE,
    PASSIVE_ORDERS,
    PERMANENT,
    POST_MATCHED,
    POSTED,
    SHORT_BOOK,
    SHORTFALL,
    TEMPORARY,
    TIMING,
    Episodes,
    FillLog,
    Live,
    Orders,
    Posts,
    Scratch,
    Shape,
    execute_chunk,
    levels_needed,
    no_posts,
    passive_books,
    passive_chunk,
    resting_orders,
)
from lobsim.strategy import BUY, RESTING_DTYPE, SELL, Schedule


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
        With ``record_fills``: one row per fill (episode, decision, minute, price, qty,
        passive: whether an own limit order filled, order_id: its id, -1 for market orders).
    background_orders, background_shares : int
        Background market orders run through the passive books, and the shares they traded
        (0 unless the strategy posted limit orders: only books with own orders resting run the
        passive minute).
    """

    episodes: pd.DataFrame
    inventory: np.ndarray
    child_cost: np.ndarray
    fills: pd.DataFrame | None = None
    background_orders: int = 0
    background_shares: int = 0


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
    name: str | None = None,
) -> SimulationResult:
    """Run ``strategy`` on every (stock, day) of ``panel``.

    Parameters
    ----------
    panel : MarketPanel
        The days to trade (for a fold, its test days), every stock of the universe.
    strategy : object with ``decide(obs)``
        Already fitted; see :mod:`lobsim.strategy`. It is asked for one day at a time.
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
        (the training window's, for a fold); default: the panel's own, an average over every
        day traded, which the strategy then sees in ``obs.adv``: pass the training window's
        to keep it out of sight.
    permanent_impact : float
        g of the impacted mid S~ = S (1 -/+ g X_traded_before / ADV); 0 (the paper's) by default.
    seed : int or SeedSequence
        Root of the book noise; the same seed gives the same numbers however the days are
        batched.
    record_fills : bool
        Also return every fill.
    name : str, optional
        What the strategy is called in the results and in errors; default its ``name``
        attribute or its class name.

    Returns
    -------
    SimulationResult
        ``episodes`` columns: stock, day, strategy, side, shares, shares_filled, unfilled
        (shares left at the close), posted_shares (shares put in limit orders, the part
        trimmed to the inventory), passive_shares (of shares_filled, by limit orders),
        arrival_price, avg_price, day_volume, temporary_cost,
        permanent_cost, timing_cost, opportunity_cost (the unfilled shares valued at the
        close against arrival), penalty_cost (the ranked charge for them, see
        :func:`_unfilled_costs`), shortfall (Perold's: temporary + permanent + timing +
        opportunity, to floating-point precision), cost (temporary + permanent + penalty: what
        our trading cost, drift excluded, the figure strategies are ranked by), and the same
        seven in bps of shares * arrival_price, the parent order's arrival value, unfilled
        shares included (``*_bps``, ``_cost`` dropped from the name: ``cost_bps``).

    A child order works from its decision's minute until the next decision (the last one's
    until the close): what a minute's book cannot fill (a minute without volume) walks the next
    minute's book, and what is still unfilled at the next decision returns to the inventory
    the strategy then decides on.

    Raises
    ------
    StrategyError
        The strategy broke its contract (:mod:`lobsim.sandbox` says how), drew from a global
        random generator, or gave other orders when the last day was replayed on a copy of
        it made before the first day.
    InputError
        Bad arguments, or an order that needs more than ``book.max_levels`` levels.
    """
    run = _prepare(panel, book, parent, side, schedule or Schedule(), adv, permanent_impact, seed)
    name = name or strategy_name(strategy)
    sandbox = Sandbox(panel, run.schedule, parent=run.parent, side=side, adv=run.adv)
    with _Engine(run, record_fills) as engine:

        def execute(d: int, k: int, decision, orders: np.ndarray) -> np.ndarray:
            engine.execute(d, k, orders, decision)
            return run.record(d, k)

        trade(strategy, sandbox, name, execute, engine.resting)
    passive = engine.passive
    return SimulationResult(
        _episodes_frame(panel, run, name),
        np.ascontiguousarray(run.inventory.T),
        np.ascontiguousarray(run.child_cost.T),
        engine.fills(),
        background_orders=0 if passive is None else passive.background_orders,
        background_shares=0 if passive is None else passive.background_shares,
    )


@dataclass
class _Run:
    """Everything one simulation holds: fixed inputs, kernel records and the results."""

    schedule: Schedule
    book: BookModel
    tickers: tuple[str, ...]
    dates: np.ndarray
    side: int
    parent: np.ndarray  # int64 (N,)
    adv: np.ndarray  # float64 (N,)
    mult: np.ndarray  # float64 (M,): depth multiplier per minute
    ep: Episodes
    sh: Shape
    live: Live
    initial: np.ndarray  # int64 (E,)
    # Decision-major, so that a decision's row is contiguous; transposed for the result.
    inventory: np.ndarray  # int64 (K + 1, E): before each decision and after the last
    orders: np.ndarray  # int64 (K, E): child orders placed
    child_cost: np.ndarray  # float64 (K, E)
    times: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.times = self.schedule.decision_times

    @property
    def n_stocks(self) -> int:
        return len(self.parent)

    def day(self, d: int) -> slice:
        """The episodes of day d (they are day-major: e = d * N + stock)."""
        n = len(self.parent)
        return slice(d * n, (d + 1) * n)

    def record(self, d: int, k: int) -> np.ndarray:
        """The inventory of each stock of day d after decision k's order stopped working."""
        episodes = self.day(d)
        after = self.inventory[k + 1, episodes]
        np.subtract(
            self.initial[episodes], self.live.acc[episodes, FILLED], out=after, casting="unsafe"
        )
        return after


def _prepare(panel, book, parent, side, schedule, adv, permanent_impact, seed) -> _Run:
    """Validate the arguments and lay out the per-episode records (episodes day-major)."""
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
    eps = book.epsilons(n_stocks)

    n_ep = d_count * n_stocks
    stock = np.tile(np.arange(n_stocks, dtype=np.int64), d_count)
    day = np.repeat(np.arange(d_count, dtype=np.int64), n_stocks)
    price = np.ascontiguousarray(panel.price, dtype=np.float64)
    volume = np.ascontiguousarray(panel.volume, dtype=np.float64)
    times = schedule.decision_times
    first = max(int(times[0]) - 1, 1)
    # Arrival price: the last mid before the first child order's bar (bar 1 if it is bar 1).
    s0 = price[day, first - 1, stock].copy()
    if book.tick is None:
        tick = s0 * eps[stock] / book.levels_per_eps
    else:
        tick = np.full(n_ep, float(book.tick))
    keys = _episode_keys(_as_seed(seed), panel.dates, n_stocks)
    shape = Shape(
        side,
        book.alpha,
        book.alpha_noise,
        book.half_spread,
        book.depth_noise,
        book.empty_prob,
        book.resilience,
        book.half_life,
        float(permanent_impact),
        int(book.alpha_noise_convention == "depth"),
    )
    live = Live(
        missing=np.zeros(n_ep),
        missing_minute=np.zeros(n_ep),
        traded=np.zeros(n_ep),
        acc=np.zeros((n_ep, len(ACC_COLUMNS)), dtype=np.float64),
        status=np.zeros(n_ep, dtype=np.int64),
        fill_counts=np.zeros(n_ep, dtype=np.int64),
    )
    initial = parent[stock]
    inventory = np.zeros((len(times) + 1, n_ep), dtype=np.int64)
    inventory[0] = initial
    return _Run(
        schedule=schedule,
        book=book,
        tickers=tuple(panel.tickers),
        dates=panel.dates,
        side=side,
        parent=parent,
        adv=adv,
        mult=book.depth_multiplier(m_count),
        ep=Episodes(stock, day, price, volume, eps, adv, tick, keys, s0),
        sh=shape,
        live=live,
        initial=initial,
        inventory=inventory,
        orders=np.zeros((len(times), n_ep), dtype=np.int64),
        child_cost=np.zeros((len(times), n_ep), dtype=np.float64),
    )


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


# Fewest orders a thread is given: handing a chunk to a thread costs about as much as
# executing a hundred orders.
MIN_CHUNK = 256


class _Engine:
    """Executes one decision's child orders of one day, chunk by chunk on threads.

    Buffers per chunk, so chunks never share state; the kernel releases the GIL (see
    ``execute_chunk`` on why not ``prange``). Chunks are numba's thread count
    (``numba.set_num_threads``) or fewer, at least ``MIN_CHUNK`` orders each.
    """

    def __init__(self, run: _Run, record_fills: bool) -> None:
        from numba import get_num_threads

        self.run = run
        n = run.n_stocks
        self.n_chunks = n_chunks = max(1, min(n // MIN_CHUNK, get_num_threads()))
        self.bounds = [int(b) for b in np.linspace(0, n, n_chunks + 1).astype(np.int64)]
        levels = run.book.max_levels
        check_fits(
            3 * 8 * n_chunks * levels,
            f"book.max_levels = {levels} with {n_chunks} threads (the simulator's buffers)",
        )
        self.scratch = Scratch(
            level_prices=np.zeros((n_chunks, levels), dtype=np.int64),
            level_qtys=np.zeros((n_chunks, levels), dtype=np.int64),
            cumulative=np.zeros((n_chunks, levels)),
        )
        self.working = np.zeros(len(run.initial), dtype=np.int64)
        self.passive: _Passive | None = None
        self.record_fills = record_fills
        self._no_log = FillLog(np.zeros(0, dtype=FILL_DTYPE), np.zeros(0, dtype=np.int64))
        self._fill_tables: list[pd.DataFrame] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Engine:
        if self.n_chunks > 1:
            self._pool = ThreadPoolExecutor(self.n_chunks)
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def execute(self, d: int, k: int, orders: np.ndarray, decision=None) -> None:
        """Trade ``orders`` (N,) of day d at decision k, then what they left unfilled in each
        following minute of the decision's window (:meth:`Schedule.window`). With a
        :class:`~lobsim.strategy.Decision` that cancels or posts limit orders, or when some
        rest, the passive minute runs too (:mod:`lobsim.simulation.passive`)."""
        run = self.run
        episodes = run.day(d)
        run.orders[k, episodes] = orders
        working = self.working
        working[episodes] = orders
        batch = Orders(working, run.child_cost[k])
        passive = self._passive_for(d, k, decision)
        window = run.schedule.window(k)
        left = bool(orders.any())
        for t in window:
            if left:
                left = self._minute(episodes, k, t, batch)
            if passive is not None:
                posting = t == window.start and decision is not None
                limits = decision.limits if posting else None
                passive.minute(d, k, t, limits, orders)
            elif not left:
                break
        if left:
            working[episodes] = 0  # the rest returns to the inventory

    def _passive_for(self, d: int, k: int, decision):
        """The passive books, made when a strategy first uses limit orders; None before."""
        wants = decision is not None and (
            decision.limits is not None or decision.cancel is not None
        )
        if self.passive is None and wants:
            self.passive = _Passive(self.run, self)
        if self.passive is None:
            return None
        self.passive.start_day(d)
        if decision is None:  # the last decision sells everything: nothing stays resting
            self.passive.cancel_all(d)
        elif decision.cancel is not None:
            self.passive.cancel(d, decision.cancel)
        return self.passive

    def resting(self, d: int) -> np.ndarray:
        """The own limit orders resting in day d's books (:attr:`Observation.resting`)."""
        if self.passive is None:
            return np.zeros(0, RESTING_DTYPE)
        self.passive.start_day(d)
        return self.passive.resting(d)

    def _minute(self, episodes: slice, k: int, t: int, batch: Orders) -> bool:
        """Minute t of decision k's orders; True while some are still working."""
        run = self.run
        mult = run.mult[t - 1]
        log = self._log(episodes, t, mult, batch.working) if self.record_fills else self._no_log

        def chunk(c: int) -> tuple[int, int]:
            lo, hi = episodes.start + self.bounds[c], episodes.start + self.bounds[c + 1]
            return execute_chunk(
                lo, hi, c, t, mult, batch, run.ep, run.sh, run.live, self.scratch, log
            )

        if self._pool is None:
            left, short = chunk(0)
        else:
            counts = list(self._pool.map(chunk, range(self.n_chunks)))
            left, short = (sum(column) for column in zip(*counts, strict=True))
        if short:
            status = run.live.status[episodes]
            e = episodes.start + int(np.flatnonzero(status == SHORT_BOOK)[0])
            volume = run.ep.volume[run.ep.day[e], t - 1, run.ep.stock[e]] * mult
            raise InputError(
                f"the child order of {run.orders[k, e]} shares for "
                f"{run.tickers[run.ep.stock[e]]} on {run.dates[run.ep.day[e]]} (decision at "
                f"minute {run.times[k]}) needs more than book.max_levels={run.book.max_levels} "
                f"levels in minute {t}, whose book holds {volume:,.0f} shares within eps of the "
                "mid; raise book.max_levels, lower book.levels_per_eps, or make the parent "
                "order smaller (parent.shares or parent.fraction_adv)"
            )
        if self.record_fills:
            self._fill_tables.append(_fills_frame(run, episodes, k, t, log))
        return left > 0

    def _log(self, episodes: slice, t: int, mult: float, working: np.ndarray) -> FillLog:
        """A fill log sized by the levels each order of the day will walk."""
        run = self.run
        need = np.zeros(len(working), dtype=np.int64)
        levels_needed(
            episodes.start,
            episodes.stop,
            t,
            mult,
            working,
            run.ep,
            run.sh,
            run.live,
            self.scratch.level_prices[0],
            self.scratch.level_qtys[0],
            need,
        )
        offsets = np.zeros(len(working), dtype=np.int64)
        day_need = need[episodes]
        offsets[episodes] = np.concatenate(([0], np.cumsum(day_need)[:-1]))
        return FillLog(np.zeros(int(day_need.sum()), dtype=FILL_DTYPE), offsets)

    def add_passive_fills(self, rows: np.ndarray, k: int, t: int) -> None:
        """Record own limit orders' fills of minute t (decision k's window)."""
        if not len(rows):
            return
        episode = rows["maker_id"] // ID_STRIDE
        self._fill_tables.append(
            pd.DataFrame(
                {
                    "episode": episode,
                    "decision": k,
                    "minute": t,
                    "price": rows["price"] * self.run.ep.tick[episode],
                    "qty": rows["qty"],
                    "passive": True,
                    "order_id": rows["maker_id"],
                }
            )
        )

    def fills(self) -> pd.DataFrame | None:
        """Every fill, by decision then episode (None unless fills were recorded)."""
        if not self.record_fills:
            return None
        frame = pd.concat(self._fill_tables, ignore_index=True)
        return frame.sort_values(["decision", "episode"], kind="stable", ignore_index=True)


class _Passive:
    """One persistent engine book per stock of the current day, where own limit orders rest
    while the background flow trades (see :mod:`lobsim.simulation.passive`)."""

    def __init__(self, run: _Run, engine: _Engine) -> None:
        n = run.n_stocks
        self.run = run
        self.engine = engine
        self.batch, self.pb = passive_books(n, len(run.initial), run.book.background_orders)
        self.day = -1
        self.sequence = np.zeros(len(run.initial), dtype=np.int64)
        self.log_count = np.zeros(1, dtype=np.int64)
        self.background_orders = 0  # background market orders run, and the shares they traded
        self.background_shares = 0
        # Own fills of one minute, per book: one per own order filled (those resting when the
        # book is brought to the minute for a post, and those after it) and one partial fill
        # per background order.
        per_book = 2 * PASSIVE_ORDERS + self.pb.directions.shape[0]
        rows = n * per_book if engine.record_fills else 0
        self.log_out = np.zeros(rows, dtype=FILL_DTYPE)

    def start_day(self, d: int) -> None:
        if d == self.day:
            return
        self.day = d
        self.batch.reset()
        run = self.run
        episodes = run.day(d)
        sigma = day_sigma(run.ep.price[d : d + 1])[0]  # (N,)
        self.pb = self.pb._replace(first=episodes.start)
        self.pb.sigma[episodes] = sigma

    def _side(self) -> int:
        return ASK if self.run.side == SELL else BID

    def resting(self, d: int) -> np.ndarray:
        state = self.batch.state
        side = self._side()
        out = np.zeros(int(state.books[:, BK_OWN + side].sum()), RESTING_DTYPE)
        count = resting_orders(state, side, self.run.n_stocks, self.run.day(d).start,
                               self.run.ep.tick, out)  # fmt: skip
        return out[:count]

    def cancel(self, d: int, ids: np.ndarray) -> None:
        first = self.run.day(d).start
        for order_id in ids.tolist():
            b = order_id // ID_STRIDE - first
            if 0 <= b < self.run.n_stocks:
                cancel(self.batch.state, b, order_id)

    def cancel_all(self, d: int) -> None:
        self.cancel(d, self.resting(d)["id"])

    def minute(self, d: int, k: int, t: int, limits=None, orders=None) -> None:
        """The passive minute t of day d's books with orders resting, placing ``limits`` (a
        :class:`~lobsim.strategy.Limits`) first, each trimmed to what its episode holds beyond
        its market order ``orders`` and its resting orders."""
        run = self.run
        episodes = run.day(d)
        posts = self._posts(d, k, limits, orders)
        background, shares, code = passive_chunk(
            episodes.start, episodes.stop, t, run.mult[t - 1], run.ep, run.sh, run.live,
            self.pb, posts, run.child_cost[k], *self.log(),
        )  # fmt: skip
        self.background_orders += background
        self.background_shares += shares
        if code == POST_MATCHED:  # priced off the book, it can never match: a bug if it did
            raise AssertionError("a posted limit order matched on entry")
        self.check()
        if self.engine.record_fills:
            self.engine.add_passive_fills(self.log_out[: self.log_count[0]], k, t)
            self.log_count[0] = 0

    def _posts(self, d: int, k: int, limits, orders) -> Posts:
        n = self.run.n_stocks
        if limits is None or not len(limits.episode):
            return no_posts(n, self.sequence)
        run = self.run
        own = self.resting(d)
        committed = np.bincount(own["episode"], weights=own["size"], minlength=n)
        free = run.inventory[k, run.day(d)] - committed.astype(np.int64) - orders
        in_ticks = limits.ticks is not None
        distance = np.asarray(limits.ticks if in_ticks else limits.depth, dtype=np.float64)
        book = np.asarray(limits.episode, dtype=np.int64)
        order = np.argsort(book, kind="stable")  # by book, each book's in the given order
        return Posts(
            start=np.searchsorted(book[order], np.arange(n + 1)).astype(np.int64),
            size=np.asarray(limits.size, dtype=np.int64)[order],
            distance=distance[order],
            in_ticks=in_ticks,
            free=free,
            sequence=self.sequence,
        )

    def log(self) -> tuple[np.ndarray, np.ndarray]:
        """Where passive_chunk writes own fills: a buffer when fills are recorded."""
        return self.log_out, self.log_count

    def check(self) -> None:
        """Raise the first engine refusal of the day's books, if any."""
        failed = np.flatnonzero(self.batch.state.books[:, BK_STATUS])
        if len(failed):
            self.batch.check(int(failed[0]), "the passive minute")


def _fills_frame(run: _Run, episodes: slice, k: int, t: int, log: FillLog) -> pd.DataFrame:
    offsets = log.offsets[episodes]
    counts = run.live.fill_counts[episodes]
    rows = np.concatenate([np.arange(o, o + c) for o, c in zip(offsets, counts, strict=True)])
    f = log.out[rows.astype(np.int64)]
    episode = f["taker_id"]
    return pd.DataFrame(
        {
            "episode": episode,
            "decision": k,
            "minute": t,
            "price": f["price"] * run.ep.tick[episode],
            "qty": f["qty"],
            "passive": False,
            "order_id": -1,
        }
    )


def _episodes_frame(panel, run: _Run, name: str) -> pd.DataFrame:
    unfilled = run.inventory[-1]
    opportunity, penalty = _unfilled_costs(run, unfilled)
    return episodes_frame(
        panel, run.ep.stock, run.ep.day, name, run.side, run.initial, run.live.acc, unfilled,
        run.ep.s0, opportunity, penalty,
    )  # fmt: skip


def episodes_frame(
    panel, stock, day, name, side, initial, acc, unfilled, s0, opportunity, penalty
) -> pd.DataFrame:
    """The episodes table of :func:`simulate` (its columns are documented there) from the
    per-episode records: ``acc`` (E, len(ACC_COLUMNS)) and the unfilled shares' costs."""
    filled = acc[:, FILLED]
    frame = pd.DataFrame(
        {
            "stock": np.asarray(panel.tickers, dtype=object)[stock],
            "day": pd.to_datetime(panel.dates[day]),
            "strategy": name,
            "side": "sell" if side == SELL else "buy",
            "shares": initial,
            "shares_filled": filled.astype(np.int64),
            "unfilled": unfilled,
            "posted_shares": acc[:, POSTED].astype(np.int64),
            "passive_shares": acc[:, PASSIVE].astype(np.int64),
            "arrival_price": s0,
            "avg_price": np.divide(
                acc[:, NOTIONAL], filled, out=np.full(len(s0), np.nan), where=filled > 0
            ),
            "day_volume": panel.volume.sum(axis=1)[day, stock],
        }
    )
    frame["temporary_cost"] = acc[:, TEMPORARY]
    frame["permanent_cost"] = acc[:, PERMANENT]
    frame["timing_cost"] = acc[:, TIMING]
    frame["opportunity_cost"] = opportunity
    frame["penalty_cost"] = penalty
    frame["shortfall"] = acc[:, SHORTFALL] + opportunity
    frame["cost"] = acc[:, TEMPORARY] + acc[:, PERMANENT] + penalty
    notional0 = initial * s0
    with np.errstate(divide="ignore", invalid="ignore"):
        for col in COST_COLUMNS:
            bps = np.where(notional0 > 0, 1e4 * frame[col].to_numpy() / notional0, 0.0)
            frame[col.replace("_cost", "") + "_bps"] = bps
    return frame


# Episode columns in currency; each has a ``*_bps`` twin (``_cost`` dropped from the name).
COST_COLUMNS = (
    "temporary_cost",
    "permanent_cost",
    "timing_cost",
    "opportunity_cost",
    "penalty_cost",
    "shortfall",
    "cost",
)


def _unfilled_costs(run: _Run, unfilled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the shares left at the close cost each episode: (opportunity, penalty), currency.

    Opportunity (Perold 1988): the unfilled shares valued at the close, the impacted mid of the
    last minute, against arrival; it is part of the shortfall and may be a gain. Penalty: what
    the book model charges one market order for them in the day's thinnest traded minute,
    eps (1+a)/(2+a) S0 u**p V_min**(1-p) with V_min that minute's book volume, capped at the
    shares' arrival value u S0 (their whole value when the day had no traded minute). The
    power-law cost is convex and superadditive, so this is at least what those shares would
    have cost traded on their own in any of the day's traded minutes, in one order or several:
    leaving shares unfilled never ranks cheaper than trading them.
    """
    n_ep = len(unfilled)
    if not unfilled.any():
        return np.zeros(n_ep), np.zeros(n_ep)
    ep, sh = run.ep, run.sh
    u = unfilled.astype(np.float64)
    close = ep.price[ep.day, -1, ep.stock]
    close = close * (1.0 + sh.direction * sh.g * run.live.traded / ep.adv[ep.stock])
    opportunity = sh.direction * u * (close - ep.s0)
    book = ep.volume * run.mult[None, :, None]  # (D, M, N): the depth scale of each minute
    thinnest = np.where(book > 0, book, np.inf).min(axis=1)[ep.day, ep.stock]
    a = sh.alpha
    p = (2.0 + a) / (1.0 + a)
    value = u * ep.s0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        walk = ep.eps[ep.stock] * (1.0 + a) / (2.0 + a) * ep.s0 * u**p * thinnest ** (1.0 - p)
    penalty = np.where(np.isfinite(thinnest) & (u > 0), np.minimum(walk, value), value)
    return opportunity, penalty
