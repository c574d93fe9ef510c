"""Replay a LOBSTER day (:mod:`lobsim.market.lobster`) through the matching engine.

The engine's book starts from the first orderbook row and takes every later message as LOBSTER
documents it; after each one, its best L levels can be held against the orderbook file.

- Prices stay LOBSTER's integers (a tick of $0.0001); order ids are LOBSTER's.
- Orders that rested before the file starts are unknown: the first row's depth is loaded as
  anonymous (bulk) depth, one block per level, and message 0 is taken as already in it. A
  cancellation, deletion or execution of an order the replay has not seen takes its shares from
  the anonymous depth at its price, from the front of the queue (those orders are older than
  any the file submitted there).
- LOBSTER writes only the messages that touch its L levels. A level that enters the top L from
  beyond (its price worse than the worst of a full previous row) is seeded from the row where
  it appears: the orders the replay knew at that price are forgotten (what happened to them
  beyond the file's depth was not written) and the anonymous depth there is set so that the
  level holds what the row says.
- Submissions rest without matching (a marketable order reaches LOBSTER as executions and the
  submission of what is left); hidden executions, cross trades and halts leave the book alone.
- A message the book cannot take as written (an unknown order with no anonymous depth left at
  its price, a submission that would cross, an execution larger than the order) is applied as
  far as it can be and counted as inconsistent.
- Our own market orders, when given, consume the book and later messages about what they took
  are reconciled (:func:`replay_lobster`); :func:`reference_replay` is the same in plain
  Python, for the tests and the benchmark.
- Our own limit orders (ids from ``OWN_BASE``, posted between spans of the replay by
  :mod:`lobsim.simulation.replay_trade`) rest in the engine's book and queue like any order.
  The size of every aggressor the files report is kept as written:

  - an execution (visible or hidden) of q shares on our side reaches our orders that have
    priority over the liquidity it took: those at a better price, and at its price those
    queued ahead of the order it names (or of the anonymous depth it takes, for an order the
    replay never saw), or, for a hidden execution, those with no displayed depth of others
    ahead of them (hidden orders queue behind every displayed one). They fill first, at
    their limits, up to q. The
    named order executes only the rest, and the shares it kept leave the book with it: the
    files know nothing of them, and keeping them would leave orders there that no later
    message could explain (the order's owner, displaced, is taken to withdraw them);
  - a submission on the other side priced through our orders trades with them first, at
    their limits, and rests only what is left; later messages about its shares we took are
    reconciled as for liquidity our market orders took, until its price's level comes back
    from beyond the file's depth: what we owed of it is then forgotten with the orders known
    there (the row's depth is the level's, and later messages about it take from that);
  - a level that enters the top L from beyond the file's depth puts the depth it shows ahead
    of our orders there (we cannot know which came first; the cautious reading);
  - each message so changed counts as adjusted. Cross trades (the auctions) never reach our
    orders.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from lobsim.engine import ASK, BID, BUY, FILL_DTYPE, OK, SELL, BookBatch, CapacityError
from lobsim.engine._ops import (
    better,
    bulk_at,
    close_level,
    find_level,
    ht_find,
    ht_insert,
    ht_remove_at,
    open_level,
    push_back,
    set_bulk,
    unlink_order,
    write_fill,
)
from lobsim.engine.kernels import load_side, reduce_order, submit_limit, submit_market
from lobsim.engine.records import (
    BK_LEVELS,
    BK_NFREE,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    ERR_LEVELS_FULL,
    ERR_ORDERS_FULL,
    LV_HEAD,
    LV_PRICE,
    LV_QTY,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
    OR_PRICE,
    OR_QTY,
    OR_SIDE,
)
from lobsim.errors import InputError
from lobsim.market.lobster import (
    CANCELLATION,
    DELETION,
    EMPTY_ASK,
    EMPTY_BID,
    EXECUTION,
    HIDDEN,
    PRICE_SCALE,
    SUBMISSION,
    LobsterDay,
    book_row,
)

# Counters the kernel fills, by index.
SEEDED, RESEEDED, INCONSISTENT, MISMATCHES, ADJUSTED = range(5)
FIRST_MISMATCHES = 5  # rows reported
# Ids of our own limit orders in a replayed book: above any id LOBSTER writes.
OWN_BASE = 1 << 56


@dataclass(frozen=True)
class ReplayReport:
    """What :func:`replay_lobster` found.

    Attributes
    ----------
    messages : int
        Messages replayed (every row after the first, which seeds the book).
    mismatches : int
        Messages after which the engine's best L levels differ from the orderbook file (0
        when ``compare`` was off).
    first_mismatches : tuple of int
        The first few of them, as 1-based rows of the files.
    seeded : int
        Messages about orders the file never submitted, applied to the anonymous depth.
    reseeded : int
        Levels that entered the top L from beyond the file's depth and were seeded there.
    inconsistent : int
        Messages the book could not take as written (see the module docstring).
    seconds : float
        CPU time of the replay kernel.
    adjusted : int
        Messages about liquidity our own orders took (see :func:`replay_lobster`), reduced to
        what was left or dropped.
    fills : ndarray(OWN_FILL_DTYPE) or None
        Our own orders' fills, when there were own orders.
    """

    messages: int
    mismatches: int
    first_mismatches: tuple[int, ...]
    seeded: int
    reseeded: int
    inconsistent: int
    seconds: float
    adjusted: int = 0
    fills: np.ndarray | None = None


# Our own market orders' fills in a replay: the order (index into the orders given), the
# message row after which it was sent (1-based, as the files count), price (LOBSTER units),
# shares, and the resting order taken (its LOBSTER id, -1 for depth the file never submitted).
OWN_FILL_DTYPE = np.dtype(
    [("order", np.int64), ("row", np.int64), ("price", np.int64), ("qty", np.int64),
     ("maker", np.int64)]
)  # fmt: skip


def replay_lobster(
    day: LobsterDay,
    *,
    compare: bool = True,
    orders=None,
    max_levels: int = 4096,
    max_orders: int = 1 << 17,
) -> ReplayReport:
    """Replay ``day`` through the engine (see the module docstring for the rules).

    ``orders``, optional: our own market orders, as (rows, directions, sizes) arrays: order j
    is sent just after message ``rows[j]`` (1-based row of the files; rows ascending), buys
    (+1) walking the asks, sells (-1) the bids of the engine's book, taking known orders and
    anonymous depth alike (never more than the file has shown). Later messages about liquidity
    we took are reconciled and counted as ``adjusted``: an execution, cancellation or deletion
    of an order we took in full is dropped, one of an order we took in part is reduced to what
    is left, and one about anonymous depth we took at its price likewise. After our first order
    the engine's book legitimately differs from the file's, so ``compare`` holds only before
    it. A level we took from that leaves the file's depth and comes back is seeded again from
    the file, which does not know our trades: messages there may then count as inconsistent.
    """
    batch = BookBatch(1, max_levels=max_levels, max_orders=max_orders)
    counters = np.zeros(5, dtype=np.int64)
    first = np.full(FIRST_MISMATCHES, -1, dtype=np.int64)
    columns = tuple(
        np.ascontiguousarray(c, dtype=np.int64)
        for c in (day.type, day.order_id, day.size, day.price, day.direction, day.book)
    )
    own = _own_orders(orders, len(day))
    fills = np.zeros(max_orders + 2 * max_levels + len(own[0]), dtype=FILL_DTYPE)
    fill_order = np.zeros(len(fills), dtype=np.int64)
    fill_row = np.zeros(len(fills), dtype=np.int64)
    fill_mid = np.zeros(len(fills), dtype=np.int64)
    left = np.zeros(len(fills), dtype=np.int64)
    no_limits = np.zeros(1, dtype=np.int64)  # no own limit orders rest
    # Compiled (or loaded from the cache) on a first row alone, so that the time is the
    # replay's.
    _replay(BookBatch(1, 8, 8).state, *(c[:0] for c in columns), compare, counters, first,
            *(o[:0] for o in own), fills, fill_order, fill_row, fill_mid, left, ASK, no_limits,
            0, 0, 0)  # fmt: skip
    counters[:] = 0
    start = time.thread_time()
    code, n_fills = _replay(batch.state, *columns, compare, counters, first, *own, fills,
                            fill_order, fill_row, fill_mid, left, ASK, no_limits, 0, len(day),
                            0)  # fmt: skip
    seconds = time.thread_time() - start
    if code != OK:
        batch.state.books[0, BK_STATUS] = code
        try:
            batch.check(0, f"replaying {day.message_file or 'the LOBSTER day'}")
        except CapacityError as exc:
            raise InputError(
                f"{exc}: the day holds more than the replay's book (raise replay_lobster's "
                "max_levels or max_orders)"
            ) from None
    own_fills = None
    if orders is not None:
        own_fills = np.zeros(n_fills, dtype=OWN_FILL_DTYPE)
        own_fills["order"] = fill_order[:n_fills]
        own_fills["row"] = fill_row[:n_fills]
        own_fills["price"] = fills["price"][:n_fills]
        own_fills["qty"] = fills["qty"][:n_fills]
        own_fills["maker"] = fills["maker_id"][:n_fills]
    return ReplayReport(
        messages=max(len(day) - 1, 0),
        mismatches=int(counters[MISMATCHES]),
        first_mismatches=tuple(int(r) for r in first if r >= 0),
        seeded=int(counters[SEEDED]),
        reseeded=int(counters[RESEEDED]),
        inconsistent=int(counters[INCONSISTENT]),
        seconds=seconds,
        adjusted=int(counters[ADJUSTED]),
        fills=own_fills,
    )


def _own_orders(orders, n_messages: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows as 0-based message indices, directions, sizes), checked."""
    if orders is None:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    rows, directions, sizes = (np.asarray(a) for a in orders)
    if not (rows.shape == directions.shape == sizes.shape and rows.ndim == 1):
        raise InputError("orders: rows, directions and sizes must be 1-D arrays of one length")
    for name, a in (("rows", rows), ("directions", directions), ("sizes", sizes)):
        if a.dtype.kind not in "iu":
            raise InputError(f"orders: {name} must be integers, got {a.dtype}")
    if len(rows) and (rows.min() < 1 or rows.max() > n_messages or np.any(np.diff(rows) < 0)):
        raise InputError(f"orders: rows must be ascending message rows in [1, {n_messages}]")
    if not np.isin(directions, (-1, 1)).all():
        raise InputError("orders: directions must be +1 (buy) or -1 (sell)")
    if np.any(sizes <= 0):
        raise InputError("orders: sizes must be > 0 shares")
    as_int = (np.ascontiguousarray(a, dtype=np.int64) for a in (rows - 1, directions, sizes))
    return tuple(as_int)


@njit(cache=True)
def _replay(state, kind, order_id, size, price, direction, book, compare, counters, first,
            own_row, own_dir, own_size, fills, fill_order, fill_row, fill_mid, left, own_side,
            own_live, start, stop, nf):  # fmt: skip
    """Messages ``start`` .. ``stop`` - 1 (message 0 seeds the book), with our market orders
    after the rows ``own_row`` names; ``nf`` fills so far, ``left`` what of each is not yet
    reconciled. ``own_live[0]`` own limit orders rest on ``own_side``; their fills get
    ``fill_order`` -1, ``fill_row`` the message's row and ``fill_mid`` the engine's bid + ask
    just before it, ours left out (:func:`bid_plus_ask`). Returns (status, fills). Called once
    for a whole day, or span by span; ``fills`` has room for a fill per message and per own
    order beyond ``nf``."""
    if stop <= start:
        return OK, nf
    if start == 0:
        code = _seed(state, book, 0)
        if code != OK:
            return code, nf
    scratch = np.zeros(4, dtype=FILL_DTYPE)
    n_first = min(counters[MISMATCHES], first.shape[0])
    j = np.searchsorted(own_row, start)  # the next own order
    for k in range(start, stop):
        if k > 0:
            t = kind[k]
            side = BID if direction[k] > 0 else ASK  # where the order rests
            if (t == EXECUTION or t == HIDDEN) and own_live[0] > 0 and side == own_side:
                met, nf = _meet(state, side, price[k], order_id[k], t, size[k], k + 1, fills,
                                fill_order, fill_row, fill_mid, left, nf, own_live)  # fmt: skip
                counters[ADJUSTED] += met > 0
            if t == SUBMISSION:
                d = BUY if direction[k] > 0 else SELL
                want = size[k]
                if own_live[0] > 0 and side != own_side:
                    met, nf = _meet(state, own_side, price[k], order_id[k], t, want, k + 1,
                                    fills, fill_order, fill_row, fill_mid, left, nf,
                                    own_live)  # fmt: skip
                    want -= met
                    counters[ADJUSTED] += met > 0
                before = state.books[0, BK_STATUS]
                matched = 0
                if want > 0:
                    matched = submit_limit(state, 0, d, price[k], want, order_id[k], scratch,
                                           0)[1]  # fmt: skip
                status = state.books[0, BK_STATUS]
                if status == ERR_LEVELS_FULL or status == ERR_ORDERS_FULL:
                    return status, nf
                if matched or status != before:  # it crossed, or its id rests already
                    counters[INCONSISTENT] += 1
                    state.books[0, BK_STATUS] = OK
            elif t == CANCELLATION or t == DELETION or t == EXECUTION:
                want = size[k]
                taken = reduce_order(state, 0, order_id[k], want)
                ours = taken < want and _ours(fills, left, nf, order_id[k])
                if taken == 0 and not ours:
                    counters[SEEDED] += 1
                    taken = _take_bulk(state, side, price[k], want)
                    if taken < want:  # anonymous depth we took at that price
                        took = _reconcile(fills, left, nf, BULK_ID, price[k], want - taken)
                        taken += took
                        counters[ADJUSTED] += took > 0
                elif t == DELETION and taken > 0:
                    taken += reduce_order(state, 0, order_id[k], 1 << 62)  # the rest goes too
                if ours:
                    # What we took of that order stands for what the file reports of it.
                    taken += _reconcile(fills, left, nf, order_id[k], price[k], want - taken)
                    counters[ADJUSTED] += 1
                if taken != want:
                    counters[INCONSISTENT] += 1
            if nf > 0:
                _forget_owed(book, k, price, fill_order, fill_row, left, nf, own_side)
            counters[RESEEDED] += _reseed(state, book, k)
            if state.books[0, BK_STATUS] != OK:
                return state.books[0, BK_STATUS], nf
            if compare and j == 0 and not _matches(state, book, k):
                counters[MISMATCHES] += 1
                if n_first < first.shape[0]:
                    first[n_first] = k + 1
                    n_first += 1
        while j < own_row.shape[0] and own_row[j] == k:  # our orders after message k
            start = nf
            _, nf = submit_market(state, 0, own_dir[j], own_size[j], -1, fills, nf)
            for f in range(start, nf):
                fill_order[f] = j
                fill_row[f] = k + 1
                left[f] = fills[f].qty
            if state.books[0, BK_STATUS] != OK:
                return state.books[0, BK_STATUS], nf
            j += 1
    return OK, nf


@njit(cache=True)
def _ours(fills, left, nf, maker):
    """Whether an own order took from the known order ``maker`` (our market order from it,
    or it, crossing, from our limit order, while shares of it are owed: a reseed may have
    forgotten them, :func:`_forget_owed`)."""
    if maker < 0:
        return False
    for f in range(nf):
        if fills[f].maker_id == maker or (fills[f].taker_id == maker and left[f] > 0):
            return True
    return False


@njit(cache=True)
def _reconcile(fills, left, nf, maker, price, qty):
    """Count up to ``qty`` shares of a message against what our fills took from ``maker`` (or
    from anonymous depth at ``price`` when maker is BULK_ID); returns the shares counted."""
    done = 0
    for f in range(nf):
        if done == qty:
            break
        if maker == BULK_ID:
            if fills[f].maker_id != BULK_ID or fills[f].price != price:
                continue
        elif fills[f].maker_id != maker and fills[f].taker_id != maker:
            continue
        take = min(qty - done, left[f])
        left[f] -= take
        done += take
    return done


@njit(cache=True)
def _own_at(levels, orders, side, i):
    """Shares of our own limit orders resting at level i of ``side``."""
    total = 0
    s = levels[0, side, i, LV_HEAD]
    while s != NO_SLOT:
        if orders[0, s, OR_ID] >= OWN_BASE:
            total += orders[0, s, OR_QTY]
        s = orders[0, s, OR_NEXT]
    return total


@njit(cache=True)
def bid_plus_ask(state):
    """The engine's best bid + best ask (LOBSTER units) leaving our own limit orders out:
    the book the rest of the market sees; -1 when a side holds nothing else."""
    levels, orders = state.levels, state.orders
    total = 0
    for side in (BID, ASK):
        i = state.books[0, BK_LEVELS + side] - 1
        while i >= 0 and levels[0, side, i, LV_QTY] == _own_at(levels, orders, side, i):
            i -= 1
        if i < 0:
            return -1
        total += levels[0, side, i, LV_PRICE]
    return total


@njit(cache=True)
def _fill_own(state, s, take, taker, row, mid, fills, fill_order, fill_row, fill_mid, left,
              nf, owed, own_live):  # fmt: skip
    """``take`` shares of the own order in slot s trade with ``taker``; ``owed``: whether a
    later message about the taker is to be reconciled with them. Returns the fills."""
    orders = state.orders
    own_id = orders[0, s, OR_ID]
    write_fill(fills, nf, taker, own_id, orders[0, s, OR_PRICE], take, orders[0, s, OR_SIDE])
    fill_order[nf] = -1
    fill_row[nf] = row
    fill_mid[nf] = mid
    left[nf] = take if owed else 0
    if take == orders[0, s, OR_QTY]:
        own_live[0] -= 1
    reduce_order(state, 0, own_id, take)
    return nf + 1


@njit(cache=True)
def _meet(state, side, limit, named, kind, qty, row, fills, fill_order, fill_row, fill_mid,
          left, nf, own_live):  # fmt: skip
    """Fill our orders on ``side`` that a message of ``qty`` shares at ``limit`` meets first
    (see the module docstring): an execution (``kind`` EXECUTION or HIDDEN) of the order
    ``named`` on our side, or the submission ``named`` (kind SUBMISSION) on the other side,
    whose shares we then owe the later messages about it. Best price first, in queue order;
    returns (shares, fills)."""
    levels, orders = state.levels, state.orders
    known = kind == EXECUTION and named >= 0 and ht_find(state.table, 0, named) >= 0
    crossing = kind == SUBMISSION
    mid = bid_plus_ask(state)
    done = 0
    i = state.books[0, BK_LEVELS + side] - 1
    while i >= 0 and done < qty:
        level_price = levels[0, side, i, LV_PRICE]
        if better(side, limit, level_price):
            break  # a worse price than the message's: nothing beyond is met
        at = level_price == limit and not crossing
        s = levels[0, side, i, LV_HEAD]
        while s != NO_SLOT and done < qty:
            nxt = orders[0, s, OR_NEXT]
            ident = orders[0, s, OR_ID]
            if at:
                if kind == HIDDEN:
                    first = ident < OWN_BASE  # displayed depth of others, ahead of hidden
                else:
                    first = ident == named if known else ident == BULK_ID
                if first:
                    break  # what the execution took comes before the rest of the queue
            if ident >= OWN_BASE:
                take = min(qty - done, orders[0, s, OR_QTY])
                nf = _fill_own(state, s, take, named if crossing else -1, row, mid, fills,
                               fill_order, fill_row, fill_mid, left, nf, crossing,
                               own_live)  # fmt: skip
                done += take
            s = nxt
        i -= 1
    return done, nf


@njit(cache=True)
def own_resting(state, side, out):
    """Write our limit orders resting on ``side`` into ``out`` (RESTING_DTYPE, price in
    LOBSTER units, episode left 0), best price first and in queue order; returns how many."""
    levels, orders = state.levels, state.orders
    count = 0
    for i in range(state.books[0, BK_LEVELS + side] - 1, -1, -1):
        ahead = 0
        s = levels[0, side, i, LV_HEAD]
        while s != NO_SLOT:
            qty = orders[0, s, OR_QTY]
            if orders[0, s, OR_ID] >= OWN_BASE:
                row = out[count]
                row.id = orders[0, s, OR_ID]
                row.price = levels[0, side, i, LV_PRICE]
                row.size = qty
                row.ahead = ahead
                count += 1
            ahead += qty
            s = orders[0, s, OR_NEXT]
    return count


@njit(cache=True)
def _seed(state, book, row):
    """Load row ``row`` of the orderbook file as anonymous depth on both sides."""
    levels = book.shape[1] // 4
    prices = np.zeros(levels, dtype=np.int64)
    qtys = np.zeros(levels, dtype=np.int64)
    for side in (ASK, BID):
        offset = 0 if side == ASK else 2
        n = 0
        for j in range(levels):
            q = book[row, 4 * j + offset + 1]
            if q > 0:
                prices[n] = book[row, 4 * j + offset]
                qtys[n] = q
                n += 1
        code = load_side(state, 0, side, prices, qtys, n)
        if code != OK:
            return code
    return OK


@njit(cache=True)
def _take_bulk(state, side, price, qty):
    """Take up to ``qty`` anonymous shares at ``price`` from the front of its queue; returns
    the shares taken."""
    levels, orders, books = state.levels, state.orders, state.books
    m = books[0, BK_LEVELS + side]
    i, found = find_level(levels, 0, side, m, price)
    if not found:
        return 0
    taken = 0
    s = levels[0, side, i, LV_HEAD]
    while s != NO_SLOT and taken < qty:
        nxt = orders[0, s, OR_NEXT]
        if orders[0, s, OR_ID] == BULK_ID:
            take = min(qty - taken, orders[0, s, OR_QTY])
            taken += take
            levels[0, side, i, LV_QTY] -= take
            if take == orders[0, s, OR_QTY]:
                unlink_order(levels, orders, books, 0, side, i, s)
            else:
                orders[0, s, OR_QTY] -= take
        s = nxt
    if levels[0, side, i, LV_HEAD] == NO_SLOT:
        close_level(levels, 0, side, i, m)
        books[0, BK_LEVELS + side] = m - 1
    return taken


@njit(cache=True)
def _reseed(state, book, k):
    """Seed the part of row k's levels beyond the previous row's depth (the levels that came
    into the top L from there, and the absence of those the row skips); returns how many
    levels changed."""
    levels = state.levels
    n_file = book.shape[1] // 4
    count = 0
    for side in (ASK, BID):
        offset = 0 if side == ASK else 2
        last = 4 * (n_file - 1) + offset
        if book[k - 1, last + 1] == 0:
            continue  # the previous row showed the whole side: nothing was beyond it
        worst = book[k - 1, last]
        full = book[k, last + 1] > 0
        bottom = book[k, last]
        for j in range(n_file):  # levels the row shows beyond the old depth
            p = book[k, 4 * j + offset]
            q = book[k, 4 * j + offset + 1]
            if q > 0 and better(side, worst, p):
                count += _set_level(state, side, p, q)
        i = state.books[0, BK_LEVELS + side] - 1
        while i >= 0:  # the engine's levels there that the row does not show
            p = levels[0, side, i, LV_PRICE]
            i -= 1
            if not better(side, worst, p):
                continue
            if full and better(side, bottom, p):
                break
            shown = False
            for j in range(n_file):
                if book[k, 4 * j + offset] == p and book[k, 4 * j + offset + 1] > 0:
                    shown = True
                    break
            if not shown:
                count += _set_level(state, side, p, 0)
                i = min(i, state.books[0, BK_LEVELS + side] - 1)
    return count


@njit(cache=True)
def _forget_owed(book, k, price, fill_order, fill_row, left, nf, own_side):
    """Before :func:`_reseed` seeds row k: forget the shares of the submissions that crossed
    our limit orders (on ``own_side``) and that later messages have not yet matched
    (``left``), where their price's level comes back from beyond the file's depth. As for the
    orders known there, what became of them was not written, and the row's depth, which they
    are in if they still rest, is the level's (:func:`_set_level`); later messages about
    those submissions take from it. Our market orders' fills (``fill_order`` >= 0) keep
    theirs (see :func:`replay_lobster`)."""
    side = BID if own_side == ASK else ASK  # where the submissions that crossed ours rest
    n_file = book.shape[1] // 4
    offset = 0 if side == ASK else 2
    last = 4 * (n_file - 1) + offset
    if book[k - 1, last + 1] == 0:
        return  # the previous row showed the whole side: nothing was beyond it
    worst = book[k - 1, last]
    for j in range(n_file):
        p = book[k, 4 * j + offset]
        if book[k, 4 * j + offset + 1] > 0 and better(side, worst, p):
            for f in range(nf):
                if left[f] > 0 and fill_order[f] < 0 and price[fill_row[f] - 1] == p:
                    left[f] = 0


@njit(cache=True)
def _set_level(state, side, price, qty):
    """Bring the level at ``price``, beyond the file's depth until now, to ``qty`` shares.
    What happened there was not written, so the orders the replay knew at that price are
    forgotten (their depth becomes anonymous; a later message about one of them takes from
    it); then missing shares join the back, excess shares leave from the front. Our own
    limit orders there stay, behind the depth the row shows (``qty`` leaves them out).
    Returns whether the level changed."""
    levels, orders, books = state.levels, state.orders, state.books
    m = books[0, BK_LEVELS + side]
    i, found = find_level(levels, 0, side, m, price)
    own = 0
    if found:
        s = levels[0, side, i, LV_HEAD]
        while s != NO_SLOT:
            ident = orders[0, s, OR_ID]
            if ident >= OWN_BASE:
                own += orders[0, s, OR_QTY]
            elif ident != BULK_ID:
                ht_remove_at(state.table, 0, ht_find(state.table, 0, ident))
                orders[0, s, OR_ID] = BULK_ID
                books[0, BK_OWN + side] -= 1
            s = orders[0, s, OR_NEXT]
    have = levels[0, side, i, LV_QTY] - own if found else 0
    if have == qty:
        return False
    if have < qty:
        if (not found and m >= levels.shape[2]) or books[0, BK_NFREE] == 0:
            books[0, BK_STATUS] = ERR_LEVELS_FULL if not found else ERR_ORDERS_FULL
            return False
        if not found:
            open_level(levels, 0, side, i + 1, m, price)
            books[0, BK_LEVELS + side] = m + 1
            i += 1
        set_bulk(
            levels, orders, books, 0, side, i, bulk_at(levels, orders, 0, side, i) + qty - have
        )
        if own:
            _requeue_own(state, side, i)
        return True
    _take_bulk(state, side, price, have - qty)
    return True


@njit(cache=True)
def _requeue_own(state, side, i):
    """Move our own orders at level i to the back of its queue, in their order."""
    levels, orders, books = state.levels, state.orders, state.books
    n = 0
    s = levels[0, side, i, LV_HEAD]
    while s != NO_SLOT:
        n += orders[0, s, OR_ID] >= OWN_BASE
        s = orders[0, s, OR_NEXT]
    ids = np.empty(n, dtype=np.int64)
    qtys = np.empty(n, dtype=np.int64)
    n = 0
    s = levels[0, side, i, LV_HEAD]
    while s != NO_SLOT:
        nxt = orders[0, s, OR_NEXT]
        if orders[0, s, OR_ID] >= OWN_BASE:
            ids[n] = orders[0, s, OR_ID]
            qtys[n] = orders[0, s, OR_QTY]
            n += 1
            levels[0, side, i, LV_QTY] -= orders[0, s, OR_QTY]
            ht_remove_at(state.table, 0, ht_find(state.table, 0, ids[n - 1]))
            unlink_order(levels, orders, books, 0, side, i, s)
        s = nxt
    for j in range(n):
        ht_insert(state.table, 0, ids[j], push_back(levels, orders, books, 0, side, i, ids[j],
                                                    qtys[j]))  # fmt: skip


@njit(cache=True)
def _matches(state, book, k):
    """Whether the engine's best L levels of both sides are row k of the orderbook file."""
    levels = state.levels
    n_file = book.shape[1] // 4
    for side in (ASK, BID):
        offset = 0 if side == ASK else 2
        m = state.books[0, BK_LEVELS + side]
        for j in range(n_file):
            p = book[k, 4 * j + offset]
            q = book[k, 4 * j + offset + 1]
            if j < m:
                if (
                    levels[0, side, m - 1 - j, LV_PRICE] != p
                    or levels[0, side, m - 1 - j, LV_QTY] != q
                ):
                    return False
            elif q != 0 or p != (EMPTY_ASK if side == ASK else EMPTY_BID):
                return False
    return True


def reference_replay(day: LobsterDay, *, compare: bool = True, orders=None) -> ReplayReport:
    """:func:`replay_lobster` in plain Python on a :class:`lobsim.ReferenceBook`, written
    apart from the kernel so that the tests and ``lobsim bench replay`` can hold one against
    the other (same rules, same report)."""
    from lobsim.engine import ReferenceBook

    book = ReferenceBook(1.0)
    n_file = day.levels
    counts = {"seeded": 0, "reseeded": 0, "inconsistent": 0, "mismatches": 0, "adjusted": 0}
    first: list[int] = []
    own_rows, own_dirs, own_sizes = (a.tolist() for a in _own_orders(orders, len(day)))
    mine: list[list[int]] = []  # [order, row, price, qty, maker, shares not yet reconciled]
    start = time.thread_time()
    rows = day.book.tolist()
    if len(day):
        for side, offset in ((ASK, 0), (BID, 2)):
            for j in range(n_file):
                if rows[0][4 * j + offset + 1] > 0:
                    book._add_bulk(side, rows[0][4 * j + offset], rows[0][4 * j + offset + 1])
    kinds, ids, sizes, prices, dirs = (
        c.tolist() for c in (day.type, day.order_id, day.size, day.price, day.direction)
    )

    def reconcile(maker: int, price: int, qty: int) -> int:
        done = 0
        for fill in mine:
            if done < qty and fill[4] == maker and (maker != BULK_ID or fill[2] == price):
                take = min(qty - done, fill[5])
                fill[5] -= take
                done += take
        return done

    j = 0
    for k in range(len(day)):
        if k > 0:
            kind, side = kinds[k], BID if dirs[k] > 0 else ASK
            if kind == SUBMISSION:
                if len(book._limit(BUY if dirs[k] > 0 else SELL, prices[k], sizes[k], ids[k])):
                    counts["inconsistent"] += 1
            elif kind in (CANCELLATION, DELETION, EXECUTION):
                want = sizes[k]
                taken = book._reduce(ids[k], want)
                ours = taken < want and ids[k] >= 0 and any(f[4] == ids[k] for f in mine)
                if taken == 0 and not ours:
                    counts["seeded"] += 1
                    taken = _reference_take(book, side, prices[k], want)
                    if taken < want:
                        took = reconcile(BULK_ID, prices[k], want - taken)
                        taken += took
                        counts["adjusted"] += took > 0
                elif kind == DELETION and taken > 0:
                    taken += book._reduce(ids[k], 1 << 62)
                if ours:
                    taken += reconcile(ids[k], prices[k], want - taken)
                    counts["adjusted"] += 1
                counts["inconsistent"] += taken != want
            counts["reseeded"] += _reference_reseed(book, rows[k - 1], rows[k], n_file)
            if compare and j == 0 and book_row(book, n_file).tolist() != rows[k]:
                counts["mismatches"] += 1
                if len(first) < FIRST_MISMATCHES:
                    first.append(k + 1)
        while j < len(own_rows) and own_rows[j] == k:
            for fill in book._market(own_dirs[j], own_sizes[j], -1).tolist():
                mine.append([j, k + 1, fill[2], fill[3], fill[1], fill[3]])
            j += 1
    fills = None
    if orders is not None:
        fills = np.array([tuple(f[:5]) for f in mine], dtype=OWN_FILL_DTYPE)
    return ReplayReport(
        messages=max(len(day) - 1, 0), mismatches=counts["mismatches"],
        first_mismatches=tuple(first), seeded=counts["seeded"], reseeded=counts["reseeded"],
        inconsistent=counts["inconsistent"], seconds=time.thread_time() - start,
        adjusted=counts["adjusted"], fills=fills,
    )  # fmt: skip


def _reference_take(book, side: int, price: int, qty: int) -> int:
    queue = book._levels[side].get(price)
    if queue is None:
        return 0
    taken = 0
    for order in [o for o in queue if o.order_id == BULK_ID]:
        take = min(qty - taken, order.qty)
        order.qty -= take
        taken += take
        if order.qty == 0:
            queue.remove(order)
        if taken == qty:
            break
    if not queue:
        del book._levels[side][price]
    return taken


def _reference_reseed(book, before: list[int], row: list[int], n_file: int) -> int:
    count = 0
    for side, offset in ((ASK, 0), (BID, 2)):
        last = 4 * (n_file - 1) + offset
        if before[last + 1] == 0:
            continue
        worst, full, bottom = before[last], row[last + 1] > 0, row[last]
        beyond = (lambda p, w=worst: p > w) if side == ASK else (lambda p, w=worst: p < w)
        shown = {row[4 * j + offset]: row[4 * j + offset + 1]
                 for j in range(n_file) if row[4 * j + offset + 1] > 0}  # fmt: skip
        prices = set(p for p in shown if beyond(p))
        for p in book._levels[side].keys():
            past = p > bottom if side == ASK else p < bottom
            if beyond(p) and not (full and past):
                prices.add(p)
        for p in sorted(prices, reverse=side == BID):
            count += _reference_set_level(book, side, p, shown.get(p, 0))
    return count


def _reference_set_level(book, side: int, price: int, qty: int) -> bool:
    queue = book._levels[side].get(price, [])
    for order in queue:
        if order.order_id != BULK_ID:
            book._resting.pop(order.order_id)
            order.order_id = BULK_ID
    have = sum(o.qty for o in queue)
    if have == qty:
        return False
    if have < qty:
        book._add_bulk(side, price, qty - have)
        return True
    _reference_take(book, side, price, have - qty)
    return True


def own_order_costs(day: LobsterDay, orders, report: ReplayReport):
    """Our orders' costs in a replay, one row each: shares asked and filled, average price
    and the mid of the file's book just before the order (arrival), in dollars, and the cost
    against that mid, direction x sum of q (P - mid), in dollars and in bps of the filled
    shares' arrival value."""
    import pandas as pd

    rows, directions, sizes = (np.asarray(a, dtype=np.int64) for a in orders)
    fills = report.fills
    filled = np.bincount(fills["order"], fills["qty"], minlength=len(rows)).astype(np.int64)
    paid = np.bincount(fills["order"], fills["qty"] * fills["price"], minlength=len(rows))
    before = day.book[rows - 1]
    mid = (before[:, 0] + before[:, 2]) / 2 / PRICE_SCALE  # best ask and bid of that row
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(filled > 0, paid / np.maximum(filled, 1) / PRICE_SCALE, np.nan)
        cost = directions * (paid / PRICE_SCALE - filled * mid)
        bps = np.where(filled > 0, 1e4 * cost / (filled * mid), np.nan)
    return pd.DataFrame(
        {"row": rows, "direction": directions, "shares": sizes, "filled": filled,
         "avg_price": average, "arrival_mid": mid, "cost": cost, "cost_bps": bps}
    )  # fmt: skip
