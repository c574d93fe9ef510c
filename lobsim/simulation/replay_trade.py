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
  S the file's mid just before the order, S~ the engine's mid just before it, our resting
  limit orders left out (our earlier trades' lasting mark on the book; S when a side of the
  engine's book is empty):
  temporary q (S~ - P), permanent q (S - S~), timing q (S0 - S); they add up to the
  shortfall q (S0 - P) exactly.
- Shares left at the close: opportunity cost u (S0 - S~_close), in the shortfall, and, with
  no book model behind a replayed day to price them, a penalty of their whole arrival value
  u S0 in the ranked cost: leaving shares unfilled never ranks cheaper than trading them.

- Limit child orders (:class:`lobsim.Decision` with limits) are posted at the start of the
  decision's bar, after its market order, priced off the engine's mid (our own orders left
  out) as on every market, in cents (``TICK``), never through the other side's best. They
  queue behind the depth already at their price and fill when the files' flow reaches them,
  at their limits: executions with lower priority than ours, and submissions priced through
  ours (the rules, and what becomes of the messages, in :mod:`lobsim.simulation.replay`).
  Such a fill is booked like a market fill, against the mids just before the message that
  made it (a sell above the mid earns its temporary cost back). Cancels apply at the
  decision's bar; the last decision cancels what rests and sells the rest at market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lobsim.engine import FILL_DTYPE, BookBatch, CapacityError
from lobsim.engine.kernels import cancel, submit_limit, submit_market
from lobsim.engine.records import ASK, BID, BK_LEVELS, BK_NFREE, BK_STATUS, LV_PRICE, OK
from lobsim.errors import InputError
from lobsim.market.lobster import PRICE_SCALE, SUBMISSION, LobsterDay
from lobsim.sandbox import Sandbox, strategy_name, trade
from lobsim.simulation.kernels import (
    ACC_COLUMNS,
    FILLED,
    ID_STRIDE,
    NOTIONAL,
    PASSIVE,
    PERMANENT,
    POSTED,
    SHORTFALL,
    TEMPORARY,
    TIMING,
)
from lobsim.simulation.replay import (
    ADJUSTED,
    FIRST_MISMATCHES,
    INCONSISTENT,
    OWN_BASE,
    _replay,
    bid_plus_ask,
    own_resting,
)
from lobsim.simulation.simulate import SimulationResult, episodes_frame
from lobsim.strategy import BUY, RESTING_DTYPE, SELL, Schedule

MAX_LEVELS = 4096  # price levels a side of a replayed book may hold
MAX_OWN = 4096  # own limit orders a replayed book may hold at once
TICK = 100  # a cent in LOBSTER's units: the US tick for stocks above $1 (Reg NMS rule 612)


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
        Also return every fill (``order_id``: for a market child order the LOBSTER id of the
        order it took from, -1 for depth the files never submitted; for a limit child order
        its own id).
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
        Bad arguments, or a day larger than a replayed book.
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
    trade(strategy, sandbox, name, run.execute, run.resting)
    return run.result(name)


@dataclass
class _Fills:
    """Our fills in one stock-day's replay, kept all day: later messages are reconciled with
    them. ``left``: shares of each fill not yet matched by a later message; ``row`` and
    ``mid``: for a limit order's fill, the message that filled it (1-based row) and the
    engine's bid + ask before it, ours left out."""

    rows: np.ndarray  # FILL_DTYPE
    left: np.ndarray  # int64
    order: np.ndarray
    row: np.ndarray
    mid: np.ndarray
    count: int = 0

    @classmethod
    def empty(cls, size: int = 256) -> _Fills:
        return cls(np.zeros(size, FILL_DTYPE), *(np.zeros(size, np.int64) for _ in range(4)))

    def reserve(self, extra: int) -> None:
        need = self.count + extra
        if need > len(self.rows):
            size = max(need, 2 * len(self.rows))
            for name in ("rows", "left", "order", "row", "mid"):
                a = getattr(self, name)
                setattr(self, name, np.concatenate([a, np.zeros(size - len(a), a.dtype)]))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The kernel's fills, fill_order, fill_row, fill_mid and left."""
        return self.rows, self.order, self.row, self.mid, self.left


class _StockDay:
    """One stock-day's replay, advanced message by message as the decisions come, with our
    limit orders resting in it on ``own_side``."""

    _NONE = np.zeros(0, dtype=np.int64)

    def __init__(self, day: LobsterDay, open_s: float, own_side: int, episode: int) -> None:
        self.day = day
        self.columns = tuple(
            np.ascontiguousarray(c, dtype=np.int64)
            for c in (day.type, day.order_id, day.size, day.price, day.direction, day.book)
        )
        n_submissions = int(np.count_nonzero(day.type == SUBMISSION))
        self.max_orders = min(1 << 17, n_submissions + 2 * MAX_LEVELS + 16) + MAX_OWN
        self.batch = BookBatch(1, max_levels=MAX_LEVELS, max_orders=self.max_orders)
        self.counters = np.zeros(5, dtype=np.int64)
        self.first = np.full(FIRST_MISMATCHES, -1, dtype=np.int64)
        self.fills = _Fills.empty()
        self.open_s = open_s
        self.own_side = own_side
        self.own_live = np.zeros(1, dtype=np.int64)  # our limit orders resting
        self.next_id = OWN_BASE + episode * ID_STRIDE  # unique in a run, naming the episode
        self.next = 0  # the next message to apply

    def advance(self, stop: int) -> slice:
        """Apply the messages before ``stop`` not yet applied; the fills of our limit orders
        they made, as a slice of ``fills``."""
        f = self.fills
        before = f.count
        if stop <= self.next:
            return slice(before, before)
        if self.own_live[0]:
            f.reserve(stop - self.next + int(self.own_live[0]) + 1)
        code, f.count = _replay(
            self.batch.state, *self.columns, False, self.counters, self.first,
            self._NONE, self._NONE, self._NONE, *f.arrays(), self.own_side, self.own_live,
            self.next, stop, f.count,
        )  # fmt: skip
        self.next = stop
        self._check(code)
        return slice(before, f.count)

    def bar_start(self, t: int) -> int:
        """How many messages come before bar t starts (at least message 0, the first row)."""
        clock = self.open_s + 60.0 * (t - 1)
        return max(int(np.searchsorted(self.day.time, clock, side="right")), 1)

    def minute(self, m: int) -> int:
        """The bar (1-based) message m falls in."""
        clock = self.day.time[m] - self.open_s
        return max(int(np.ceil(clock / 60.0)), 1)

    def file_mid(self, row: int | None = None) -> float:
        """The files' mid after message ``row`` (default the last applied), in dollars (NaN if
        a side is empty)."""
        book = self.day.book[self.next - 1 if row is None else row]
        if book[1] <= 0 or book[3] <= 0:
            return np.nan
        return (book[0] + book[2]) / (2.0 * PRICE_SCALE)

    def engine_mid(self) -> float:
        """The engine's mid in dollars, our limit orders left out (NaN if a side is empty)."""
        total = bid_plus_ask(self.batch.state)
        return np.nan if total < 0 else total / (2.0 * PRICE_SCALE)

    def best(self, side: int) -> int:
        """The engine's best price on ``side`` (LOBSTER units), 0 when the side is empty."""
        state = self.batch.state
        n = state.books[0, BK_LEVELS + side]
        return int(state.levels[0, side, n - 1, LV_PRICE]) if n else 0

    def send(self, direction: int, qty: int) -> np.ndarray:
        """Our market order of ``qty`` shares now; its fills (FILL_DTYPE)."""
        f = self.fills
        state = self.batch.state
        resting = self.max_orders - int(state.books[0, BK_NFREE])
        f.reserve(resting + 2 * MAX_LEVELS + 1)
        start = f.count
        _, f.count = submit_market(state, 0, direction, qty, -1, f.rows, f.count)
        f.left[start : f.count] = f.rows["qty"][start : f.count]
        f.order[start : f.count] = 0
        self._check(OK)
        return f.rows[start : f.count]

    def post(self, direction: int, price: int, qty: int) -> int:
        """Our limit order of ``qty`` shares at ``price`` (off the book's other side); its
        id."""
        state = self.batch.state
        order_id = self.next_id
        matched = submit_limit(state, 0, direction, price, qty, order_id, _NO_FILLS, 0)[1]
        self._check(OK)
        if matched:  # priced off the other side, it cannot match: a bug if it did
            raise AssertionError("a limit order posted on a replay matched on entry")
        self.next_id += 1
        self.own_live[0] += 1
        return order_id

    def cancel(self, order_id: int) -> None:
        if cancel(self.batch.state, 0, order_id):
            self.own_live[0] -= 1

    def resting(self) -> np.ndarray:
        """Our limit orders resting (RESTING_DTYPE, price in dollars, episode 0)."""
        out = np.zeros(int(self.own_live[0]), RESTING_DTYPE)
        count = own_resting(self.batch.state, self.own_side, out)
        out = out[:count]
        out["price"] /= PRICE_SCALE
        return out

    def _check(self, code: int) -> None:
        if code != OK:
            self.batch.state.books[0, BK_STATUS] = code
        try:
            self.batch.check(0, f"replaying {self.day.message_file}")
        except CapacityError as exc:
            raise InputError(f"{exc}: the day holds more than a replayed book") from None


_NO_FILLS = np.zeros(1, FILL_DTYPE)


class _ReplayRun:
    """The records of one :func:`simulate_replay`; ``execute`` and ``resting`` are
    :func:`trade`'s callbacks."""

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
        own_side = ASK if self.side == SELL else BID
        self._books = [_StockDay(pair.read(), open_s, own_side, d * self.n + i)
                       for i, pair in enumerate(self.market.pairs[d])]  # fmt: skip
        self._today = d

    def _finish_day(self) -> None:
        """Replay the rest of the day's messages: the close and the day's counts."""
        for i, book in enumerate(self._books):
            book.advance(len(book.day))  # nothing of ours rests after the last decision
            e = self._today * self.n + i
            self.close[e] = book.engine_mid()
            self.adjusted[e] = book.counters[ADJUSTED]
            self.inconsistent[e] = book.counters[INCONSISTENT]
        self._books = []

    def resting(self, d: int) -> np.ndarray:
        """Our limit orders resting in day d's books (:attr:`Observation.resting`)."""
        self._start_day(d)
        parts = []
        for i, book in enumerate(self._books):
            if book.own_live[0]:
                rows = book.resting()
                rows["episode"] = i
                parts.append(rows)
        return np.concatenate(parts) if parts else np.zeros(0, RESTING_DTYPE)

    def execute(self, d: int, k: int, decision, orders: np.ndarray) -> np.ndarray:
        self._start_day(d)
        base = d * self.n
        window = self.schedule.window(k)
        last = k == self.schedule.n_decisions - 1
        posts = self._posts(decision)
        for i, book in enumerate(self._books):
            e = base + i
            self._advance(e, k, book.bar_start(window.start))
            if decision is None:  # the last decision sells everything: nothing stays resting
                for order_id in book.resting()["id"].tolist():
                    book.cancel(order_id)
            elif decision.cancel is not None:
                for order_id in decision.cancel.tolist():
                    if (order_id - OWN_BASE) // ID_STRIDE == e:
                        book.cancel(order_id)
            qty = int(orders[i])
            if qty:
                qty -= self._send(e, k, window.start, qty)
            if i in posts:
                self._post(e, k, int(orders[i]), *posts[i])
            self._work(e, k, window, qty, last)
        after = self.initial[base : base + self.n] - self.acc[base : base + self.n, FILLED]
        self.inventory[k + 1, base : base + self.n] = after.astype(np.int64)
        if last and d == self.market.panel.n_days - 1:
            self._finish_day()
        return self.inventory[k + 1, base : base + self.n]

    @staticmethod
    def _posts(decision) -> dict[int, tuple[np.ndarray, np.ndarray, bool]]:
        """The decision's limit orders by episode: (sizes, distances, in ticks)."""
        limits = None if decision is None else decision.limits
        if limits is None or not len(limits.episode):
            return {}
        in_ticks = limits.ticks is not None
        distance = np.asarray(limits.ticks if in_ticks else limits.depth, dtype=np.float64)
        episode = np.asarray(limits.episode, dtype=np.int64)
        size = np.asarray(limits.size, dtype=np.int64)
        return {int(i): (size[episode == i], distance[episode == i], in_ticks)
                for i in np.unique(episode)}  # fmt: skip

    def _post(self, e: int, k: int, market: int, sizes, distances, in_ticks: bool) -> None:
        """Episode e's limit orders, each trimmed to what it holds beyond its market order
        and its resting orders, priced off the engine's mid (ours left out) as on every
        market: a sell ``distance`` above it, never at or below the best bid."""
        book = self._books[self.stock[e]]
        free = int(self.inventory[k, e]) - market - int(book.resting()["size"].sum())
        mid = book.engine_mid()
        mid = mid if np.isfinite(mid) else book.file_mid()
        if not np.isfinite(mid):
            return  # a side of the book is empty: no mid to price from
        mid *= PRICE_SCALE
        for size, distance in zip(sizes.tolist(), distances.tolist(), strict=True):
            size = min(size, free)
            if size <= 0:
                continue
            offset = distance * TICK if in_ticks else distance * mid
            if self.side == SELL:
                price = int(np.ceil((mid + offset) / TICK - 1e-9)) * TICK
                bid = book.best(BID)
                price = max(price, bid + TICK) if bid else price
            else:
                price = int(np.floor((mid - offset) / TICK + 1e-9)) * TICK
                ask = book.best(ASK)
                price = min(price, ask - TICK) if ask else price
                if price < TICK:
                    continue
            book.post(self.side, price, size)
            free -= size
            self.acc[e, POSTED] += size

    def _advance(self, e: int, k: int, stop: int) -> None:
        """Replay episode e's book up to message ``stop``, accounting our limit orders' fills."""
        book = self._books[self.stock[e]]
        new = book.advance(stop)
        if new.stop == new.start:
            return
        f = book.fills
        for j in range(new.start, new.stop):
            row = int(f.row[j])  # 1-based: the book before it is row - 2
            t = min(book.minute(row - 1), self.schedule.minutes)
            s_eng = f.mid[j] / (2.0 * PRICE_SCALE) if f.mid[j] > 0 else np.nan
            s, s_tilde = self._mids(e, t, book.file_mid(row - 2), s_eng)
            self._account(e, k, t, f.rows[j : j + 1], s, s_tilde, passive=True)

    def _mids(self, e: int, t: int, s: float, s_eng: float) -> tuple[float, float]:
        """(S, S~) for a fill in bar t: where a side of the file's book is empty, the last
        bar's mid stands for S, and S for S~ where the engine's is."""
        if not np.isfinite(s):
            s = self.market.panel.price[self.dayix[e], max(t - 2, 0), self.stock[e]]
        return s, s_eng if np.isfinite(s_eng) else s

    def _work(self, e: int, k: int, window: range, qty: int, last: bool) -> None:
        """Replay episode e's book to the end of decision k's window; what its child order of
        ``qty`` shares left is sent again after each message of the window that adds depth
        to the side it takes from."""
        book = self._books[self.stock[e]]
        end = len(book.day) if last else book.bar_start(window.stop)
        kind, direction = book.day.type, book.day.direction
        refill = -self.side  # the resting side we take from: asks (-1) for a buy
        while qty > 0 and book.next < end:
            m = book.next
            self._advance(e, k, m + 1)
            if kind[m] == SUBMISSION and direction[m] == refill:
                qty -= self._send(e, k, min(book.minute(m), self.schedule.minutes), qty)
        self._advance(e, k, end)

    def _send(self, e: int, k: int, t: int, qty: int) -> int:
        """Our market order of ``qty`` shares for episode e now (in bar t); shares filled."""
        book = self._books[self.stock[e]]
        s, s_tilde = self._mids(e, t, book.file_mid(), book.engine_mid())
        fills = book.send(BUY if self.side == BUY else SELL, qty)
        self._account(e, k, t, fills, s, s_tilde, passive=False)
        return int(fills["qty"].sum())

    def _account(self, e: int, k: int, t: int, fills, s: float, s_tilde: float, *,
                 passive: bool) -> None:  # fmt: skip
        """Book ``fills`` of episode e (decision k, bar t) against the file's mid ``s`` and
        the engine's ``s_tilde`` just before them (see the module docstring)."""
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
        if passive:
            acc[PASSIVE] += q.sum()
        self.child_cost[k, e] += temporary
        if self.record_fills and len(fills):
            self._fills.append(pd.DataFrame({
                "episode": e, "decision": k, "minute": t, "price": p, "qty": fills["qty"],
                "passive": passive, "order_id": fills["maker_id"],
            }))  # fmt: skip

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
