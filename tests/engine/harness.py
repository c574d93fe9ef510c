"""Drive an OrderBook and a ReferenceBook with the same commands and check, after each one,
that they agree and that the book invariants of issue 2 hold."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from lobsim.engine import BULK_ID, CapacityError, OrderBook, ReferenceBook
from lobsim.errors import InputError

TICK = 0.01
SIDES = ("buy", "sell")


def price(ticks: int) -> float:
    return ticks * TICK


class Harness:
    """Both books side by side, with the per-order accounting the invariants need.

    ``tolerate_capacity``: the Numba book (small capacities) may refuse with CapacityError; the
    harness then checks that the refusal changed nothing and keeps the reference in step.
    """

    def __init__(self, max_levels: int = 64, max_orders: int = 256, tolerate_capacity=False):
        self.fast = OrderBook(TICK, max_levels=max_levels, max_orders=max_orders)
        self.ref = ReferenceBook(TICK)
        self.tolerate_capacity = tolerate_capacity
        self.original: dict[int, int] = {}
        self.filled: dict[int, int] = defaultdict(int)
        self.cancelled: dict[int, int] = {}
        self.market_ids: set[int] = set()
        self.next_id = 1
        self.refusals = 0

    # ------------------------------------------------------------------ commands

    def limit(self, side: str, ticks: int, qty: int) -> None:
        before = self.snapshot()
        try:
            order_id, fills = self.fast.limit(side, price(ticks), qty)
        except CapacityError:
            self._refused(before)
            self._check_limit_refusal(side, ticks, qty, before)
            return
        ref_id, ref_fills = self.ref.limit(side, price(ticks), qty)
        assert order_id == ref_id == self._take_id()
        self._same_fills(fills, ref_fills)
        self.original[order_id] = qty
        self._taker_checks(order_id, side, qty, fills, before, limit=ticks)
        self.check()

    def market(self, side: str, qty: int) -> None:
        before = self.snapshot()
        fills = self.fast.market(side, qty)
        ref_fills = self.ref.market(side, qty)
        self._same_fills(fills, ref_fills)
        taker_id = self._take_id()
        self.market_ids.add(taker_id)
        self._taker_checks(taker_id, side, qty, fills, before, limit=None)
        self.check()

    def cancel(self, order_id: int) -> None:
        before = self.snapshot()
        resting = self._resting_qty(before).get(order_id, 0) if order_id >= 0 else 0
        outcomes = []
        for book in (self.fast, self.ref):
            try:
                book.cancel(order_id)
                outcomes.append(True)
            except InputError:
                outcomes.append(False)
        assert outcomes[0] == outcomes[1]
        assert outcomes[0] == (resting > 0)
        if outcomes[0]:
            self.cancelled[order_id] = self.cancelled.get(order_id, 0) + resting
        else:
            assert self.snapshot() == before
        self.check()

    def reduce(self, order_id: int, qty: int) -> None:
        """A partial cancel: both books take the same shares off, the order keeps its place."""
        before = self.snapshot()
        resting = self._resting_qty(before).get(order_id, 0) if order_id >= 0 else 0
        outcomes = []
        for book in (self.fast, self.ref):
            try:
                outcomes.append(book.reduce(order_id, qty))
            except InputError:
                outcomes.append(0)
        assert outcomes[0] == outcomes[1] == min(qty, resting)
        if outcomes[0]:
            self.cancelled[order_id] = self.cancelled.get(order_id, 0) + outcomes[0]
        else:
            assert self.snapshot() == before
        self.check()

    def refill(self, side: str, offset: int, levels: list[tuple[int, int]]) -> None:
        """As :meth:`load`, with ``refill``: every resting share keeps its place."""
        self.load(side, offset, levels, how="refill")

    def load(self, side: str, offset: int, levels: list[tuple[int, int]], how="load") -> None:
        """Bulk depth of (qty, gap in ticks to the next level) whose best level is ``offset``
        ticks behind the opposite best (or tick 100 when that side is empty); offset -1 tries
        to cross the opposite side and must then be refused."""
        other = self.fast.best_ask() if side == "buy" else self.fast.best_bid()
        anchor = round(other / TICK) if other is not None else 100
        sign = -1 if side == "buy" else 1
        ticks, qtys = [], []
        level = anchor + sign * (1 + offset)
        for qty, gap in levels:
            ticks.append(level)
            qtys.append(qty)
            level += sign * gap
        if any(t < 1 for t in ticks):
            return
        before = self.snapshot()
        errors = []
        for book in (self.fast, self.ref):
            try:
                getattr(book, how)(side, [price(t) for t in ticks], np.array(qtys, np.int64))
                errors.append(None)
            except CapacityError:
                assert book is self.fast
                self._refused(before)
                if how == "load":
                    self._check_load_refusal(side, ticks, qtys, before)
                else:
                    self._check_refill_refusal(side, ticks, qtys, before)
                return
            except InputError as exc:
                errors.append(str(exc))
        assert errors[0] == errors[1]
        live = [t for t, q in zip(ticks, qtys, strict=True) if q > 0]
        crosses = other is not None and bool(live) and live[0] == anchor
        assert (errors[0] is not None) == crosses
        self.check()

    # ------------------------------------------------------------------ checks

    def snapshot(self):
        return {side: self.fast.queues(side) for side in SIDES}

    @staticmethod
    def _resting_qty(snapshot) -> dict[int, int]:
        return {oid: q for side in SIDES for _, orders in snapshot[side] for oid, q in orders}

    def _take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _refused(self, before) -> None:
        assert self.tolerate_capacity
        assert self.snapshot() == before
        self.refusals += 1

    def _check_limit_refusal(self, side, ticks, qty, before) -> None:
        """A limit order may be refused only if it would rest and the book is full."""
        self.ref._take_id()  # the Numba book spent an id on the refused order; stay in step
        self._take_id()
        opposite = before["sell" if side == "buy" else "buy"]
        crossing = [
            sum(q for _, q in orders)
            for p, orders in opposite
            if (round(p / TICK) <= ticks if side == "buy" else round(p / TICK) >= ticks)
        ]
        assert sum(crossing) < qty
        own_prices = {round(p / TICK) for p, _ in before[side]}
        levels_full = ticks not in own_prices and len(own_prices) >= self.fast.batch.max_levels
        slots_full = len(self._all_orders(before)) >= self.fast.batch.max_orders
        assert levels_full or slots_full

    def _check_load_refusal(self, side, ticks, qtys, before) -> None:
        """A load may be refused only if its levels or orders would not fit."""
        own = {
            round(p / TICK) for p, orders in before[side] if any(o != BULK_ID for o, _ in orders)
        }
        loaded = {t for t, q in zip(ticks, qtys, strict=True) if q > 0}
        old_bulk = sum(1 for _, orders in before[side] for o, _ in orders if o == BULK_ID)
        in_use = len(self._all_orders(before)) - old_bulk + len(loaded)
        batch = self.fast.batch
        assert len(own | loaded) > batch.max_levels or in_use > batch.max_orders

    def _check_refill_refusal(self, side, ticks, qtys, before) -> None:
        """A refill may be refused only if a new level or a top-up would not fit."""
        bulk = {
            round(p / TICK): sum(q for o, q in orders if o == BULK_ID)
            for p, orders in before[side]
        }
        wanted = {t: q for t, q in zip(ticks, qtys, strict=True) if q > 0}
        new_levels = len(wanted.keys() - bulk.keys())
        tail_bulk = {round(p / TICK) for p, orders in before[side] if orders[-1][0] == BULK_ID}
        top_ups = sum(1 for t, q in wanted.items() if q > bulk.get(t, 0) and t not in tail_bulk)
        free = self.fast.batch.max_orders - len(self._all_orders(before))
        full = len(bulk) + new_levels > self.fast.batch.max_levels
        assert full or top_ups > free

    @staticmethod
    def _all_orders(snapshot) -> list[tuple[int, int]]:
        return [o for side in SIDES for _, orders in snapshot[side] for o in orders]

    @staticmethod
    def _same_fills(fills, ref_fills) -> None:
        assert fills.dtype == ref_fills.dtype
        assert fills.tolist() == ref_fills.tolist()

    def _taker_checks(self, taker_id, side, qty, fills, before, limit) -> None:
        """Price priority, FIFO, limit respected, residual handling, per-order accounting."""
        direction = 1 if side == "buy" else -1
        assert (fills["side"] == direction).all()
        assert (fills["qty"] > 0).all()
        if len(fills):
            assert (fills["taker_id"] == taker_id).all()
        ticks = fills["ticks"].tolist()
        if limit is not None:
            assert all(t <= limit if direction == 1 else t >= limit for t in ticks)
        # Fills consume the opposite side's queues from the best level, in queue order.
        queue = [
            (round(p / TICK), oid, q)
            for p, orders in before["sell" if direction == 1 else "buy"]
            for oid, q in orders
        ]
        for k, fill in enumerate(fills):
            level_ticks, maker, resting = queue[k]
            assert (fill["ticks"], fill["maker_id"]) == (level_ticks, maker)
            if k < len(fills) - 1:
                assert fill["qty"] == resting
            else:
                assert fill["qty"] <= resting
        done = int(fills["qty"].sum())
        assert done <= qty
        if done < qty and limit is None:
            assert len(fills) == len(queue)  # a market order stops only on an empty side
        for fill in fills:
            self.filled[int(fill["maker_id"])] += int(fill["qty"])
            self.filled[taker_id] += int(fill["qty"])
        if limit is not None and done < qty:
            own_side = self.fast.queues(side)
            level = dict((round(p / TICK), orders) for p, orders in own_side)[limit]
            assert level[-1] == (taker_id, qty - done)

    def check(self) -> None:
        fast = self.snapshot()
        assert fast == {side: self.ref.queues(side) for side in SIDES}
        for side in SIDES:
            assert self.fast.depth(side, 10_000) == self.ref.depth(side, 10_000)
            totals = [q for _, q in self.fast.depth(side, 10_000)]
            assert totals == [sum(q for _, q in orders) for _, orders in fast[side]]
            assert all(orders for _, orders in fast[side])
            assert all(q > 0 for _, orders in fast[side] for _, q in orders)
            prices = [p for p, _ in fast[side]]
            assert prices == sorted(prices, reverse=side == "buy")
            assert len(set(prices)) == len(prices)
        bid, ask = self.fast.best_bid(), self.fast.best_ask()
        assert (bid, ask) == (self.ref.best_bid(), self.ref.best_ask())
        assert bid == (fast["buy"][0][0] if fast["buy"] else None)
        if bid is not None and ask is not None:
            assert bid < ask
        resting = self._resting_qty(fast)
        assert not self.market_ids & resting.keys()
        for oid, qty in self.original.items():
            assert self.filled[oid] + resting.get(oid, 0) + self.cancelled.get(oid, 0) == qty
        assert set(resting) - {BULK_ID} <= set(self.original)
