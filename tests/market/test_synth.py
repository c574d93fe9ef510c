"""The synthetic market: shapes, statistics it is calibrated to, determinism, modes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lobsim import InputError, SynthParams, synthesize_market
from lobsim.market import SYNTH_PRESETS, synthetic_universe

N_STOCKS, N_DAYS, MINUTES = 16, 40, 390


@pytest.fixture(scope="module")
def market():
    return synthesize_market(N_STOCKS, N_DAYS, minutes=MINUTES, seed=7)


def _intraday_residual(volume: np.ndarray) -> np.ndarray:
    """log volume minus its per-(minute, stock) mean and minus each (day, stock) mean."""
    log_v = np.log(volume)
    log_v = log_v - log_v.mean(axis=0, keepdims=True)
    return log_v - log_v.mean(axis=1, keepdims=True)


def _mean_pairwise_correlation(series: np.ndarray) -> float:
    """series (T, N): mean of the off-diagonal correlations between the N columns."""
    corr = np.corrcoef(series, rowvar=False)
    return float(corr[~np.eye(corr.shape[0], dtype=bool)].mean())


def test_shapes_and_layout(market):
    assert market.price.shape == market.volume.shape == (N_DAYS, MINUTES, N_STOCKS)
    assert market.price.flags.c_contiguous and market.volume.flags.c_contiguous
    assert market.price.dtype == market.volume.dtype == np.float64
    assert len(set(market.tickers)) == N_STOCKS
    assert np.all(np.is_busday(market.dates)) and np.all(np.diff(market.dates) > np.timedelta64(0))


def test_prices_and_volumes_are_finite_and_positive(market):
    assert np.all(np.isfinite(market.price)) and np.all(market.price > 0)
    assert np.all(np.isfinite(market.volume)) and np.all(market.volume > 0)


def test_average_intraday_volume_is_u_shaped_with_a_closing_spike(market):
    share = (market.volume / market.volume.sum(axis=1, keepdims=True)).mean(axis=(0, 2))

    midday = share[165:225].mean()
    assert share[:30].mean() > 1.5 * midday
    assert share[-31:-1].mean() > 1.5 * midday
    assert share[-1] > 5 * share[-2]


def test_realised_adv_matches_the_universe(market):
    universe = synthetic_universe(N_STOCKS, minutes=MINUTES, seed=7)

    ratio = market.adv / universe.adv

    assert 0.8 < np.median(ratio) < 1.25


def test_universe_spans_the_sp100_ranges():
    universe = synthetic_universe(100)

    assert universe.adv.min() >= 2e5 and universe.adv.max() <= 9e7
    assert universe.adv.min() < 1e6 and universe.adv.max() > 3e7
    assert universe.price0.min() >= 10 and universe.price0.max() <= 3000
    np.testing.assert_allclose(universe.profile.sum(axis=0), 1.0)


def test_day_level_volume_shocks_are_shared_across_stocks(market):
    daily = np.log(market.volume.sum(axis=1))

    assert _mean_pairwise_correlation(daily) > 0.25


def test_day_level_volume_shocks_are_independent_without_a_market_part():
    params = SynthParams(market_loading_range=(0.0, 0.0))
    panel = synthesize_market(N_STOCKS, N_DAYS, minutes=MINUTES, seed=7, params=params)

    daily = np.log(panel.volume.sum(axis=1))

    assert abs(_mean_pairwise_correlation(daily)) < 0.1


def test_intraday_volume_shocks_are_shared_across_stocks(market):
    residual = _intraday_residual(market.volume)
    blocks = residual.reshape(N_DAYS, MINUTES // 10, 10, N_STOCKS).mean(axis=2)

    assert _mean_pairwise_correlation(blocks.reshape(-1, N_STOCKS)) > 0.25


@pytest.mark.parametrize("lag", [15, 30, 45, 60])
def test_intraday_volume_shocks_decay_with_the_calibrated_half_life(market, lag):
    # The variogram E[(r[t+h] - r[t])^2] = 2 s_X^2 (1 - phi^h) + 2 s_e^2 does not see the
    # day-level shock, so it isolates the intraday persistence phi^h = 0.5 ** (h / half-life).
    params = SynthParams()
    log_v = np.log(market.volume)
    residual = log_v - log_v.mean(axis=0, keepdims=True)

    variogram = ((residual[:, lag:] - residual[:, :-lag]) ** 2).mean()

    persistence = 1 - (variogram - 2 * params.minute_noise_sd**2) / (
        2 * params.intraday_shock_sd**2
    )
    assert persistence == pytest.approx(0.5 ** (lag / params.intraday_half_life), abs=0.1)


def test_without_intraday_shocks_minute_volumes_do_not_persist():
    # Each day's own profile shape would persist through the day too: held fixed here.
    params = SynthParams(intraday_shock_sd=0.0, profile_day_sd=0.0, heavy_close=1.0)
    panel = synthesize_market(4, 20, minutes=MINUTES, seed=7, params=params)
    residual = _intraday_residual(panel.volume)

    lag30 = np.corrcoef(residual[:, :-30].reshape(-1), residual[:, 30:].reshape(-1))[0, 1]

    assert abs(lag30) < 0.05


def test_the_morning_predicts_the_rest_of_the_day():
    # The intraday shocks' persistence, without each day's own shape around it.
    params = SynthParams(profile_day_sd=0.0, heavy_close=1.0)
    market = synthesize_market(N_STOCKS, N_DAYS, minutes=MINUTES, seed=7, params=params)
    residual = _intraday_residual(market.volume)

    morning = residual[:, :60].mean(axis=1).reshape(-1)
    afternoon = residual[:, 60:150].mean(axis=1).reshape(-1)

    assert np.corrcoef(morning, afternoon)[0, 1] > 0.2


def test_daily_returns_have_realistic_volatility_and_no_drift(market):
    closes = np.log(market.price[:, -1, :])
    returns = np.diff(closes, axis=0)

    vol = returns.std(axis=0)
    simple = np.expm1(returns).reshape(-1)
    assert 0.006 < vol.min() and vol.max() < 0.04
    assert abs(simple.mean()) < 4 * simple.std() / np.sqrt(simple.size)


def test_returns_share_a_market_factor(market):
    returns = np.diff(np.log(market.price[:, -1, :]), axis=0)

    assert _mean_pairwise_correlation(returns) > 0.1


def test_intraday_volatility_is_u_shaped(market):
    minute_returns = np.diff(np.log(market.price), axis=1)
    variance = (minute_returns**2).mean(axis=(0, 2))

    assert variance[:15].mean() > 1.5 * variance[180:240].mean()
    assert variance[-15:].mean() > 1.1 * variance[180:240].mean()


def test_same_seed_same_bytes_other_seed_other_bytes():
    first = synthesize_market(3, 5, minutes=30, seed=11)
    again = synthesize_market(3, 5, minutes=30, seed=11)
    other = synthesize_market(3, 5, minutes=30, seed=12)

    assert first.price.tobytes() == again.price.tobytes()
    assert first.volume.tobytes() == again.volume.tobytes()
    assert first.volume.tobytes() != other.volume.tobytes()


def test_bytes_do_not_depend_on_how_the_days_are_chunked():
    whole = synthesize_market(5, 23, minutes=37, seed=3)
    threaded = synthesize_market(5, 23, minutes=37, seed=3, workers=3)
    pieces = [synthesize_market(5, 23, minutes=37, seed=3, days=slice(a, b))
              for a, b in [(0, 1), (1, 10), (10, 23)]]  # fmt: skip

    assert threaded.price.tobytes() == whole.price.tobytes()
    assert threaded.volume.tobytes() == whole.volume.tobytes()
    assert np.concatenate([p.price for p in pieces]).tobytes() == whole.price.tobytes()
    assert np.concatenate([p.volume for p in pieces]).tobytes() == whole.volume.tobytes()
    assert np.array_equal(np.concatenate([p.dates for p in pieces]), whole.dates)


def test_first_stocks_do_not_depend_on_how_many_follow():
    small = synthesize_market(3, 6, minutes=25, seed=5)
    large = synthesize_market(7, 6, minutes=25, seed=5)

    assert large.select(small.tickers) == small


def test_deterministic_mode_volume_is_the_profile_exactly():
    universe = synthetic_universe(4, minutes=50, seed=2)

    panel = synthesize_market(4, 6, minutes=50, seed=2, volume_mode="deterministic")

    expected = universe.adv * universe.profile
    for day in range(6):
        np.testing.assert_array_equal(panel.volume[day], expected)


def test_constant_mode_volume_is_adv_over_minutes_everywhere():
    universe = synthetic_universe(4, minutes=50, seed=2)

    panel = synthesize_market(4, 6, minutes=50, seed=2, volume_mode="constant")

    np.testing.assert_array_equal(panel.volume, np.broadcast_to(universe.adv / 50, (6, 50, 4)))


def test_prices_do_not_depend_on_the_volume_mode_off_the_volume_clock():
    modes = ("stochastic", "deterministic", "constant")
    independent = SynthParams(volume_volatility=0.0)

    prices = [
        synthesize_market(4, 6, minutes=50, seed=2, volume_mode=m, params=independent).price
        for m in modes
    ]

    assert prices[0].tobytes() == prices[1].tobytes() == prices[2].tobytes()
    clocked = synthesize_market(4, 6, minutes=50, seed=2).price  # the default: on the clock
    assert clocked.tobytes() != prices[0].tobytes()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"volume_mode": "random"}, "volume_mode"),
        ({"n_stocks": 0}, "n_stocks"),
        ({"minutes": 0}, "minutes"),
        ({"seed": -1}, "seed"),
        ({"days": slice(5, 5)}, "days"),
        ({"start": "someday"}, "start"),
    ],
)
def test_bad_arguments_are_refused(kwargs, fragment):
    arguments = {"n_stocks": 2, "n_days": 5, "minutes": 10} | kwargs

    with pytest.raises(InputError, match=fragment):
        synthesize_market(**arguments)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("adv_range", (5.0, 1.0)),
        ("intraday_half_life", 0.0),
        ("daily_shock_persistence", 1.0),
        ("market_loading_range", (0.5, 1.5)),
        ("minute_noise_sd", -0.1),
        ("close_spike", 0.6),
    ],
)
def test_bad_calibration_is_refused_naming_the_field(field, value):
    with pytest.raises(InputError, match=field) as caught:
        SynthParams(**{field: value})

    assert caught.value.key == (field,)
    assert str(caught.value) == f"SynthParams.{field}{caught.value.detail}"


def test_thin_preset_trades_in_whole_trades_and_keeps_expected_volume():
    thin = SYNTH_PRESETS["thin"]
    discrete = synthesize_market(6, 30, seed=4, params=thin)
    continuous = synthesize_market(
        6, 30, seed=4, params=dataclasses.replace(thin, trades_per_day=0.0)
    )
    size = np.maximum(np.round(synthetic_universe(6, seed=4, params=thin).adv / 150.0), 1.0)

    trades = discrete.volume / size
    np.testing.assert_array_equal(trades, np.round(trades))  # whole trades only
    traded = (discrete.volume > 0).sum(axis=1)
    assert 70 <= np.median(traded) <= 130  # about 100 minutes a day with a trade
    assert (continuous.volume > 0).all()
    np.testing.assert_array_equal(discrete.price, continuous.price)
    # Poisson around the continuous volume: the same mean, within a few percent over 30 days.
    ratio = discrete.volume.sum() / continuous.volume.sum()
    assert 0.95 < ratio < 1.05


def test_trades_per_day_zero_keeps_the_continuous_market_bytes():
    default = synthesize_market(3, 4, seed=8)
    explicit = synthesize_market(3, 4, seed=8, params=SynthParams(trades_per_day=0.0))

    np.testing.assert_array_equal(default.volume, explicit.volume)


def test_negative_trades_per_day_is_refused():
    with pytest.raises(InputError, match=r"SynthParams\.trades_per_day"):
        SynthParams(trades_per_day=-1.0)
