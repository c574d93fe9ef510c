"""Replaying LOBSTER days through the engine: every event type, the reconciliation of orders
the file never submitted, and random days written on the reference book."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lobsim.cli import main
from lobsim.market.lobster import (
    EMPTY_ASK,
    EMPTY_BID,
    LobsterDay,
    synthesize_lobster,
    write_lobster,
)
from lobsim.simulation.replay import reference_replay, replay_lobster
from tests.conftest import slow_examples

A, B = 1_000_100, 999_900  # best ask and bid, LOBSTER units


def day(rows):
    """A one-level LobsterDay from (type, id, size, price, direction, ask, ask size, bid, bid
    size) rows."""
    table = np.array(rows, dtype=np.int64)
    book = table[:, 5:9].copy()
    book[:, 0] = np.where(book[:, 1] == 0, EMPTY_ASK, book[:, 0])
    book[:, 2] = np.where(book[:, 3] == 0, EMPTY_BID, book[:, 2])
    return LobsterDay(
        time=34_200.0 + np.arange(len(rows)), type=table[:, 0], order_id=table[:, 1],
        size=table[:, 2], price=table[:, 3], direction=table[:, 4], book=book,
    )  # fmt: skip


EVERY_TYPE = [
    # type, id, size, price, dir, ask, ask size, bid, bid size
    (1, 1, 100, A, -1, A, 300, B, 200),  # seeds the book (with 200 resting before the file)
    (4, 77, 150, A, -1, A, 150, B, 200),  # execution of an order resting before the file
    (3, 1, 100, A, -1, A, 50, B, 200),  # deletion of order 1 (inside the seeded depth)
    (1, 5, 100, B + 100, 1, A, 50, B + 100, 100),  # submission inside the spread
    (2, 5, 40, B + 100, 1, A, 50, B + 100, 60),  # cancellation: 40 of its 100
    (5, 0, 300, A, 1, A, 50, B + 100, 60),  # hidden execution: the book stays
    (7, 0, 0, -1, 1, A, 50, B + 100, 60),  # halt
    (6, -1, 500, A, 1, A, 50, B + 100, 60),  # cross trade
    (7, 0, 0, 1, 1, A, 50, B + 100, 60),  # trading resumes
    (4, 5, 60, B + 100, 1, A, 50, B, 200),  # execution of all of order 5
    (4, 78, 50, A, -1, A + 100, 500, B, 200),  # the ask level goes: the next enters the top 1
    (3, 9, 100, B - 500, 1, A + 100, 500, B, 200),  # deletion of an unknown order, no depth
]


def test_every_event_type_replays_as_lobster_documents_it():
    report = replay_lobster(day(EVERY_TYPE))

    assert report.messages == len(EVERY_TYPE) - 1
    assert report.mismatches == 0
    # 77, 1 and 78 rested before the engine saw them; 9 names depth there is none of.
    assert report.seeded == 4
    assert report.reseeded == 1  # A + 100 entered from beyond the file's one level
    assert report.inconsistent == 1


def test_a_book_row_that_does_not_follow_is_reported_by_its_row():
    rows = [list(r) for r in EVERY_TYPE]
    rows[4][6] = 61  # row 5: the cancellation left 60, not 61
    report = replay_lobster(day(rows))

    assert report.mismatches >= 1 and report.first_mismatches[0] == 5


def test_an_execution_larger_than_the_order_is_inconsistent():
    rows = [list(r) for r in EVERY_TYPE[:4]] + [[4, 5, 150, B + 100, 1, A, 50, B, 200]]
    report = replay_lobster(day(rows))

    assert report.inconsistent == 1 and report.mismatches == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31), st.sampled_from([1, 2, 5, 10]))
def test_random_days_written_on_the_reference_book_replay_without_a_mismatch(seed, levels):
    lobster = synthesize_lobster(1500, levels=levels, seed=seed)
    report = replay_lobster(lobster)

    assert report.mismatches == 0 and report.inconsistent == 0
    assert report.messages == 1499
    kinds = set(lobster.type.tolist())
    assert {1, 2, 3, 4, 5, 6, 7} <= kinds


@pytest.mark.slow
@settings(
    max_examples=slow_examples(300, ci=90),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.integers(0, 2**31), st.sampled_from([1, 3, 10, 50]))
def test_random_days_replay_without_a_mismatch_slow(seed, levels):
    report = replay_lobster(synthesize_lobster(6000, levels=levels, seed=seed))

    assert report.mismatches == 0 and report.inconsistent == 0


def test_the_command_exits_0_only_when_every_message_matches(tmp_path, capsys):
    lobster = synthesize_lobster(800, levels=3, seed=9)
    m, o = tmp_path / "m.csv", tmp_path / "o.csv"
    write_lobster(lobster, m, o)

    assert main(["data", "replay", str(m), str(o)]) == 0
    assert "replayed 799 messages (3 levels)" in capsys.readouterr().out

    # One share more at the best ask after a message that changes the book (and before one:
    # beside a message that cannot, the files would not pair up).
    changes = (lobster.type >= 1) & (lobster.type <= 4)
    k = int(np.flatnonzero(changes[400:-1] & changes[401:])[0]) + 400
    lobster.book[k, 1] += 1
    write_lobster(lobster, m, o)
    assert main(["data", "replay", str(m), str(o)]) == 2
    assert f"first mismatching rows: {k + 1}" in capsys.readouterr().out


def same(a, b):
    return dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)


def test_the_pure_python_replay_reports_the_same_on_every_event_type():
    rows = [list(r) for r in EVERY_TYPE]
    assert same(replay_lobster(day(rows)), reference_replay(day(rows)))
    rows[4][6] = 61
    assert same(replay_lobster(day(rows)), reference_replay(day(rows)))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31), st.sampled_from([1, 4, 10]), st.integers(0, 40))
def test_the_pure_python_replay_reports_the_same_on_random_days(seed, levels, noise):
    lobster = synthesize_lobster(1200, levels=levels, seed=seed)
    rng = np.random.default_rng(seed)
    changes = np.flatnonzero((lobster.type >= 1) & (lobster.type <= 4))[1:]
    for k in rng.choice(changes, size=min(noise, len(changes)), replace=False):
        lobster.book[k, 1] += 1  # rows that no longer follow: both must see the same

    assert same(replay_lobster(lobster), reference_replay(lobster))


@pytest.mark.parametrize(("levels", "orders", "limit"), [(4, 4096, "max_levels=4"),
                                                         (64, 30, "max_orders=30")])  # fmt: skip
def test_a_day_larger_than_the_replays_book_is_refused_naming_the_limit(levels, orders, limit):
    from lobsim import InputError

    lobster = synthesize_lobster(400, levels=10, seed=3)
    with pytest.raises(InputError, match=limit):
        replay_lobster(lobster, max_levels=levels, max_orders=orders)


def same_with_fills(a, b):
    strip = {"seconds": 0.0, "fills": None}
    if dataclasses.replace(a, **strip) != dataclasses.replace(b, **strip):
        return False
    return (a.fills is None) == (b.fills is None) and (
        a.fills is None or np.array_equal(a.fills, b.fills)
    )


OURS = [
    (1, 1, 100, A, -1, A, 300, B, 200),  # 200 rested before the file, and order 1
    (1, 2, 100, A, -1, A, 400, B, 200),  # order 2 behind; then we buy 350: 300 + 50 of 2
    (4, 5, 200, A, -1, A, 200, B, 200),  # an order we cannot name, inside the depth we took
    (3, 1, 100, A, -1, A, 100, B, 200),  # order 1, also inside it
    (4, 2, 100, A, -1, A + 100, 500, B, 200),  # order 2: we took 50 of its 100
]


def test_messages_about_liquidity_we_took_are_reduced_to_what_is_left():
    report = replay_lobster(day(OURS), orders=([2], [1], [350]))

    assert report.fills.tolist() == [(0, 2, A, 300, -1), (0, 2, A, 50, 2)]
    assert report.adjusted == 3 and report.inconsistent == 0
    assert report.mismatches == 0  # compared only before our first order
    assert same_with_fills(report, reference_replay(day(OURS), orders=([2], [1], [350])))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31), st.sampled_from([1, 5, 10]))
def test_own_orders_take_and_reconcile_alike_in_both_replays(seed, levels):
    lobster = synthesize_lobster(1500, levels=levels, seed=seed)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(np.arange(1, 1501), 5, replace=False))
    orders = (rows, rng.choice([-1, 1], 5), rng.integers(100, 3000, 5))

    engine = replay_lobster(lobster, orders=orders)

    assert same_with_fills(engine, reference_replay(lobster, orders=orders))
    assert engine.adjusted > 0 and len(engine.fills) > 0
    filled = np.bincount(engine.fills["order"], engine.fills["qty"], minlength=5)
    assert (filled <= orders[2]).all()


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        (([0], [1], [10]), "rows must be ascending message rows in"),
        (([3, 2], [1, 1], [10, 10]), "ascending"),
        (([2], [2], [10]), "directions must be"),
        (([2], [1], [0]), "sizes must be > 0"),
        (([2.5], [1], [10]), "rows must be integers"),
    ],
)
def test_bad_own_orders_are_refused(orders, message):
    from lobsim import InputError

    with pytest.raises(InputError, match=message):
        replay_lobster(day(OURS), orders=orders)


def test_own_order_costs_are_taken_against_the_mid_before_each_order():
    from lobsim.simulation.replay import own_order_costs

    orders = ([2], [1], [350])
    costs = own_order_costs(day(OURS), orders, replay_lobster(day(OURS), orders=orders))

    mid = (A + B) / 2 / 10_000  # the book after message 2: the best ask A and bid B
    assert costs.filled.tolist() == [350]
    assert costs.arrival_mid.tolist() == [mid]
    assert costs.cost[0] == pytest.approx(350 * (A / 10_000 - mid))
    assert costs.cost_bps[0] == pytest.approx(1e4 * (A / 10_000 - mid) / mid)
