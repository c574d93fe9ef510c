"""The njit kernels called directly, as the simulator calls them."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim.bench.engine import random_stream
from lobsim.engine import (
    ASK,
    BID,
    BULK_ID,
    BUY,
    EV_LIMIT,
    FILL_DTYPE,
    NO_PRICE,
    OK,
    SELL,
    BookBatch,
    ReferenceBook,
    apply_stream,
    best_price,
    book_status,
    cancel,
    clear_status,
    load_side,
    market_batch,
    reset_book,
    submit_limit,
    submit_market,
)
from lobsim.engine.records import (
    ERR_BAD_ARGUMENT,
    ERR_BAD_DEPTH,
    ERR_CROSSED,
    ERR_DUPLICATE_ID,
    ERR_FILLS_FULL,
    ERR_LEVELS_FULL,
    ERR_ORDERS_FULL,
    HT_KEY,
)

STREAM = ("kinds", "directions", "prices", "qtys", "order_ids")


def ints(*values):
    return np.array(values, np.int64)


def snapshot(batch, b=0):
    return [batch.queues(b, side) for side in (BID, ASK)]


@pytest.fixture
def batch():
    return BookBatch(3, max_levels=8, max_orders=16)


@pytest.fixture
def fills():
    return np.zeros(16, FILL_DTYPE)


def test_walk_takes_loaded_levels_best_first(batch, fills):
    load_side(batch.state, 1, BID, ints(100, 99, 97, 96), ints(10, 20, 30, 40), 4)

    filled, n = submit_market(batch.state, 1, SELL, 60, 7, fills, 0)

    assert (filled, n) == (60, 3)
    assert fills[:n].tolist() == [
        (7, BULK_ID, 100, 10, SELL),
        (7, BULK_ID, 99, 20, SELL),
        (7, BULK_ID, 97, 30, SELL),
    ]
    assert batch.queues(1, BID) == [(96, [(BULK_ID, 40)])]


def test_walk_appends_after_the_rows_already_used(batch, fills):
    load_side(batch.state, 0, ASK, ints(101, 102), ints(5, 5), 2)

    _, n = submit_market(batch.state, 0, BUY, 7, 1, fills, 3)

    assert n == 5
    assert fills["price"][3:5].tolist() == [101, 102]


def test_market_residual_is_unfilled_and_does_not_rest(batch, fills):
    load_side(batch.state, 0, ASK, ints(101, 102), ints(10, 20), 2)

    filled, _ = submit_market(batch.state, 0, BUY, 100, 1, fills, 0)

    assert filled == 30
    assert best_price(batch.state, 0, ASK) == NO_PRICE
    assert best_price(batch.state, 0, BID) == NO_PRICE


def test_market_of_zero_shares_is_a_no_op(batch, fills):
    load_side(batch.state, 0, BID, ints(100), ints(10), 1)

    result = submit_market(batch.state, 0, 0, 0, 1, fills, 2)

    assert result == (0, 2)
    assert book_status(batch.state, 0) == OK
    assert batch.queues(0, BID) == [(100, [(BULK_ID, 10)])]


def test_market_with_a_bad_direction_is_refused(batch, fills):
    load_side(batch.state, 0, BID, ints(100), ints(10), 1)
    before = snapshot(batch)

    result = submit_market(batch.state, 0, 2, 5, 1, fills, 0)

    assert result == (0, 0)
    assert book_status(batch.state, 0) == ERR_BAD_ARGUMENT
    assert snapshot(batch) == before


@pytest.mark.parametrize(
    ("direction", "price", "qty", "order_id"),
    [(0, 100, 5, 1), (BUY, 100, 0, 1), (BUY, 100, -5, 1), (BUY, 0, 5, 1), (SELL, 100, 5, -1)],
)
def test_limit_with_a_bad_argument_is_refused(batch, fills, direction, price, qty, order_id):
    submit_limit(batch.state, 0, direction, price, qty, order_id, fills, 0)

    assert book_status(batch.state, 0) == ERR_BAD_ARGUMENT
    assert snapshot(batch) == [[], []]


def test_limit_reusing_a_resting_id_is_refused(batch, fills):
    submit_limit(batch.state, 0, BUY, 100, 5, 1, fills, 0)
    before = snapshot(batch)

    submit_limit(batch.state, 0, SELL, 100, 5, 1, fills, 0)

    assert book_status(batch.state, 0) == ERR_DUPLICATE_ID
    assert snapshot(batch) == before


def test_limit_id_of_a_filled_order_can_be_used_again(batch, fills):
    submit_limit(batch.state, 0, BUY, 100, 5, 1, fills, 0)
    submit_market(batch.state, 0, SELL, 5, 2, fills, 0)

    submit_limit(batch.state, 0, BUY, 100, 5, 1, fills, 0)

    assert book_status(batch.state, 0) == OK
    assert batch.queues(0, BID) == [(100, [(1, 5)])]


@pytest.mark.parametrize(
    ("prices", "qtys"),
    [((100, 100), (1, 1)), ((99, 100), (1, 1)), ((100, 99), (1, -1)), ((1, 0), (1, 1))],
    ids=["equal-prices", "rising-bids", "negative-qty", "price-below-one-tick"],
)
def test_load_of_invalid_depth_is_refused_and_changes_nothing(batch, prices, qtys):
    load_side(batch.state, 0, BID, ints(90), ints(3), 1)
    before = snapshot(batch)

    code = load_side(batch.state, 0, BID, ints(*prices), ints(*qtys), 2)

    assert code == ERR_BAD_DEPTH == book_status(batch.state, 0)
    assert snapshot(batch) == before


def test_load_with_n_beyond_the_arrays_is_refused(batch):
    code = load_side(batch.state, 0, BID, ints(100), ints(1), 2)

    assert code == ERR_BAD_ARGUMENT


def test_load_that_would_cross_is_refused(batch, fills):
    submit_limit(batch.state, 0, SELL, 101, 5, 1, fills, 0)
    before = snapshot(batch)

    code = load_side(batch.state, 0, BID, ints(101, 100), ints(5, 5), 2)

    assert code == ERR_CROSSED
    assert snapshot(batch) == before


def test_load_with_more_levels_than_max_levels_is_refused(batch):
    prices = np.arange(100, 91, -1)

    code = load_side(batch.state, 0, BID, prices, np.ones(9, np.int64), 9)

    assert code == ERR_LEVELS_FULL
    assert snapshot(batch) == [[], []]


def test_load_counts_own_levels_against_max_levels(batch, fills):
    submit_limit(batch.state, 0, BUY, 50, 1, 1, fills, 0)
    prices = np.arange(100, 92, -1)

    code = load_side(batch.state, 0, BID, prices, np.ones(8, np.int64), 8)

    assert code == ERR_LEVELS_FULL


def test_load_needing_more_slots_than_free_is_refused(fills):
    batch = BookBatch(1, max_levels=8, max_orders=8)
    for order_id in range(3):
        submit_limit(batch.state, 0, SELL, 110, 1, order_id, fills, 0)
    before = snapshot(batch)

    code = load_side(batch.state, 0, BID, np.arange(100, 94, -1), np.ones(6, np.int64), 6)

    assert code == ERR_ORDERS_FULL
    assert snapshot(batch) == before


def test_reload_reuses_the_slots_of_the_depth_it_replaces():
    batch = BookBatch(1, max_levels=8, max_orders=8)
    load_side(batch.state, 0, ASK, np.arange(101, 109), np.ones(8, np.int64), 8)

    code = load_side(batch.state, 0, ASK, np.arange(102, 110), np.full(8, 2, np.int64), 8)

    assert code == OK
    assert [p for p, _ in batch.queues(0, ASK)] == list(range(102, 110))


def test_reload_merges_around_own_orders_keeping_them_first(batch, fills):
    submit_limit(batch.state, 0, BUY, 99, 1, 11, fills, 0)
    submit_limit(batch.state, 0, BUY, 97, 2, 12, fills, 0)
    submit_limit(batch.state, 0, BUY, 94, 3, 13, fills, 0)
    load_side(batch.state, 0, BID, ints(99, 98), ints(7, 7), 2)

    load_side(batch.state, 0, BID, ints(100, 99, 97, 95), ints(5, 6, 0, 8), 4)

    assert batch.queues(0, BID) == [
        (100, [(BULK_ID, 5)]),
        (99, [(11, 1), (BULK_ID, 6)]),
        (97, [(12, 2)]),
        (95, [(BULK_ID, 8)]),
        (94, [(13, 3)]),
    ]


def test_fills_array_running_out_stops_the_match_with_every_share_recorded(batch):
    load_side(batch.state, 0, BID, ints(100, 99, 98, 97), ints(10, 10, 10, 10), 4)
    rows = np.zeros(3, FILL_DTYPE)

    filled, n = submit_market(batch.state, 0, SELL, 40, 1, rows, 0)

    assert (filled, n) == (30, 3)
    assert book_status(batch.state, 0) == ERR_FILLS_FULL
    assert batch.queues(0, BID) == [(97, [(BULK_ID, 10)])]


def test_limit_cut_short_by_a_full_fills_array_does_not_rest(batch):
    load_side(batch.state, 0, ASK, ints(101, 102), ints(10, 10), 2)
    rows = np.zeros(1, FILL_DTYPE)

    filled, _ = submit_limit(batch.state, 0, BUY, 102, 30, 1, rows, 0)

    assert filled == 10
    assert book_status(batch.state, 0) == ERR_FILLS_FULL
    assert best_price(batch.state, 0, BID) == NO_PRICE


def test_limit_at_capacity_that_fills_completely_is_accepted(fills):
    batch = BookBatch(1, max_levels=2, max_orders=2)
    submit_limit(batch.state, 0, SELL, 101, 5, 1, fills, 0)
    submit_limit(batch.state, 0, SELL, 102, 5, 2, fills, 0)

    filled, _ = submit_limit(batch.state, 0, BUY, 102, 10, 3, fills, 0)

    assert filled == 10
    assert book_status(batch.state, 0) == OK


def test_limit_at_capacity_that_would_rest_is_refused_before_matching(fills):
    batch = BookBatch(1, max_levels=2, max_orders=2)
    submit_limit(batch.state, 0, SELL, 101, 5, 1, fills, 0)
    submit_limit(batch.state, 0, SELL, 102, 5, 2, fills, 0)
    before = snapshot(batch)

    filled, _ = submit_limit(batch.state, 0, BUY, 101, 6, 3, fills, 0)

    assert filled == 0
    assert book_status(batch.state, 0) == ERR_ORDERS_FULL
    assert snapshot(batch) == before


def test_limit_needing_a_new_level_on_a_full_side_is_refused(fills):
    batch = BookBatch(1, max_levels=2, max_orders=8)
    submit_limit(batch.state, 0, BUY, 99, 5, 1, fills, 0)
    submit_limit(batch.state, 0, BUY, 98, 5, 2, fills, 0)

    submit_limit(batch.state, 0, BUY, 97, 5, 3, fills, 0)

    assert book_status(batch.state, 0) == ERR_LEVELS_FULL
    assert [p for p, _ in batch.queues(0, BID)] == [99, 98]


def test_cancel_is_refused_for_unknown_and_repeated_ids(batch, fills):
    submit_limit(batch.state, 0, BUY, 99, 5, 4, fills, 0)

    outcomes = [cancel(batch.state, 0, 5), cancel(batch.state, 0, 4), cancel(batch.state, 0, 4)]

    assert outcomes == [False, True, False]
    assert snapshot(batch) == [[], []]


def test_cancel_in_the_middle_of_a_queue_keeps_the_others_in_order(batch, fills):
    for order_id in (1, 2, 3):
        submit_limit(batch.state, 0, SELL, 101, order_id, order_id, fills, 0)

    cancel(batch.state, 0, 2)

    assert batch.queues(0, ASK) == [(101, [(1, 1), (3, 3)])]


def test_colliding_order_ids_all_cancel_and_leave_the_table_empty(fills):
    batch = BookBatch(1, max_levels=64, max_orders=512)
    ids = np.arange(1, 501, dtype=np.int64) << 20  # same low bits: a naive hash collides
    for k, order_id in enumerate(ids):
        submit_limit(batch.state, 0, BUY, 100 - k % 50, 1, order_id, fills, 0)
    order = np.random.default_rng(0).permutation(ids)

    outcomes = [cancel(batch.state, 0, order_id) for order_id in order]

    assert all(outcomes)
    assert snapshot(batch) == [[], []]
    assert batch.n_resting(0) == 0
    assert (batch.state.table[0, :, HT_KEY] == -1).all()


def test_market_batch_gives_each_book_what_the_reference_gives(fills):
    rng = np.random.default_rng(5)
    n_books = 24
    batch = BookBatch(n_books, max_levels=16, max_orders=32)
    refs = [ReferenceBook() for _ in range(n_books)]
    for b, ref in enumerate(refs):
        prices = 1000 - np.cumsum(rng.integers(1, 3, 12))
        qtys = rng.integers(0, 50, 12)
        load_side(batch.state, b, BID, prices, qtys, 12)
        ref._load(BID, prices, qtys)
    qtys = rng.integers(0, 400, n_books)
    out = batch.new_fills(16)
    counts = np.zeros(n_books, np.int64)

    market_batch(batch.state, np.full(n_books, SELL), qtys, np.arange(n_books), out, counts)

    for b, ref in enumerate(refs):
        expected = ref._market(SELL, int(qtys[b]), b) if qtys[b] else np.zeros(0, FILL_DTYPE)
        assert out[b, : counts[b]].tolist() == expected.tolist()
        assert batch.queues(b, BID) == ref._queues(BID)


@pytest.mark.parametrize("seed", range(5))
def test_apply_stream_matches_the_reference(seed):
    stream = random_stream(np.random.default_rng(seed), 4000)
    args = [stream[k] for k in STREAM]
    batch = BookBatch(1, max_levels=256, max_orders=4096)
    out = np.zeros(20_000, FILL_DTYPE)
    fill_end = np.zeros(4000, np.int64)
    results = np.zeros(4000, np.int64)
    ref = ReferenceBook()

    done, n = apply_stream(batch.state, 0, *args, out, fill_end, results)
    ref_fills, ref_end, ref_results = ref.replay(*args)

    assert done == 4000
    assert out[:n].tolist() == ref_fills.tolist()
    assert fill_end.tolist() == ref_end.tolist()
    assert results.tolist() == ref_results.tolist()
    assert snapshot(batch) == [ref._queues(BID), ref._queues(ASK)]


def test_apply_stream_stops_after_the_first_refused_event(fills):
    batch = BookBatch(1, max_levels=8, max_orders=8)
    kinds = np.full(3, EV_LIMIT, np.int64)
    results = np.zeros(3, np.int64)

    done, _ = apply_stream(
        batch.state, 0, kinds, ints(BUY, BUY, BUY), ints(99, 98, 97), ints(1, 1, 1),
        ints(1, 1, 2), fills, np.zeros(3, np.int64), results,
    )  # fmt: skip

    assert done == 2
    assert book_status(batch.state, 0) == ERR_DUPLICATE_ID
    assert batch.queues(0, BID) == [(99, [(1, 1)])]


def test_reset_book_empties_only_that_book(batch, fills):
    for b in (0, 1):
        load_side(batch.state, b, BID, ints(100), ints(5), 1)
        submit_limit(batch.state, b, SELL, 105, 5, 1, fills, 0)

    reset_book(batch.state, 0)

    assert snapshot(batch, 0) == [[], []]
    assert batch.n_resting(0) == 0
    assert snapshot(batch, 1) == [[(100, [(BULK_ID, 5)])], [(105, [(1, 5)])]]


def test_clear_status_resets_a_refusal(batch, fills):
    submit_market(batch.state, 0, 3, 5, 1, fills, 0)

    clear_status(batch.state, 0)

    assert book_status(batch.state, 0) == OK
