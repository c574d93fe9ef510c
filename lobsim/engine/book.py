"""``OrderBook``: one Numba-backed book behind the Python facade."""

from __future__ import annotations

import numpy as np

from lobsim.engine.batch import BookBatch
from lobsim.engine.facade import BookFacade
from lobsim.engine.kernels import cancel, load_side, reduce_order, submit_limit, submit_market
from lobsim.engine.loading import refill_side
from lobsim.engine.records import BK_STATUS, FILL_DTYPE, OK


class OrderBook(BookFacade):
    """A single limit order book matched by the Numba kernels.

    Prices are currency units on the grid of ``tick_size``; quantities whole shares. Matching
    follows price-time priority; see :class:`~lobsim.engine.facade.BookFacade` for the methods
    and :mod:`lobsim.engine.kernels` for the queue rule of bulk depth.

    Parameters
    ----------
    tick_size : float
    max_levels : int
        Price levels per side. Going past it raises CapacityError and changes nothing.
    max_orders : int
        Resting orders (own orders plus one per bulk level), both sides together.

    Examples
    --------
    >>> book = OrderBook(tick_size=0.01)
    >>> ask_id, _ = book.limit("sell", 100.02, 300)
    >>> fills = book.market("buy", 100)
    >>> fills.price.tolist(), fills.qty.tolist(), fills.maker_id.tolist() == [ask_id]
    ([100.02], [100], True)
    """

    def __init__(
        self, tick_size: float = 0.01, max_levels: int = 512, max_orders: int = 4096
    ) -> None:
        super().__init__(tick_size)
        self._batch = BookBatch(1, max_levels=max_levels, max_orders=max_orders)
        # One order fills at most every resting order once, so this never runs out.
        self._rows = np.zeros(self._batch.max_orders, FILL_DTYPE)

    @property
    def batch(self) -> BookBatch:
        """The underlying one-book :class:`BookBatch` (book index 0)."""
        return self._batch

    # The fills returned are views of a scratch buffer; the facade copies them out at once.
    def _limit(self, direction: int, ticks: int, qty: int, order_id: int) -> np.ndarray:
        state = self._batch.state
        _, n = submit_limit(state, 0, direction, ticks, qty, order_id, self._rows, 0)
        if state.books[0, BK_STATUS] != OK:
            self._batch.check(0, f"limit order {order_id}")
        return self._rows[:n]

    def _market(self, direction: int, qty: int, taker_id: int) -> np.ndarray:
        state = self._batch.state
        _, n = submit_market(state, 0, direction, qty, taker_id, self._rows, 0)
        if state.books[0, BK_STATUS] != OK:
            self._batch.check(0, f"market order {taker_id}")
        return self._rows[:n]

    def _cancel(self, order_id: int) -> bool:
        return bool(cancel(self._batch.state, 0, order_id))

    def _reduce(self, order_id: int, qty: int) -> int:
        return int(reduce_order(self._batch.state, 0, order_id, qty))

    def _best(self, book_side: int) -> int | None:
        return self._batch.best(0, book_side)

    def _depth(self, book_side: int, levels: int) -> list[tuple[int, int]]:
        prices, qtys = self._batch.depth(0, book_side, levels)
        return list(zip(prices.tolist(), qtys.tolist(), strict=True))

    def _queues(self, book_side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        return self._batch.queues(0, book_side)

    def _load(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        load_side(self._batch.state, 0, book_side, ticks, qtys, len(ticks))
        self._batch.check(0, "load")

    def _refill(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        refill_side(self._batch.state, 0, book_side, ticks, qtys, len(ticks))
        self._batch.check(0, "refill")
