"""The passive minute (engine layer of issue 13): the Numba kernel against the pure-Python
reference on the reference book, and the flow's conservation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lobsim.books.flow import background_flow
from lobsim.engine import ASK, BID, BUY, FILL_DTYPE, SELL, BookBatch, ReferenceBook, submit_limit
from lobsim.engine.records import BK_STATUS, BULK_ID, OK
from lobsim.simulation.passive import BACKGROUND, MID_THROUGH, passive_minute, reference_minute
from tests.conftest import slow_examples


def _shape(side, mid, rng, levels=12):
    """A random decreasing-then-growing depth profile around ``mid`` (ticks), best first."""
    if side == BID:
        best = int(np.floor(mid)) - int(rng.integers(0, 2))
        ticks = best - np.arange(levels)
    else:
        best = int(np.ceil(mid)) + int(rng.integers(0, 2))
        ticks = best + np.arange(levels)
    # Empty levels too (a shape's first levels round to nothing when the tick is coarse).
    qtys = rng.integers(0, 60, levels) * (1 + np.arange(levels) // 3)
    return ticks.astype(np.int64), qtys.astype(np.int64)


def _queues(batch, b):
    """(side, price, [(id, qty)...]) of every level, best first, read from the engine."""
    from lobsim.engine.records import BK_LEVELS, LV_HEAD, LV_PRICE, NO_SLOT, OR_ID, OR_NEXT, OR_QTY

    s = batch.state
    out = []
    for side in (BID, ASK):
        for i in range(s.books[b, BK_LEVELS + side] - 1, -1, -1):
            slot, queue = s.levels[b, side, i, LV_HEAD], []
            while slot != NO_SLOT:
                queue.append((int(s.orders[b, slot, OR_ID]), int(s.orders[b, slot, OR_QTY])))
                slot = s.orders[b, slot, OR_NEXT]
            out.append((side, int(s.levels[b, side, i, LV_PRICE]), queue))
    return out


def _reference_queues(book):
    out = []
    for side in (BID, ASK):
        prices = list(book._levels[side].keys())
        for p in prices[::-1] if side == BID else prices:
            out.append((side, p, [(o.order_id, o.qty) for o in book._levels[side][p]]))
    return out


def _run(seed, minutes=6):
    rng = np.random.default_rng(seed)
    batch = BookBatch(1, max_levels=64, max_orders=512)
    ref = ReferenceBook()
    fills = np.zeros(4096, dtype=FILL_DTYPE)
    directions = np.zeros(64, np.int64)
    sizes = np.zeros(64, np.int64)
    arrivals = np.zeros(64)
    mid, next_id = 1000.0, 1
    for minute in range(minutes):
        # Our orders: a few limits at random depths on either side (they may cross: both
        # books then match them the same way).
        for _ in range(int(rng.integers(0, 4))):
            direction = BUY if rng.random() < 0.5 else SELL
            price = round(mid) + int(rng.integers(-4, 5))
            qty = int(rng.integers(1, 80))
            engine_fills = np.zeros(256, FILL_DTYPE)
            _, nf = submit_limit(batch.state, 0, direction, price, qty, next_id, engine_fills, 0)
            reference_fills = ref._limit(direction, price, qty, next_id)
            assert engine_fills[:nf].tolist() == reference_fills.tolist()
            next_id += 1
        mid += float(rng.normal(0.0, 1.5))
        bids, asks = _shape(BID, mid, rng), _shape(ASK, mid, rng)
        volume = float(rng.integers(0, 600))
        n = background_flow(
            volume, float(rng.normal()), 1.0, 8.0, seed, minute, directions, sizes, arrivals
        )

        nf, traded = passive_minute(batch.state, 0, mid, *bids, len(bids[0]), *asks,
                                    len(asks[0]), directions, sizes, n, fills, 0)  # fmt: skip
        expected, ref_traded = reference_minute(ref, mid, bids, asks, (directions[:n], sizes[:n]))

        assert fills[:nf].tolist() == [f for f in expected if f[1] != BULK_ID]  # own fills
        assert _queues(batch, 0) == _reference_queues(ref)
        assert traded == ref_traded == sizes[:n].sum() == round(volume)  # conservation
        assert batch.state.books[0, BK_STATUS] == OK


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.integers(0, 2**32 - 1))
def test_the_passive_minute_matches_the_reference(seed):
    _run(seed)


@pytest.mark.slow
@settings(
    max_examples=slow_examples(10_000, ci=3_000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.integers(0, 2**32 - 1))
def test_the_passive_minute_matches_the_reference_slow(seed):
    _run(seed, minutes=12)


def test_an_own_order_the_mid_moves_through_fills_at_its_limit():
    batch = BookBatch(1, max_levels=16, max_orders=64)
    fills = np.zeros(64, FILL_DTYPE)
    asks = (np.array([101, 102], np.int64), np.array([50, 50], np.int64))
    bids = (np.array([99, 98], np.int64), np.array([50, 50], np.int64))
    none = np.zeros(0, np.int64)
    passive_minute(batch.state, 0, 100.0, *bids, 2, *asks, 2, none, none, 0, fills, 0)
    submit_limit(batch.state, 0, SELL, 102, 30, 7, fills, 0)

    up_bids = (np.array([102, 101], np.int64), np.array([50, 50], np.int64))
    up_asks = (np.array([104, 105], np.int64), np.array([50, 50], np.int64))
    nf, _ = passive_minute(batch.state, 0, 103.0, *up_bids, 2, *up_asks, 2, none, none, 0,
                           fills, 0)  # fmt: skip

    assert fills[:nf].tolist() == [(MID_THROUGH, 7, 102, 30, BUY)]


def test_background_orders_reach_an_own_order_only_after_the_depth_ahead_of_it():
    batch = BookBatch(1, max_levels=16, max_orders=64)
    fills = np.zeros(64, FILL_DTYPE)
    asks = (np.array([101, 102], np.int64), np.array([40, 100], np.int64))
    bids = (np.array([99], np.int64), np.array([50], np.int64))
    none = np.zeros(0, np.int64)
    passive_minute(batch.state, 0, 100.0, *bids, 1, *asks, 2, none, none, 0, fills, 0)
    submit_limit(batch.state, 0, SELL, 101, 30, 7, fills, 0)  # behind the 40 at 101

    buys = np.array([BUY, BUY], np.int64)
    nf, traded = passive_minute(batch.state, 0, 100.0, *bids, 1, *asks, 2, buys,
                                np.array([25, 30], np.int64), 2, fills, 0)  # fmt: skip

    # The first buy eats 25 of the 40 ahead; the refill puts 25 back BEHIND our order; the
    # second buy takes the 15 still ahead, then 15 of ours, and the 15 taken ahead rejoin.
    assert fills[:nf].tolist() == [(BACKGROUND, 7, 101, 15, BUY)]
    assert traded == 55
    assert _queues(batch, 0)[1:] == [(ASK, 101, [(7, 15), (BULK_ID, 40)]),
                                     (ASK, 102, [(BULK_ID, 100)])]  # fmt: skip
