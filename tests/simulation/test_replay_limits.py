"""Our limit orders in a replayed LOBSTER book: where they queue, which messages reach them,
and how the messages they change are reconciled (lobsim.simulation.replay, module docstring).

Each case is a one-level day written by hand (tests/simulation/test_replay.py's ``day``), with
one order of ours posted after a given row; A and B are the best ask and bid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lobsim.engine.records import ASK, BID, BK_LEVELS, LV_PRICE, LV_QTY
from lobsim.market.lobster import synthesize_lobster
from lobsim.simulation.replay import ADJUSTED, INCONSISTENT, OWN_BASE
from lobsim.simulation.replay_trade import _StockDay
from lobsim.strategy import BUY, SELL
from tests.simulation.test_replay import A, B, day

SEED = (1, 1, 100, A, -1, A, 300, B, 200)  # 300 asks at A and 200 bids at B before the file


def replayed(rows, after, price, qty, direction=SELL):
    """Replay ``rows`` with our order of ``qty`` at ``price`` posted after the first
    ``after`` rows; (the book, our fills as (taker, price, qty) tuples)."""
    side = ASK if direction == SELL else BID
    book = _StockDay(day(rows), 34_200.0, side, 0)
    book.advance(after)
    book.post(direction, price, qty)
    new = book.advance(len(rows))
    fills = book.fills.rows[new]
    return book, [(int(f["taker_id"]), int(f["price"]), int(f["qty"])) for f in fills]


def level(book, side, price):
    """Shares the engine's book holds at ``price`` on ``side`` (0 if no level)."""
    state = book.batch.state
    n = state.books[0, BK_LEVELS + side]
    for i in range(n):
        if state.levels[0, side, i, LV_PRICE] == price:
            return int(state.levels[0, side, i, LV_QTY])
    return 0


def test_an_execution_of_an_order_ahead_of_ours_does_not_reach_it():
    rows = [
        SEED,
        (1, 2, 100, A, -1, A, 400, B, 200),  # order 2 joins the back; we post behind it
        (4, 2, 100, A, -1, A, 300, B, 200),  # order 2 executes: it was ahead of us
        (4, 77, 300, A, -1, A, 0, B, 200),  # the depth from before the file, also ahead
    ]
    book, fills = replayed(rows, 2, A, 50)
    assert fills == []
    assert level(book, ASK, A) == 50  # the file's level is empty; ours rests there alone
    assert book.resting()[["size", "ahead"]].tolist() == [(50, 0)]
    assert book.counters[ADJUSTED] == 0  # nothing adjusted


def test_an_execution_behind_ours_fills_ours_first_and_the_named_order_withdraws():
    rows = [
        SEED,  # we post after it: behind the 300 from before the file
        (1, 2, 100, A, -1, A, 400, B, 200),  # order 2 queues behind us
        (4, 77, 150, A, -1, A, 250, B, 200),  # the anonymous depth ahead of us: not ours
        (4, 78, 150, A, -1, A, 100, B, 200),  # the rest of it
        (4, 2, 60, A, -1, A, 40, B, 200),  # order 2, behind us: the buyer meets us first
    ]
    book, fills = replayed(rows, 1, A, 50)
    assert fills == [(-1, A, 50)]  # at our limit, up to the execution's 60
    # Order 2 gives up the 60 the file says: the book is the file's again, ours gone.
    assert level(book, ASK, A) == 40 and book.own_live[0] == 0
    assert book.counters[ADJUSTED] == 1


def test_our_order_larger_than_the_execution_fills_by_its_size_and_keeps_its_place():
    rows = [
        SEED,
        (4, 77, 300, A, -1, A, 0, B, 200),  # the depth ahead of us goes
        (1, 3, 100, A, -1, A, 100, B, 200),  # order 3 queues behind us
        (4, 3, 80, A, -1, A, 20, B, 200),  # 80 of it execute: they meet 80 of our 500
    ]
    book, fills = replayed(rows, 1, A, 500)
    assert fills == [(-1, A, 80)]
    assert book.resting()[["size", "ahead"]].tolist() == [(420, 0)]
    assert level(book, ASK, A) == 440  # order 3's 20 and our 420


def test_our_order_inside_the_spread_is_met_by_an_execution_at_a_worse_price():
    rows = [SEED, (4, 77, 80, A, -1, A, 220, B, 200)]
    book, fills = replayed(rows, 1, A - 100, 50)
    assert fills == [(-1, A - 100, 50)]  # the buyer paid A for what we offered below it
    assert level(book, ASK, A) == 220


def test_a_hidden_execution_reaches_ours_only_with_no_displayed_depth_ahead():
    hidden = (5, 0, 30, A, -1, A, 300, B, 200)
    # Behind the 300 displayed before the file: the displayed depth comes first.
    assert replayed([SEED, hidden], 1, A, 50)[1] == []
    # At a better price than the hidden order's: ours is first.
    book, fills = replayed([SEED, hidden], 1, A - 100, 50)
    assert fills == [(-1, A - 100, 30)] and book.resting()["size"].tolist() == [20]
    # A hidden order priced better than ours trades ahead of it.
    inside = (5, 0, 30, A - 100, -1, A, 300, B, 200)
    assert replayed([SEED, inside], 1, A, 50)[1] == []


def test_a_submission_through_our_order_trades_with_it_and_rests_the_rest():
    rows = [
        SEED,
        (1, 9, 70, A - 100, 1, A, 300, A - 100, 70),  # a bid at our price: it meets us
        (4, 9, 70, A - 100, 1, A, 300, B, 200),  # a seller takes all 70 of order 9
    ]
    book, fills = replayed(rows, 1, A - 100, 50)
    assert fills == [(9, A - 100, 50)]  # the buyer, order 9, at our limit
    # 20 of order 9 rested; the execution of 70 takes them, our 50 standing for the rest
    assert level(book, BID, A - 100) == 0 and level(book, BID, B) == 200
    assert book.counters[ADJUSTED] == 2 and book.counters[INCONSISTENT] == 0


def test_a_cancel_of_the_shares_we_traded_with_is_dropped():
    rows = [
        SEED,
        (1, 9, 30, A - 100, 1, A, 300, A - 100, 30),  # all 30 meet our 50: none rests
        (3, 9, 30, A - 100, 1, A, 300, B, 200),  # its deletion: nothing left to delete
    ]
    book, fills = replayed(rows, 1, A - 100, 50)
    assert fills == [(9, A - 100, 30)]
    assert book.resting()["size"].tolist() == [20]
    assert book.counters[INCONSISTENT] == 0 and book.counters[ADJUSTED] == 2


def test_a_level_entering_the_files_depth_puts_its_shares_ahead_of_ours():
    rows = [
        SEED,
        (4, 77, 300, A, -1, A + 100, 500, B, 200),  # A empties: A + 100 enters the top level
        (4, 78, 300, A + 100, -1, A + 100, 200, B, 200),  # that depth was there before us
    ]
    book, fills = replayed(rows, 1, A + 100, 50)  # posted beyond what the file shows
    assert fills == []
    assert book.resting()[["size", "ahead"]].tolist() == [(50, 200)]
    assert level(book, ASK, A + 100) == 250


def test_a_buy_programs_bid_is_reached_like_a_sell_programs_ask():
    rows = [SEED, (4, 66, 200, B, 1, A, 300, B, 0), (1, 4, 100, B, 1, A, 300, B, 100),
            (4, 4, 40, B, 1, A, 300, B, 60)]  # fmt: skip
    book, fills = replayed(rows, 2, B, 25, direction=BUY)
    assert fills == [(-1, B, 25)]
    assert level(book, BID, B) == 60


WIDE = (1, 1, 100, A + 100, -1, A + 100, 300, B, 200)  # A - 100 and A free inside the spread


def test_shares_we_traded_with_that_come_back_into_the_files_depth_are_not_resting_twice():
    rows = [
        WIDE,
        (1, 9, 70, A - 100, 1, A + 100, 300, A - 100, 70),  # a bid through our 50: 20 rest
        (4, 9, 40, A - 100, 1, A + 100, 300, A - 100, 30),  # its 20 and 20 of what we took
        (1, 10, 100, A, 1, A + 100, 300, A, 100),  # a better bid: A - 100 leaves the depth
        (3, 10, 100, A, 1, A + 100, 300, A - 100, 30),  # it goes: order 9's 30 come back
        (3, 9, 30, A - 100, 1, A + 100, 300, B, 200),  # and go: none may stay behind
        (1, 11, 100, A - 100, -1, A - 100, 100, B, 200),  # an ask there rests, crossing none
    ]
    book, fills = replayed(rows, 1, A - 100, 50)
    assert fills == [(9, A - 100, 50)]
    # The level came back as the row shows it, order 9 forgotten with what we owed of it;
    # its deletion took that depth, and the ask of row 7 found no bid there.
    assert level(book, BID, A - 100) == 0 and level(book, ASK, A - 100) == 100
    assert book.counters[INCONSISTENT] == 0 and book.counters[ADJUSTED] == 2


def test_shares_we_traded_with_that_went_beyond_the_files_depth_are_not_looked_for():
    rows = [
        WIDE,
        (1, 9, 70, A - 100, 1, A + 100, 300, A - 100, 70),  # a bid through our 50: 20 rest
        (4, 9, 40, A - 100, 1, A + 100, 300, A - 100, 30),  # we owe the file 30 of order 9
        (1, 10, 100, A, 1, A + 100, 300, A, 100),  # a better bid: A - 100 leaves the depth
        (3, 10, 100, A, 1, A + 100, 300, A - 100, 50),  # back: 9 went, 12 came, unwritten
        (4, 12, 50, A - 100, 1, A + 100, 300, B, 200),  # order 12 executes: all the 50
    ]
    book, fills = replayed(rows, 1, A - 100, 50)
    assert fills == [(9, A - 100, 50)]
    assert level(book, BID, A - 100) == 0 and level(book, BID, B) == 200
    assert book.counters[INCONSISTENT] == 0


def test_cancelled_orders_leave_and_the_mid_leaves_ours_out():
    book = _StockDay(day([SEED, (1, 2, 100, A, -1, A, 400, B, 200)]), 34_200.0, ASK, 0)
    book.advance(1)
    order_id = book.post(SELL, A - 100, 50)
    assert order_id == OWN_BASE  # stock 0's first order
    assert book.engine_mid() == pytest.approx((A + B) / 2 / 10_000)  # ours inside the spread
    book.cancel(order_id)
    book.cancel(order_id)  # twice: nothing more happens
    assert book.own_live[0] == 0 and level(book, ASK, A - 100) == 0
    assert book.advance(2) == slice(0, 0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31), st.sampled_from([1, 5, 10]), st.sampled_from([SELL, BUY]))
@example(seed=245, levels=1, direction=SELL)  # the first test above, on a random day
@example(seed=63, levels=1, direction=SELL)  # the second (owed shares gone beyond)
def test_random_days_keep_the_book_consistent_around_our_orders(seed, levels, direction):
    """On random days with our orders posted at random times and prices near the touch:
    fills at our limits, never more than posted, and no message the book cannot take."""
    lobster = synthesize_lobster(3000, levels=levels, seed=seed)
    rng = np.random.default_rng(seed)
    side = ASK if direction == SELL else BID
    book = _StockDay(lobster, 34_200.0, side, 0)
    posted: dict[int, tuple[int, int]] = {}
    for stop in np.sort(rng.choice(np.arange(2, 3000), 8, replace=False)).tolist():
        book.advance(stop)
        best = book.best(side)
        if not best:
            continue
        price = best - direction * 100 * int(rng.integers(-1, 3))  # inside, at or behind
        other = book.best(BID if side == ASK else ASK)
        if other and (price <= other if direction == SELL else price >= other):
            continue
        qty = int(rng.integers(1, 400))
        posted[book.post(direction, price, qty)] = (price, qty)
    book.advance(len(lobster))
    fills = book.fills.rows[: book.fills.count]
    filled: dict[int, int] = {}
    for f in fills:
        price, qty = posted[int(f["maker_id"])]
        assert f["price"] == price
        filled[int(f["maker_id"])] = filled.get(int(f["maker_id"]), 0) + int(f["qty"])
    resting = {int(r["id"]): int(r["size"]) for r in book.resting()}
    for order_id, (_, qty) in posted.items():
        assert filled.get(order_id, 0) + resting.get(order_id, 0) == qty
    assert book.counters[INCONSISTENT] == 0  # every message still applies as written
