"""The passive minute: background market orders trade through one episode's book, where our
own limit orders wait in the queue (issue 13).

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

Fills are the engine's records, written for own orders only (background orders trading with
the bulk depth leave just their count of shares): ``maker_id`` is the own order's id,
``taker_id`` ``BACKGROUND`` when the flow reached it or ``MID_THROUGH``.
"""

from __future__ import annotations

from numba import njit

from lobsim.engine._ops import (
    bulk_at,
    close_level,
    ht_find,
    ht_remove_at,
    set_bulk,
    unlink_order,
    write_fill,
)
from lobsim.engine.kernels import cancel
from lobsim.engine.loading import refill_side
from lobsim.engine.records import (
    ASK,
    BID,
    BK_LEVELS,
    BK_NFREE,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    BUY,
    ERR_FILLS_FULL,
    ERR_ORDERS_FULL,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    LV_TAIL,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
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
        Own orders' fills are appended from row ``nfills``.
    """
    nfills = move_mid(state, b, mid, bid_prices, bid_qtys, n_bid, ask_prices, ask_qtys, n_ask,
                      fills, nfills)  # fmt: skip
    return trade_flow(state, b, directions, sizes, n_flow, fills, nfills)


@njit(cache=True, inline="always")
def move_mid(state, b, mid, bid_prices, bid_qtys, n_bid, ask_prices, ask_qtys, n_ask, fills,
             nfills):  # fmt: skip
    """Steps 1 and 2 of the minute (module docstring): own orders the mid moved through fill,
    both sides refill to their targets. Returns the fill rows used."""
    nfills = _mid_through(state, b, mid, fills, nfills)
    # The side the mid moved away from first, so that its old depth never crosses the other.
    if _rose(state, b, bid_prices, n_bid):
        refill_side(state, b, ASK, ask_prices, ask_qtys, n_ask)
        refill_side(state, b, BID, bid_prices, bid_qtys, n_bid)
    else:
        refill_side(state, b, BID, bid_prices, bid_qtys, n_bid)
        refill_side(state, b, ASK, ask_prices, ask_qtys, n_ask)
    return nfills


@njit(cache=True, inline="always")
def trade_flow(state, b, directions, sizes, n_flow, fills, nfills):
    """Step 3 of the minute: the background orders, each followed by the refill of what it
    took, on a book at its targets. Returns (fill rows used, background shares traded)."""
    traded = 0
    if n_flow == 0:
        return nfills, traded
    # Shares resting on each side ahead of its first own order (all of them without one): an
    # order no larger leaves the book as it found it, since every level it takes refills.
    ahead_bid = _ahead_of_own(state, b, BID)
    ahead_ask = _ahead_of_own(state, b, ASK)
    for j in range(n_flow):
        direction = directions[j]
        qty = sizes[j]
        opp = ASK if direction == BUY else BID
        ahead = ahead_ask if opp == ASK else ahead_bid
        if qty <= ahead:
            traded += qty
            continue
        if state.books[b, BK_OWN + opp] == 0:
            traded += ahead  # the side ran out
            continue
        filled, nfills = _background_order(state, b, direction, qty, fills, nfills)
        traded += filled
        if opp == ASK:
            ahead_ask = _ahead_of_own(state, b, ASK)
        else:
            ahead_bid = _ahead_of_own(state, b, BID)
    return nfills, traded


@njit(cache=True, inline="always")
def _ahead_of_own(state, b, side):
    """Shares resting on ``side`` of book b at better prices than its best level holding an own
    order, or in all if none does."""
    levels, orders = state.levels, state.orders
    total = 0
    for i in range(state.books[b, BK_LEVELS + side] - 1, -1, -1):
        s = levels[b, side, i, LV_HEAD]
        while s != NO_SLOT:
            if orders[b, s, OR_ID] != BULK_ID:
                return total
            s = orders[b, s, OR_NEXT]
        total += levels[b, side, i, LV_QTY]
    return total


@njit(cache=True, inline="always")
def _background_order(state, b, direction, qty, fills, nfills):
    """A background market order of ``qty`` shares, then the refill of the levels it walked,
    on a book whose bulk depth is at its target at every level (as after ``refill_side``).

    The book and own fills are those of ``submit_market`` followed by a refill of the walked
    levels to their targets (what :func:`reference_minute` does), without the work that leaves
    no trace: a level of bulk only is taken and refilled to the same depth. Only a level that
    holds own orders changes: its queue is consumed from the head (own orders fill, bulk ahead
    of them goes) and the bulk taken rejoins at the back. Fills are written for own orders
    only. Returns (background shares traded, fill rows used).
    """
    levels, orders, books, table = state.levels, state.orders, state.books, state.table
    opp = ASK if direction == BUY else BID
    rem = qty
    i = books[b, BK_LEVELS + opp] - 1
    while rem > 0 and i >= 0:
        s = levels[b, opp, i, LV_HEAD]
        if s == levels[b, opp, i, LV_TAIL] and orders[b, s, OR_ID] == BULK_ID:
            rem -= min(rem, levels[b, opp, i, LV_QTY])
            i -= 1
            continue
        target = bulk_at(levels, orders, b, opp, i)
        price = levels[b, opp, i, LV_PRICE]
        while rem > 0 and s != NO_SLOT:
            resting = orders[b, s, OR_QTY]
            take = min(rem, resting)
            maker = orders[b, s, OR_ID]
            if maker != BULK_ID:
                if nfills >= fills.shape[0]:
                    books[b, BK_STATUS] = ERR_FILLS_FULL
                    return qty - rem, nfills
                write_fill(fills, nfills, BACKGROUND, maker, price, take, direction)
                nfills += 1
            rem -= take
            levels[b, opp, i, LV_QTY] -= take
            nxt = orders[b, s, OR_NEXT]
            if take < resting:
                orders[b, s, OR_QTY] = resting - take
                break
            if maker != BULK_ID:
                ht_remove_at(table, b, ht_find(table, b, maker))
                books[b, BK_OWN + opp] -= 1
            unlink_order(levels, orders, books, b, opp, i, s)
            s = nxt
        if books[b, BK_NFREE] == 0 and target > bulk_at(levels, orders, b, opp, i):
            books[b, BK_STATUS] = ERR_ORDERS_FULL
            return qty - rem, nfills
        set_bulk(levels, orders, books, b, opp, i, target)
        if levels[b, opp, i, LV_HEAD] == NO_SLOT:
            close_level(levels, b, opp, i, books[b, BK_LEVELS + opp])
            books[b, BK_LEVELS + opp] -= 1
        i -= 1
    return qty - rem, nfills


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
        if books[b, BK_OWN + side] == 0:
            continue
        # Their fill rows first, in queue order; the rows then name the orders to withdraw.
        start = nfills
        i = books[b, BK_LEVELS + side] - 1
        while i >= 0:
            price = levels[b, side, i, LV_PRICE]
            if not (price >= mid if side == BID else price <= mid):
                break
            s = levels[b, side, i, LV_HEAD]
            while s != NO_SLOT:
                if orders[b, s, OR_ID] != BULK_ID:
                    if nfills >= fills.shape[0]:
                        books[b, BK_STATUS] = ERR_FILLS_FULL
                        return nfills
                    taker = SELL if side == BID else BUY
                    write_fill(fills, nfills, MID_THROUGH, orders[b, s, OR_ID], price,
                               orders[b, s, OR_QTY], taker)  # fmt: skip
                    nfills += 1
                s = orders[b, s, OR_NEXT]
            i -= 1
        for j in range(start, nfills):
            cancel(state, b, fills[j].maker_id)
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
