"""``ReferenceBook``: the same facade as :class:`OrderBook`, in plain Python.

Written to be obviously right rather than fast: each side is a ``SortedDict`` from price (ticks)
to the FIFO list of orders resting there. The tests hold the Numba engine against it, and the
benchmark measures the engine against it. It has no capacity limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sortedcontainers import SortedDict

from lobsim.engine.facade import BookFacade
from lobsim.engine.records import ASK, BID, BULK_ID, BUY, EV_CANCEL, EV_LIMIT, FILL_DTYPE


@dataclass(eq=False)
class _Order:
    order_id: int
    side: int
    price: int
    qty: int


class ReferenceBook(BookFacade):
    """A single limit order book in pure Python (see :class:`BookFacade` for the methods)."""

    def __init__(self, tick_size: float = 0.01) -> None:
        super().__init__(tick_size)
        self._levels: tuple[SortedDict, SortedDict] = (SortedDict(), SortedDict())
        self._resting: dict[int, _Order] = {}

    def _best(self, book_side: int) -> int | None:
        levels = self._levels[book_side]
        if not levels:
            return None
        # Bids: the highest price is best; asks: the lowest.
        return levels.keys()[-1] if book_side == BID else levels.keys()[0]

    def _prices_best_first(self, book_side: int) -> list[int]:
        prices = list(self._levels[book_side].keys())
        return prices[::-1] if book_side == BID else prices

    def _match(self, direction: int, limit: int | None, qty: int, taker_id: int) -> np.ndarray:
        opposite = ASK if direction == BUY else BID
        fills = []
        while qty > 0:
            price = self._best(opposite)
            if price is None:
                break
            if limit is not None and (price > limit if direction == BUY else price < limit):
                break
            queue = self._levels[opposite][price]
            while qty > 0 and queue:
                maker = queue[0]
                take = min(qty, maker.qty)
                fills.append((taker_id, maker.order_id, price, take, direction))
                maker.qty -= take
                qty -= take
                if maker.qty == 0:
                    queue.pop(0)
                    self._resting.pop(maker.order_id, None)
            if not queue:
                del self._levels[opposite][price]
        return np.array(fills, dtype=FILL_DTYPE)

    def _rest(self, order: _Order) -> None:
        self._levels[order.side].setdefault(order.price, []).append(order)

    def _limit(self, direction: int, ticks: int, qty: int, order_id: int) -> np.ndarray:
        fills = self._match(direction, ticks, qty, order_id)
        left = qty - int(fills["qty"].sum())
        if left > 0:
            order = _Order(order_id, BID if direction == BUY else ASK, ticks, left)
            self._rest(order)
            self._resting[order_id] = order
        return fills

    def _market(self, direction: int, qty: int, taker_id: int) -> np.ndarray:
        return self._match(direction, None, qty, taker_id)

    def _add_bulk(self, book_side: int, price: int, qty: int) -> None:
        """``qty`` anonymous shares at the back of the level at ``price`` (a run of bulk at
        the back grows, as the engine's does)."""
        queue = self._levels[book_side].setdefault(price, [])
        if queue and queue[-1].order_id == BULK_ID:
            queue[-1].qty += qty
        else:
            queue.append(_Order(BULK_ID, book_side, price, qty))

    def _reduce(self, order_id: int, qty: int) -> int:
        order = self._resting.get(order_id)
        if order is None or qty <= 0:
            return 0
        if qty >= order.qty:
            taken = order.qty
            self._cancel(order_id)
            return taken
        order.qty -= qty
        return qty

    def _cancel(self, order_id: int) -> bool:
        order = self._resting.pop(order_id, None)
        if order is None:
            return False
        queue = self._levels[order.side][order.price]
        queue.remove(order)
        if not queue:
            del self._levels[order.side][order.price]
        return True

    def _depth(self, book_side: int, levels: int) -> list[tuple[int, int]]:
        prices = self._prices_best_first(book_side)[:levels]
        return [(p, sum(o.qty for o in self._levels[book_side][p])) for p in prices]

    def _queues(self, book_side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        return [
            (p, [(o.order_id, o.qty) for o in self._levels[book_side][p]])
            for p in self._prices_best_first(book_side)
        ]

    def replay(
        self,
        kinds: np.ndarray,
        directions: np.ndarray,
        prices: np.ndarray,
        qtys: np.ndarray,
        order_ids: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Replay an event stream in ticks, like :func:`lobsim.engine.kernels.apply_stream`.

        The events are trusted (no validation) and their ids are used as given, not drawn from
        this book's counter.

        Returns
        -------
        fills : ndarray(FILL_DTYPE, (F,))
        fill_end : ndarray(int64, (E,))
            Event e's fills are ``fills[fill_end[e-1]:fill_end[e]]``.
        results : ndarray(int64, (E,))
            Shares filled (limit, market) or 1/0 cancelled or refused (cancel).
        """
        chunks, ends, results = [], [], []
        count = 0
        for kind, direction, price, qty, order_id in zip(
            kinds.tolist(),
            directions.tolist(),
            prices.tolist(),
            qtys.tolist(),
            order_ids.tolist(),
            strict=True,
        ):
            if kind == EV_CANCEL:
                results.append(int(self._cancel(order_id)))
            else:
                if kind == EV_LIMIT:
                    fills = self._limit(direction, price, qty, order_id)
                else:
                    fills = self._market(direction, qty, order_id)
                chunks.append(fills)
                count += len(fills)
                results.append(int(fills["qty"].sum()))
            ends.append(count)
        fills = np.concatenate(chunks) if chunks else np.zeros(0, FILL_DTYPE)
        return fills, np.array(ends, np.int64), np.array(results, np.int64)

    def _load(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        # Withdraw the old bulk depth, then append the new depth behind whatever is resting.
        levels = self._levels[book_side]
        for price in list(levels.keys()):
            levels[price] = [o for o in levels[price] if o.order_id != BULK_ID]
            if not levels[price]:
                del levels[price]
        for price, qty in zip(ticks.tolist(), qtys.tolist(), strict=True):
            if qty > 0:
                self._rest(_Order(BULK_ID, book_side, price, qty))

    def _refill(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        # Per price: missing bulk shares join the back; excess bulk leaves from the back.
        levels = self._levels[book_side]
        target = {p: q for p, q in zip(ticks.tolist(), qtys.tolist(), strict=True) if q > 0}
        for price in set(levels.keys()) | set(target):
            queue = levels.get(price, [])
            bulk = sum(o.qty for o in queue if o.order_id == BULK_ID)
            want = target.get(price, 0)
            if bulk < want:  # one run of bulk at the back grows; else a new one joins
                if queue and queue[-1].order_id == BULK_ID:
                    queue[-1].qty += want - bulk
                else:
                    queue.append(_Order(BULK_ID, book_side, price, want - bulk))
            excess = bulk - want
            for order in reversed(list(queue)):
                if excess <= 0:
                    break
                if order.order_id == BULK_ID:
                    take = min(excess, order.qty)
                    order.qty -= take
                    excess -= take
            queue = [o for o in queue if o.qty > 0]
            if queue:
                levels[price] = queue
            else:
                levels.pop(price, None)
