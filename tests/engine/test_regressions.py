"""Shrunk counterexamples found by the property tests, replayed as fixed cases.

Each case is the exact command sequence hypothesis reported, run through the same harness
(both books plus every invariant) as in test_differential.
"""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import OrderBook, ReferenceBook

from .harness import Harness
from .test_differential import run


def test_shrunk_empty_level_at_the_opposite_best_does_not_make_a_load_cross():
    # Only non-empty levels can cross: the first level below sits at the best ask but is empty.
    commands = [("limit", "sell", 95, 1), ("load", "buy", -1, [(0, 1), (1, 1)])]

    run(commands, Harness())


@pytest.mark.parametrize("book_class", [OrderBook, ReferenceBook])
def test_empty_level_at_the_opposite_best_is_skipped_not_refused(book_class):
    book = book_class(tick_size=0.01)
    book.limit("sell", 0.95, 1)

    book.load("buy", [0.95, 0.94], np.array([0, 1]))

    assert book.depth("buy", 5) == [(pytest.approx(0.94), 1)]
