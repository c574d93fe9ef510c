"""The matching kernels: plain ``@njit(cache=True)`` functions over a :class:`BookState`.

Every kernel takes the state of a whole batch of books and the index ``b`` of the book it acts
on, so simulator kernels can call them inside their own ``prange`` loops over books. Prices are
integer ticks (>= MIN_PRICE), quantities integer shares (<= MAX_QTY).

Queue rule. Price-time priority, with no exceptions: better prices first, and within a price
level first come, first served. A bulk load is treated as anonymous orders (maker_id BULK_ID)
arriving at the moment of the load: it first withdraws the side's previous bulk depth, then
appends the new depth at the back of each level. So own orders resting before a reload keep
their place ahead of the reloaded depth at their price, and own orders placed after it queue
behind it.

Bulk loading (:func:`load_side`) lives in :mod:`lobsim.engine.loading` and is re-exported here.

Arguments. Every public kernel checks the book index and the sizes it is given (a compare or
two per call) and raises IndexError or ValueError on a wrong one, so no call can read or write
outside the arrays, crash or hang the interpreter; the bodies they share (``_*_impl``) trust
their callers.

Errors. A kernel that refuses an operation (bad argument, duplicate id, capacity) changes
nothing and stores a status code (``records.ERR_*``) for book b, read with :func:`book_status`;
the code stays until the caller clears it (:func:`clear_status`). A match that runs out of fill
rows stops early (ERR_FILLS_FULL): every share executed so far has its fill row and nothing is
lost, but the order is only partly done and a limit order's residual does not rest. One order
never needs more rows than there are resting orders on the opposite side, so fills arrays of
``max_orders`` rows never run out.

Speed. Every call to an njit function that is not inlined pays an atomic reference-count
update per array passed, so the private helpers are ``inline="always"`` and ``apply_stream``
inlines the bodies of the order kernels. The public kernels themselves are NOT inlined: IR-
inlined into a ``prange`` body, ``load_side`` miscompiled under numba 0.68 (the benchmark's
parallel walks produced wrong fills), so callers must not wrap them with ``inline="always"``
either. The common simulator case, a reload of a side that holds no own orders, takes a
written-out path (``loading._replace_bulk_only``).

Numba's on-disk cache does not notice when a function a kernel calls changes: after editing
any engine kernel, delete the ``__pycache__`` folders of every module whose kernels call it
(the simulator's included), or they keep running the old code.
"""

from __future__ import annotations

from numba import njit, prange

from lobsim.engine._ops import (
    better,
    check_book,
    check_fills,
    check_side,
    close_level,
    find_level,
    ht_find,
    ht_insert,
    ht_remove_at,
    marketable_qty,
    open_level,
    push_back,
    unlink_order,
    write_fill,
)
from lobsim.engine.loading import load_side, refill_side
from lobsim.engine.records import (
    ASK,
    BID,
    BK_FREE,
    BK_LEVELS,
    BK_NFREE,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    BUY,
    EMPTY_KEY,
    ERR_BAD_ARGUMENT,
    ERR_DUPLICATE_ID,
    ERR_FILLS_FULL,
    ERR_LEVELS_FULL,
    ERR_ORDERS_FULL,
    EV_CANCEL,
    EV_LIMIT,
    HT_KEY,
    HT_SLOT,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    MAX_QTY,
    MIN_PRICE,
    NO_PRICE,
    NO_SLOT,
    OK,
    OR_ID,
    OR_NEXT,
    OR_PREV,
    OR_PRICE,
    OR_QTY,
    OR_SIDE,
    SELL,
)

__all__ = [
    "apply_stream",
    "best_price",
    "book_status",
    "cancel",
    "clear_status",
    "load_side",
    "market_batch",
    "reduce_order",
    "refill_side",
    "reset_book",
    "reset_books",
    "submit_limit",
    "submit_market",
]


@njit(cache=True)
def reset_book(state, b):
    """Empty book b: no levels, all order slots free, status OK."""
    check_book(state, b)
    orders = state.orders
    n_orders = orders.shape[1]
    for s in range(n_orders):
        orders[b, s, OR_QTY] = 0
        orders[b, s, OR_NEXT] = s + 1 if s + 1 < n_orders else NO_SLOT
    books = state.books
    for side in (BID, ASK):
        books[b, BK_LEVELS + side] = 0
        books[b, BK_OWN + side] = 0
    books[b, BK_FREE] = 0 if n_orders > 0 else NO_SLOT
    books[b, BK_NFREE] = n_orders
    books[b, BK_STATUS] = OK
    state.table[b, :, HT_KEY] = EMPTY_KEY


@njit(cache=True)
def reset_books(state):
    """Empty every book of the batch."""
    for b in range(state.books.shape[0]):
        reset_book(state, b)


@njit(cache=True)
def book_status(state, b):
    """Status of book b: OK, or the ERR_* code of its last refused or truncated operation."""
    check_book(state, b)
    return state.books[b, BK_STATUS]


@njit(cache=True)
def clear_status(state, b):
    check_book(state, b)
    state.books[b, BK_STATUS] = OK


@njit(cache=True)
def best_price(state, b, side):
    """Best price of ``side`` of book b in ticks, or NO_PRICE when the side is empty."""
    check_book(state, b)
    check_side(side)
    n = state.books[b, BK_LEVELS + side]
    if n == 0:
        return NO_PRICE
    return state.levels[b, side, n - 1, LV_PRICE]


@njit(cache=True, inline="always")
def _match(levels, orders, books, table, b, direction, limit, qty, taker_id, fills, nfills):
    """Take liquidity from the opposite side, best level first and FIFO within a level.

    ``limit`` is the worst acceptable price in ticks (NO_PRICE: none). Every executed share is
    written as a fill; if ``fills`` runs out of rows, matching stops there.

    Returns
    -------
    (filled, nfills, full) : (int, int, bool)
    """
    opp = ASK if direction == BUY else BID
    cap = fills.shape[0]
    rem = qty
    full = False
    n = books[b, BK_LEVELS + opp]
    # Kept in locals and written back once: LLVM cannot tell the arrays apart, so it would
    # otherwise reload and store them on every fill.
    free = books[b, BK_FREE]
    n_free = books[b, BK_NFREE]
    own_filled = 0
    while rem > 0 and n > 0:
        i = n - 1
        price = levels[b, opp, i, LV_PRICE]
        if limit != NO_PRICE and better(opp, limit, price):
            break
        level_qty = levels[b, opp, i, LV_QTY]
        s = levels[b, opp, i, LV_HEAD]
        while rem > 0 and s != NO_SLOT:
            if nfills >= cap:
                full = True
                break
            resting = orders[b, s, OR_QTY]
            take = min(rem, resting)
            maker = orders[b, s, OR_ID]
            write_fill(fills, nfills, taker_id, maker, price, take, direction)
            nfills += 1
            rem -= take
            level_qty -= take
            if take < resting:
                orders[b, s, OR_QTY] = resting - take
                break
            # The maker is filled: drop it from the id table and free its slot.
            if maker != BULK_ID:
                ht_remove_at(table, b, ht_find(table, b, maker))
                own_filled += 1
            nxt = orders[b, s, OR_NEXT]
            orders[b, s, OR_QTY] = 0
            orders[b, s, OR_NEXT] = free
            free = s
            n_free += 1
            s = nxt
        levels[b, opp, i, LV_QTY] = level_qty
        levels[b, opp, i, LV_HEAD] = s
        if s == NO_SLOT:
            n -= 1
        else:
            orders[b, s, OR_PREV] = NO_SLOT
        if full:
            break
    books[b, BK_LEVELS + opp] = n
    books[b, BK_FREE] = free
    books[b, BK_NFREE] = n_free
    books[b, BK_OWN + opp] -= own_filled
    return qty - rem, nfills, full


@njit(cache=True, inline="always")
def _market_impl(state, b, direction, qty, taker_id, fills, nfills):
    """Body of :func:`submit_market`, inlined into the callers in this module."""
    if qty == 0:
        return 0, nfills
    books = state.books
    if (direction != BUY and direction != SELL) or qty < 0 or qty > MAX_QTY:
        books[b, BK_STATUS] = ERR_BAD_ARGUMENT
        return 0, nfills
    levels, orders, table = state.levels, state.orders, state.table
    filled, nfills, full = _match(
        levels, orders, books, table, b, direction, NO_PRICE, qty, taker_id, fills, nfills
    )
    if full:
        books[b, BK_STATUS] = ERR_FILLS_FULL
    return filled, nfills


@njit(cache=True)
def submit_market(state, b, direction, qty, taker_id, fills, nfills):
    """Market order of ``qty`` shares into book b.

    SELL hits the bids, BUY lifts the asks, level by level until filled or the side is empty.
    The residual is unfilled and never rests. ``qty == 0`` is a no-op (whatever ``direction``),
    so batch callers can pass 0 for books with nothing to do.

    Parameters
    ----------
    state : BookState
    b : int
        Book index.
    direction : int
        BUY (+1) or SELL (-1).
    qty : int
        Shares, 0 <= qty <= MAX_QTY.
    taker_id : int
        Written into the fills' ``taker_id``.
    fills : ndarray(FILL_DTYPE, (F,))
        Output rows; fills are appended from row ``nfills``.
    nfills : int
        Rows of ``fills`` already used.

    Returns
    -------
    (filled, nfills) : (int, int)
        Shares executed, and the new count of used rows.
    """
    check_book(state, b)
    check_fills(fills, nfills)
    return _market_impl(state, b, direction, qty, taker_id, fills, nfills)


@njit(cache=True, inline="always")
def _limit_impl(state, b, direction, price, qty, order_id, fills, nfills):
    """Body of :func:`submit_limit`, inlined into the callers in this module."""
    levels = state.levels
    orders = state.orders
    books = state.books
    table = state.table
    if (
        (direction != BUY and direction != SELL)
        or qty <= 0
        or qty > MAX_QTY
        or price < MIN_PRICE
        or order_id < 0
    ):
        books[b, BK_STATUS] = ERR_BAD_ARGUMENT
        return 0, nfills
    if ht_find(table, b, order_id) >= 0:
        books[b, BK_STATUS] = ERR_DUPLICATE_ID
        return 0, nfills
    side = BID if direction == BUY else ASK
    n = books[b, BK_LEVELS + side]
    i, found = find_level(levels, b, side, n, price)
    no_level = not found and n >= levels.shape[2]
    no_slot = books[b, BK_NFREE] == 0
    if no_level or no_slot:
        n_opp = books[b, BK_LEVELS + 1 - side]
        if marketable_qty(levels, b, 1 - side, n_opp, price, qty) < qty:
            books[b, BK_STATUS] = ERR_LEVELS_FULL if no_level else ERR_ORDERS_FULL
            return 0, nfills
    filled, nfills, full = _match(
        levels, orders, books, table, b, direction, price, qty, order_id, fills, nfills
    )
    if full:
        books[b, BK_STATUS] = ERR_FILLS_FULL
        return filled, nfills
    if filled == qty:
        return filled, nfills
    # Rest the residual. Matching touched only the opposite side, so (i, found) still holds.
    if not found:
        i += 1
        open_level(levels, b, side, i, n, price)
        books[b, BK_LEVELS + side] = n + 1
    s = push_back(levels, orders, books, b, side, i, order_id, qty - filled)
    ht_insert(table, b, order_id, s)
    books[b, BK_OWN + side] += 1
    return filled, nfills


@njit(cache=True)
def submit_limit(state, b, direction, price, qty, order_id, fills, nfills):
    """Limit order: the marketable part matches first, the rest rests at ``price``.

    Parameters are those of :func:`submit_market`, plus ``price`` (ticks, >= MIN_PRICE, the
    worst acceptable price) and ``order_id`` (>= 0, not resting in book b; it is the taker id of
    the fills and the id the residual rests under).

    The order is refused before any matching (nothing changes, status set) when its residual
    would have to rest and the side has no room for a new level (ERR_LEVELS_FULL) or the book no
    free order slot (ERR_ORDERS_FULL). The slot check is made before matching frees any slot.

    Returns
    -------
    (filled, nfills) : (int, int)
    """
    check_book(state, b)
    check_fills(fills, nfills)
    return _limit_impl(state, b, direction, price, qty, order_id, fills, nfills)


@njit(cache=True, inline="always")
def _cancel_impl(state, b, order_id):
    """Body of :func:`cancel`, inlined into the callers in this module."""
    if order_id < 0:
        return False
    table = state.table
    pos = ht_find(table, b, order_id)
    if pos < 0:
        return False
    levels = state.levels
    orders = state.orders
    books = state.books
    s = table[b, pos, HT_SLOT]
    side = orders[b, s, OR_SIDE]
    n = books[b, BK_LEVELS + side]
    i, _ = find_level(levels, b, side, n, orders[b, s, OR_PRICE])
    levels[b, side, i, LV_QTY] -= orders[b, s, OR_QTY]
    unlink_order(levels, orders, books, b, side, i, s)
    if levels[b, side, i, LV_HEAD] == NO_SLOT:
        close_level(levels, b, side, i, n)
        books[b, BK_LEVELS + side] = n - 1
    ht_remove_at(table, b, pos)
    books[b, BK_OWN + side] -= 1
    return True


@njit(cache=True)
def cancel(state, b, order_id):
    """Withdraw the resting order ``order_id`` from book b.

    Returns
    -------
    bool
        False, and nothing changes, if the id is unknown, already filled or cancelled.
    """
    check_book(state, b)
    return _cancel_impl(state, b, order_id)


@njit(cache=True, inline="always")
def _reduce_impl(state, b, order_id, qty):
    """Body of :func:`reduce_order`."""
    table = state.table
    pos = ht_find(table, b, order_id)
    if pos < 0 or qty <= 0:
        return 0
    orders = state.orders
    s = table[b, pos, HT_SLOT]
    left = orders[b, s, OR_QTY]
    if qty >= left:
        _cancel_impl(state, b, order_id)
        return left
    side = orders[b, s, OR_SIDE]
    i, _ = find_level(
        state.levels, b, side, state.books[b, BK_LEVELS + side], orders[b, s, OR_PRICE]
    )
    orders[b, s, OR_QTY] = left - qty
    state.levels[b, side, i, LV_QTY] -= qty
    return qty


@njit(cache=True)
def reduce_order(state, b, order_id, qty):
    """Take ``qty`` shares off the resting order ``order_id`` of book b (a partial cancel or
    an execution reported by someone else); the order keeps its place in the queue, and goes
    when nothing is left.

    Returns
    -------
    int
        Shares taken off: min(qty, shares left), 0 if the id is not resting or qty <= 0.
    """
    check_book(state, b)
    return _reduce_impl(state, b, order_id, qty)


@njit(cache=True, parallel=True)
def market_batch(state, directions, qtys, taker_ids, fills, nfills_out):
    """One market order per book, all books in parallel.

    Parameters
    ----------
    state : BookState
        Batch of B books.
    directions, qtys, taker_ids : ndarray(int64, (B,))
        Book b's order; ``qtys[b] == 0`` leaves book b alone.
    fills : ndarray(FILL_DTYPE, (B, F))
        Book b's fills are written to ``fills[b, :nfills_out[b]]``.
    nfills_out : ndarray(int64, (B,))
        Output: fill rows used per book.
    """
    n_books = state.books.shape[0]
    for rows in (directions.shape[0], qtys.shape[0], taker_ids.shape[0], nfills_out.shape[0]):
        if rows < n_books:
            raise ValueError("market_batch: every per-book array needs one entry per book")
    if fills.shape[0] < n_books:
        raise ValueError("market_batch: fills needs one row of fills per book")
    for b in prange(state.books.shape[0]):
        _, nf = submit_market(state, b, directions[b], qtys[b], taker_ids[b], fills[b], 0)
        nfills_out[b] = nf


@njit(cache=True)
def apply_stream(state, b, kinds, directions, prices, qtys, order_ids, fills, fill_end, results):
    """Replay a stream of limit / market / cancel events into book b.

    Clears book b's status first and stops after the first event that sets it.

    Parameters
    ----------
    kinds : ndarray(int64, (E,))
        EV_LIMIT, EV_MARKET or EV_CANCEL.
    directions, prices, qtys, order_ids : ndarray(int64, (E,))
        Per event; ``order_ids`` is the limit's id, the market's taker id, the cancel's target.
        ``prices`` is read for limits only.
    fills : ndarray(FILL_DTYPE, (F,))
        Output: all fills of the stream, in order.
    fill_end : ndarray(int64, (E,))
        Output: event e's fills are ``fills[fill_end[e-1]:fill_end[e]]``.
    results : ndarray(int64, (E,))
        Output: shares filled (limit, market) or 1/0 cancelled or refused (cancel).

    Returns
    -------
    (events_done, nfills) : (int, int)
    """
    check_book(state, b)
    n_events = kinds.shape[0]
    for rows in (
        directions.shape[0],
        prices.shape[0],
        qtys.shape[0],
        order_ids.shape[0],
        fill_end.shape[0],
        results.shape[0],
    ):
        if rows < n_events:
            raise ValueError("apply_stream: every per-event array needs one entry per event")
    books = state.books
    books[b, BK_STATUS] = OK
    nf = 0
    for e in range(n_events):
        kind = kinds[e]
        if kind == EV_LIMIT:
            res, nf = _limit_impl(
                state, b, directions[e], prices[e], qtys[e], order_ids[e], fills, nf
            )
        elif kind == EV_CANCEL:
            res = 1 if _cancel_impl(state, b, order_ids[e]) else 0
        else:
            res, nf = _market_impl(state, b, directions[e], qtys[e], order_ids[e], fills, nf)
        results[e] = res
        fill_end[e] = nf
        if books[b, BK_STATUS] != OK:
            return e + 1, nf
    return kinds.shape[0], nf
