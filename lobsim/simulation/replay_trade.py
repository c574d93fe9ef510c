"""Trade a strategy on replayed LOBSTER days: the real book of each stock-day, moved by our orders.

The strategy contract is the one of every run (:mod:`lobsim.strategy`, through
:func:`lobsim.sandbox.trade`): a batch is one day, every stock of it, and decision k at minute t
sees the minute bars of the files (:func:`lobsim.market.lobster_market.minute_bars`) up to
t - lag. What happens to its orders:

- Each stock-day is replayed through the engine (:mod:`lobsim.simulation.replay`) from its
  first orderbook row, message by message, and our orders are sent into it as they are
  decided: the child order of decision k (minute t) goes in at the start of bar t, just
  after the file's last message at or before ``open + 60 (t - 1)`` seconds, and walks the
  engine's book as it stands, known orders and anonymous depth alike, never more than the
  files have shown. What it cannot fill (the side ran out) keeps working: it is sent again
  after each later message of its window (the last one's: to the close) that adds depth to
  the side it takes from; what is left at the next decision returns to the inventory, as on
  every market.
- Liquidity we took stays taken: later messages about it are reconciled (an execution,
  cancellation or deletion of an order we took is reduced to what is left, or dropped) and
  counted per episode (``replay_adjusted``), with the messages the book could not take as
  written (``replay_inconsistent``, see :mod:`lobsim.simulation.replay`).
- Accounting, for a fill of q shares at P (sell; buys mirror): S0 the arrival mid (the
  file's mid at the end of the minute before the first decision's bar, as on every market),
  S the file's mid just before the order, S~ the engine's mid just before it (our earlier
  trades' lasting mark on the book; S when a side of the engine's book is empty):
  temporary q (S~ - P), permanent q (S - S~), timing q (S0 - S); they add up to the
  shortfall q (S0 - P) exactly.
- Shares left at the close: opportunity cost u (S0 - S~_close), in the shortfall, and, with
  no book model behind a replayed day to price them, a penalty of their whole arrival value
  u S0 in the ranked cost: leaving shares unfilled never ranks cheaper than trading them.

Limit child orders (:class:`lobsim.Decision` with limits) are not replayed yet: such a
decision is refused with a message saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lobsim.engine import FILL_DTYPE, BookBatch, CapacityError
from lobsim.engine.kernels import submit_market
from lobsim.engine.records import ASK, BID, BK_LEVELS, BK_NFREE, BK_STATUS, LV_PRICE, OK
from lobsim.errors import InputError
from lobsim.market.lobster import PRICE_SCALE, SUBMISSION, LobsterDay
from lobsim.sandbox import Sandbox, strategy_name, trade
from lobsim.simulation.kernels import (
    ACC_COLUMNS,
    FILLED,
    NOTIONAL,
    PERMANENT,
    SHORTFALL,
    TEMPORARY,
    TIMING,
)
from lobsim.simulation.replay import ADJUSTED, FIRST_MISMATCHES, INCONSISTENT, _replay
from lobsim.simulation.simulate import SimulationResult, episodes_frame
from lobsim.strategy import BUY, SELL, Schedule

MAX_LEVELS = 4096  # price levels a side of a replayed book may hold


def simulate_replay(
    market,
    strategy,
    *,
    parent,
    side: int = SELL,
    schedule: Schedule | None = None,
    adv=None,
    record_fills: bool = False,
    name: str | None = None,
) -> SimulationResult:
    """Run ``strategy`` on every (stock, day) of a LOBSTER market, replaying its files.

    Parameters
    ----------
    market : lobsim.market.lobster_market.LobsterMarket
        The days to trade (for a fold, its test days).
    strategy : object with ``decide(obs)``
        Already fitted; see :mod:`lobsim.strategy`.
    parent : array_like of int, shape (N,)
        Parent order per stock in shares (>= 0).
    side : int
        SELL (-1) or BUY (+1).
    schedule : Schedule, optional
        Its minutes must be the files' window (390 for LOBSTER's regular session).
    adv : array_like of float, shape (N,), optional
        What the strategy sees in ``obs.adv`` (the training window's, for a fold); default the
        market's own.
    record_fills : bool
        Also return every fill (``order_id`` holds the LOBSTER id of the order we took from,
        -1 for depth the files never submitted).
    name : str, optional
        What the strategy is called in the results and in errors.

    Returns
    -------
    SimulationResult
        ``episodes`` has the columns of :func:`lobsim.simulate` plus ``replay_adjusted`` and
        ``replay_inconsistent`` (messages per stock-day, see the module docstring).

    Raises
    ------
    StrategyError
        The strategy broke its contract, as in :func:`lobsim.simulate`.
    InputError
        Bad arguments, a decision with limit orders, or a day larger than a replayed book.
    """
    panel = market.panel
    schedule = schedule or Schedule()
    if side not in (SELL, BUY):
        raise InputError(f"side must be SELL (-1) or BUY (+1), got {side!r}")
    if panel.n_minutes != schedule.minutes:
        raise InputError(
            f"the LOBSTER files cover {panel.n_minutes} minutes a day but the schedule expects "
            f"{schedule.minutes} (schedule.minutes)"
        )
    parent = np.asarray(parent)
    if parent.shape != (panel.n_stocks,) or np.any(parent < 0) or parent.dtype.kind not in "iu":
        raise InputError(f"parent must be {panel.n_stocks} whole share counts >= 0")
    adv = np.asarray(panel.adv if adv is None else adv, dtype=np.float64)
    name = name or strategy_name(strategy)
    run = _ReplayRun(market, schedule, parent.astype(np.int64), side, record_fills)
    sandbox = Sandbox(panel, schedule, parent=run.parent, side=side, adv=adv)
    trade(strategy, sandbox, name, run.execute)
    return run.result(name)


@dataclass
class _Fills:
    """Our fills in one stock-day's replay, kept all day: later messages are reconciled with
    them. ``left``: shares of each fill not yet matched by a later message."""

    rows: np.ndarray  # FILL_DTYPE
    left: np.ndarray  # int64
    count: int = 0

    def reserve(self, extra: int) -> None:
        need = self.count + extra
        if need > len(self.rows):
            size = max(need, 2 * len(self.rows))
            self.rows = np.concatenate([self.rows, np.zeros(size - len(self.rows), FILL_DTYPE)])
            self.left = np.concatenate([self.left, np.zeros(size - len(self.left), np.int64)])


class _StockDay:
    """One stock-day's replay, advanced message by message as the decisions come."""

    _NONE = np.zeros(0, dtype=np.int64)

    def __init__(self, day: LobsterDay, open_s: float) -> None:
        self.day = day
        self.columns = tuple(
            np.ascontiguousarray(c, dtype=np.int64)
            for c in (day.type, day.order_id, day.size, day.price, day.direction, day.book)
        )
        n_submissions = int(np.count_nonzero(day.type == SUBMISSION))
        self.max_orders = min(1 << 17, n_submissions + 2 * MAX_LEVELS + 16)
        self.batch = BookBatch(1, max_levels=MAX_LEVELS, max_orders=self.max_orders)
        self.counters = np.zeros(5, dtype=np.int64)
        self.first = np.full(FIRST_MISMATCHES, -1, dtype=np.int64)
        self.fills = _Fills(np.zeros(256, FILL_DTYPE), np.zeros(256, np.int64))
        self.open_s = open_s
        self.next = 0  # the next message to apply

    def advance(self, stop: int) -> None:
        """Apply the messages before ``stop`` not yet applied."""
        if stop <= self.next:
            return
        f = self.fills
        code, f.count = _replay(
            self.batch.state, *self.columns, False, self.counters, self.first,
            self._NONE, self._NONE, self._NONE, f.rows, self._NONE, self._NONE, f.left,
            self.next, stop, f.count,
        )  # fmt: skip
        self.next = stop
        self._check(code)

    def bar_start(self, t: int) -> int:
        """How many messages come before bar t starts (at least message 0, the first row)."""
        clock = self.open_s + 60.0 * (t - 1)
        return max(int(np.searchsorted(self.day.time, clock, side="right")), 1)

    def minute(self, m: int) -> int:
        """The bar (1-based) message m falls in."""
        clock = self.day.time[m] - self.open_s
        return max(int(np.ceil(clock / 60.0)), 1)

    def file_mid(self) -> float:
        """The files' mid after the last message applied, in dollars (NaN if a side is empty)."""
        row = self.day.book[self.next - 1]
        if row[1] <= 0 or row[3] <= 0:
            return np.nan
        return (row[0] + row[2]) / (2.0 * PRICE_SCALE)

    def engine_mid(self) -> float:
        """The engine's mid in dollars (NaN if a side of its book is empty)."""
        state = self.batch.state
        bid_n, ask_n = state.books[0, BK_LEVELS + BID], state.books[0, BK_LEVELS + ASK]
        if bid_n == 0 or ask_n == 0:
            return np.nan
        bid = state.levels[0, BID, bid_n - 1, LV_PRICE]
        ask = state.levels[0, ASK, ask_n - 1, LV_PRICE]
        return (bid + ask) / (2.0 * PRICE_SCALE)

    def send(self, direction: int, qty: int) -> np.ndarray:
        """Our market order of ``qty`` shares now; its fills (FILL_DTYPE)."""
        f = self.fills
        state = self.batch.state
        resting = self.max_orders - int(state.books[0, BK_NFREE])
        f.reserve(resting + 2 * MAX_LEVELS + 1)
        start = f.count
        _, f.count = submit_market(state, 0, direction, qty, -1, f.rows, f.count)
        f.left[start : f.count] = f.rows["qty"][start : f.count]
        self._check(OK)
        return f.rows[start : f.count]

    def _check(self, code: int) -> None:
        if code != OK:
            self.batch.state.books[0, BK_STATUS] = code
        try:
            self.batch.check(0, f"replaying {self.day.message_file}")
        except CapacityError as exc:
            raise InputError(f"{exc}: the day holds more than a replayed book") from None


class _ReplayRun:
    """The records of one :func:`simulate_replay`; ``execute`` is :func:`trade`'s callback."""

    def __init__(self, market, schedule: Schedule, parent, side: int, record_fills: bool):
        panel = market.panel
        self.market, self.schedule, self.parent, self.side = market, schedule, parent, side
        n_days, _, n = panel.price.shape
        self.n = n
        e = n_days * n
        self.stock = np.tile(np.arange(n, dtype=np.int64), n_days)
        self.dayix = np.repeat(np.arange(n_days, dtype=np.int64), n)
        first = max(int(schedule.decision_times[0]) - 1, 1)
        self.s0 = panel.price[self.dayix, first - 1, self.stock].copy()
        self.initial = parent[self.stock]
        k = schedule.n_decisions
        self.inventory = np.zeros((k + 1, e), dtype=np.int64)
        self.inventory[0] = self.initial
        self.child_cost = np.zeros((k, e))
        self.acc = np.zeros((e, len(ACC_COLUMNS)))
        self.close = np.full(e, np.nan)  # the engine's mid at the close
        self.adjusted = np.zeros(e, dtype=np.int64)
        self.inconsistent = np.zeros(e, dtype=np.int64)
        self.record_fills = record_fills
        self._fills: list[pd.DataFrame] = []
        self._today = -1
        self._books: list[_StockDay] = []

    def _start_day(self, d: int) -> None:
        if d == self._today:
            return
        self._finish_day()
        open_s = self.market.pairs[d][0].start_ms / 1000.0
        self._books = [_StockDay(pair.read(), open_s) for pair in self.market.pairs[d]]
        self._today = d

    def _finish_day(self) -> None:
        """Replay the rest of the day's messages: the close and the day's counts."""
        for i, book in enumerate(self._books):
            book.advance(len(book.day))
            e = self._today * self.n + i
            self.close[e] = book.engine_mid()
            self.adjusted[e] = book.counters[ADJUSTED]
            self.inconsistent[e] = book.counters[INCONSISTENT]
        self._books = []

    def execute(self, d: int, k: int, decision, orders: np.ndarray) -> np.ndarray:
        if decision is not None and (decision.limits is not None or decision.cancel is not None):
            raise InputError(
                "limit child orders (lobsim.Decision with limits or cancels) are not replayed "
                "on LOBSTER days yet: trade market child orders there (return targets only)"
            )
        self._start_day(d)
        base = d * self.n
        window = self.schedule.window(k)
        for i in np.flatnonzero(orders > 0):
            self._work(base + int(i), k, window, int(orders[i]))
        after = self.initial[base : base + self.n] - self.acc[base : base + self.n, FILLED]
        self.inventory[k + 1, base : base + self.n] = after.astype(np.int64)
        if k == self.schedule.n_decisions - 1 and d == self.market.panel.n_days - 1:
            self._finish_day()
        return self.inventory[k + 1, base : base + self.n]

    def _work(self, e: int, k: int, window: range, qty: int) -> None:
        """Decision k's child order of ``qty`` shares for episode e: sent at the start of its
        window's first bar; what the book cannot fill is sent again after each later message
        of the window that adds depth to the side it takes from."""
        book = self._books[self.stock[e]]
        t = window.start
        book.advance(book.bar_start(t))
        qty -= self._send(e, k, t, qty)
        last = window.stop - 1 == self.schedule.minutes
        end = len(book.day) if last else book.bar_start(window.stop)
        kind, direction = book.day.type, book.day.direction
        refill = -self.side  # the resting side we take from: asks (-1) for a buy
        while qty > 0 and book.next < end:
            m = book.next
            book.advance(m + 1)
            if kind[m] == SUBMISSION and direction[m] == refill:
                qty -= self._send(e, k, min(book.minute(m), self.schedule.minutes), qty)

    def _send(self, e: int, k: int, t: int, qty: int) -> int:
        """Our market order of ``qty`` shares for episode e now (in bar t); shares filled."""
        book = self._books[self.stock[e]]
        s = book.file_mid()
        s_eng = book.engine_mid()
        s = s if np.isfinite(s) else self.market.panel.price[self.dayix[e], max(t - 2, 0),
                                                             self.stock[e]]  # fmt: skip
        s_tilde = s_eng if np.isfinite(s_eng) else s
        fills = book.send(BUY if self.side == BUY else SELL, qty)
        q = fills["qty"].astype(np.float64)
        p = fills["price"] / PRICE_SCALE
        sign = -self.side  # +1 for a sell: costs are what we lose against each mid
        acc = self.acc[e]
        temporary = sign * float(np.sum(q * (s_tilde - p)))
        acc[TEMPORARY] += temporary
        acc[PERMANENT] += sign * float(q.sum()) * (s - s_tilde)
        acc[TIMING] += sign * float(q.sum()) * (self.s0[e] - s)
        acc[SHORTFALL] += sign * float(np.sum(q * (self.s0[e] - p)))
        acc[FILLED] += q.sum()
        acc[NOTIONAL] += float(np.sum(q * p))
        self.child_cost[k, e] += temporary
        if self.record_fills and len(fills):
            self._fills.append(pd.DataFrame({
                "episode": e, "decision": k, "minute": t, "price": p, "qty": fills["qty"],
                "passive": False, "order_id": fills["maker_id"],
            }))  # fmt: skip
        return int(fills["qty"].sum())

    def result(self, name: str) -> SimulationResult:
        panel = self.market.panel
        unfilled = self.inventory[-1]
        u = unfilled.astype(np.float64)
        close = np.where(np.isfinite(self.close), self.close,
                         panel.price[self.dayix, -1, self.stock])  # fmt: skip
        opportunity = -self.side * u * (self.s0 - close)
        penalty = u * self.s0
        frame = episodes_frame(
            panel, self.stock, self.dayix, name, self.side, self.initial, self.acc, unfilled,
            self.s0, opportunity, penalty,
        )  # fmt: skip
        frame["replay_adjusted"] = self.adjusted
        frame["replay_inconsistent"] = self.inconsistent
        fills = None
        if self.record_fills:
            fills = pd.concat(self._fills, ignore_index=True) if self._fills else None
            if fills is not None:
                fills = fills.sort_values(["decision", "episode"], kind="stable",
                                          ignore_index=True)  # fmt: skip
        return SimulationResult(
            frame, np.ascontiguousarray(self.inventory.T),
            np.ascontiguousarray(self.child_cost.T), fills,
        )  # fmt: skip
