"""The simulator's kernels: the working child orders of one minute, chunk by chunk.

For each episode a kernel walks that minute's book, rebuilt around the impacted mid, with the
market order (only the levels the order needs, computed as it takes them) and accounts for
every fill. What the book cannot fill (a minute without volume) stays working for the next
minute's book. Episodes are split into chunks, each with its own buffers, so chunks run on
separate threads without sharing state.

Arguments travel in named records: ``Episodes`` (what is fixed per episode), ``Shape`` (the
run's book scalars), ``Live`` (what the run updates per episode), ``Orders`` (the shares of
each child order still working and their costs), ``Scratch`` (each chunk's buffers) and
``FillLog`` (where fills are written when they are recorded).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from lobsim.books.flow import background_flow
from lobsim.books.kernels import ASK, BID, build_levels, level_at, sweep_levels, uniform01
from lobsim.engine._ops import better
from lobsim.engine.batch import BookBatch, BookState
from lobsim.engine.kernels import submit_limit
from lobsim.engine.loading import open_with_depth
from lobsim.engine.records import (
    BK_LEVELS,
    BK_OWN,
    BK_STATUS,
    BULK_ID,
    FILL_DTYPE,
    LV_HEAD,
    LV_PRICE,
    NO_SLOT,
    OR_ID,
    OR_NEXT,
    OR_PRICE,
    OR_QTY,
    SELL,
)
from lobsim.simulation.passive import move_mid, trade_flow

# Status codes per episode, turned into errors by the Python layer.
OK = 0
SHORT_BOOK = 1  # the order needed more levels than max_levels

# Columns of Live.acc, by name; the simulator's episode table reads them through these.
ACC_COLUMNS = (
    "temporary_cost",
    "permanent_cost",
    "timing_cost",
    "shortfall",
    "filled",
    "notional",
    "posted",
    "passive",
)
TEMPORARY, PERMANENT, TIMING, SHORTFALL, FILLED, NOTIONAL, POSTED, PASSIVE = range(
    len(ACC_COLUMNS)
)


class Episodes(NamedTuple):
    """Per-episode inputs, E episodes over a panel of D days x M minutes x N stocks."""

    stock: np.ndarray  # int64 (E,): column of the stock
    day: np.ndarray  # int64 (E,): row of the day
    price: np.ndarray  # float64 (D, M, N): mids
    volume: np.ndarray  # float64 (D, M, N): minute volumes
    eps: np.ndarray  # float64 (N,): book scale per stock
    adv: np.ndarray  # float64 (N,): ADV for permanent impact
    tick: np.ndarray  # float64 (E,): grid step in currency
    keys: np.ndarray  # uint64 (E,): noise keys
    s0: np.ndarray  # float64 (E,): arrival price


class Shape(NamedTuple):
    """The run's book and impact scalars."""

    direction: int  # SELL (-1) or BUY (+1)
    alpha: float
    alpha_noise: float
    half_spread: int
    depth_sd: float
    empty_prob: float
    resilience: float
    half_life: float
    g: float  # linear permanent impact
    depth_fixed: int  # 1: alpha noise holds the depth scale eps^(1+a) fixed (the paper's)


class Live(NamedTuple):
    """Per-episode state the kernels update."""

    missing: np.ndarray  # float64 (E,): consumed depth still missing, as of missing_minute
    missing_minute: np.ndarray  # float64 (E,)
    traded: np.ndarray  # float64 (E,): shares traded so far
    acc: np.ndarray  # float64 (E, len(ACC_COLUMNS)): costs, shares filled, notional
    status: np.ndarray  # int64 (E,): OK or SHORT_BOOK after each decision
    fill_counts: np.ndarray  # int64 (E,): fills of the last decision


class Orders(NamedTuple):
    """The child orders of one decision, as they work through the minutes until the next."""

    working: np.ndarray  # int64 (E,), in/out: shares not yet filled
    cost: np.ndarray  # float64 (E,), in/out: temporary cost of each order so far (currency)


class Scratch(NamedTuple):
    """Each chunk's buffers (row c is chunk c's), as long as the most levels an order may walk
    (L): the fills of one order, the levels of one book, their cumulative depth."""

    level_prices: np.ndarray  # int64 (C, L)
    level_qtys: np.ndarray  # int64 (C, L)
    cumulative: np.ndarray  # float64 (C, L): the cumulative depth of an order's levels


class FillLog(NamedTuple):
    """Where fills go when they are recorded: episode e writes its fills from offsets[e]."""

    out: np.ndarray  # FILL_DTYPE (F,): empty when fills are not recorded
    offsets: np.ndarray  # int64 (E,)


@njit(cache=True, inline="always")
def shape_at(sh, key, minute, eps):
    """This minute's book shape a_t and scale eps_t (``BookModel.alpha_noise_convention``):
    eps held fixed, or the depth scale eps^(1 + a) held fixed while a_t moves."""
    if sh.alpha_noise <= 0.0:
        return sh.alpha, eps
    a = sh.alpha + sh.alpha_noise * (2.0 * uniform01(key, minute, 0, 3) - 1.0)
    if sh.depth_fixed:
        return a, eps ** ((1.0 + sh.alpha) / (1.0 + a))
    return a, eps


@njit(cache=True, inline="always")
def _minute_book(e, minute, mult, ep, sh, live):
    """What episode e's book of this minute is built from.

    Returns (mid, impacted mid, book volume, shape a_t, scale eps_t, missing depth).
    """
    i = ep.stock[e]
    s = ep.price[ep.day[e], minute - 1, i]
    v = ep.volume[ep.day[e], minute - 1, i] * mult
    # Linear permanent impact of our own earlier trades (DESIGN.md section 1).
    s_imp = s * (1.0 + sh.direction * sh.g * live.traded[e] / ep.adv[i])
    a, eps = shape_at(sh, ep.keys[e], minute, ep.eps[i])
    deficit = live.missing[e] * 0.5 ** ((minute - live.missing_minute[e]) / sh.half_life)
    return s, s_imp, v, a, eps, deficit


@njit(cache=True, nogil=True)
def execute_chunk(lo, hi, c, minute, mult, orders, ep, sh, live, scratch, log):
    """Send the working orders of episodes lo..hi-1 into minute ``minute``'s book (chunk c).

    ``mult`` is the minute's depth multiplier. What fills leaves ``orders.working`` and adds its
    temporary cost to ``orders.cost``; costs, fills and the resilience deficit accumulate in
    ``live``. Fills are copied into ``log.out`` only when it is not empty. Returns (orders
    still working, orders that needed more levels than the scratch holds: SHORT_BOOK).

    Each order walks its freshly built side with :func:`lobsim.books.kernels.sweep_levels`:
    the fills, and every sum over them, are those of laying the levels out with
    ``build_levels``, bulk-loading them into an engine book and sending the market order
    through it (the tests hold the two against each other), without the book.

    The caller runs chunks on Python threads (the kernel releases the GIL) rather than under
    ``prange``: inside a parallel region every call that passes an array updates that array's
    shared reference count atomically, and two threads doing so per order ran 4x slower than
    one.
    """
    fill_prices = scratch.level_prices[c]
    fill_qtys = scratch.level_qtys[c]
    capacity = fill_prices.shape[0]
    cumulative = scratch.cumulative[c]
    if log.out.shape[0] == 0:
        fill_prices = fill_prices[:0]
        fill_qtys = fill_qtys[:0]
    working = orders.working
    direction = sh.direction
    side = BID if direction < 0 else ASK
    acc = live.acc
    recovery = 0.5 ** (1.0 / sh.half_life)  # of the missing depth, over one minute
    left = 0
    short = 0
    for e in range(lo, hi):
        n = working[e]
        live.status[e] = OK
        live.fill_counts[e] = 0
        if n <= 0:
            continue
        s, s_imp, v, a, eps, deficit = _minute_book(e, minute, mult, ep, sh, live)
        tick = ep.tick[e]
        filled, nlev, nf, temporary, notional = sweep_levels(
            side, s_imp, v, a, eps, tick, sh.half_spread, deficit, n, sh.depth_sd,
            sh.empty_prob, ep.keys[e], minute, capacity, cumulative, fill_prices, fill_qtys,
        )  # fmt: skip
        if filled < n:
            left += 1
            if nlev == capacity:
                live.status[e] = SHORT_BOOK
                short += 1
        if fill_prices.shape[0] > 0:
            start = log.offsets[e]
            for f in range(nf):
                row = log.out[start + f]
                row.taker_id = e
                row.maker_id = BULK_ID
                row.price = fill_prices[f]
                row.qty = fill_qtys[f]
                row.side = direction
        s0 = ep.s0[e]
        acc[e, TEMPORARY] += temporary
        acc[e, PERMANENT] += direction * filled * (s_imp - s)
        acc[e, TIMING] += direction * filled * (s - s0)
        acc[e, SHORTFALL] += direction * (notional - filled * s0)  # computed on its own
        acc[e, FILLED] += filled
        acc[e, NOTIONAL] += notional
        orders.cost[e] += temporary
        working[e] = n - filled
        live.fill_counts[e] = nf
        live.traded[e] += filled
        # Consumed depth partly missing from the next rebuild, recovering with the half-life.
        live.missing[e] = deficit * recovery + sh.resilience * filled
        live.missing_minute[e] = minute + 1
    return left, short


@njit(cache=True)
def levels_needed(lo, hi, minute, mult, working, ep, sh, live, level_prices, level_qtys, out):
    """Levels the orders of episodes lo..hi-1 will walk (an upper bound on their fills)."""
    side = BID if sh.direction < 0 else ASK
    for e in range(lo, hi):
        out[e] = 0
        if working[e] > 0:
            _, s_imp, v, a, eps, deficit = _minute_book(e, minute, mult, ep, sh, live)
            out[e] = build_levels(
                side, s_imp, v, a, eps, ep.tick[e], sh.half_spread, deficit, working[e],
                sh.depth_sd, sh.empty_prob, ep.keys[e], minute, level_prices, level_qtys,
            )[0]  # fmt: skip


# Own limit orders' ids: episode * ID_STRIDE + a per-episode sequence number, so a fill names
# its episode without a lookup table.
ID_STRIDE = 1 << 24

# Levels and order slots of one passive book: a side holds the levels the minute's largest
# background order reaches (a few dozen) and one per own order beyond them.
PASSIVE_LEVELS = 1024
PASSIVE_ORDERS = 4 * PASSIVE_LEVELS


class PassiveBooks(NamedTuple):
    """One persistent engine book per episode of the day, and the passive minute's buffers."""

    books: BookState  # N books: episode e of the day uses book e - first
    first: int  # the day's first episode
    bid_prices: np.ndarray  # int64 (L,)
    bid_qtys: np.ndarray  # int64 (L,)
    ask_prices: np.ndarray  # int64 (L,)
    ask_qtys: np.ndarray  # int64 (L,)
    directions: np.ndarray  # int64 (F,): background orders
    sizes: np.ndarray  # int64 (F,)
    arrivals: np.ndarray  # float64 (F,)
    fills: np.ndarray  # FILL_DTYPE (R,)
    sigma: np.ndarray  # float64 (E,): the day's sd of one-minute mid changes per episode
    n_orders: float  # expected background orders a minute


class Posts(NamedTuple):
    """The limit orders a decision places, grouped by book: book b's are rows
    start[b] .. start[b + 1] - 1, in the order the strategy gave them."""

    start: np.ndarray  # int64 (N + 1,)
    size: np.ndarray  # int64 (P,)
    distance: np.ndarray  # float64 (P,): from the mid, in ticks or as relative depth
    in_ticks: bool
    free: np.ndarray  # int64 (N,), in/out: shares each book may still commit
    sequence: np.ndarray  # int64 (E,), in/out: the next order number of each episode


def no_posts(n_books: int, sequence: np.ndarray) -> Posts:
    """A Posts record placing nothing."""
    empty = np.zeros(0, np.int64)
    return Posts(np.zeros(n_books + 1, np.int64), empty, np.zeros(0), True,
                 np.zeros(n_books, np.int64), sequence)  # fmt: skip


def passive_books(
    n_books: int, n_episodes: int, n_orders: float
) -> tuple[BookBatch, PassiveBooks]:
    """The engine books of one day's passive minutes (one per stock) and their buffers, for
    ``n_orders`` expected background orders a minute."""
    batch = BookBatch(n_books, max_levels=PASSIVE_LEVELS, max_orders=PASSIVE_ORDERS)
    flow = int(4 * n_orders) + 8  # background_flow caps a minute's orders at this
    pb = PassiveBooks(
        books=batch.state,
        first=0,
        bid_prices=np.zeros(PASSIVE_LEVELS, np.int64),
        bid_qtys=np.zeros(PASSIVE_LEVELS, np.int64),
        ask_prices=np.zeros(PASSIVE_LEVELS, np.int64),
        ask_qtys=np.zeros(PASSIVE_LEVELS, np.int64),
        directions=np.zeros(flow, np.int64),
        sizes=np.zeros(flow, np.int64),
        arrivals=np.zeros(flow),
        fills=np.zeros(PASSIVE_ORDERS + flow, FILL_DTYPE),
        sigma=np.zeros(n_episodes),
        n_orders=float(n_orders),
    )
    return batch, pb


@njit(cache=True)
def passive_chunk(lo, hi, minute, mult, ep, sh, live, pb, posts, cost, log_out, log_count):
    """The passive minute of episodes lo..hi-1 that have own limit orders resting or place
    some now (``posts``).

    Each such episode's book moves to the impacted mid and refills, the episode's new limit
    orders join the queue, then the minute's background orders
    (:func:`lobsim.books.flow.background_flow`) trade through the book. Every fill of an own
    order is accounted like an aggressive one (a sell above the mid books a negative temporary
    cost, also added to ``cost[e]``). Fills of own orders are copied into ``log_out`` from row
    ``log_count[0]`` when it is not empty.

    Returns
    -------
    (int, int, int)
        Background orders run, the shares they traded, and OK or the first refusal: an engine
        status (the book keeps it too) or POST_MATCHED.
    """
    own_side = ASK if sh.direction < 0 else BID
    events = 0
    traded = 0
    for e in range(lo, hi):
        b = e - pb.first
        if pb.books.books[b, BK_OWN + own_side] == 0 and posts.start[b + 1] == posts.start[b]:
            continue
        n, q, code = _passive_episode(
            e, minute, mult, ep, sh, live, pb, posts, cost, log_out, log_count
        )
        events += n
        traded += q
        if code != OK:
            return events, traded, code
    return events, traded, OK


@njit(cache=True, inline="always")
def minute_inputs(e, minute, mult, ep, sh, live, pb):
    """What the passive minute of episode e runs on: its background orders (``pb.n_orders``
    expected) in ``pb.directions``, ``pb.sizes`` and ``pb.arrivals``, and both
    sides' target depth in ``pb.bid_prices``, ``pb.bid_qtys``, ``pb.ask_prices`` and
    ``pb.ask_qtys``. Returns (mid, impacted mid, bid levels, ask levels, background orders,
    the shape's alpha and eps this minute, and the minute's depth volume).
    """
    direction = sh.direction
    own_side = ASK if direction < 0 else BID
    b = e - pb.first
    i = ep.stock[e]
    d = ep.day[e]
    s = ep.price[d, minute - 1, i]
    volume = ep.volume[d, minute - 1, i]
    change = s - ep.price[d, minute - 2, i] if minute >= 2 else 0.0
    s_imp = s * (1.0 + direction * sh.g * live.traded[e] / ep.adv[i])
    tick = ep.tick[e]
    a, eps = shape_at(sh, ep.keys[e], minute, ep.eps[i])  # the aggressive book's draw
    n = background_flow(
        volume, change, pb.sigma[e], pb.n_orders, ep.keys[e], minute, pb.directions,
        pb.sizes, pb.arrivals,
    )  # fmt: skip
    largest = 0
    for j in range(n):
        largest = max(largest, pb.sizes[j])
    # Both sides to the reach of the largest background order; the own side keeps a row for
    # each own order, whose level gets the shape's depth at its price below.
    room = pb.bid_prices.shape[0] - pb.books.books[b, BK_OWN + own_side] - 1
    bid_cap = room if own_side == BID else pb.bid_prices.shape[0]
    ask_cap = room if own_side == ASK else pb.ask_prices.shape[0]
    volume *= mult
    n_bid, _ = build_levels(
        BID, s_imp, volume, a, eps, tick, sh.half_spread, 0.0, max(largest, 1),
        sh.depth_sd, sh.empty_prob, ep.keys[e], minute, pb.bid_prices[:bid_cap],
        pb.bid_qtys[:bid_cap],
    )  # fmt: skip
    n_ask, _ = build_levels(
        ASK, s_imp, volume, a, eps, tick, sh.half_spread, 0.0, max(largest, 1),
        sh.depth_sd, sh.empty_prob, ep.keys[e], minute, pb.ask_prices[:ask_cap],
        pb.ask_qtys[:ask_cap],
    )  # fmt: skip
    if n_bid > 0 and n_ask > 0 and pb.bid_prices[0] >= pb.ask_prices[0]:
        # A mid on a tick with no half-spread: the asks start one tick above it.
        for j in range(n_ask - 1):
            pb.ask_prices[j] = pb.ask_prices[j + 1]
            pb.ask_qtys[j] = pb.ask_qtys[j + 1]
        n_ask -= 1
    # Own orders beyond that reach: the shape's depth at their prices, so that the depth ahead
    # of them follows the shape. The levels in between, which no order of this minute can
    # reach, are left out: a level of bulk only is the same whenever it is rebuilt.
    if own_side == BID:
        n_bid = _deep_own_targets(
            pb.books, b, BID, pb.bid_prices, pb.bid_qtys, n_bid, s_imp, volume, a, eps,
            tick, sh, ep.keys[e], minute,
        )  # fmt: skip
    else:
        n_ask = _deep_own_targets(
            pb.books, b, ASK, pb.ask_prices, pb.ask_qtys, n_ask, s_imp, volume, a, eps,
            tick, sh, ep.keys[e], minute,
        )  # fmt: skip
    return s, s_imp, n_bid, n_ask, n, a, eps, volume


@njit(cache=True, inline="always")
def _passive_episode(e, minute, mult, ep, sh, live, pb, posts, cost, log_out, log_count):
    """The passive minute of episode e (see :func:`passive_chunk`). Returns (background
    orders, shares traded, OK or the refusal)."""
    direction = sh.direction
    acc = live.acc
    b = e - pb.first
    s, s_imp, n_bid, n_ask, n, a, eps, depth = minute_inputs(e, minute, mult, ep, sh, live, pb)
    tick = ep.tick[e]
    mid = s_imp / tick
    nf = move_mid(pb.books, b, mid, pb.bid_prices, pb.bid_qtys, n_bid, pb.ask_prices,
                  pb.ask_qtys, n_ask, pb.fills, 0)  # fmt: skip
    code = OK
    if posts.start[b + 1] > posts.start[b]:
        code = _post(e, b, mid, a, eps, depth, ep, sh, live, pb, posts, minute, nf)
    nf, traded = trade_flow(pb.books, b, pb.directions, pb.sizes, n, pb.fills, nf)
    s0 = ep.s0[e]
    for f in range(nf):
        q = pb.fills[f].qty
        p = pb.fills[f].price * tick
        temporary = direction * q * (p - s_imp)
        acc[e, TEMPORARY] += temporary
        cost[e] += temporary
        acc[e, PERMANENT] += direction * q * (s_imp - s)
        acc[e, TIMING] += direction * q * (s - s0)
        acc[e, SHORTFALL] += direction * (q * p - q * s0)
        acc[e, FILLED] += q
        acc[e, PASSIVE] += q
        acc[e, NOTIONAL] += q * p
        live.traded[e] += q
        if log_out.shape[0] > 0 and log_count[0] < log_out.shape[0]:
            log_out[log_count[0]] = pb.fills[f]
            log_count[0] += 1
    if code == OK:
        code = pb.books.books[b, BK_STATUS]
    return n, traded, code


@njit(cache=True)
def _deep_own_targets(books, b, side, prices, qtys, n, mid, volume, a, eps, tick, sh, key, minute):
    """Append to the n targets of ``side`` (best first) a target at the price of each level
    of book b that holds own orders and lies beyond the last target, with the depth
    :func:`build_levels` gives that price; returns the new count."""
    levels = books.levels
    orders = books.orders
    for i in range(books.books[b, BK_LEVELS + side] - 1, -1, -1):  # best first
        price = levels[b, side, i, LV_PRICE]
        if n > 0 and not better(side, prices[n - 1], price):
            continue
        if n >= prices.shape[0]:
            break
        s = levels[b, side, i, LV_HEAD]
        while s != NO_SLOT and orders[b, s, OR_ID] == BULK_ID:
            s = orders[b, s, OR_NEXT]
        if s == NO_SLOT:
            continue
        prices[n] = price
        qtys[n] = level_at(
            side, price, mid, volume, a, eps, tick, sh.half_spread, 0.0, sh.depth_sd,
            sh.empty_prob, key, minute,
        )  # fmt: skip
        n += 1
    return n


@njit(cache=True)
def resting_orders(books, side, n_books, first, tick, out):
    """Write the own orders resting on ``side`` of books 0..n_books-1 into ``out``
    (RESTING_DTYPE, episode = the book's index), book by book, best price first and in queue
    order; returns how many. ``tick`` is per episode; book b holds episode first + b."""
    levels = books.levels
    orders = books.orders
    count = 0
    for b in range(n_books):
        if books.books[b, BK_OWN + side] == 0:
            continue
        for i in range(books.books[b, BK_LEVELS + side] - 1, -1, -1):
            ahead = 0
            s = levels[b, side, i, LV_HEAD]
            while s != NO_SLOT:
                qty = orders[b, s, OR_QTY]
                if orders[b, s, OR_ID] != BULK_ID:
                    row = out[count]
                    row.id = orders[b, s, OR_ID]
                    row.episode = b
                    row.price = orders[b, s, OR_PRICE] * tick[first + b]
                    row.size = qty
                    row.ahead = ahead
                    count += 1
                ahead += qty
                s = orders[b, s, OR_NEXT]
    return count


# An outcome of the passive minute besides OK and the engine's status codes.
POST_MATCHED = -1  # a posted order matched on entry: a bug, since it is priced off the book


@njit(cache=True, inline="always")
def _post(e, b, mid, a, eps, depth, ep, sh, live, pb, posts, minute, nf):
    """Place episode e's new limit orders in book b, just refilled around ``mid`` (ticks).

    Each size is trimmed to ``posts.free[b]``; a sell is priced ``distance`` above the mid,
    never at or below the best bid (a buy below it, never at or above the best ask). An order
    queues behind the depth the shape puts at its price: where the book holds no level there
    yet (beyond the reach of this minute's flow), the level is opened with that depth first.
    Returns OK or the refusal. ``pb.fills`` rows from ``nf`` are free.
    """
    state = pb.books
    direction = sh.direction
    side = ASK if direction == SELL else BID
    for j in range(posts.start[b], posts.start[b + 1]):
        size = min(posts.size[j], posts.free[b])
        if size <= 0:
            continue
        offset = posts.distance[j] if posts.in_ticks else posts.distance[j] * mid
        if direction == SELL:
            price = np.int64(math.ceil(mid + offset - 1e-9))
            n_bid = state.books[b, BK_LEVELS + BID]
            if n_bid:
                price = max(price, state.levels[b, BID, n_bid - 1, LV_PRICE] + 1)
        else:
            price = np.int64(math.floor(mid - offset + 1e-9))
            n_ask = state.books[b, BK_LEVELS + ASK]
            if n_ask:
                price = min(price, state.levels[b, ASK, n_ask - 1, LV_PRICE] - 1)
            if price < 1:
                continue
        target = level_at(
            side, price, mid * ep.tick[e], depth, a, eps, ep.tick[e], sh.half_spread, 0.0,
            sh.depth_sd, sh.empty_prob, ep.keys[e], minute,
        )  # fmt: skip
        code = open_with_depth(state, b, side, price, target)
        if code != OK:
            return code
        order_id = e * ID_STRIDE + posts.sequence[e]
        posts.sequence[e] += 1
        matched = submit_limit(state, b, direction, price, size, order_id, pb.fills, nf)[1] - nf
        if state.books[b, BK_STATUS] != OK:
            return state.books[b, BK_STATUS]
        if matched:
            return POST_MATCHED
        posts.free[b] -= size
        live.acc[e, POSTED] += size
    return OK
