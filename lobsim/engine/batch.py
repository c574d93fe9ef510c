"""The arrays of a batch of independent books, and a Python handle on them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lobsim._memory import check_fits
from lobsim.engine.kernels import best_price, reset_book, reset_books
from lobsim.engine.records import (
    ASK,
    BID,
    BK_LEVELS,
    BK_NFREE,
    BK_STATUS,
    BK_STRIDE,
    ERR_FILLS_FULL,
    ERR_LEVELS_FULL,
    ERR_ORDERS_FULL,
    FILL_DTYPE,
    HT_FIELDS,
    LV_FIELDS,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    NO_PRICE,
    NO_SLOT,
    OK,
    OR_FIELDS,
    OR_ID,
    OR_NEXT,
    OR_QTY,
    STATUS_MESSAGES,
)
from lobsim.errors import InputError


class CapacityError(InputError):
    """A book ran out of price levels, order slots or fill rows; the message says which."""


class BookState(NamedTuple):
    """State of B books, each with 2 sides of up to L price levels and a pool of O order slots.

    Four int64 arrays, fields on the last axis (indices ``records.LV_*``, ``OR_*``, ``BK_*``,
    ``HT_*``): few arrays, because every njit call pays an atomic reference-count update per
    array it is passed.

    Levels of a side are kept sorted worst first: the best level is the last used one. Each
    level holds a FIFO queue of order slots linked through OR_NEXT / OR_PREV; free slots are
    chained through OR_NEXT from BK_FREE. Resting own orders are found by id through an
    open-addressing table of H = 2**k >= 2 O entries.

    Attributes
    ----------
    levels : ndarray(int64, (B, 2, L, LV_FIELDS))
        Per side (BID, ASK) and level: price (ticks), total shares, queue head and tail slots.
    orders : ndarray(int64, (B, O, OR_FIELDS))
        Per slot: order id (BULK_ID for bulk depth), price, remaining shares (0: free), side,
        next and previous slot.
    books : ndarray(int64, (B, BK_STRIDE))
        Per book: levels per side, first free slot, free slot count, status (records.ERR_*).
    table : ndarray(int64, (B, H, HT_FIELDS))
        Per book: order id -> slot (HT_KEY EMPTY_KEY = unused entry).
    """

    levels: np.ndarray
    orders: np.ndarray
    books: np.ndarray
    table: np.ndarray


def _hash_size(max_orders: int) -> int:
    """Rows of a book's order-id hash table: a power of two, at most half full."""
    return 1 << max(3, (2 * max_orders - 1).bit_length())


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class BookBatch:
    """A batch of ``n_books`` independent, initially empty books.

    Memory is about ``n_books * (64 * max_levels + 80 * max_orders)`` bytes (see ``nbytes``);
    ``max_orders`` must cover the bulk levels plus the own orders a book holds at once.

    Parameters
    ----------
    n_books : int
    max_levels : int
        Price levels per side.
    max_orders : int
        Resting orders per book, both sides; each bulk-loaded level takes one.
    """

    def __init__(self, n_books: int, max_levels: int = 512, max_orders: int = 4096) -> None:
        n_books = _positive_int("n_books", n_books)
        max_levels = _positive_int("max_levels", max_levels)
        max_orders = _positive_int("max_orders", max_orders)
        n_hash = _hash_size(max_orders)
        check_fits(
            self.state_bytes(n_books, max_levels, max_orders),
            f"BookBatch(n_books={n_books}, max_levels={max_levels}, max_orders={max_orders})",
        )
        self.state = BookState(
            levels=np.zeros((n_books, 2, max_levels, LV_FIELDS), np.int64),
            orders=np.zeros((n_books, max_orders, OR_FIELDS), np.int64),
            books=np.zeros((n_books, BK_STRIDE), np.int64),
            table=np.zeros((n_books, n_hash, HT_FIELDS), np.int64),
        )
        reset_books(self.state)

    @staticmethod
    def state_bytes(n_books: int, max_levels: int, max_orders: int) -> int:
        """Bytes the state arrays of such a batch take (checked against memory first)."""
        fields = 2 * max_levels * LV_FIELDS + max_orders * OR_FIELDS + BK_STRIDE
        return 8 * n_books * (fields + _hash_size(max_orders) * HT_FIELDS)

    @property
    def n_books(self) -> int:
        return self.state.books.shape[0]

    @property
    def max_levels(self) -> int:
        return self.state.levels.shape[2]

    @property
    def max_orders(self) -> int:
        return self.state.orders.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes held by the state arrays."""
        return sum(a.nbytes for a in self.state)

    def reset(self, b: int | None = None) -> None:
        """Empty book ``b``, or every book when ``b`` is None."""
        if b is None:
            reset_books(self.state)
        else:
            reset_book(self.state, self._book(b))

    def new_fills(self, rows: int | None = None) -> np.ndarray:
        """ndarray(FILL_DTYPE, (n_books, rows)) for :func:`market_batch`; ``rows`` defaults to
        ``max_orders``, enough that no order can run out of rows."""
        rows = self.max_orders if rows is None else _positive_int("rows", rows)
        return np.zeros((self.n_books, rows), FILL_DTYPE)

    def best(self, b: int, side: int) -> int | None:
        """Best price of ``side`` (BID or ASK) of book b in ticks, None when empty."""
        price = best_price(self.state, self._book(b), self._side(side))
        return None if price == NO_PRICE else int(price)

    def depth(self, b: int, side: int, levels: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(prices, qtys), each ndarray(int64, (<= levels,)), best level first."""
        b, side = self._book(b), self._side(side)
        top = int(self.state.books[b, BK_LEVELS + side])
        n = top if levels is None else min(top, _positive_int("levels", levels))
        rows = self.state.levels[b, side, top - 1 - np.arange(n)]
        return rows[:, LV_PRICE].copy(), rows[:, LV_QTY].copy()

    def queues(self, b: int, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every level of ``side``, best first: (price in ticks, [(order_id, qty), ...] in queue
        order). Bulk depth shows as order_id BULK_ID."""
        b, side = self._book(b), self._side(side)
        levels, orders = self.state.levels, self.state.orders
        out = []
        for i in range(int(self.state.books[b, BK_LEVELS + side]) - 1, -1, -1):
            queue = []
            s = int(levels[b, side, i, LV_HEAD])
            while s != NO_SLOT:
                queue.append((int(orders[b, s, OR_ID]), int(orders[b, s, OR_QTY])))
                s = int(orders[b, s, OR_NEXT])
            out.append((int(levels[b, side, i, LV_PRICE]), queue))
        return out

    def level_totals(self, b: int, side: int) -> list[int]:
        """The stored total of each level of ``side``, best first (kept by the kernels)."""
        return self.depth(b, side)[1].tolist()

    def n_resting(self, b: int) -> int:
        """Order slots in use in book b (own orders plus one per bulk level)."""
        return self.max_orders - int(self.state.books[self._book(b), BK_NFREE])

    def check(self, b: int, action: str = "operation") -> None:
        """Raise the error stored as book b's status, if any, and clear it.

        Raises
        ------
        CapacityError
            Out of levels, order slots or fill rows (names the limit to raise).
        InputError
            Any other refusal.
        """
        b = self._book(b)
        code = int(self.state.books[b, BK_STATUS])
        if code == OK:
            return
        self.state.books[b, BK_STATUS] = OK
        message = f"{action} refused by book {b}: {STATUS_MESSAGES.get(code, code)}"
        if code == ERR_LEVELS_FULL:
            raise CapacityError(f"{message} (max_levels={self.max_levels})")
        if code == ERR_ORDERS_FULL:
            raise CapacityError(f"{message} (max_orders={self.max_orders})")
        if code == ERR_FILLS_FULL:
            raise CapacityError(message)
        raise InputError(message)

    def _book(self, b: int) -> int:
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or not 0 <= b < self.n_books:
            raise InputError(f"book index b must be an integer in [0, {self.n_books}), got {b!r}")
        return int(b)

    @staticmethod
    def _side(side: int) -> int:
        if isinstance(side, bool) or side not in (BID, ASK):
            raise InputError(f"side must be BID (0) or ASK (1), got {side!r}")
        return int(side)
