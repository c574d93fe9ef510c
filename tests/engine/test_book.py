"""Order types and edge cases through the facade, for the Numba book and the reference book."""

from __future__ import annotations

import pytest

from lobsim import OrderBook, ReferenceBook
from lobsim.engine import BULK_ID
from lobsim.errors import InputError


@pytest.fixture(params=[OrderBook, ReferenceBook], ids=["numba", "reference"])
def book(request):
    return request.param(tick_size=0.01)


def test_market_order_on_empty_side_fills_nothing(book):
    fills = book.market("buy", 100)

    assert len(fills) == 0
    assert book.best_bid() is None and book.best_ask() is None


def test_exact_fill_empties_the_level(book):
    ask_id, _ = book.limit("sell", 10.05, 300)

    fills = book.market("buy", 300)

    assert fills.maker_id.tolist() == [ask_id]
    assert fills.qty.tolist() == [300]
    assert fills.price.tolist() == [pytest.approx(10.05)]
    assert book.best_ask() is None


def test_partial_fill_across_levels_walks_best_first(book):
    best, _ = book.limit("sell", 10.01, 100)
    second, _ = book.limit("sell", 10.02, 200)
    book.limit("sell", 10.03, 300)

    fills = book.market("buy", 250)

    assert fills.maker_id.tolist() == [best, second]
    assert fills.ticks.tolist() == [1001, 1002]
    assert fills.qty.tolist() == [100, 150]
    assert book.depth("sell", 5) == [(pytest.approx(10.02), 50), (pytest.approx(10.03), 300)]


def test_fifo_within_a_level(book):
    first, _ = book.limit("buy", 9.99, 100)
    second, _ = book.limit("buy", 9.99, 100)

    fills = book.market("sell", 150)

    assert fills.maker_id.tolist() == [first, second]
    assert fills.qty.tolist() == [100, 50]
    assert book.queues("buy") == [(pytest.approx(9.99), [(second, 50)])]


def test_cancel_after_partial_fill_removes_the_rest(book):
    order_id, _ = book.limit("sell", 10.00, 100)
    book.market("buy", 40)

    book.cancel(order_id)

    assert book.depth("sell", 5) == []


def test_cancel_twice_is_refused_the_second_time(book):
    order_id, _ = book.limit("buy", 9.98, 100)
    other, _ = book.limit("buy", 9.98, 50)
    book.cancel(order_id)

    with pytest.raises(InputError, match=f"order_id={order_id}"):
        book.cancel(order_id)
    assert book.queues("buy") == [(pytest.approx(9.98), [(other, 50)])]


def test_cancel_of_a_filled_order_is_refused(book):
    order_id, _ = book.limit("buy", 9.98, 100)
    book.market("sell", 100)

    with pytest.raises(InputError, match="not resting"):
        book.cancel(order_id)


def test_cancel_of_an_unknown_id_is_refused(book):
    book.limit("buy", 9.98, 100)

    with pytest.raises(InputError, match="order_id=77"):
        book.cancel(77)
    assert book.depth("buy", 5) == [(pytest.approx(9.98), 100)]


def test_market_order_larger_than_the_side_fills_what_is_there_and_never_rests(book):
    book.limit("buy", 9.99, 100)
    book.limit("buy", 9.98, 200)

    fills = book.market("sell", 1_000)

    assert fills.qty.sum() == 300
    assert book.best_bid() is None
    assert book.best_ask() is None


def test_limit_crossing_several_levels_then_rests(book):
    book.limit("sell", 10.01, 100)
    book.limit("sell", 10.02, 100)
    book.limit("sell", 10.04, 100)

    order_id, fills = book.limit("buy", 10.03, 500)

    assert fills.ticks.tolist() == [1001, 1002]
    assert (fills.taker_id == order_id).all()
    assert book.queues("buy") == [(pytest.approx(10.03), [(order_id, 300)])]
    assert book.best_ask() == pytest.approx(10.04)


def test_limit_that_does_not_cross_rests_without_fills(book):
    book.limit("sell", 10.02, 100)

    _, fills = book.limit("buy", 10.01, 100)

    assert len(fills) == 0
    assert (book.best_bid(), book.best_ask()) == (pytest.approx(10.01), pytest.approx(10.02))


def test_order_ids_count_up_across_limit_and_market_orders(book):
    first, _ = book.limit("sell", 10.00, 100)
    fills = book.market("buy", 10)
    third, _ = book.limit("sell", 10.00, 100)

    assert (first, int(fills.taker_id[0]), third) == (1, 2, 3)


def test_depth_lists_levels_best_first_up_to_the_limit(book):
    for price in (9.97, 9.99, 9.98):
        book.limit("buy", price, 10)

    assert book.depth("buy", 2) == [(pytest.approx(9.99), 10), (pytest.approx(9.98), 10)]


def test_fills_carry_the_documented_fields(book):
    book.limit("sell", 10.00, 100)

    fills = book.market("buy", 10)

    assert {"price", "ticks", "qty", "maker_id", "taker_id", "side"} <= set(fills.dtype.names)
    assert fills.side.tolist() == [1]


def test_load_replaces_the_previous_bulk_depth(book):
    book.load("buy", [9.99, 9.98], [100, 200])

    book.load("buy", [9.97], [50])

    assert book.queues("buy") == [(pytest.approx(9.97), [(BULK_ID, 50)])]


def test_load_skips_empty_levels(book):
    book.load("sell", [10.01, 10.02, 10.03], [100, 0, 300])

    assert book.depth("sell", 5) == [(pytest.approx(10.01), 100), (pytest.approx(10.03), 300)]


def test_own_orders_survive_a_reload_ahead_of_the_new_depth(book):
    book.load("buy", [9.99, 9.98], [100, 200])
    own, _ = book.limit("buy", 9.99, 30)

    book.load("buy", [9.99, 9.98], [400, 500])

    assert book.queues("buy")[0] == (pytest.approx(9.99), [(own, 30), (BULK_ID, 400)])


def test_orders_placed_after_a_load_queue_behind_it(book):
    book.load("sell", [10.01], [100])
    own, _ = book.limit("sell", 10.01, 30)

    fills = book.market("buy", 110)

    assert fills.maker_id.tolist() == [BULK_ID, own]
    assert fills.qty.tolist() == [100, 10]


def test_load_that_would_cross_is_refused_and_changes_nothing(book):
    book.limit("sell", 10.00, 100)
    book.load("buy", [9.99], [100])

    with pytest.raises(InputError, match="cross"):
        book.load("buy", [10.00, 9.99], [10, 10])
    assert book.queues("buy") == [(pytest.approx(9.99), [(BULK_ID, 100)])]


def test_load_with_unsorted_prices_is_refused(book):
    with pytest.raises(InputError, match=r"prices\[1\]"):
        book.load("sell", [10.02, 10.01], [1, 1])


@pytest.mark.parametrize("book", [OrderBook, ReferenceBook])
def test_a_refill_keeps_the_depth_ahead_of_an_own_order_ahead(book):
    b = book(tick_size=0.01)
    b.load("sell", [10.01, 10.02, 10.03], [100, 200, 300])
    own, _ = b.limit("sell", 10.02, 50)
    b.market("buy", 150)  # the level at 10.01, and 50 of the 200 ahead at 10.02

    b.refill("sell", [10.01, 10.02, 10.03], [100, 200, 300])

    # 150 still ahead; the 50 traded come back behind the own order.
    assert b.queues("sell")[1] == (10.02, [(BULK_ID, 150), (own, 50), (BULK_ID, 50)])
    b.refill("sell", [10.02, 10.03], [120, 300])  # a thinner book: excess leaves from the back
    assert b.queues("sell") == [(10.02, [(BULK_ID, 120), (own, 50)]), (10.03, [(BULK_ID, 300)])]


@pytest.mark.parametrize("book", [OrderBook, ReferenceBook])
def test_a_refill_of_a_side_without_own_orders_is_a_load(book):
    loaded, refilled = book(tick_size=0.01), book(tick_size=0.01)
    for b in (loaded, refilled):
        b.load("buy", [9.99, 9.98], [10, 20])
        b.market("sell", 15)
    loaded.load("buy", [9.99, 9.97], [30, 40])
    refilled.refill("buy", [9.99, 9.97], [30, 40])

    assert refilled.queues("buy") == loaded.queues("buy")
