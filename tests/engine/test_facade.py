"""Argument validation and price conversion of the facade shared by both books."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from lobsim import OrderBook, ReferenceBook
from lobsim.errors import InputError


@pytest.fixture(params=[OrderBook, ReferenceBook], ids=["numba", "reference"])
def book(request):
    return request.param(tick_size=0.01)


@pytest.mark.parametrize("qty", [0, -5, 1.5, 100.0, True, "10", None, 10**16])
def test_limit_refuses_a_bad_qty_naming_it(book, qty):
    with pytest.raises(ValueError, match=rf"qty must be .*got {re.escape(repr(qty))}"):
        book.limit("buy", 10.00, qty)


@pytest.mark.parametrize("qty", [0, -1, 2.5])
def test_market_refuses_a_bad_qty(book, qty):
    with pytest.raises(ValueError, match="qty"):
        book.market("sell", qty)


@pytest.mark.parametrize("price", [math.nan, math.inf, -math.inf])
def test_limit_refuses_non_finite_prices(book, price):
    with pytest.raises(ValueError, match=rf"price must be finite, got {price!r}"):
        book.limit("buy", price, 1)


@pytest.mark.parametrize("price", [10.005, 10.001, 9.999999])
def test_limit_refuses_prices_off_the_grid(book, price):
    with pytest.raises(ValueError, match=rf"price={price!r} is not on the grid"):
        book.limit("sell", price, 1)


@pytest.mark.parametrize("price", [0.0, -10.00, 0.004])
def test_limit_refuses_prices_below_one_tick(book, price):
    with pytest.raises(ValueError, match="price must be between 1 and"):
        book.limit("sell", price, 1)


@pytest.mark.parametrize("price", ["10.00", None, True])
def test_limit_refuses_prices_that_are_not_numbers(book, price):
    with pytest.raises(ValueError, match="price must be a real number"):
        book.limit("sell", price, 1)


@pytest.mark.parametrize("side", ["BUY", "bid", "ask", 1, None])
def test_unknown_side_is_refused_naming_it(book, side):
    with pytest.raises(ValueError, match=rf"side must be 'buy' or 'sell', got {side!r}"):
        book.market(side, 1)


def test_cancel_refuses_a_non_integer_id(book):
    with pytest.raises(InputError, match="order_id must be an integer, got '1'"):
        book.cancel("1")


@pytest.mark.parametrize("tick_size", [0, -0.01, math.nan, math.inf, "0.01"])
def test_bad_tick_size_is_refused(tick_size):
    with pytest.raises(ValueError, match="tick_size"):
        OrderBook(tick_size=tick_size)


@pytest.mark.parametrize(
    ("price", "tick", "ticks"),
    [(1.13, 0.01, 113), (0.3, 0.1, 3), (1.15, 0.05, 23), (1234.57, 0.01, 123457)],
)
def test_float_prices_on_the_grid_convert_despite_rounding_error(price, tick, ticks):
    assert not (price / tick).is_integer()  # the division itself is inexact

    assert OrderBook(tick_size=tick).to_ticks(price) == ticks


def test_numpy_scalars_are_accepted(book):
    order_id, _ = book.limit("buy", np.float64(9.99), np.int64(5))

    assert book.queues("buy") == [(pytest.approx(9.99), [(order_id, 5)])]


def test_load_refuses_fractional_quantities(book):
    with pytest.raises(ValueError, match="qtys must be integers"):
        book.load("buy", [9.99], [1.5])


def test_load_refuses_an_off_grid_price_naming_its_index(book):
    with pytest.raises(ValueError, match=r"prices\[1\]=9.985 is not on the grid"):
        book.load("buy", [9.99, 9.985], [1, 1])


def test_load_refuses_arrays_of_different_lengths(book):
    with pytest.raises(ValueError, match="same length"):
        book.load("buy", [9.99, 9.98], [1])


def test_refused_order_changes_nothing(book):
    book.limit("sell", 10.00, 100)

    with pytest.raises(ValueError):
        book.limit("buy", 10.00, -1)
    assert book.depth("sell", 5) == [(pytest.approx(10.00), 100)]
