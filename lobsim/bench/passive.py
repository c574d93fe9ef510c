"""``lobsim bench passive``: the passive minute, where background market orders built from
each bar trade through books in which our limit orders wait (:mod:`lobsim.simulation.passive`).

Three measurements on the paper's universe (100 stocks x 45 days of 390 minutes, synthetic;
``--quick``: 20 x 3), each checked before it is reported:

- universe: the simulator's passive kernels driven like a passive slicer. Every 5 minutes each
  stock's resting sell order is cancelled and a new slice is posted at the touch; every minute,
  each book with an order resting runs its passive minute (the mid moves, the book refills,
  the minute's background orders trade, own fills are accounted). Background orders per second
  of the thread's CPU time; the background shares traded must equal the bars' volume.
- stream: the same kind of day for a few stocks, recorded as a stream (targets, background
  orders, posts and cancels) and replayed on fresh engine books in one kernel call and on the
  pure-Python reference book (:func:`~lobsim.simulation.passive.reference_minute`); own fills
  and background shares must be identical. Background orders per second for each, and the
  ratio.
- simulate: ``simulate()`` of the ``passive`` slicer and of TWAP on the universe, wall-clock,
  and their ratio: what the passive minute adds to a whole run.

The engine does less work than the reference for the same result: a background order that
cannot reach an own order leaves the book as it found it (each level it takes refills to its
shape), so it only counts its shares; the reference walks and refills every level.
Compile time (or the cache load, on later runs) is reported on its own and timed nowhere else.
"""

from __future__ import annotations

import importlib
import time

import numpy as np
from numba import njit

from lobsim.books.flow import day_sigma
from lobsim.engine import ASK, BID, FILL_DTYPE, SELL, BookBatch, ReferenceBook
from lobsim.engine.kernels import cancel, submit_limit
from lobsim.engine.records import BK_LEVELS, BK_OWN, BULK_ID, LV_PRICE
from lobsim.simulation.kernels import (
    ID_STRIDE,
    OK,
    PASSIVE_LEVELS,
    PASSIVE_ORDERS,
    Posts,
    minute_inputs,
    no_posts,
    passive_books,
    passive_chunk,
)
from lobsim.simulation.passive import passive_minute, reference_minute

DESCRIPTION = "passive minute: background orders/s on the paper universe, and vs the reference"

INTERVAL = 5  # minutes between the slicer's decisions
STEP_MINUTE, STEP_CANCEL, STEP_POST = 0, 1, 2


def run(quick: bool = False) -> dict:
    from lobsim import BookModel, Schedule, simulate, synthesize_market
    from lobsim.strategies.passive import PassiveSlicer
    from lobsim.strategies.twap import TWAP

    stocks, days, sample = (20, 3, 2) if quick else (100, 45, 6)
    panel = synthesize_market(stocks, days, seed=2024)
    schedule = Schedule()
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = BookModel().calibrated(panel.volume, parent, schedule.decision_times)
    sim = importlib.import_module("lobsim.simulation.simulate")

    def new_run():
        return sim._prepare(panel, book, parent, SELL, schedule, None, 0.0, 1)

    start = time.perf_counter()
    _universe(new_run(), 1)  # compiles, or loads the cache
    first_call = time.perf_counter() - start
    universe_s, events, shares, volume = _universe(new_run(), days)
    if shares != volume:
        raise RuntimeError(
            f"the background orders traded {shares:,} shares where the bars hold {volume:,}"
        )

    stream = record_stream(new_run(), sample)
    engine_s, reference_s, own_fills = compare_on_stream(stream, sample)
    stream_events = int(stream["n_flow"].sum())

    slicer = PassiveSlicer(schedule="twap")
    slicer.done_ = np.tile(np.arange(1, schedule.n_decisions + 1) / schedule.n_decisions,
                           (stocks, 1))  # fmt: skip

    def timed(strategy):
        start = time.perf_counter()
        result = simulate(panel, strategy, book=book, parent=parent, schedule=schedule, seed=1)
        return time.perf_counter() - start, result

    simulate_passive_s, result = timed(slicer)
    simulate_twap_s, _ = timed(TWAP())
    return {
        "stocks": stocks,
        "days": days,
        "first_call_seconds": first_call,
        "universe_background_orders": events,
        "universe_seconds": universe_s,
        "universe_orders_per_second": events / universe_s,
        "universe_target_5e6_met": events / universe_s >= 5e6,
        "stream_books": sample,
        "stream_background_orders": stream_events,
        "stream_own_fills": own_fills,
        "stream_engine_orders_per_second": stream_events / engine_s,
        "stream_reference_orders_per_second": stream_events / reference_s,
        "stream_speedup": reference_s / engine_s,
        "simulate_passive_seconds": simulate_passive_s,
        "simulate_twap_seconds": simulate_twap_s,
        "simulate_ratio": simulate_passive_s / simulate_twap_s,
        "simulate_background_orders": result.background_orders,
    }


def _universe(run, days: int) -> tuple[float, int, int, int]:
    """Drive the day's passive books like a slicer for ``days`` days: (CPU seconds, background
    orders, their shares, the volume of the bars they came from)."""
    n = run.n_stocks
    batch, pb = passive_books(n, len(run.initial), run.book.background_orders)
    sigma = day_sigma(run.ep.price)  # (D, N)
    slices = np.maximum(run.parent // (run.schedule.minutes // INTERVAL), 1)
    cost = np.zeros(len(run.initial))
    sequence = np.zeros(len(run.initial), dtype=np.int64)
    totals = np.zeros(3, dtype=np.int64)
    nothing = no_posts(n, sequence)
    each = Posts(np.arange(n + 1), slices, np.zeros(n), True, np.zeros(n, np.int64), sequence)
    seconds = 0.0
    for d in range(days):
        batch.reset()
        day = run.day(d)
        pb = pb._replace(first=day.start)
        pb.sigma[day] = sigma[d]
        start = time.thread_time()
        code = _drive_day(run.ep, run.sh, run.live, pb, run.mult, slices, cost, nothing, each,
                          totals)  # fmt: skip
        seconds += time.thread_time() - start
        if code != OK:
            raise RuntimeError(f"the passive books refused an order (status {code})")
    return seconds, int(totals[0]), int(totals[1]), int(totals[2])


@njit(cache=True)
def _drive_day(ep, sh, live, pb, mult, slices, cost, nothing, each, totals):
    """One day: every INTERVAL minutes ``each`` book posts its slice (its previous order
    cancelled), otherwise ``nothing``."""
    n = slices.shape[0]
    minutes = ep.price.shape[1]
    none = np.zeros(0, dtype=FILL_DTYPE)
    count = np.zeros(1, dtype=np.int64)
    sequence = each.sequence
    state = pb.books
    for t in range(2, minutes + 1):
        posts = nothing
        if t % INTERVAL == 0:
            posts = each
            for b in range(n):
                e = pb.first + b
                if sequence[e] > 0:
                    cancel(state, b, e * ID_STRIDE + sequence[e] - 1)
                posts.free[b] = slices[b]
        for b in range(n):  # the books that run this minute (as passive_chunk decides)
            if state.books[b, BK_OWN + ASK] or posts.start[b + 1] > posts.start[b]:
                e = pb.first + b
                totals[2] += np.int64(np.floor(ep.volume[ep.day[e], t - 1, ep.stock[e]] + 0.5))
        orders, shares, code = passive_chunk(pb.first, pb.first + n, t, mult[t - 1], ep, sh,
                                             live, pb, posts, cost, none, count)  # fmt: skip
        if code != OK:
            return code
        totals[0] += orders
        totals[1] += shares
    return OK


def record_stream(run, sample: int) -> dict:
    """Day 0 of the first ``sample`` stocks as a stream of steps, recorded while the engine
    runs it: passive minutes (the impacted mid in ticks, both sides' targets, the background
    orders) and, every INTERVAL minutes, a cancel and a post at the touch."""
    batch, pb = passive_books(run.n_stocks, len(run.initial), run.book.background_orders)
    pb.sigma[: run.n_stocks] = day_sigma(run.ep.price[:1])[0]
    state = batch.state
    slices = np.maximum(run.parent // (run.schedule.minutes // INTERVAL), 1)
    fills = np.zeros(pb.fills.shape[0], dtype=FILL_DTYPE)
    fields = ("kind", "book", "mid", "price", "qty", "order_id", "n_bid", "n_ask", "n_flow")
    steps = {k: [] for k in fields}
    flat = {k: [] for k in ("bid_p", "bid_q", "ask_p", "ask_q", "flow_d", "flow_s")}

    def step(kind, b, mid=0.0, price=0, qty=0, order_id=0, n_bid=0, n_ask=0, n_flow=0):
        values = (kind, b, mid, price, qty, order_id, n_bid, n_ask, n_flow)
        for key, value in zip(fields, values, strict=True):
            steps[key].append(value)

    for t in range(2, run.schedule.minutes + 1):
        for b in range(sample):
            if state.books[b, BK_OWN + ASK]:
                _, s_imp, n_bid, n_ask, n, _, _, _ = minute_inputs(
                    b, t, run.mult[t - 1], run.ep, run.sh, run.live, pb
                )
                mid = s_imp / run.ep.tick[b]
                for key, values in zip(
                    flat,
                    (pb.bid_prices[:n_bid], pb.bid_qtys[:n_bid], pb.ask_prices[:n_ask],
                     pb.ask_qtys[:n_ask], pb.directions[:n], pb.sizes[:n]),
                    strict=True,
                ):  # fmt: skip
                    flat[key].append(values.copy())
                step(STEP_MINUTE, b, mid, n_bid=n_bid, n_ask=n_ask, n_flow=n)
                passive_minute(
                    state, b, mid, pb.bid_prices, pb.bid_qtys, n_bid, pb.ask_prices,
                    pb.ask_qtys, n_ask, pb.directions, pb.sizes, n, fills, 0,
                )  # fmt: skip
            if t % INTERVAL == 0:
                order_id = b * ID_STRIDE + t
                if t > INTERVAL:
                    step(STEP_CANCEL, b, order_id=order_id - INTERVAL)
                    cancel(state, b, order_id - INTERVAL)
                m = state.books[b, BK_LEVELS + ASK]
                n_bid = state.books[b, BK_LEVELS + BID]
                touch = int(np.ceil(run.ep.price[0, t - 1, b] / run.ep.tick[b]))
                if m:
                    touch = int(state.levels[b, ASK, m - 1, LV_PRICE])
                if n_bid:
                    touch = max(touch, int(state.levels[b, BID, n_bid - 1, LV_PRICE]) + 1)
                step(STEP_POST, b, price=touch, qty=int(slices[b]), order_id=order_id)
                submit_limit(state, b, SELL, touch, int(slices[b]), order_id, fills, 0)
    out = {k: np.asarray(v) for k, v in steps.items()}
    for key, chunks in flat.items():
        out[key] = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    return out


def compare_on_stream(stream: dict, sample: int) -> tuple[float, float, int]:
    """Replay ``stream`` on the engine and on the reference: (engine CPU seconds, reference CPU
    seconds, own fills); RuntimeError if their own fills or background shares differ."""
    engine_s, engine_fills, engine_shares = _replay_engine(stream, sample)
    reference_s, reference_fills, reference_shares = _replay_reference(stream, sample)
    if engine_fills != reference_fills or engine_shares != reference_shares:
        raise RuntimeError(
            "the engine's passive minutes differ from the reference's: "
            f"{len(engine_fills)} own fills and {engine_shares:,} background shares against "
            f"{len(reference_fills)} and {reference_shares:,}"
        )
    return engine_s, reference_s, len(engine_fills)


def _replay_engine(stream: dict, sample: int) -> tuple[float, list, int]:
    """The stream on fresh engine books, in one kernel call: (CPU seconds, own fills, shares)."""

    def once():
        batch = BookBatch(sample, max_levels=PASSIVE_LEVELS, max_orders=PASSIVE_ORDERS)
        fills = np.zeros(len(stream["flow_s"]) + len(stream["kind"]) + 16, FILL_DTYPE)
        start = time.thread_time()
        nf, shares = _replay(batch.state, stream, fills)
        return time.thread_time() - start, fills[:nf].tolist(), shares

    once()  # compiles, or loads the cache
    return once()


def _replay(state, stream, fills):
    return _replay_kernel(
        state, stream["kind"], stream["book"], stream["mid"], stream["price"], stream["qty"],
        stream["order_id"], stream["n_bid"], stream["n_ask"], stream["n_flow"], stream["bid_p"],
        stream["bid_q"], stream["ask_p"], stream["ask_q"], stream["flow_d"], stream["flow_s"],
        fills,
    )  # fmt: skip


@njit(cache=True)
def _replay_kernel(state, kind, book, mid, price, qty, order_id, n_bid, n_ask, n_flow, bid_p,
                   bid_q, ask_p, ask_q, flow_d, flow_s, fills):  # fmt: skip
    scratch = np.zeros(8, dtype=FILL_DTYPE)
    nf = 0
    shares = 0
    ob = oa = of = 0
    for j in range(kind.shape[0]):
        b = book[j]
        if kind[j] == STEP_MINUTE:
            nf, traded = passive_minute(
                state, b, mid[j], bid_p[ob:], bid_q[ob:], n_bid[j], ask_p[oa:], ask_q[oa:],
                n_ask[j], flow_d[of:], flow_s[of:], n_flow[j], fills, nf,
            )  # fmt: skip
            shares += traded
            ob += n_bid[j]
            oa += n_ask[j]
            of += n_flow[j]
        elif kind[j] == STEP_CANCEL:
            cancel(state, b, order_id[j])
        else:
            submit_limit(state, b, SELL, price[j], qty[j], order_id[j], scratch, 0)
    return nf, shares


def _replay_reference(stream: dict, sample: int) -> tuple[float, list, int]:
    """The stream on reference books: (CPU seconds, own fills, background shares)."""
    books = [ReferenceBook() for _ in range(sample)]
    kind, book, mid = stream["kind"].tolist(), stream["book"].tolist(), stream["mid"].tolist()
    price, qty, order_id = (stream[k].tolist() for k in ("price", "qty", "order_id"))
    counts = (stream["n_bid"].tolist(), stream["n_ask"].tolist(), stream["n_flow"].tolist())
    fills, shares = [], 0
    ob = oa = of = 0
    start = time.thread_time()
    for j, step in enumerate(kind):
        ref = books[book[j]]
        if step == STEP_MINUTE:
            nb, na, nfl = counts[0][j], counts[1][j], counts[2][j]
            bids = (stream["bid_p"][ob : ob + nb], stream["bid_q"][ob : ob + nb])
            asks = (stream["ask_p"][oa : oa + na], stream["ask_q"][oa : oa + na])
            flow = (stream["flow_d"][of : of + nfl], stream["flow_s"][of : of + nfl])
            minute_fills, traded = reference_minute(ref, mid[j], bids, asks, flow)
            fills += [f for f in minute_fills if f[1] != BULK_ID]
            shares += traded
            ob, oa, of = ob + nb, oa + na, of + nfl
        elif step == STEP_CANCEL:
            ref._cancel(order_id[j])
        else:
            ref._limit(SELL, price[j], qty[j], order_id[j])
    return time.thread_time() - start, fills, shares
