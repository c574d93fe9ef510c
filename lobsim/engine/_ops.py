"""Private njit helpers of the matching kernels: price comparison, the order-id hash table and
the sorted level arrays of one side of one book.

Layout reminders (see :class:`lobsim.engine.batch.BookState`): the levels of a side are stored
worst first, so the best level is at index ``n - 1`` and consuming or adding a best level costs
O(1). Each level holds a doubly linked FIFO queue of order slots.

Performance note. A call to an njit function that is not inlined increments and then
decrements the reference count of every array it is passed (tuple members included), with
atomic instructions. That is why the state is four arrays rather than one per field, why these
helpers are ``inline="always"`` and take only the array they need, and why the per-fill and
per-level loops are written out in the kernels.

Numba's on-disk cache does not notice edits to this module from the kernels that call it:
delete ``lobsim/engine/__pycache__`` after changing anything here.
"""

from __future__ import annotations

from numba import njit

from lobsim.engine.records import (
    ASK,
    BID,
    BK_FREE,
    BK_NFREE,
    BULK_ID,
    EMPTY_KEY,
    HT_KEY,
    HT_SLOT,
    LV_FIELDS,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    LV_TAIL,
    NO_PRICE,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
    OR_PREV,
    OR_PRICE,
    OR_QTY,
    OR_SIDE,
)

# Fibonacci hashing multiplier 0x9E3779B97F4A7C15 as a signed int64 (the product wraps).
_HASH_MUL = -7046029254386353131


@njit(cache=True, inline="always")
def check_book(state, b):
    """Raise unless ``b`` indexes a book of the batch (numba does not check bounds)."""
    if b < 0 or b >= state.books.shape[0]:
        raise IndexError("lobsim.engine: book index b is outside the batch")


@njit(cache=True, inline="always")
def check_side(side):
    if side != BID and side != ASK:
        raise ValueError("lobsim.engine: side must be BID (0) or ASK (1)")


@njit(cache=True, inline="always")
def check_fills(fills, nfills):
    if nfills < 0 or nfills > fills.shape[0]:
        raise IndexError("lobsim.engine: nfills is outside the fills array")


@njit(cache=True, inline="always")
def better(side, p, q):
    """True if price p is strictly better than q on ``side`` (higher bid, lower ask)."""
    if side == BID:
        return p > q
    return p < q


@njit(cache=True, inline="always")
def _home(order_id, mask):
    h = order_id * _HASH_MUL
    return (h ^ (h >> 29)) & mask


@njit(cache=True, inline="always")
def ht_find(table, b, order_id):
    """Position of ``order_id`` in book b's table, or -1 (linear probing; never full)."""
    mask = table.shape[1] - 1
    i = _home(order_id, mask)
    while True:
        k = table[b, i, HT_KEY]
        if k == order_id:
            return i
        if k == EMPTY_KEY:
            return -1
        i = (i + 1) & mask


@njit(cache=True, inline="always")
def ht_insert(table, b, order_id, slot):
    mask = table.shape[1] - 1
    i = _home(order_id, mask)
    while table[b, i, HT_KEY] != EMPTY_KEY:
        i = (i + 1) & mask
    table[b, i, HT_KEY] = order_id
    table[b, i, HT_SLOT] = slot


@njit(cache=True, inline="always")
def ht_remove_at(table, b, pos):
    """Delete the entry at ``pos`` by shifting later entries back (no tombstones)."""
    mask = table.shape[1] - 1
    i = pos
    j = pos
    while True:
        j = (j + 1) & mask
        k = table[b, j, HT_KEY]
        if k == EMPTY_KEY:
            break
        home = _home(k, mask)
        # The entry at j may move into the hole at i only if its home is not in (i, j].
        if i <= j:
            stays = i < home <= j
        else:
            stays = home > i or home <= j
        if not stays:
            table[b, i, HT_KEY] = k
            table[b, i, HT_SLOT] = table[b, j, HT_SLOT]
            i = j
    table[b, i, HT_KEY] = EMPTY_KEY


@njit(cache=True, inline="always")
def find_level(levels, b, side, n, price):
    """Scan the n levels of ``side`` from the best down: (index, found). When not found, a
    level for ``price`` belongs at index + 1."""
    i = n - 1
    while i >= 0 and better(side, levels[b, side, i, LV_PRICE], price):
        i -= 1
    return i, i >= 0 and levels[b, side, i, LV_PRICE] == price


@njit(cache=True, inline="always")
def open_level(levels, b, side, i, n, price):
    """Shift levels i .. n-1 up by one and put an empty level for ``price`` at i."""
    for j in range(n, i, -1):
        for f in range(LV_FIELDS):
            levels[b, side, j, f] = levels[b, side, j - 1, f]
    empty_level(levels, b, side, i, price)


@njit(cache=True, inline="always")
def empty_level(levels, b, side, i, price):
    """Write an empty level for ``price`` at index i (over whatever was there)."""
    levels[b, side, i, LV_PRICE] = price
    levels[b, side, i, LV_QTY] = 0
    levels[b, side, i, LV_HEAD] = NO_SLOT
    levels[b, side, i, LV_TAIL] = NO_SLOT


@njit(cache=True, inline="always")
def close_level(levels, b, side, i, n):
    """Shift levels i+1 .. n-1 down by one, dropping level i."""
    for j in range(i, n - 1):
        for f in range(LV_FIELDS):
            levels[b, side, j, f] = levels[b, side, j + 1, f]


@njit(cache=True, inline="always")
def unlink_order(levels, orders, books, b, side, i, s):
    """Take order slot s out of level i's queue and free it (the level's quantity is the
    caller's to adjust, and closing a level left empty)."""
    prev = orders[b, s, OR_PREV]
    nxt = orders[b, s, OR_NEXT]
    if prev == NO_SLOT:
        levels[b, side, i, LV_HEAD] = nxt
    else:
        orders[b, prev, OR_NEXT] = nxt
    if nxt == NO_SLOT:
        levels[b, side, i, LV_TAIL] = prev
    else:
        orders[b, nxt, OR_PREV] = prev
    orders[b, s, OR_QTY] = 0
    orders[b, s, OR_NEXT] = books[b, BK_FREE]
    books[b, BK_FREE] = s
    books[b, BK_NFREE] += 1


@njit(cache=True, inline="always")
def marketable_qty(levels, b, opp, n_opp, limit, qty):
    """Shares resting on side ``opp`` at prices a taker limited at ``limit`` accepts, counted
    until ``qty`` is reached (enough to know whether the taker would rest)."""
    total = 0
    i = n_opp - 1
    while i >= 0 and total < qty:
        if limit != NO_PRICE and better(opp, limit, levels[b, opp, i, LV_PRICE]):
            break
        total += levels[b, opp, i, LV_QTY]
        i -= 1
    return total


@njit(cache=True, inline="always")
def push_back(levels, orders, books, b, side, i, order_id, qty):
    """Put an order of ``qty`` shares in a free slot at the back of level i's queue (the
    level's price is the order's); returns the slot. The caller makes sure a slot is free."""
    s = books[b, BK_FREE]
    books[b, BK_FREE] = orders[b, s, OR_NEXT]
    books[b, BK_NFREE] -= 1
    orders[b, s, OR_ID] = order_id
    orders[b, s, OR_PRICE] = levels[b, side, i, LV_PRICE]
    orders[b, s, OR_QTY] = qty
    orders[b, s, OR_SIDE] = side
    tail = levels[b, side, i, LV_TAIL]
    orders[b, s, OR_PREV] = tail
    orders[b, s, OR_NEXT] = NO_SLOT
    if tail == NO_SLOT:
        levels[b, side, i, LV_HEAD] = s
    else:
        orders[b, tail, OR_NEXT] = s
    levels[b, side, i, LV_TAIL] = s
    levels[b, side, i, LV_QTY] += qty
    return s


@njit(cache=True, inline="always")
def write_fill(fills, row, taker_id, maker_id, price, qty, side):
    """Fill the record at ``row`` (the caller checks there is one)."""
    f = fills[row]
    f.taker_id = taker_id
    f.maker_id = maker_id
    f.price = price
    f.qty = qty
    f.side = side


@njit(cache=True, inline="always")
def bulk_at(levels, orders, b, side, i):
    """Shares of bulk depth resting at level i."""
    total = 0
    s = levels[b, side, i, LV_HEAD]
    while s != NO_SLOT:
        if orders[b, s, OR_ID] == BULK_ID:
            total += orders[b, s, OR_QTY]
        s = orders[b, s, OR_NEXT]
    return total


@njit(cache=True, inline="always")
def set_bulk(levels, orders, books, b, side, i, target):
    """Bring the bulk depth of level i to ``target`` shares: the missing shares join the back
    of the queue as one bulk order; excess shares leave from the back, the bulk queued last
    first, so the depth ahead of an own order stays ahead of it."""
    bulk = bulk_at(levels, orders, b, side, i)
    if bulk < target:
        tail = levels[b, side, i, LV_TAIL]
        if tail != NO_SLOT and orders[b, tail, OR_ID] == BULK_ID:
            # The back of the queue is bulk already: it grows (one slot per run of bulk).
            orders[b, tail, OR_QTY] += target - bulk
            levels[b, side, i, LV_QTY] += target - bulk
            return
        push_back(levels, orders, books, b, side, i, BULK_ID, target - bulk)
    elif bulk > target:
        excess = bulk - target
        levels[b, side, i, LV_QTY] -= excess
        s = levels[b, side, i, LV_TAIL]
        while excess > 0:
            prev = orders[b, s, OR_PREV]
            if orders[b, s, OR_ID] == BULK_ID:
                q = orders[b, s, OR_QTY]
                if q <= excess:
                    excess -= q
                    unlink_order(levels, orders, books, b, side, i, s)
                else:
                    orders[b, s, OR_QTY] = q - excess
                    excess = 0
            s = prev
