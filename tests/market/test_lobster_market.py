"""A market of LOBSTER stock-days: pairs found by LOBSTER's names, refused when they do not make a
market, and the minute bars strategies see."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lobsim.errors import DataError
from lobsim.market.lobster import (
    EMPTY_ASK,
    EXECUTION,
    HIDDEN,
    SUBMISSION,
    LobsterDay,
    synthesize_lobster,
)
from lobsim.market.lobster_market import (
    find_pairs,
    load_lobster_market,
    minute_bars,
    write_synthetic_market,
)
from lobsim.simulation.replay import replay_lobster

OPEN = 34_200.0


@pytest.fixture(scope="module")
def market_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lobster")
    write_synthetic_market(out, stocks=2, days=2, messages=1_500, levels=3, seed=5)
    return out


def test_minute_bars_take_the_last_mid_and_sum_executions():
    # A one-level day: rows at 30 s, 60 s (end of bar 1), 61 s and 150 s.
    times = OPEN + np.array([30.0, 60.0, 61.0, 150.0])
    book = np.array(
        [
            [1_000_200, 100, 999_800, 100],
            [1_000_200, 60, 999_800, 100],  # an execution of 40 at the ask
            [EMPTY_ASK, 0, 999_800, 100],  # the ask side empties: the mid carries
            [1_000_400, 300, 1_000_000, 200],
        ]
    )
    day = LobsterDay(
        time=times, type=np.array([SUBMISSION, EXECUTION, EXECUTION, HIDDEN]),
        order_id=np.array([1, 1, 1, 0]), size=np.array([100, 40, 60, 25]),
        price=np.array([1_000_200] * 4), direction=np.array([-1, -1, -1, 1]), book=book,
    )  # fmt: skip
    price, volume = minute_bars(day, int(OPEN * 1000), 4)
    np.testing.assert_array_equal(volume, [40.0, 60.0, 25.0, 0.0])
    np.testing.assert_allclose(price, [100.0, 100.0, 100.02, 100.02])


def test_a_synthetic_session_spans_the_day_and_replays_exactly():
    day = synthesize_lobster(3_000, levels=5, seed=2, session=(OPEN, 57_600.0))
    assert OPEN < day.time[0] and day.time[-1] <= 57_600.0
    assert np.all(np.diff(day.time) >= 0)
    # U-shaped: the first and last half hours hold more messages than a midday half hour.
    half = np.histogram(day.time, bins=13, range=(OPEN, 57_600.0))[0]
    assert half[0] > half[6] and half[-1] > half[6]
    mids = (day.book[:, 0] + day.book[:, 2]) / 2
    assert mids.max() - mids.min() >= 500  # the price moves (5 cents and more)
    report = replay_lobster(day)
    assert report.mismatches == 0 and report.inconsistent == 0


def test_a_directory_of_pairs_becomes_a_market(market_dir):
    market = load_lobster_market(market_dir)
    panel = market.panel
    assert panel.tickers == ("SYN1", "SYN2")
    assert panel.price.shape == (2, 390, 2)
    assert [str(d) for d in panel.dates] == ["2024-01-02", "2024-01-03"]
    assert panel.session[0] == "09:30"
    pair = market.pairs[1][0]
    assert pair.ticker == "SYN1" and str(pair.date) == "2024-01-03" and pair.levels == 3
    day = pair.read()
    _, volume = minute_bars(day, pair.start_ms, 390)
    np.testing.assert_array_equal(panel.volume[1, :, 0], volume)
    assert panel.volume[1, :, 0].sum() == day.size[np.isin(day.type, (4, 5, 6))].sum()
    assert load_lobster_market(market_dir, tickers=("SYN2",)).panel.tickers == ("SYN2",)


def test_a_message_file_alone_is_a_market_of_one(market_dir):
    pair = find_pairs(market_dir)[0]
    market = load_lobster_market(pair.message)
    assert market.panel.price.shape == (1, 390, 1)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("rename", "not a LOBSTER message file name"),
        ("orderbook", "its orderbook file"),
        ("missing day", "no LOBSTER pair for SYN2 on 2024-01-03"),
        ("window", "different windows"),
        ("empty", "no LOBSTER message files"),
    ],
)
def test_files_that_do_not_make_a_market_are_refused(market_dir, tmp_path, damage, message):
    folder = tmp_path / "m"
    shutil.copytree(market_dir, folder)
    names = sorted(p.name for p in folder.iterdir())
    first = folder / names[0]
    if damage == "rename":
        first.rename(folder / "SYN1_2024-01-02_message_3.csv")
    elif damage == "orderbook":
        (folder / next(n for n in names if "orderbook" in n)).unlink()
    elif damage == "missing day":
        for p in folder.glob("SYN2_2024-01-03_*"):
            p.unlink()
    elif damage == "window":
        for p in folder.glob("SYN2_2024-01-03_*"):
            p.rename(folder / p.name.replace("57600000", "57540000"))
    else:
        for p in folder.iterdir():
            p.unlink()
    with pytest.raises(DataError, match=message):
        load_lobster_market(folder)


def test_a_ticker_not_there_is_named(market_dir):
    with pytest.raises(DataError, match=r"market.tickers: \['XYZ'\]"):
        load_lobster_market(market_dir, tickers=("XYZ",))
