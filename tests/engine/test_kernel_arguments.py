"""The public kernels refuse an out-of-range book, side or size instead of crashing or hanging."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import InputError, OrderBook
from lobsim.engine import (
    BID,
    BUY,
    EV_CANCEL,
    FILL_DTYPE,
    BookBatch,
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


@pytest.fixture
def batch():
    return BookBatch(2, max_levels=8, max_orders=9)


def _one():
    return np.zeros(1, np.int64)


def _fills(rows=9):
    return np.zeros(rows, dtype=FILL_DTYPE)


@pytest.mark.parametrize("b", [2, 10**9, -3])
@pytest.mark.parametrize(
    "call",
    [
        lambda s, b: submit_market(s, b, BUY, 10, 0, _fills(), 0),
        lambda s, b: submit_limit(s, b, BUY, 100, 10, 1, _fills(), 0),
        lambda s, b: cancel(s, b, 3),
        lambda s, b: book_status(s, b),
        lambda s, b: clear_status(s, b),
        lambda s, b: reset_book(s, b),
        lambda s, b: best_price(s, b, BID),
        lambda s, b: load_side(s, b, BID, np.array([5]), np.array([1]), 1),
        lambda s, b: apply_stream(s, b, *[np.zeros(1, np.int64)] * 5, _fills(), *[_one()] * 2),
    ],
    ids=["submit_market", "submit_limit", "cancel", "book_status", "clear_status", "reset_book",
         "best_price", "load_side", "apply_stream"],
)  # fmt: skip
def test_a_book_index_outside_the_batch_raises(batch, call, b):
    with pytest.raises(IndexError, match="book index b is outside the batch"):
        call(batch.state, b)


def test_a_wrong_side_raises(batch):
    with pytest.raises(ValueError, match="side must be BID"):
        best_price(batch.state, 0, 7)


@pytest.mark.parametrize("nfills", [-1, 10])
def test_fill_rows_outside_the_array_raise(batch, nfills):
    with pytest.raises(IndexError, match="nfills is outside the fills array"):
        submit_market(batch.state, 0, BUY, 10, 0, _fills(9), nfills)


def test_per_event_arrays_shorter_than_the_stream_raise(batch):
    kinds = np.full(5, EV_CANCEL, dtype=np.int64)
    short = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match="one entry per event"):
        apply_stream(batch.state, 0, kinds, short, short, short, short, _fills(), short, short)


def test_per_book_arrays_shorter_than_the_batch_raise(batch):
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="one entry per book"):
        market_batch(batch.state, one, one, one, np.zeros((2, 9), FILL_DTYPE), one)


def test_a_book_too_large_for_memory_is_refused():
    with pytest.raises(InputError, match=r"max_orders=10000000000000\) needs .* more than"):
        OrderBook(max_orders=10**13)


@pytest.mark.parametrize("order_id", [2**63, 2**70])
def test_cancelling_an_id_beyond_int64_is_refused_like_the_reference(order_id):
    with pytest.raises(InputError, match="not resting"):
        OrderBook().cancel(order_id)
