"""MarketPanel: layout, checks, day views, stock selection, long-frame conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lobsim import InputError, MarketPanel
from lobsim.market import BarDataError


def _panel(n_days=3, n_minutes=4, n_stocks=2, seed=0) -> MarketPanel:
    rng = np.random.default_rng(seed)
    price = 50 + rng.random((n_days, n_minutes, n_stocks))
    volume = rng.integers(0, 1000, (n_days, n_minutes, n_stocks)).astype(float)
    tickers = [f"T{i}" for i in range(n_stocks)]
    dates = np.datetime64("2024-01-02") + np.arange(n_days)
    return MarketPanel(price, volume, tickers, dates, session_open="09:30")


def test_arrays_are_stored_as_c_contiguous_float64():
    price = np.asfortranarray(np.ones((2, 3, 4), dtype=np.float32))

    panel = MarketPanel(price, price, list("ABCD"), ["2024-01-02", "2024-01-03"])

    assert panel.price.dtype == np.float64 and panel.price.flags.c_contiguous
    assert panel.volume.dtype == np.float64 and panel.volume.flags.c_contiguous
    assert (panel.n_days, panel.n_minutes, panel.n_stocks) == (2, 3, 4)
    assert panel.dates.dtype == np.dtype("datetime64[D]")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"volume": np.ones((2, 3, 3))}, "volume"),
        ({"tickers": ["A", "B"]}, "tickers"),
        ({"tickers": ["A", "A", "B", "C"]}, "repeated"),
        ({"dates": ["2024-01-03", "2024-01-02"]}, "increasing"),
        ({"dates": ["2024-01-02"]}, "dates"),
        ({"session_open": "9h30"}, "session_open"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
    ],
)
def test_inconsistent_parts_are_refused(change, fragment):
    parts = {
        "price": np.ones((2, 3, 4)),
        "volume": np.ones((2, 3, 4)),
        "tickers": list("ABCD"),
        "dates": ["2024-01-02", "2024-01-03"],
    }
    options = {k: change.pop(k) for k in ("session_open", "timezone") if k in change}
    parts.update(change)

    with pytest.raises(InputError, match=fragment):
        MarketPanel(**parts, **options)


@pytest.mark.parametrize(("array", "value"), [("price", 0.0), ("price", np.nan), ("volume", -1.0)])
def test_bad_values_are_refused(array, value):
    parts = {"price": np.ones((2, 3, 4)), "volume": np.ones((2, 3, 4))}
    parts[array][1, 2, 3] = value

    with pytest.raises(InputError, match=rf"{array}: .*\[1, 2, 3\]"):
        MarketPanel(parts["price"], parts["volume"], list("ABCD"), ["2024-01-02", "2024-01-03"])


def test_adv_is_the_mean_over_days_of_each_stocks_daily_volume():
    panel = _panel()

    expected = [np.mean([panel.volume[d, :, i].sum() for d in range(3)]) for i in range(2)]

    np.testing.assert_allclose(panel.adv, expected)


def test_days_returns_views_of_the_same_memory():
    panel = _panel(n_days=5)

    part = panel.days(1, 3)

    assert np.shares_memory(part.price, panel.price)
    assert np.shares_memory(part.volume, panel.volume)
    np.testing.assert_array_equal(part.price, panel.price[1:3])
    np.testing.assert_array_equal(part.dates, panel.dates[1:3])


def test_days_accepts_a_fold_slice():
    panel = _panel(n_days=5)

    assert panel.days(slice(2, 5)) == panel.days(2, 5)


@pytest.mark.parametrize(("start", "stop"), [(0, 6), (3, 3), (-1, 2)])
def test_days_out_of_range_is_refused(start, stop):
    with pytest.raises(InputError, match="days"):
        _panel(n_days=5).days(start, stop)


def test_select_keeps_the_order_asked_for():
    panel = _panel(n_stocks=3)

    picked = panel.select(["T2", "T0"])

    assert picked.tickers == ("T2", "T0")
    np.testing.assert_array_equal(picked.price[:, :, 0], panel.price[:, :, 2])
    np.testing.assert_array_equal(picked.volume[:, :, 1], panel.volume[:, :, 0])
    assert not np.shares_memory(picked.price, panel.price)


def test_select_unknown_ticker_is_named():
    with pytest.raises(InputError, match="ZZZ"):
        _panel().select(["T0", "ZZZ"])


def test_to_frame_stamps_bars_by_the_end_of_their_minute():
    panel = _panel(n_days=2, n_minutes=390, n_stocks=2)

    frame = panel.to_frame()

    first = frame[frame["ticker"] == "T1"]["timestamp"]
    assert list(frame.columns) == ["timestamp", "ticker", "close", "volume"]
    assert len(frame) == 2 * 390 * 2
    assert first.iloc[0] == pd.Timestamp("2024-01-02 09:31", tz="America/New_York")
    assert first.iloc[389] == pd.Timestamp("2024-01-02 16:00", tz="America/New_York")
    assert first.iloc[390] == pd.Timestamp("2024-01-03 09:31", tz="America/New_York")


def test_to_frame_values_follow_ticker_then_time():
    panel = _panel()

    frame = panel.to_frame()

    stock1 = frame[frame["ticker"] == "T1"]
    np.testing.assert_array_equal(stock1["close"], panel.price[:, :, 1].reshape(-1))
    np.testing.assert_array_equal(stock1["volume"], panel.volume[:, :, 1].reshape(-1))


def test_from_frame_inverts_to_frame():
    panel = _panel(n_minutes=10)

    again = MarketPanel.from_frame(panel.to_frame(), session=("09:30", "09:40"))

    assert again == panel


def test_from_frame_with_sort_accepts_shuffled_rows():
    panel = _panel(n_minutes=10)
    shuffled = panel.to_frame().sample(frac=1.0, random_state=1)

    again = MarketPanel.from_frame(shuffled, session=("09:30", "09:40"), sort=True)

    assert again == panel


def test_from_frame_without_sort_refuses_shuffled_rows():
    shuffled = _panel(n_minutes=10).to_frame().sample(frac=1.0, random_state=1)

    with pytest.raises(BarDataError, match="earlier than"):
        MarketPanel.from_frame(shuffled, session=("09:30", "09:40"))


def test_from_frame_reports_nan_with_the_frame_row():
    frame = _panel(n_minutes=10).to_frame()
    frame.loc[6, "close"] = np.nan

    with pytest.raises(BarDataError) as caught:
        MarketPanel.from_frame(frame, session=("09:30", "09:40"))

    assert (caught.value.row, caught.value.column) == (7, "close")
    assert "NaN" in str(caught.value)


def test_panels_differing_in_one_value_are_not_equal():
    panel = _panel()
    other = MarketPanel(
        panel.price.copy(), panel.volume.copy(), panel.tickers, panel.dates, session_open="09:30"
    )
    other.volume[0, 0, 0] += 1

    assert other != panel


def test_from_frame_reads_text_columns_and_naive_times_in_the_zone_given():
    panel = _panel(n_minutes=10)
    frame = panel.to_frame()
    text = pd.DataFrame(
        {
            "Timestamp": frame["timestamp"].dt.tz_localize(None).astype(str),
            "Ticker": frame["ticker"].astype(str),
            "Close": frame["close"],
            "Volume": frame["volume"],
        }
    )

    again = MarketPanel.from_frame(text, tz="America/New_York", session=("09:30", "09:40"))

    assert again == panel
