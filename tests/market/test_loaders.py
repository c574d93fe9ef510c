"""Loaders: round trips, options (zones, stamps, sessions, sorting), fill policy, writes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lobsim import (
    DataError,
    InputError,
    MarketPanel,
    load_bars,
    load_panel,
    save_panel,
    synthesize_market,
)
from lobsim.market import MissingMinutesWarning, ShortDayWarning

from .bars import HEADER, SESSION, TICKERS, csv_text, expected_close, good_rows

SMALL = {"n_stocks": 3, "n_days": 4, "minutes": 30, "seed": 9}
SMALL_SESSION = ("09:30", "10:00")


@pytest.fixture(scope="module")
def panel():
    return synthesize_market(**SMALL)


def test_round_trip_csv_then_partitioned_parquet(panel, tmp_path):
    save_panel(panel, tmp_path / "bars.csv")
    from_csv = load_bars(tmp_path / "bars.csv", session=SMALL_SESSION)
    save_panel(from_csv, tmp_path / "saved")

    again = load_panel(tmp_path / "saved")

    assert from_csv == panel
    assert again == panel


def test_round_trip_single_parquet_file(panel, tmp_path):
    save_panel(panel, tmp_path / "bars.parquet")

    assert load_panel(tmp_path / "bars.parquet") == panel


def test_saved_directory_is_partitioned_by_ticker(panel, tmp_path):
    save_panel(panel, tmp_path / "saved")

    folders = sorted(p.name for p in (tmp_path / "saved").iterdir())

    assert folders == [f"ticker={t}" for t in panel.tickers]
    assert pq.read_table(tmp_path / "saved" / folders[0] / "part-0.parquet").num_rows == 4 * 30


def test_load_panel_restores_a_custom_ticker_order_and_session(panel, tmp_path):
    picked = synthesize_market(**SMALL, session_open="10:00").select(["SYN002", "SYN000"])
    save_panel(picked, tmp_path / "saved")

    assert load_panel(tmp_path / "saved") == picked


def test_load_panel_refuses_a_csv_file(panel, tmp_path):
    save_panel(panel, tmp_path / "bars.csv")

    with pytest.raises(InputError, match="load_bars"):
        load_panel(tmp_path / "bars.csv")


def test_save_refuses_an_unknown_suffix(panel, tmp_path):
    with pytest.raises(InputError, match=r"\.txt"):
        save_panel(panel, tmp_path / "bars.txt")


def test_save_refuses_to_replace_a_directory_that_is_not_a_panel(panel, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("keep me")

    with pytest.raises(InputError, match="not a saved panel"):
        save_panel(panel, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.md").read_text() == "keep me"


def test_a_failed_directory_write_keeps_the_old_panel(panel, tmp_path, monkeypatch):
    save_panel(panel, tmp_path / "saved")
    monkeypatch.setattr(pq, "write_table", _fail_on_call(2))
    other = synthesize_market(**(SMALL | {"seed": 10}))

    with pytest.raises(OSError, match="disk full"):
        save_panel(other, tmp_path / "saved")

    monkeypatch.undo()
    assert load_panel(tmp_path / "saved") == panel
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_a_failed_file_write_leaves_no_file(panel, tmp_path, monkeypatch):
    monkeypatch.setattr(pq, "write_table", _fail_on_call(1))

    with pytest.raises(OSError, match="disk full"):
        save_panel(panel, tmp_path / "bars.parquet")

    assert list(tmp_path.iterdir()) == []


def _fail_on_call(n: int):
    real = pq.write_table
    calls = []

    def write(table, where, **kwargs):
        calls.append(where)
        if len(calls) == n:
            with open(where, "wb") as half:
                half.write(b"PAR1")  # something half-written that must not survive
            raise OSError("disk full")
        real(table, where, **kwargs)

    return write


def test_values_and_stamps_follow_the_file(tmp_path):
    rows = good_rows(days=("2024-01-02", "2024-01-03"))
    (tmp_path / "bars.csv").write_bytes(csv_text(rows))

    loaded = load_bars(tmp_path / "bars.csv", session=SESSION)

    assert loaded.tickers == TICKERS
    assert list(loaded.dates.astype(str)) == ["2024-01-02", "2024-01-03"]
    np.testing.assert_array_equal(loaded.price, expected_close(rows))
    assert loaded.volume[0, 0, 1] == float(rows[20][6])


def test_naive_times_are_read_in_the_zone_given(tmp_path):
    rows = good_rows()
    aware = tmp_path / "aware.csv"
    aware.write_bytes(csv_text(rows))
    utc = [[pd.Timestamp(r[0]).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S"), *r[1:]]
           for r in rows]  # fmt: skip
    naive = tmp_path / "naive_utc.csv"
    naive.write_bytes(csv_text(utc))

    assert load_bars(naive, tz="UTC", session=SESSION) == load_bars(aware, session=SESSION)


def test_start_stamped_bars_are_detected_or_read_with_stamp_start(tmp_path):
    rows = good_rows()
    shifted = [[str(pd.Timestamp(r[0]) - pd.Timedelta(minutes=1)), *r[1:]] for r in rows]
    (tmp_path / "end.csv").write_bytes(csv_text(rows))
    (tmp_path / "start.csv").write_bytes(csv_text(shifted))

    by_start = load_bars(tmp_path / "start.csv", session=SESSION, stamp="start")

    assert by_start == load_bars(tmp_path / "end.csv", session=SESSION)
    assert load_bars(tmp_path / "start.csv", session=SESSION) == by_start


def test_bars_outside_the_session_are_dropped(tmp_path):
    rows = good_rows()
    extra = [["2024-01-02 08:00:00-05:00", "AAA", "9", "9", "9", "9", "5"],
             ["2024-01-02 09:30:00-05:00", "BBB", "9", "9", "9", "9", "5"]]  # fmt: skip
    (tmp_path / "plain.csv").write_bytes(csv_text(rows))
    (tmp_path / "extended.csv").write_bytes(
        csv_text(extra[:1] + rows[:10] + extra[1:] + rows[10:])
    )

    extended = load_bars(tmp_path / "extended.csv", session=SESSION)

    assert extended == load_bars(tmp_path / "plain.csv", session=SESSION)


def test_the_session_is_read_in_the_exchange_zone(tmp_path):
    rows = [
        [r[0].replace("-05:00", "+00:00").replace(" 09:", " 08:"), *r[1:]] for r in good_rows()
    ]
    (tmp_path / "london.csv").write_bytes(csv_text(rows))

    loaded = load_bars(
        tmp_path / "london.csv", exchange_tz="Europe/London", session=("08:30", "08:40")
    )

    assert loaded.timezone == "Europe/London" and loaded.n_minutes == 10
    assert loaded.to_frame()["timestamp"].iloc[0] == pd.Timestamp("2024-01-02 08:31", tz="UTC")


def test_no_bar_in_the_session_says_what_to_check(tmp_path):
    (tmp_path / "bars.csv").write_bytes(csv_text(good_rows()))

    with pytest.raises(DataError, match=r"no bar falls in the session 14:00-15:00.*tz="):
        load_bars(tmp_path / "bars.csv", session=("14:00", "15:00"))


def test_unsorted_rows_load_with_sort_true(tmp_path):
    rows = good_rows()
    (tmp_path / "sorted.csv").write_bytes(csv_text(rows))
    (tmp_path / "shuffled.csv").write_bytes(csv_text(rows[::-1]))

    shuffled = load_bars(tmp_path / "shuffled.csv", session=SESSION, sort=True)

    assert shuffled.select(TICKERS) == load_bars(tmp_path / "sorted.csv", session=SESSION)


def test_missing_minutes_are_filled_and_counted(tmp_path):
    rows = good_rows(days=("2024-01-02", "2024-01-03"))
    gaps = {0, 4, 10}  # AAA's first bar of day 1 (back-filled), 09:35, day 2's first bar
    (tmp_path / "gaps.csv").write_bytes(csv_text([r for k, r in enumerate(rows) if k not in gaps]))

    with pytest.warns(MissingMinutesWarning) as caught:
        loaded = load_bars(tmp_path / "gaps.csv", session=SESSION, min_minutes=5)

    full = expected_close(rows)
    assert caught[0].message.filled == 3
    assert loaded.volume[0, 0, 0] == loaded.volume[0, 4, 0] == loaded.volume[1, 0, 0] == 0
    assert loaded.price[0, 0, 0] == full[0, 1, 0]  # nothing earlier: the first price seen
    assert loaded.price[0, 4, 0] == full[0, 3, 0]  # carried forward
    assert loaded.price[1, 0, 0] == full[0, 9, 0]  # carried from the previous day's close


def test_a_day_with_too_few_bars_is_dropped_and_named(tmp_path):
    rows = good_rows(days=("2024-01-02", "2024-01-03", "2024-01-04"))
    thin = [r for r in rows if not (r[0].startswith("2024-01-03") and r[1] == "BBB"
                                    and r[0][14:16] > "33")]  # fmt: skip
    (tmp_path / "thin.csv").write_bytes(csv_text(thin))

    with pytest.warns(ShortDayWarning, match="2024-01-03 \\(BBB: 3 bars\\)") as caught:
        loaded = load_bars(tmp_path / "thin.csv", session=SESSION)

    assert caught[0].message.dates == ("2024-01-03",)
    assert list(loaded.dates.astype(str)) == ["2024-01-02", "2024-01-04"]


def test_the_short_day_threshold_is_configurable(tmp_path):
    rows = good_rows(days=("2024-01-02", "2024-01-03"))
    thin = [r for r in rows if not (r[0].startswith("2024-01-03") and r[0][14:16] > "37")]
    (tmp_path / "thin.csv").write_bytes(csv_text(thin))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingMinutesWarning)
        loaded = load_bars(tmp_path / "thin.csv", session=SESSION, min_minutes=7)

    assert loaded.n_days == 2


def test_every_day_too_short_is_an_error(tmp_path):
    (tmp_path / "bars.csv").write_bytes(csv_text(good_rows()[:15]))

    with pytest.raises(DataError, match="min_minutes=9"):
        load_bars(tmp_path / "bars.csv", session=SESSION)


def test_vendor_files_with_ticker_and_zone(tmp_path):
    rows = good_rows()
    paths = []
    for ticker in TICKERS:
        own = [[str(pd.Timestamp(r[0]).tz_localize(None) - pd.Timedelta(minutes=1)), *r[2:]]
               for r in rows if r[1] == ticker]  # fmt: skip
        paths.append(tmp_path / f"{ticker}_1min.txt")
        paths[-1].write_bytes(csv_text(own, header=None))

    loaded = load_bars(
        paths, ticker=TICKERS, tz="America/New_York", stamp="start", session=SESSION
    )

    (tmp_path / "long.csv").write_bytes(csv_text(rows))
    assert loaded == load_bars(tmp_path / "long.csv", session=SESSION)


def test_header_case_spaces_and_extra_columns_are_tolerated(tmp_path):
    rows = good_rows()
    header = [" Timestamp", "TICKER ", "Open", "High", "Low", "Close", "Volume"]
    (tmp_path / "loose.csv").write_bytes(
        csv_text([[*r, "x"] for r in rows], [*header, "exchange"]).replace(b",", b", ")
    )
    (tmp_path / "strict.csv").write_bytes(csv_text(rows, HEADER))

    loose = load_bars(tmp_path / "loose.csv", session=SESSION)

    assert loose == load_bars(tmp_path / "strict.csv", session=SESSION)


@settings(max_examples=20, deadline=None)
@given(
    n_days=st.integers(1, 3),
    n_minutes=st.integers(1, 6),
    n_stocks=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    fmt=st.sampled_from(["bars.csv", "bars.parquet", "saved"]),
)
def test_any_panel_survives_a_save_and_load(
    n_days, n_minutes, n_stocks, seed, fmt, tmp_path_factory
):
    rng = np.random.default_rng(seed)
    price = np.exp(rng.normal(3, 2, (n_days, n_minutes, n_stocks)))  # awkward decimals
    volume = rng.choice([0.0, 1.0, 1e9, 123.456], (n_days, n_minutes, n_stocks))
    dates = np.busday_offset("2023-03-10", np.arange(n_days), "forward")  # crosses a DST change
    panel = MarketPanel(price, volume, [f"S/{i} x" for i in range(n_stocks)], dates)
    path = tmp_path_factory.mktemp("trip") / fmt
    session = ("09:30", f"09:{30 + n_minutes:02d}")

    save_panel(panel, path)

    assert load_bars(path, session=session, min_minutes=1) == panel
