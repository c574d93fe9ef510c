"""The synthetic market's volume clock (SynthParams.volume_volatility): busy minutes and days
move more, volumes stay as they were, prices stay martingales, and the default is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import InputError, SynthParams, synthesize_market
from lobsim.market.stats import stylised_facts


@pytest.fixture(scope="module")
def markets():
    return {k: synthesize_market(20, 60, seed=4, params=SynthParams(volume_volatility=k))
            for k in (0.0, 1.0)}  # fmt: skip


def test_the_clock_moves_prices_only(markets):
    plain, clocked = markets[0.0], markets[1.0]
    np.testing.assert_array_equal(plain.volume, clocked.volume)
    assert not np.array_equal(plain.price, clocked.price)
    again = synthesize_market(20, 60, seed=4, params=SynthParams(volume_volatility=1.0),
                              workers=1)  # fmt: skip
    np.testing.assert_array_equal(again.price, clocked.price)  # threads change no byte


def test_busy_minutes_and_days_move_more_and_tails_fatten(markets):
    plain, clocked = (stylised_facts(markets[k]) for k in (0.0, 1.0))
    assert abs(plain["volume_volatility_correlation"]) < 0.03
    assert clocked["volume_volatility_correlation"] > 0.15
    assert (
        clocked["daily_volume_volatility_correlation"]
        > plain["daily_volume_volatility_correlation"]
    )
    assert clocked["return_kurtosis"] > plain["return_kurtosis"] + 0.5


def test_the_average_variance_and_the_martingale_are_kept(markets):
    def intraday_variance(panel):
        r = np.diff(np.log(panel.price), axis=1)
        return (r**2).sum(axis=1).mean()

    ratio = intraday_variance(markets[1.0]) / intraday_variance(markets[0.0])
    assert 0.8 < ratio < 1.25
    # E[S_t / S_open] = 1 at every minute: the clocked path is Brownian on its own clock.
    panel = synthesize_market(10, 400, seed=9, params=SynthParams(volume_volatility=1.0))
    for t in (100, 389):
        daily = (panel.price[:, t] / panel.price[:, 0]).mean(axis=1)  # stocks move together
        assert abs(daily.mean() - 1.0) < 4 * daily.std() / np.sqrt(daily.size)


def test_out_of_range_is_refused():
    with pytest.raises(InputError, match=r"volume_volatility: expected in \[0, 5\]"):
        SynthParams(volume_volatility=-0.5)


def test_days_of_their_own_are_on_by_default_and_each_does_what_it_says():
    off = {"profile_day_sd": 0.0, "heavy_close": 1.0}
    plain = synthesize_market(6, 260, seed=5, params=SynthParams(**off))
    default = synthesize_market(6, 260, seed=5)
    same = synthesize_market(6, 260, seed=5, params=SynthParams(profile_day_sd=0.6,
                                                                heavy_close=3.0))  # fmt: skip
    np.testing.assert_array_equal(default.volume, same.volume)
    assert not np.array_equal(default.volume, plain.volume)

    half = synthesize_market(6, 260, seed=5, params=SynthParams(**off, half_day_minutes=210))
    early = [str(d) for d, v in zip(half.dates, half.volume, strict=True) if v[210:].sum() == 0]
    assert early == ["2020-11-27", "2020-12-24"]  # the Friday after Thanksgiving, Dec 24
    i = list(half.dates.astype(str)).index("2020-11-27")
    assert (half.price[i, 210:] == half.price[i, 209]).all() and half.volume[i, :210].min() > 0
    others = np.ones(len(half.dates), dtype=bool)
    others[[i, list(half.dates.astype(str)).index("2020-12-24")]] = False
    np.testing.assert_array_equal(half.volume[others], plain.volume[others])

    heavy = synthesize_market(6, 260, seed=5, params=SynthParams(profile_day_sd=0.0,
                                                                 heavy_close=4.0))  # fmt: skip
    fridays = [str(d) in ("2020-03-20", "2020-06-19", "2020-09-18", "2020-12-18")
               for d in heavy.dates]  # fmt: skip
    ratio = heavy.volume[fridays, -1].sum() / plain.volume[fridays, -1].sum()
    assert 2.5 < ratio < 4.5  # the closing spike, four times (the bar's other volume stays)

    varied = synthesize_market(6, 260, seed=5, params=SynthParams(profile_day_sd=0.6,
                                                                  heavy_close=1.0))  # fmt: skip

    def opening_share_sd(panel):  # across days, per stock: how much the open's weight moves
        share = panel.volume[:, :30].sum(axis=1) / panel.volume.sum(axis=1)
        return share.std(axis=0).mean()

    assert opening_share_sd(varied) > 1.1 * opening_share_sd(plain)
    assert stylised_facts(varied)["profile_variation"] > stylised_facts(plain)["profile_variation"]
