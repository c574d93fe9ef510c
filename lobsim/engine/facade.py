"""The single-book Python API shared by :class:`OrderBook` and :class:`ReferenceBook`.

This base class validates every argument and converts currency prices to ticks; subclasses
implement the same operations in integer ticks. Both books therefore accept and refuse exactly
the same calls, which is what lets the tests hold one against the other.

Order ids. Each book numbers the orders it is sent 1, 2, 3, ... in arrival order: a limit order
gets the next id (returned, and used as the fills' ``taker_id`` and the id it rests under), a
market order gets the next id too (its fills' ``taker_id``). Ids are never reused. Bulk depth
has maker_id BULK_ID (-1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from numbers import Real

import numpy as np
from numba import njit

from lobsim.engine.records import ASK, BID, BOOK_FILL_DTYPE, BUY, MAX_QTY, SELL
from lobsim.errors import InputError

# Largest price in ticks; with the relative tolerance below, a price off the grid by a tenth
# of a tick is still told apart from one on it.
MAX_TICKS = 10**11
_REL_TOL = 1e-12

_DIRECTIONS = {"buy": BUY, "sell": SELL}
_SIDES = {"buy": BID, "sell": ASK}


@njit(cache=True)
def _convert_fills(raw, tick, out):
    """Copy FILL_DTYPE rows into BOOK_FILL_DTYPE rows (NumPy's per-field copies of structured
    arrays cost microseconds each; this is one call)."""
    for k in range(raw.shape[0]):
        out[k].taker_id = raw[k].taker_id
        out[k].maker_id = raw[k].maker_id
        out[k].ticks = raw[k].price
        out[k].price = raw[k].price * tick
        out[k].qty = raw[k].qty
        out[k].side = raw[k].side


def _side_name(side: object) -> str:
    if not isinstance(side, str) or side not in _DIRECTIONS:
        raise InputError(f"side must be 'buy' or 'sell', got {side!r}")
    return side


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_qty(qty: object, name: str = "qty") -> int:
    """``qty`` as an int in [1, MAX_QTY]; InputError naming it otherwise."""
    if not _is_int(qty) or not 1 <= qty <= MAX_QTY:
        raise InputError(f"{name} must be an integer in [1, {MAX_QTY}], got {qty!r}")
    return int(qty)


class BookFacade(ABC):
    """One order book with prices in currency units on a grid of ``tick_size``.

    ``side`` is "buy" or "sell" everywhere: the direction of an order, or for ``depth``,
    ``load`` and ``queues`` the side of the book holding buy orders (bids) or sell orders
    (asks). Fills are record arrays of BOOK_FILL_DTYPE: taker_id, maker_id, price (currency),
    ticks, qty, side (+1 buy, -1 sell: the taker's direction).
    """

    def __init__(self, tick_size: float = 0.01) -> None:
        if (
            isinstance(tick_size, bool)
            or not isinstance(tick_size, Real)
            or not math.isfinite(tick_size)
            or tick_size <= 0
        ):
            raise InputError(f"tick_size must be a positive finite number, got {tick_size!r}")
        self._tick = float(tick_size)
        self._next_id = 1

    @property
    def tick_size(self) -> float:
        return self._tick

    def to_ticks(self, price: object, name: str = "price") -> int:
        """Price in currency -> integer ticks, refusing NaN, inf, <= 0 and off-grid prices."""
        if isinstance(price, bool) or not isinstance(price, Real):
            raise InputError(f"{name} must be a real number, got {price!r}")
        x = float(price) / self._tick
        if not math.isfinite(x):
            raise InputError(f"{name} must be finite, got {price!r}")
        ticks = round(x)
        if not 1 <= ticks <= MAX_TICKS:
            raise InputError(
                f"{name} must be between 1 and {MAX_TICKS} ticks of {self._tick}, got {price!r}"
            )
        if abs(x - ticks) > _REL_TOL * ticks:
            raise InputError(f"{name}={price!r} is not on the grid of tick_size={self._tick}")
        return ticks

    def limit(self, side: str, price: float, qty: int) -> tuple[int, np.recarray]:
        """Limit order: its marketable part fills now, the rest rests at ``price``.

        Returns
        -------
        (order_id, fills) : (int, np.recarray of BOOK_FILL_DTYPE)
        """
        direction = _DIRECTIONS[_side_name(side)]
        ticks = self.to_ticks(price)
        qty = check_qty(qty)
        order_id = self._take_id()
        return order_id, self._fills(self._limit(direction, ticks, qty, order_id))

    def market(self, side: str, qty: int) -> np.recarray:
        """Market order; whatever the opposite side cannot fill is dropped, never rests."""
        direction = _DIRECTIONS[_side_name(side)]
        qty = check_qty(qty)
        return self._fills(self._market(direction, qty, self._take_id()))

    def cancel(self, order_id: int) -> None:
        """Withdraw a resting order. Raises InputError (nothing changes) if ``order_id`` is
        unknown, already filled or already cancelled."""
        if not _is_int(order_id):
            raise InputError(f"order_id must be an integer, got {order_id!r}")
        if not 0 <= order_id < 2**63 or not self._cancel(int(order_id)):
            raise InputError(
                f"cannot cancel order_id={order_id}: not resting (unknown, filled or cancelled)"
            )

    def reduce(self, order_id: int, qty: int) -> int:
        """Take ``qty`` shares off a resting order (a partial cancel), which keeps its place in
        the queue and goes when nothing is left. Returns the shares taken off (at most what
        was left); raises InputError if ``order_id`` is not resting or ``qty`` is not > 0."""
        if not _is_int(order_id):
            raise InputError(f"order_id must be an integer, got {order_id!r}")
        qty = check_qty(qty)
        taken = self._reduce(int(order_id), qty) if 0 <= order_id < 2**63 else 0
        if taken == 0:
            raise InputError(
                f"cannot reduce order_id={order_id}: not resting (unknown, filled or cancelled)"
            )
        return taken

    def best_bid(self) -> float | None:
        ticks = self._best(BID)
        return None if ticks is None else ticks * self._tick

    def best_ask(self) -> float | None:
        ticks = self._best(ASK)
        return None if ticks is None else ticks * self._tick

    def depth(self, side: str, levels: int = 10) -> list[tuple[float, int]]:
        """Up to ``levels`` (price, total qty) of the buy (bid) or sell (ask) side, best first."""
        book_side = _SIDES[_side_name(side)]
        levels = check_qty(levels, "levels")
        return [(t * self._tick, q) for t, q in self._depth(book_side, levels)]

    def queues(self, side: str) -> list[tuple[float, list[tuple[int, int]]]]:
        """Every level of a side, best first: (price, [(order_id, qty), ...] in queue order)."""
        book_side = _SIDES[_side_name(side)]
        return [(t * self._tick, orders) for t, orders in self._queues(book_side)]

    def load(self, side: str, prices: object, qtys: object) -> None:
        """Replace the bulk (anonymous, maker_id -1) depth of a side.

        Own resting orders survive and stay ahead of the new depth at their price; orders
        placed later queue behind it. Levels with qty 0 are skipped.

        Parameters
        ----------
        side : "buy" (bids) or "sell" (asks)
        prices : array-like of float, (n,)
            Level prices, best first, strictly monotone (bids falling, asks rising).
        qtys : array-like of int, (n,)
            Shares per level, >= 0.
        """
        book_side, ticks, qtys = self._depth_arguments(side, prices, qtys)
        self._load(book_side, ticks, qtys)

    def refill(self, side: str, prices: object, qtys: object) -> None:
        """Top up or trim the bulk depth of a side to the given levels, keeping every resting
        share's place: missing bulk shares join the back of each queue, excess ones leave from
        the back (bulk queued last first), and the bulk at prices not given leaves. Arguments
        as :meth:`load`; on a side without own orders the result is the same book."""
        book_side, ticks, qtys = self._depth_arguments(side, prices, qtys)
        self._refill(book_side, ticks, qtys)

    def _depth_arguments(
        self, side: str, prices: object, qtys: object
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Validated (book side, ticks, int64 qtys) of :meth:`load` and :meth:`refill`."""
        book_side = _SIDES[_side_name(side)]
        prices = np.asarray(prices)
        qtys = np.asarray(qtys)
        if prices.ndim != 1 or qtys.shape != prices.shape:
            raise InputError(
                f"prices and qtys must be 1-D of the same length, got shapes {prices.shape} "
                f"and {qtys.shape}"
            )
        if qtys.size and (qtys.dtype.kind not in "iu" or qtys.min() < 0 or qtys.max() > MAX_QTY):
            raise InputError(f"qtys must be integers in [0, {MAX_QTY}], got {qtys!r}")
        ticks = np.array(
            [self.to_ticks(p, f"prices[{k}]") for k, p in enumerate(prices.tolist())], np.int64
        )
        step = np.diff(ticks) if book_side == ASK else -np.diff(ticks)
        if (step <= 0).any():
            k = int(np.argmax(step <= 0)) + 1
            raise InputError(
                f"prices must be strictly {'rising' if book_side == ASK else 'falling'} "
                f"(best first); prices[{k}]={prices[k]!r} follows {prices[k - 1]!r}"
            )
        live = ticks[qtys > 0]
        other = self._best(1 - book_side)
        if live.size and other is not None:
            crossed = live[0] >= other if book_side == BID else live[0] <= other
            if crossed:
                raise InputError(
                    f"{side} depth at {live[0] * self._tick} would cross the opposite best "
                    f"{other * self._tick}"
                )
        return book_side, ticks, qtys.astype(np.int64)

    def _take_id(self) -> int:
        order_id = self._next_id
        self._next_id += 1
        return order_id

    def _fills(self, raw: np.ndarray) -> np.recarray:
        """Kernel fills (FILL_DTYPE, prices in ticks) -> a new BOOK_FILL_DTYPE record array
        with currency prices."""
        out = np.empty(len(raw), BOOK_FILL_DTYPE)
        _convert_fills(raw, self._tick, out)
        return out.view(np.recarray)

    @abstractmethod
    def _limit(self, direction: int, ticks: int, qty: int, order_id: int) -> np.ndarray:
        """Fills (FILL_DTYPE) of a validated limit order; may be a view valid until the next
        call."""

    @abstractmethod
    def _market(self, direction: int, qty: int, taker_id: int) -> np.ndarray:
        """Fills (FILL_DTYPE) of a validated market order."""

    @abstractmethod
    def _cancel(self, order_id: int) -> bool:
        """True if the order was resting and is now withdrawn."""

    @abstractmethod
    def _reduce(self, order_id: int, qty: int) -> int:
        """Shares taken off a resting order (0 if it is not resting)."""

    @abstractmethod
    def _best(self, book_side: int) -> int | None:
        """Best price in ticks, None when the side is empty."""

    @abstractmethod
    def _depth(self, book_side: int, levels: int) -> list[tuple[int, int]]:
        """Up to ``levels`` (ticks, total qty), best first."""

    @abstractmethod
    def _queues(self, book_side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """All levels, best first, with their queues."""

    @abstractmethod
    def _load(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        """Replace the bulk depth of a side with validated, non-crossing levels."""

    @abstractmethod
    def _refill(self, book_side: int, ticks: np.ndarray, qtys: np.ndarray) -> None:
        """Top up or trim the bulk depth of a side to validated, non-crossing levels."""
