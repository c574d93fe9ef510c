"""BookBatch: allocation, Python-side readers and turning kernel status codes into errors."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim.engine import (
    ASK,
    BID,
    BULK_ID,
    FILL_DTYPE,
    OK,
    BookBatch,
    CapacityError,
    OrderBook,
    book_status,
    load_side,
)
from lobsim.engine.records import ERR_BAD_DEPTH, HT_KEY
from lobsim.errors import InputError


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_books": 0}, "n_books"),
        ({"n_books": 2, "max_levels": 0}, "max_levels"),
        ({"n_books": 2, "max_orders": 1.5}, "max_orders"),
        ({"n_books": True}, "n_books"),
    ],
)
def test_bad_sizes_are_refused_naming_the_argument(kwargs, name):
    with pytest.raises(InputError, match=f"{name} must be a positive integer"):
        BookBatch(**kwargs)


def test_id_table_is_a_power_of_two_at_least_twice_max_orders():
    batch = BookBatch(2, max_levels=4, max_orders=100)

    size = batch.state.table.shape[1]

    assert size >= 200 and size & (size - 1) == 0


def test_a_new_batch_is_empty_with_every_slot_free():
    batch = BookBatch(2, max_levels=4, max_orders=6)

    assert [batch.best(1, side) for side in (BID, ASK)] == [None, None]
    assert batch.queues(1, ASK) == []
    assert batch.n_resting(1) == 0
    assert (batch.state.table[:, :, HT_KEY] == -1).all()


def test_depth_lists_best_first_and_honours_the_level_count():
    batch = BookBatch(1, max_levels=8, max_orders=8)
    load_side(batch.state, 0, ASK, np.array([101, 103, 104]), np.array([1, 2, 3]), 3)

    prices, qtys = batch.depth(0, ASK, 2)

    assert prices.tolist() == [101, 103]
    assert qtys.tolist() == [1, 2]


def test_queues_show_bulk_depth_as_bulk_id():
    batch = BookBatch(1, max_levels=8, max_orders=8)
    load_side(batch.state, 0, BID, np.array([99]), np.array([7]), 1)

    assert batch.queues(0, BID) == [(99, [(BULK_ID, 7)])]


def test_book_index_out_of_range_is_refused():
    batch = BookBatch(2, max_levels=4, max_orders=4)

    with pytest.raises(InputError, match=r"book index b must be an integer in \[0, 2\), got 2"):
        batch.best(2, BID)


def test_side_other_than_bid_or_ask_is_refused():
    batch = BookBatch(1, max_levels=4, max_orders=4)

    with pytest.raises(InputError, match="side must be BID"):
        batch.depth(0, 2)


def test_check_turns_a_capacity_refusal_into_capacity_error_and_clears_it():
    batch = BookBatch(1, max_levels=2, max_orders=8)
    load_side(batch.state, 0, BID, np.array([99, 98, 97]), np.ones(3, np.int64), 3)

    with pytest.raises(CapacityError, match="max_levels=2"):
        batch.check(0, "load")
    assert book_status(batch.state, 0) == OK


def test_check_turns_other_refusals_into_input_error():
    batch = BookBatch(1, max_levels=4, max_orders=8)
    code = load_side(batch.state, 0, BID, np.array([97, 98]), np.ones(2, np.int64), 2)

    with pytest.raises(InputError, match="load refused by book 0") as info:
        batch.check(0, "load")
    assert code == ERR_BAD_DEPTH
    assert not isinstance(info.value, CapacityError)


def test_capacity_error_is_an_input_error_so_the_cli_exits_2():
    assert issubclass(CapacityError, InputError)


def test_new_fills_has_one_row_per_slot_by_default():
    batch = BookBatch(3, max_levels=4, max_orders=10)

    out = batch.new_fills()

    assert out.shape == (3, 10) and out.dtype == FILL_DTYPE


def test_reset_one_book_leaves_the_others():
    batch = BookBatch(2, max_levels=4, max_orders=4)
    for b in (0, 1):
        load_side(batch.state, b, ASK, np.array([101]), np.array([1]), 1)

    batch.reset(1)

    assert (batch.best(0, ASK), batch.best(1, ASK)) == (101, None)


def test_nbytes_grows_with_the_number_of_books():
    small = BookBatch(2, max_levels=4, max_orders=4)

    large = BookBatch(4, max_levels=4, max_orders=4)

    assert large.nbytes == 2 * small.nbytes > 0


def test_orderbook_at_level_capacity_raises_and_keeps_the_book():
    book = OrderBook(tick_size=0.01, max_levels=2, max_orders=8)
    book.limit("buy", 9.99, 1)
    book.limit("buy", 9.98, 1)

    with pytest.raises(CapacityError, match="max_levels=2"):
        book.limit("buy", 9.97, 1)
    assert [p for p, _ in book.depth("buy", 5)] == [pytest.approx(9.99), pytest.approx(9.98)]


def test_orderbook_load_beyond_max_orders_raises_capacity_error():
    book = OrderBook(tick_size=0.01, max_levels=8, max_orders=2)

    with pytest.raises(CapacityError, match="max_orders=2"):
        book.load("sell", [10.01, 10.02, 10.03], [1, 1, 1])
    assert book.depth("sell", 5) == []
