"""Bulk loading of a side's resting depth (the per-minute book rebuild of the simulator).

See :mod:`lobsim.engine.kernels` for the queue rule: a load withdraws the side's previous bulk
depth and appends the new depth behind the own orders resting at each price.
"""

from __future__ import annotations

from numba import njit

from lobsim.engine._ops import (
    better,
    bulk_at,
    check_book,
    empty_level,
    find_level,
    open_level,
    push_back,
    set_bulk,
    unlink_order,
)
from lobsim.engine.records import (
    ASK,
    BID,
    BK_FREE,
    BK_LEVELS,
    BK_NFREE,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    ERR_BAD_ARGUMENT,
    ERR_BAD_DEPTH,
    ERR_CROSSED,
    ERR_LEVELS_FULL,
    ERR_ORDERS_FULL,
    LV_FIELDS,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    LV_TAIL,
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
)


@njit(cache=True, inline="always")
def _check_depth(levels, orders, books, b, side, prices, qtys, n):
    """Status of a bulk load before anything changes, and the number of levels after it."""
    if (side != BID and side != ASK) or n < 0 or n > prices.shape[0] or n > qtys.shape[0]:
        return ERR_BAD_ARGUMENT, 0
    nnz = 0
    first = NO_PRICE
    for k in range(n):
        if prices[k] < MIN_PRICE or qtys[k] < 0 or qtys[k] > MAX_QTY:
            return ERR_BAD_DEPTH, 0
        if k > 0 and not better(side, prices[k - 1], prices[k]):
            return ERR_BAD_DEPTH, 0
        if qtys[k] > 0:
            nnz += 1
            if first == NO_PRICE:
                first = prices[k]
    opp = 1 - side
    m_opp = books[b, BK_LEVELS + opp]
    if nnz > 0 and m_opp > 0 and not better(opp, first, levels[b, opp, m_opp - 1, LV_PRICE]):
        return ERR_CROSSED, 0
    m = books[b, BK_LEVELS + side]
    if books[b, BK_OWN + side] == 0:
        # Only bulk depth rests on the side: exactly one bulk order per level.
        if nnz > levels.shape[2]:
            return ERR_LEVELS_FULL, 0
        if nnz > books[b, BK_NFREE] + m:
            return ERR_ORDERS_FULL, 0
        return OK, nnz
    # Count the levels that keep own orders merged with the loaded non-empty levels.
    old_bulk = 0
    union = 0
    k = 0
    for i in range(m - 1, -1, -1):
        has_own = False
        s = levels[b, side, i, LV_HEAD]
        while s != NO_SLOT:
            if orders[b, s, OR_ID] == BULK_ID:
                old_bulk += 1
            else:
                has_own = True
            s = orders[b, s, OR_NEXT]
        if has_own:
            p = levels[b, side, i, LV_PRICE]
            while k < n and (qtys[k] == 0 or better(side, prices[k], p)):
                if qtys[k] > 0:
                    union += 1
                k += 1
            if k < n and prices[k] == p:
                k += 1
            union += 1
    for rest in range(k, n):
        if qtys[rest] > 0:
            union += 1
    if union > levels.shape[2]:
        return ERR_LEVELS_FULL, 0
    if nnz > books[b, BK_NFREE] + old_bulk:
        return ERR_ORDERS_FULL, 0
    return OK, union


@njit(cache=True, inline="always")
def _replace_bulk_only(levels, orders, books, b, side, prices, qtys, n, nnz):
    """load_side (and refill_side) when the side holds no own orders, so its levels hold
    bulk only: the common case of the simulator, written out for speed. The new level at
    index i reuses the first slot of the old level i, so a reload moves no slot through the
    free list."""
    free = books[b, BK_FREE]
    m = books[b, BK_LEVELS + side]
    freed = 0
    for i in range(m):
        s = levels[b, side, i, LV_HEAD]
        if i < nnz:  # keep the level's first slot; free the rest of its queue
            head = s
            s = orders[b, s, OR_NEXT]
            orders[b, head, OR_NEXT] = NO_SLOT
        while s != NO_SLOT:  # one slot per level after a load; runs of bulk after a refill
            nxt = orders[b, s, OR_NEXT]
            orders[b, s, OR_QTY] = 0
            orders[b, s, OR_NEXT] = free
            free = s
            freed += 1
            s = nxt
    taken = 0
    dst = nnz - 1
    for k in range(n):
        q = qtys[k]
        if q == 0:
            continue
        if dst < m:
            s = levels[b, side, dst, LV_HEAD]
        else:
            s = free
            free = orders[b, s, OR_NEXT]
            taken += 1
            orders[b, s, OR_ID] = BULK_ID
            orders[b, s, OR_SIDE] = side
            orders[b, s, OR_NEXT] = NO_SLOT
            orders[b, s, OR_PREV] = NO_SLOT
        orders[b, s, OR_PRICE] = prices[k]
        orders[b, s, OR_QTY] = q
        levels[b, side, dst, LV_PRICE] = prices[k]
        levels[b, side, dst, LV_QTY] = q
        levels[b, side, dst, LV_HEAD] = s
        levels[b, side, dst, LV_TAIL] = s
        dst -= 1
    books[b, BK_FREE] = free
    books[b, BK_NFREE] += freed - taken
    books[b, BK_LEVELS + side] = nnz


@njit(cache=True)
def load_side(state, b, side, prices, qtys, n):
    """Replace the bulk (anonymous) depth of ``side`` of book b by n levels.

    The previous bulk depth of the side is withdrawn; own resting orders survive and keep their
    place, ahead of the new depth at their price. Levels with qty 0 are skipped; ``n == 0``
    clears the side's bulk depth. Each non-empty level takes one order slot.

    Parameters
    ----------
    state : BookState
    b : int
        Book index.
    side : int
        BID or ASK.
    prices : ndarray(int64, (>= n,))
        Level prices in ticks, best first, strictly monotone (bids falling, asks rising).
    qtys : ndarray(int64, (>= n,))
        Shares per level, 0 <= qty <= MAX_QTY.
    n : int
        Number of levels to read.

    Returns
    -------
    int
        OK, or the ERR_* code of the refusal (also the book's status); a refused load changes
        nothing. Depth that would cross the opposite side is refused (ERR_CROSSED).
    """
    check_book(state, b)
    levels = state.levels
    orders = state.orders
    books = state.books
    code, union = _check_depth(levels, orders, books, b, side, prices, qtys, n)
    if code != OK:
        books[b, BK_STATUS] = code
        return code
    if books[b, BK_OWN + side] == 0:
        _replace_bulk_only(levels, orders, books, b, side, prices, qtys, n, union)
        return OK
    # Withdraw the old bulk orders and close the levels they leave empty.
    w = 0
    for i in range(books[b, BK_LEVELS + side]):
        s = levels[b, side, i, LV_HEAD]
        while s != NO_SLOT:
            nxt = orders[b, s, OR_NEXT]
            if orders[b, s, OR_ID] == BULK_ID:
                levels[b, side, i, LV_QTY] -= orders[b, s, OR_QTY]
                unlink_order(levels, orders, books, b, side, i, s)
            s = nxt
        if levels[b, side, i, LV_HEAD] != NO_SLOT:
            if w != i:
                for f in range(LV_FIELDS):
                    levels[b, side, w, f] = levels[b, side, i, f]
            w += 1
    # Merge in place from the top: the w own levels (index r, best first) with the loaded
    # ones (index k, best first). dst >= r throughout, so no level is overwritten unread.
    r = w - 1
    k = 0
    for dst in range(union - 1, -1, -1):
        while k < n and qtys[k] == 0:
            k += 1
        if k < n and (r < 0 or better(side, prices[k], levels[b, side, r, LV_PRICE])):
            empty_level(levels, b, side, dst, prices[k])
        else:
            if r != dst:
                for f in range(LV_FIELDS):
                    levels[b, side, dst, f] = levels[b, side, r, f]
            r -= 1
            if k >= n or prices[k] != levels[b, side, dst, LV_PRICE]:
                continue
        # Append loaded level k as one bulk order at the back of level dst.
        push_back(levels, orders, books, b, side, dst, BULK_ID, qtys[k])
        k += 1
    books[b, BK_LEVELS + side] = union
    return OK


@njit(cache=True)
def refill_side(state, b, side, prices, qtys, n):
    """Top up or trim the bulk depth of ``side`` of book b to n target levels.

    Unlike :func:`load_side`, which withdraws the side's bulk depth and queues the new depth
    behind the own orders, a refill keeps the place of every share that rests: at each price
    the missing bulk shares join the back of the queue, excess bulk shares leave from the back
    (the bulk queued last first), and the bulk of prices without a target leaves entirely. So
    the depth ahead of an own order stays ahead of it, as when a book refills between trades
    (the passive minute of :mod:`lobsim.simulation`).

    Parameters and status codes are those of :func:`load_side`; on a book without own orders a
    refill leaves the same book as a load.

    Returns
    -------
    int
        OK, or the ERR_* code of the refusal (also the book's status); a refused refill
        changes nothing.
    """
    check_book(state, b)
    levels = state.levels
    orders = state.orders
    books = state.books
    code = _check_refill(levels, orders, books, b, side, prices, qtys, n)
    if code != OK:
        books[b, BK_STATUS] = code
        return code
    if books[b, BK_OWN + side] == 0:
        nnz = 0
        for k in range(n):
            if qtys[k] > 0:
                nnz += 1
        _replace_bulk_only(levels, orders, books, b, side, prices, qtys, n, nnz)
        return OK
    # Existing levels, worst first: bring each to its target (0 where none) and compact the
    # ones left non-empty down to index w.
    k = n - 1
    w = 0
    for i in range(books[b, BK_LEVELS + side]):
        p = levels[b, side, i, LV_PRICE]
        while k >= 0 and better(side, p, prices[k]):
            k -= 1
        target = qtys[k] if k >= 0 and prices[k] == p else 0
        set_bulk(levels, orders, books, b, side, i, target)
        if levels[b, side, i, LV_HEAD] != NO_SLOT:
            if w != i:
                for f in range(LV_FIELDS):
                    levels[b, side, w, f] = levels[b, side, i, f]
            w += 1
    books[b, BK_LEVELS + side] = w
    # Target prices without a level: merged in from the top (best first) in one pass, each a
    # new level holding its target as one bulk order. dst >= r throughout, as in load_side.
    m = books[b, BK_LEVELS + side]
    union = m
    r = m - 1
    for k in range(n):
        if qtys[k] == 0:
            continue
        while r >= 0 and better(side, levels[b, side, r, LV_PRICE], prices[k]):
            r -= 1
        if r < 0 or levels[b, side, r, LV_PRICE] != prices[k]:
            union += 1
    r = m - 1
    k = 0
    for dst in range(union - 1, -1, -1):
        while k < n and qtys[k] == 0:
            k += 1
        if k < n and (r < 0 or better(side, prices[k], levels[b, side, r, LV_PRICE])):
            empty_level(levels, b, side, dst, prices[k])
            set_bulk(levels, orders, books, b, side, dst, qtys[k])
            k += 1
            continue
        if r != dst:
            for f in range(LV_FIELDS):
                levels[b, side, dst, f] = levels[b, side, r, f]
        if k < n and prices[k] == levels[b, side, dst, LV_PRICE]:
            k += 1
        r -= 1
    books[b, BK_LEVELS + side] = union
    return OK


@njit(cache=True, inline="always")
def _check_refill(levels, orders, books, b, side, prices, qtys, n):
    """Status of a refill before anything changes (arguments, crossing, capacity)."""
    if (side != BID and side != ASK) or n < 0 or n > prices.shape[0] or n > qtys.shape[0]:
        return ERR_BAD_ARGUMENT
    first = NO_PRICE
    for k in range(n):
        if prices[k] < MIN_PRICE or qtys[k] < 0 or qtys[k] > MAX_QTY:
            return ERR_BAD_DEPTH
        if k > 0 and not better(side, prices[k - 1], prices[k]):
            return ERR_BAD_DEPTH
        if qtys[k] > 0 and first == NO_PRICE:
            first = prices[k]
    opp = 1 - side
    m_opp = books[b, BK_LEVELS + opp]
    if (
        first != NO_PRICE
        and m_opp > 0
        and not better(opp, first, levels[b, opp, m_opp - 1, LV_PRICE])
    ):
        return ERR_CROSSED
    # Levels after the refill (kept: with own orders or a target; new: a target price without
    # a level) and slots it may need (one per top-up; trims free slots, counted as not freed).
    m = books[b, BK_LEVELS + side]
    if m + n <= levels.shape[2] and n <= books[b, BK_NFREE]:
        return OK  # room for every level and a slot per target, whatever the refill does
    new_levels = 0
    kept = 0
    slots = 0
    k = 0
    for i in range(m - 1, -1, -1):
        p = levels[b, side, i, LV_PRICE]
        while k < n and better(side, prices[k], p):
            if qtys[k] > 0:
                new_levels += 1
                slots += 1
            k += 1
        target = 0
        if k < n and prices[k] == p:
            target = qtys[k]
            k += 1
        bulk = bulk_at(levels, orders, b, side, i)
        if target > 0 or levels[b, side, i, LV_QTY] > bulk:
            kept += 1
        tail = levels[b, side, i, LV_TAIL]
        if target > bulk and not (tail != NO_SLOT and orders[b, tail, OR_ID] == BULK_ID):
            slots += 1
    for rest in range(k, n):
        if qtys[rest] > 0:
            new_levels += 1
            slots += 1
    if kept + new_levels > levels.shape[2]:
        return ERR_LEVELS_FULL
    if slots > books[b, BK_NFREE]:
        return ERR_ORDERS_FULL
    return OK


@njit(cache=True)
def open_with_depth(state, b, side, price, qty):
    """Make sure ``side`` of book b has a level at ``price``: if none rests there, open one
    holding ``qty`` shares of bulk depth (none when qty is 0), so that an order placed next
    queues behind that depth.

    Returns
    -------
    int
        OK, or the ERR_* code of the refusal (also the book's status): ERR_BAD_ARGUMENT,
        ERR_CROSSED (the price reaches the other side), ERR_LEVELS_FULL or ERR_ORDERS_FULL;
        a refusal changes nothing.
    """
    check_book(state, b)
    levels = state.levels
    books = state.books
    if (side != BID and side != ASK) or price < MIN_PRICE or qty < 0 or qty > MAX_QTY:
        books[b, BK_STATUS] = ERR_BAD_ARGUMENT
        return ERR_BAD_ARGUMENT
    m = books[b, BK_LEVELS + side]
    i, found = find_level(levels, b, side, m, price)
    if found or qty == 0:
        return OK
    opp = 1 - side
    m_opp = books[b, BK_LEVELS + opp]
    if m_opp > 0 and not better(opp, price, levels[b, opp, m_opp - 1, LV_PRICE]):
        books[b, BK_STATUS] = ERR_CROSSED
        return ERR_CROSSED
    if m >= levels.shape[2]:
        books[b, BK_STATUS] = ERR_LEVELS_FULL
        return ERR_LEVELS_FULL
    if books[b, BK_NFREE] == 0:
        books[b, BK_STATUS] = ERR_ORDERS_FULL
        return ERR_ORDERS_FULL
    open_level(levels, b, side, i + 1, m, price)
    books[b, BK_LEVELS + side] = m + 1
    set_bulk(levels, state.orders, books, b, side, i + 1, qty)
    return OK
