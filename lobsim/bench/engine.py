"""``lobsim bench engine``: throughput of the Numba matching engine against a pure-Python book.

Two workloads, each run on the Numba engine and on :class:`LeanBook` (a plain-Python
price-time book: dicts, deques and sorted price lists, fills as tuples, no NumPy per event)
in the same process, and checked equal before anything is timed:

- mixed: a random stream of limit, cancel and market orders around a fixed mid; prices
  collide, the book holds about 30 levels and 550 orders a side. The Numba book replays it
  with the ``apply_stream`` kernel, the lean book event by event; fills, per-event results and
  final books must be identical, and identical to :meth:`ReferenceBook.replay` (the engine's
  correctness reference, not timed: it returns NumPy records per event). The same events
  through the two Python facades (one call per event, NumPy fills per call by contract) are
  timed too.
- walk: what the simulator's engine walk does per child order: bulk-load LOADED_LEVELS levels
  of bids into a book and send a market sell that walks exactly WALK_LEVELS of them. The Numba
  loop cycles over 1,024 books on one core; every order must fill exactly its levels, and the
  lean book must produce the same fills. A parallel variant spreads the books over Numba's
  threads.

Every kernel runs once before it is timed: ``compile_seconds`` is what those first calls took
beyond a timed one (JIT compilation, or loading numba's cache). Single-threaded figures are
timed with the thread's CPU clock (``time.thread_time``), so other work on a shared machine
does not count against them; the parallel figure is wall-clock. Every figure, the lean book's
included, is the best of several repeats.
"""

from __future__ import annotations

import heapq
import time
from bisect import bisect_left, insort
from collections import deque

import numba
import numpy as np
from numba import njit, prange

from lobsim.engine import (
    ASK,
    BID,
    BULK_ID,
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


class LeanBook:
    """A price-time order book in plain Python, as lean as a Python book gets: the work of the
    engine's events and nothing else (no validation, no NumPy per event).

    Each side keeps a dict from price (ticks) to the FIFO queue of its orders, ``[id, qty]``
    lists, and a sorted list of its prices with the best last (bids ascending, asks by
    descending price, stored negated). Fills accumulate in ``fills`` as (taker_id, maker_id,
    price, qty, direction) tuples, the fields of ``FILL_DTYPE``.
    """

    def __init__(self) -> None:
        self.levels: tuple[dict, dict] = ({}, {})
        self.keys: tuple[list, list] = ([], [])  # per side, best price last (asks negated)
        self.where: dict[int, tuple[int, int, list]] = {}  # id -> (side, price, entry)
        self.fills: list[tuple[int, int, int, int, int]] = []

    def match(self, direction: int, limit: int | None, qty: int, taker_id: int) -> int:
        """Take up to ``qty`` shares from the opposite side (no worse than ``limit``)."""
        side = ASK if direction == BUY else BID
        levels, keys, sign = self.levels[side], self.keys[side], 1 if side == BID else -1
        fills, where = self.fills, self.where
        left = qty
        while left and keys:
            price = sign * keys[-1]
            if limit is not None and (price > limit if direction == BUY else price < limit):
                break
            queue = levels[price]
            while left and queue:
                maker = queue[0]
                take = min(left, maker[1])
                fills.append((taker_id, maker[0], price, take, direction))
                left -= take
                if take == maker[1]:
                    queue.popleft()
                    if maker[0] != BULK_ID:
                        del where[maker[0]]
                else:
                    maker[1] -= take
            if not queue:
                del levels[price]
                keys.pop()
        return qty - left

    def _rest(self, side: int, price: int, entry: list) -> None:
        queue = self.levels[side].get(price)
        if queue is None:
            queue = self.levels[side][price] = deque()
            insort(self.keys[side], price if side == BID else -price)
        queue.append(entry)

    def limit(self, direction: int, price: int, qty: int, order_id: int) -> int:
        filled = self.match(direction, price, qty, order_id)
        if filled < qty:
            side = BID if direction == BUY else ASK
            entry = [order_id, qty - filled]
            self._rest(side, price, entry)
            self.where[order_id] = (side, price, entry)
        return filled

    def cancel(self, order_id: int) -> int:
        found = self.where.pop(order_id, None)
        if found is None:
            return 0
        side, price, entry = found
        queue = self.levels[side][price]
        for i, other in enumerate(queue):
            if other is entry:
                del queue[i]
                break
        if not queue:
            del self.levels[side][price]
            keys = self.keys[side]
            del keys[bisect_left(keys, price if side == BID else -price)]
        return 1

    def load(self, side: int, prices: list[int], qtys: list[int]) -> None:
        """Replace the side's bulk depth: withdraw it, then queue the new depth at the back."""
        levels = self.levels[side]
        for price in list(levels):
            queue = levels[price]
            kept = deque(entry for entry in queue if entry[0] != BULK_ID)
            if kept:
                levels[price] = kept
            else:
                del levels[price]
                keys = self.keys[side]
                del keys[bisect_left(keys, price if side == BID else -price)]
        for price, qty in zip(prices, qtys, strict=True):
            if qty > 0:
                self._rest(side, price, [BULK_ID, qty])

    def replay(self, stream: dict) -> tuple[list, list[int], list[int]]:
        """The events of ``stream`` (see :func:`random_stream`), as ``apply_stream`` runs
        them: (fills, fill count after each event, each event's result)."""
        ends, results = [], []
        fills = self.fills
        for kind, direction, price, qty, order_id in zip(
            *(stream[k].tolist() for k in STREAM_FIELDS), strict=True
        ):
            if kind == EV_LIMIT:
                results.append(self.limit(direction, price, qty, order_id))
            elif kind == EV_MARKET:
                results.append(self.match(direction, None, qty, order_id))
            else:
                results.append(self.cancel(order_id))
            ends.append(len(fills))
        return fills, ends, results

    def queues(self, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """Every level of ``side``, best first, as :meth:`BookBatch.queues` lists them."""
        sign = 1 if side == BID else -1
        return [
            (sign * key, [(entry[0], entry[1]) for entry in self.levels[side][sign * key]])
            for key in reversed(self.keys[side])
        ]


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


def _first_call(fn) -> float:
    """Wall seconds of a kernel's first call (compilation or a cache load, and one run)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _mixed(rng: np.random.Generator, n_events: int, n_facade: int, repeats: int) -> dict:
    stream = random_stream(rng, n_events)
    args = [stream[k] for k in STREAM_FIELDS]
    batch = BookBatch(1, max_levels=1024, max_orders=1 << 14)
    fills = np.zeros(4 * n_events + 1024, FILL_DTYPE)
    fill_end = np.zeros(n_events, np.int64)
    results = np.zeros(n_events, np.int64)
    outputs = (fills, fill_end, results)
    counts = []

    def numba_run() -> None:
        batch.reset()
        counts.append(apply_stream(batch.state, 0, *args, *outputs))

    first = _first_call(numba_run)
    done, nf = counts[-1]
    _check(done == n_events and book_status(batch.state, 0) == OK, "Numba stream stopped early")
    ref_fills, ref_end, ref_results = ReferenceBook(TICK).replay(*args)
    _check(fills[:nf].tolist() == ref_fills.tolist(), "mixed-stream fills differ from reference")
    _check(np.array_equal(fill_end, ref_end), "mixed-stream fill counts differ")
    _check(np.array_equal(results, ref_results), "mixed-stream results differ")
    lean = LeanBook()
    lean_fills, lean_end, lean_results = lean.replay(stream)
    _check(fills[:nf].tolist() == lean_fills, "mixed-stream fills differ from the lean book")
    _check(fill_end.tolist() == lean_end, "mixed-stream fill counts differ (lean book)")
    _check(results.tolist() == lean_results, "mixed-stream results differ (lean book)")
    for side in (BID, ASK):
        _check(batch.queues(0, side) == lean.queues(side), "final books differ (lean book)")
    levels = [len(batch.queues(0, side)) for side in (BID, ASK)]
    resting = batch.n_resting(0)

    seconds = _best(numba_run, repeats)
    _check(counts[-1] == (done, nf), "Numba stream differs between runs")
    lean_seconds = _best(lambda: LeanBook().replay(stream), repeats)

    head = {k: v[:n_facade] for k, v in stream.items()}
    books = []

    def facade_run(make) -> None:
        books.append(make())
        _facade_replay(books[-1], head)

    def numba_facade() -> OrderBook:
        return OrderBook(TICK, max_levels=1024, max_orders=1 << 14)

    def reference_facade() -> ReferenceBook:
        return ReferenceBook(TICK)

    first += _first_call(lambda: facade_run(numba_facade))  # compiles the facade's kernels
    facade_seconds = _best(lambda: facade_run(numba_facade), repeats)
    book = books[-1]
    ref_facade_seconds = _best(lambda: facade_run(reference_facade), repeats)
    for side in ("buy", "sell"):
        _check(book.queues(side) == books[-1].queues(side), "facade books differ")
    return {
        "mixed_compile_seconds": max(first - seconds - facade_seconds, 0.0),
        "mixed_events": n_events,
        "mixed_fills": int(nf),
        "mixed_final_levels_bid": levels[0],
        "mixed_final_levels_ask": levels[1],
        "mixed_final_resting_orders": resting,
        "mixed_numba_events_per_s": n_events / seconds,
        "mixed_reference_events_per_s": n_events / lean_seconds,
        "mixed_speedup": lean_seconds / seconds,
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
    totals = []

    def numba_run() -> None:
        totals.append(_walks(batch.state, prices, qtys, walk_qtys, n_orders, fills))

    first = _first_call(numba_run)
    total, wrong = totals[-1]
    _check(wrong == 0 and total == expected, f"{wrong} walks did not fill their levels")

    # The lean book's events: the same loads and market orders, on plain lists.
    profiles = [(p.tolist(), q.tolist()) for p, q in zip(prices, qtys, strict=True)]
    sizes = walk_qtys.tolist()

    def reference_run(lean: LeanBook) -> None:
        for k in range(n_reference):
            p = k % n_profiles
            lean.load(BID, *profiles[p])
            lean.match(SELL, None, sizes[p], k)

    checked = LeanBook()
    reference_run(checked)
    one = BookBatch(1, max_levels=64, max_orders=64)
    engine_fills = []
    for k in range(n_reference):
        p = k % n_profiles
        load_side(one.state, 0, BID, prices[p], qtys[p], prices.shape[1])
        _, nf = submit_market(one.state, 0, SELL, walk_qtys[p], k, fills, 0)
        engine_fills.extend(fills[:nf].tolist())
    _check(engine_fills == checked.fills, "walk fills differ from the lean book")
    ref_total = sum(f[3] for f in checked.fills)
    _check(ref_total == int(walk_qtys[np.arange(n_reference) % n_profiles].sum()), "lean walks")

    seconds = _best(numba_run, repeats)
    _check(totals[-1] == (expected, 0), "Numba walks differ between runs")
    ref_seconds = _best(lambda: reference_run(LeanBook()), repeats)

    rounds = max(1, n_orders // WALK_BOOKS)
    fills2d = batch.new_fills()
    wrong_b = np.zeros(WALK_BOOKS, np.int64)

    def parallel_run() -> None:
        _walks_parallel(batch.state, prices, qtys, walk_qtys, rounds, fills2d, wrong_b)

    parallel_first = _first_call(parallel_run)
    _check(not wrong_b.any(), "parallel walks did not fill their levels")
    par_seconds = _best(parallel_run, repeats, clock=_wall_seconds)
    _check(not wrong_b.any(), "parallel walks did not fill their levels")
    rate = n_orders / seconds
    ref_rate = n_reference / ref_seconds
    return {
        "walk_compile_seconds": max(first - seconds, 0.0) + max(parallel_first - par_seconds, 0.0),
        "walk_levels": WALK_LEVELS,
        "walk_loaded_levels": LOADED_LEVELS,
        "walk_orders": n_orders,
        "walk_numba_orders_per_s": rate,
        "walk_reference_orders": n_reference,
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
        figures = _mixed(rng, 200_000, 20_000, repeats=3) | _walk(rng, 1_000_000, 20_000, 3)
    compile_s = figures.pop("mixed_compile_seconds") + figures.pop("walk_compile_seconds")
    figures = {"compile_seconds": compile_s} | figures
    figures["walk_target_1e6_met"] = figures["walk_numba_orders_per_s"] >= 1e6
    figures["mixed_target_50x_met"] = figures["mixed_speedup"] >= 50
    return figures
