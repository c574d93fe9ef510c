"""The passive minute: background market orders trade through one episode's book, where our
own limit orders wait in the queue (issue 13, in progress: the engine layer).

One minute of one book, in this order (DESIGN.md section 1, "Passive orders and background
flow"):

1. The mid moves to the bar's: an own order that the mid moved through (a sell at or below
   the new mid, a buy at or above it) is filled at its limit; the fill's taker is
   ``MID_THROUGH``. It is adverse selection: the price went through the order.
2. Both sides refill to their power-law shape around the new mid (``refill_side``): bulk
   depth ahead of an own order stays ahead of it, missing depth joins the back of the queue.
3. The background orders (:func:`lobsim.books.flow.background_flow`) arrive one by one as
   market orders; after each, the side it hit refills to its shape, so every order meets the
   book of the model and only the queue positions carry over.

Fills are the engine's records: ``maker_id`` is an own order's id (>= 0) when the flow reached
it, ``taker_id`` is ``BACKGROUND`` for a background order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lobsim.engine._ops import better, ht_find
from lobsim.engine.kernels import cancel, submit_market
from lobsim.engine.loading import refill_side, refill_top
from lobsim.engine.records import (
    ASK,
    BID,
    BK_LEVELS,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    BUY,
    ERR_FILLS_FULL,
    HT_SLOT,
    LV_HEAD,
    LV_PRICE,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
    OR_PRICE,
    OR_QTY,
    SELL,
)

BACKGROUND = -2  # taker id of background orders
MID_THROUGH = -3  # taker id of an own order filled because the mid moved through it


@njit(cache=True)
def passive_minute(
    state,
    b,
    mid,
    bid_prices,
    bid_qtys,
    n_bid,
    ask_prices,
    ask_qtys,
    n_ask,
    directions,
    sizes,
    n_flow,
    fills,
    nfills,
):
    """Run one minute of book b; returns (fill rows used, background shares traded).

    Parameters
    ----------
    state : BookState
    b : int
    mid : float
        The new mid in ticks (fractional).
    bid_prices, bid_qtys, ask_prices, ask_qtys : ndarray(int64)
        The two sides' target shapes, best first; n_bid and n_ask levels of them.
    directions, sizes : ndarray(int64)
        The background orders in arrival order (BUY or SELL, shares); n_flow of them.
    fills : ndarray(FILL_DTYPE, (F,))
        Fills are appended from row ``nfills``.
    """
    nfills = _mid_through(state, b, mid, fills, nfills)
    # The side the mid moved away from first, so that its old depth never crosses the other.
    if _rose(state, b, bid_prices, n_bid):
        refill_side(state, b, ASK, ask_prices, ask_qtys, n_ask)
        refill_side(state, b, BID, bid_prices, bid_qtys, n_bid)
    else:
        refill_side(state, b, BID, bid_prices, bid_qtys, n_bid)
        refill_side(state, b, ASK, ask_prices, ask_qtys, n_ask)
    traded = 0
    for j in range(n_flow):
        direction = directions[j]
        start = nfills
        filled, nfills = submit_market(state, b, direction, sizes[j], BACKGROUND, fills, nfills)
        traded += filled
        if nfills == start:
            continue
        # Only the levels the order walked changed: refill the targets down to its last fill.
        last = fills[nfills - 1].price
        if direction == BUY:
            refill_top(state, b, ASK, ask_prices, ask_qtys, _reach(ASK, ask_prices, n_ask, last))
        else:
            refill_top(state, b, BID, bid_prices, bid_qtys, _reach(BID, bid_prices, n_bid, last))
    return nfills, traded


@njit(cache=True)
def _reach(side, prices, n, last):
    """How many target levels (best first) lie at or before ``last``, the price of a taker's
    last fill, plus one: the levels its walk can have changed."""
    k = 0
    while k < n and (prices[k] == last or better(side, prices[k], last)):
        k += 1
    return min(k + 1, n)


@njit(cache=True)
def _rose(state, b, bid_prices, n_bid):
    """Whether the new best bid reaches the asks still resting (the mid rose)."""
    n_ask = state.books[b, BK_LEVELS + ASK]
    if n_bid == 0 or n_ask == 0:
        return False
    return bid_prices[0] >= state.levels[b, ASK, n_ask - 1, LV_PRICE]


@njit(cache=True)
def _mid_through(state, b, mid, fills, nfills):
    """Fill at their limit, and withdraw, the own orders the mid moved through (a bid at or
    above the new mid, an ask at or below it); the bulk there goes with the refill."""
    levels = state.levels
    orders = state.orders
    books = state.books
    for side in (BID, ASK):
        n_own = books[b, BK_OWN + side]
        if n_own == 0:
            continue
        ids = np.empty(n_own, dtype=np.int64)
        count = 0
        i = books[b, BK_LEVELS + side] - 1
        while i >= 0:
            price = levels[b, side, i, LV_PRICE]
            if not (price >= mid if side == BID else price <= mid):
                break
            s = levels[b, side, i, LV_HEAD]
            while s != NO_SLOT:
                if orders[b, s, OR_ID] != BULK_ID:
                    ids[count] = orders[b, s, OR_ID]
                    count += 1
                s = orders[b, s, OR_NEXT]
            i -= 1
        for j in range(count):
            if nfills >= fills.shape[0]:
                books[b, BK_STATUS] = ERR_FILLS_FULL
                return nfills
            s = state.table[b, ht_find(state.table, b, ids[j]), HT_SLOT]
            f = fills[nfills]
            f.taker_id = MID_THROUGH
            f.maker_id = ids[j]
            f.price = orders[b, s, OR_PRICE]
            f.qty = orders[b, s, OR_QTY]
            f.side = SELL if side == BID else BUY  # the taker's direction
            nfills += 1
            cancel(state, b, ids[j])
    return nfills


def reference_minute(book, mid, bids, asks, flow):
    """The passive minute on a :class:`lobsim.ReferenceBook`, in plain Python, written apart
    from :func:`passive_minute` so the tests can hold one against the other.

    ``bids`` and ``asks`` are (ticks, qtys) best first, ``flow`` (directions, sizes). Returns
    the fills as (taker_id, maker_id, price, qty, side) tuples and the background shares traded.
    """
    fills = []
    for side in (BID, ASK):
        prices = list(book._levels[side].keys())
        best_first = prices[::-1] if side == BID else prices
        passed = [p for p in best_first if (p >= mid if side == BID else p <= mid)]
        for price in passed:
            for order in list(book._levels[side][price]):
                if order.order_id != BULK_ID:
                    taker = SELL if side == BID else BUY
                    fills.append((MID_THROUGH, order.order_id, price, order.qty, taker))
                    book._cancel(order.order_id)
    book._refill(BID, *bids)
    book._refill(ASK, *asks)
    traded = 0
    for direction, size in zip(*flow, strict=True):
        rows = book._market(int(direction), int(size), BACKGROUND)
        fills += [tuple(r) for r in rows.tolist()]
        traded += int(rows["qty"].sum())
        book._refill(ASK, *asks) if direction == BUY else book._refill(BID, *bids)
    return fills, traded
