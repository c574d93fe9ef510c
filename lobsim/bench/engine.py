"""``lobsim bench engine``: throughput of the Numba matching engine against the reference book.

Two workloads, each run on both books in the same process and checked before it is timed:

- mixed: a random stream of limit, cancel and market orders around a fixed mid; prices
  collide, the book holds about 30 levels and 550 orders a side. The Numba book replays it
  with the ``apply_stream`` kernel, the reference with ``ReferenceBook.replay``; fills,
  per-event results and final books must be identical. The same events through the two Python
  facades (one call per event) are timed too.
- walk: what the simulator does per child order: bulk-load LOADED_LEVELS levels of bids into a
  book and send a market sell that walks exactly WALK_LEVELS of them. The Numba loop cycles over
  1,024 books on one core; every order must fill exactly its levels, and the reference must
  produce the same fills. A parallel variant spreads the books over Numba's threads.

Single-threaded figures are timed with the thread's CPU clock (``time.thread_time``), so other
work on a shared machine does not count against them; the parallel figure is wall-clock. Each
Numba figure is the best of several repeats.
"""

from __future__ import annotations

import heapq
import time

import numba
import numpy as np
from numba import njit, prange

from lobsim.engine import (
    ASK,
    BID,
    BUY,
    EV_CANCEL,
    EV_LIMIT,
    EV_MARKET,
    FILL_DTYPE,
    OK,
    SELL,
    BookBatch,
    OrderBook,
    ReferenceBook,
    apply_stream,
    book_status,
    load_side,
    submit_market,
)
from lobsim.errors import InputError

DESCRIPTION = "matching engine: mixed limit/cancel/market streams and 30-level walks"

WALK_LEVELS = 30
LOADED_LEVELS = 32
WALK_BOOKS = 1024
MID = 10_000
TICK = 0.01
STREAM_FIELDS = ("kinds", "directions", "prices", "qtys", "order_ids")


def random_stream(rng: np.random.Generator, n_events: int, mid: int = MID) -> dict:
    """A stream of limit (45%), market (10%) and cancel (45%) events in ticks.

    Limit prices sit a geometric number of ticks behind ``mid`` (a few marketable, none more
    than 35 away); each limit order gets an exponential lifetime (mean 3,000 events) and the
    cancel events withdraw orders in the order their lifetimes run out, if still resting.
    Limit and market orders are numbered 1, 2, 3, ... in stream order, as the facades number
    them.

    Returns
    -------
    dict of ndarray(int64, (n_events,))
        kinds, directions, prices, qtys, order_ids.
    """
    u = rng.random(n_events)
    kinds = np.where(u < 0.45, EV_LIMIT, np.where(u < 0.55, EV_MARKET, EV_CANCEL))
    directions = np.where(rng.random(n_events) < 0.5, BUY, SELL)
    offsets = np.minimum(rng.geometric(0.12, n_events) - 3, 35)
    prices = mid - directions * offsets
    qtys = np.where(
        kinds == EV_MARKET, rng.integers(1, 151, n_events), rng.integers(1, 101, n_events)
    )
    order_ids = np.zeros(n_events, np.int64)
    numbered = kinds != EV_CANCEL
    order_ids[numbered] = np.arange(1, numbered.sum() + 1)
    due = np.arange(n_events) + rng.exponential(3000, n_events).astype(np.int64)
    pending: list[tuple[int, int]] = []
    for e, kind in enumerate(kinds.tolist()):
        if kind == EV_LIMIT:
            heapq.heappush(pending, (int(due[e]), int(order_ids[e])))
        elif kind == EV_CANCEL and pending and pending[0][0] <= e:
            order_ids[e] = heapq.heappop(pending)[1]
    return {
        "kinds": kinds.astype(np.int64),
        "directions": directions.astype(np.int64),
        "prices": prices.astype(np.int64),
        "qtys": qtys.astype(np.int64),
        "order_ids": order_ids,
    }


def walk_profiles(rng: np.random.Generator, n_profiles: int) -> tuple[np.ndarray, ...]:
    """Bid depth of LOADED_LEVELS levels and the sell size that walks WALK_LEVELS of them.

    Returns
    -------
    prices, qtys : ndarray(int64, (n_profiles, LOADED_LEVELS))
        Best first, one or two ticks apart; depth grows with distance, roughly like the
        power-law book of DESIGN.md.
    walk_qtys : ndarray(int64, (n_profiles,))
    """
    steps = rng.integers(1, 3, (n_profiles, LOADED_LEVELS))
    steps[:, 0] = 0
    prices = (MID - rng.integers(1, 5, n_profiles))[:, None] - np.cumsum(steps, axis=1)
    shape = 100 * np.arange(1, LOADED_LEVELS + 1) ** 0.5
    qtys = (shape * rng.uniform(0.5, 1.5, prices.shape)).astype(np.int64) + 1
    return prices, qtys, qtys[:, :WALK_LEVELS].sum(axis=1)


@njit(cache=True)
def _walks(state, prices, qtys, walk_qtys, n_orders, fills):
    """n_orders load + walk pairs cycling over books and profiles; returns the shares filled
    and the number of orders that did not fill exactly their WALK_LEVELS levels."""
    n_books = state.books.shape[0]
    n_profiles = prices.shape[0]
    total = 0
    wrong = 0
    for k in range(n_orders):
        b = k % n_books
        p = k % n_profiles
        load_side(state, b, BID, prices[p], qtys[p], prices.shape[1])
        filled, nf = submit_market(state, b, SELL, walk_qtys[p], k, fills, 0)
        total += filled
        if filled != walk_qtys[p] or nf != WALK_LEVELS or book_status(state, b) != OK:
            wrong += 1
    return total, wrong


@njit(cache=True, parallel=True)
def _walks_parallel(state, prices, qtys, walk_qtys, rounds, fills, wrong):
    """``rounds`` load + walk pairs per book, books spread over threads."""
    n_books = state.books.shape[0]
    n_profiles = prices.shape[0]
    for b in prange(n_books):
        for r in range(rounds):
            p = (b + r) % n_profiles
            load_side(state, b, BID, prices[p], qtys[p], prices.shape[1])
            filled, nf = submit_market(state, b, SELL, walk_qtys[p], r, fills[b], 0)
            if filled != walk_qtys[p] or nf != WALK_LEVELS or book_status(state, b) != OK:
                wrong[b] += 1


def _cpu_seconds(fn) -> float:
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def _best(fn, repeats: int, clock=_cpu_seconds) -> float:
    return min(clock(fn) for _ in range(repeats))


def _wall_seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"bench engine: result check failed: {what}")


def _facade_replay(book, stream: dict) -> None:
    sides = {BUY: "buy", SELL: "sell"}
    for kind, direction, price, qty, order_id in zip(
        *(stream[k].tolist() for k in STREAM_FIELDS), strict=True
    ):
        if kind == EV_LIMIT:
            book.limit(sides[direction], price * TICK, qty)
        elif kind == EV_MARKET:
            book.market(sides[direction], qty)
        else:
            try:
                book.cancel(order_id)
            except InputError:
                pass


def _mixed(rng: np.random.Generator, n_events: int, n_facade: int, repeats: int) -> dict:
    stream = random_stream(rng, n_events)
    args = [stream[k] for k in STREAM_FIELDS]
    batch = BookBatch(1, max_levels=1024, max_orders=1 << 14)
    fills = np.zeros(4 * n_events + 1024, FILL_DTYPE)
    fill_end = np.zeros(n_events, np.int64)
    results = np.zeros(n_events, np.int64)
    outputs = (fills, fill_end, results)
    done, nf = apply_stream(batch.state, 0, *args, *outputs)
    _check(done == n_events and book_status(batch.state, 0) == OK, "Numba stream stopped early")
    ref = ReferenceBook(TICK)
    start = time.thread_time()
    ref_fills, ref_end, ref_results = ref.replay(*args)
    ref_seconds = time.thread_time() - start
    _check(fills[:nf].tolist() == ref_fills.tolist(), "mixed-stream fills differ from reference")
    _check(np.array_equal(fill_end, ref_end), "mixed-stream fill counts differ")
    _check(np.array_equal(results, ref_results), "mixed-stream results differ")
    for side in (BID, ASK):
        _check(batch.queues(0, side) == ref._queues(side), "final books differ")
    levels = [len(batch.queues(0, side)) for side in (BID, ASK)]
    resting = batch.n_resting(0)

    times = []
    for _ in range(repeats):
        batch.reset()
        times.append(_cpu_seconds(lambda: apply_stream(batch.state, 0, *args, *outputs)))
    seconds = min(times)

    head = {k: v[:n_facade] for k, v in stream.items()}
    book = OrderBook(TICK, max_levels=1024, max_orders=1 << 14)
    ref_book = ReferenceBook(TICK)
    facade_seconds = _cpu_seconds(lambda: _facade_replay(book, head))
    ref_facade_seconds = _cpu_seconds(lambda: _facade_replay(ref_book, head))
    for side in ("buy", "sell"):
        _check(book.queues(side) == ref_book.queues(side), "facade books differ")
    return {
        "mixed_events": n_events,
        "mixed_fills": int(nf),
        "mixed_final_levels_bid": levels[0],
        "mixed_final_levels_ask": levels[1],
        "mixed_final_resting_orders": resting,
        "mixed_numba_events_per_s": n_events / seconds,
        "mixed_reference_events_per_s": n_events / ref_seconds,
        "mixed_speedup": ref_seconds / seconds,
        "mixed_facade_events": n_facade,
        "mixed_numba_facade_events_per_s": n_facade / facade_seconds,
        "mixed_reference_facade_events_per_s": n_facade / ref_facade_seconds,
        "mixed_facade_speedup": ref_facade_seconds / facade_seconds,
    }


def _walk(rng: np.random.Generator, n_orders: int, n_reference: int, repeats: int) -> dict:
    prices, qtys, walk_qtys = walk_profiles(rng, 997)
    n_profiles = len(walk_qtys)
    batch = BookBatch(WALK_BOOKS, max_levels=64, max_orders=64)
    fills = np.zeros(batch.max_orders, FILL_DTYPE)
    expected = int(walk_qtys[np.arange(n_orders) % n_profiles].sum())
    total, wrong = _walks(batch.state, prices, qtys, walk_qtys, n_orders, fills)
    _check(wrong == 0 and total == expected, f"{wrong} walks did not fill their levels")
    seconds = _best(lambda: _walks(batch.state, prices, qtys, walk_qtys, n_orders, fills), repeats)

    one = BookBatch(1, max_levels=64, max_orders=64)
    check = ReferenceBook(TICK)
    for k in range(min(n_reference, 200)):
        p = k % n_profiles
        check._load(BID, prices[p], qtys[p])
        ref_fills = check._market(SELL, int(walk_qtys[p]), k)
        load_side(one.state, 0, BID, prices[p], qtys[p], prices.shape[1])
        _, nf = submit_market(one.state, 0, SELL, walk_qtys[p], k, fills, 0)
        _check(fills[:nf].tolist() == ref_fills.tolist(), "walk fills differ from reference")
    ref = ReferenceBook(TICK)

    def reference_run() -> None:
        for k in range(n_reference):
            p = k % n_profiles
            ref._load(BID, prices[p], qtys[p])
            ref._market(SELL, int(walk_qtys[p]), k)

    ref_seconds = _cpu_seconds(reference_run)

    rounds = max(1, n_orders // WALK_BOOKS)
    fills2d = batch.new_fills()
    wrong_b = np.zeros(WALK_BOOKS, np.int64)

    def parallel_run() -> None:
        _walks_parallel(batch.state, prices, qtys, walk_qtys, rounds, fills2d, wrong_b)

    parallel_run()  # compiles, and its results are checked
    _check(not wrong_b.any(), "parallel walks did not fill their levels")
    par_seconds = _best(parallel_run, repeats, clock=_wall_seconds)
    _check(not wrong_b.any(), "parallel walks did not fill their levels")
    rate = n_orders / seconds
    ref_rate = n_reference / ref_seconds
    return {
        "walk_levels": WALK_LEVELS,
        "walk_loaded_levels": LOADED_LEVELS,
        "walk_orders": n_orders,
        "walk_numba_orders_per_s": rate,
        "walk_reference_orders_per_s": ref_rate,
        "walk_speedup": rate / ref_rate,
        "walk_parallel_threads": numba.get_num_threads(),
        "walk_numba_parallel_orders_per_s": rounds * WALK_BOOKS / par_seconds,
    }


def run(quick: bool = False) -> dict:
    """Measure both workloads; raises RuntimeError if any result check fails."""
    rng = np.random.default_rng(20240611)
    if quick:
        figures = _mixed(rng, 5_000, 1_000, repeats=1) | _walk(rng, 20_000, 200, repeats=1)
    else:
        figures = _mixed(rng, 200_000, 20_000, repeats=5) | _walk(rng, 1_000_000, 5_000, 5)
    figures["walk_target_1e6_met"] = figures["walk_numba_orders_per_s"] >= 1e6
    figures["mixed_target_50x_met"] = figures["mixed_speedup"] >= 50
    return figures
