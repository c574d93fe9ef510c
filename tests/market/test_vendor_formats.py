"""Real-world minute-bar files load without flags: format, zone and stamping are detected."""

from __future__ import annotations

import pytest

from lobsim import load_bars
from lobsim.errors import DataError
from lobsim.market import MissingMinutesWarning
from tests.market.vendor_bars import (
    TICKER,
    bars,
    firstrate,
    kibot,
    long_csv,
    naive_utc_long,
    ninjatrader,
)


@pytest.fixture
def reference(tmp_path):
    return load_bars(long_csv(tmp_path / "long.csv", bars()))


def test_the_long_file_says_what_it_assumed(tmp_path, reference):
    notes = reference.assumptions

    assert (reference.n_days, reference.n_minutes, reference.tickers) == (2, 390, (TICKER,))
    assert notes.format == "long CSV with a header row (comma)"
    assert notes.zone == "timestamps carry their zone offset"
    assert (notes.stamp, notes.stamp_reason) == (
        "end",
        "detected: bars at 16:00 and none at 09:30",
    )


def test_firstrate_start_stamped_with_extended_hours(tmp_path, reference):
    loaded = load_bars(firstrate(tmp_path / "AAPL_1min.txt", bars()), ticker=TICKER)

    assert loaded == reference
    assert loaded.assumptions.stamp == "start"
    assert "opening volume lands on the 09:30 bar" in loaded.assumptions.stamp_reason
    assert "America/New_York, exchange time (assumed" in loaded.assumptions.zone
    assert loaded.assumptions.format == "headerless vendor file (comma, FirstRate style)"


def test_kibot_date_and_time_columns_start_stamped(tmp_path, reference):
    loaded = load_bars(kibot(tmp_path / "AAPL.txt", bars()), ticker=TICKER)

    assert loaded == reference
    assert loaded.assumptions.format == "Kibot (comma, mm/dd/yyyy,hh:mm)"
    assert loaded.assumptions.stamp == "start"


def test_headerless_regular_session_only(tmp_path, reference):
    path = firstrate(tmp_path / "AAPL.txt", bars(extended=False))

    loaded = load_bars(path, ticker=TICKER)

    assert loaded == reference
    assert loaded.assumptions.stamp_reason == "detected: bars at 09:30 and none before it"


def test_vendor_file_with_a_header_row(tmp_path, reference):
    path = firstrate(tmp_path / "AAPL.csv", bars(), header="DateTime,Open,High,Low,Close,Volume")

    loaded = load_bars(path, ticker=TICKER)

    assert loaded == reference
    assert loaded.assumptions.format == "vendor file of AAPL with a header row"


def test_ninjatrader_in_exchange_time(tmp_path, reference):
    loaded = load_bars(ninjatrader(tmp_path / "AAPL.Last.txt", bars()), ticker=TICKER)

    assert loaded == reference
    assert loaded.assumptions.stamp == "end"
    assert "09:31 bar" in loaded.assumptions.stamp_reason
    assert loaded.assumptions.format.startswith("NinjaTrader text (semicolon")


def test_ninjatrader_export_in_utc(tmp_path, reference):
    path = ninjatrader(tmp_path / "AAPL.Last.txt", bars(extended=False), zone="UTC")

    loaded = load_bars(path, ticker=TICKER)

    assert loaded == reference
    assert "read as UTC (assumed: NinjaTrader exports are in UTC" in loaded.assumptions.zone


def test_naive_utc_is_refused_with_a_hint_and_loads_with_tz(tmp_path, reference):
    path = naive_utc_long(tmp_path / "utc.csv", bars())

    with pytest.raises(DataError, match=r"utc\.csv: .*these look like UTC: pass --tz UTC"):
        load_bars(path)
    assert load_bars(path, tz="UTC") == reference
    assert load_bars(path, tz="UTC").assumptions.zone.endswith("UTC (given)")


def test_an_explicit_stamp_wins_over_detection(tmp_path, reference):
    path = firstrate(tmp_path / "AAPL.txt", bars())

    as_end = load_bars(path, ticker=TICKER, stamp="end")

    assert as_end != reference and as_end.assumptions.stamp_reason == "given"
    assert (as_end.volume[0, 0, 0], reference.volume[0, 0, 0]) == (1_002, 50_000)  # a minute off


def test_a_file_that_cannot_tell_its_stamping_is_refused(tmp_path):
    frame = bars()
    middle = frame[(frame["end"].dt.hour >= 10) & (frame["end"].dt.hour < 15)]
    path = long_csv(tmp_path / "middle.csv", middle)

    with pytest.raises(DataError, match=r"middle\.csv: cannot tell.*no bar at 09:30 or 16:00.*"
                       r"--stamp start\|end"):  # fmt: skip
        load_bars(path, min_minutes=1)
    with pytest.warns(MissingMinutesWarning):
        assert load_bars(path, min_minutes=1, stamp="end").n_days == 2
