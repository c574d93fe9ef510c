"""A synthetic minute-bar market shaped like the S&P 100, reproducible from one seed.

Log-volume of stock i in minute t of day d is the sum of independent parts::

    log V[d,t,i] = log(ADV_i * profile_i[t])                 stable U-shape with closing spike
                 + s_D * (l_i * Dm[d] + sqrt(1-l_i^2) * Di[d,i])    day shock, AR(1) over days
                 + s_X * (l_i * Xm[d,t] + sqrt(1-l_i^2) * Xi[d,t,i]) intraday shock, AR(1)/min
                 + s_e * e[d,t,i]                                   i.i.d. minute noise
                 - (s_D^2 + s_X^2 + s_e^2) / 2                      so that E[V] = ADV * profile

with Dm, Xm market-wide (shared by all stocks) and Di, Xi idiosyncratic, all of unit variance.
The intraday shocks persist for tens of minutes, so the morning predicts the afternoon, and
their market part makes the cross-section informative: this is what lets an adaptive strategy
beat a static VWAP schedule. Each stock's expected profile is its own; by default its shape
also varies from day to day (``profile_day_sd``), closes are heavier on index-rebalance days
and month ends (``heavy_close``), and returns run on a volume clock (``volume_volatility``), as
real minute bars do (:class:`SynthParams` gives the published facts behind each). The mean
profile, which VWAP learns from training days, is still the best static schedule.

Log prices follow a one-factor model, beta_i * market + idiosyncratic, with a U-shaped
intraday volatility, an overnight gap, and no drift by default (every price is a martingale).
Daily quantities are drawn first for all days; each day's minutes are then filled in
conditionally (a Brownian bridge to the day's close), so a day needs only its own draws.

Reproducibility: one root ``SeedSequence``; child streams by stable keys, (0, stock) for a
stock's parameters, (1, day) for the daily layer and (2, day) for a day's minutes. The bytes
do not depend on how the days are split into blocks, on ``workers`` or on ``days=``, and the
first n stocks of a universe do not depend on how many stocks follow them.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from statistics import NormalDist

import numpy as np

from lobsim._memory import check_fits
from lobsim.errors import InputError
from lobsim.market._kernels import (
    VOLUME_CONSTANT,
    VOLUME_DETERMINISTIC,
    VOLUME_STOCHASTIC,
    ar1_nb,
    synth_day_clock_nb,
    synth_day_nb,
)
from lobsim.market.panel import DEFAULT_TIMEZONE, MarketPanel, check_timezone

VOLUME_MODES = {
    "stochastic": VOLUME_STOCHASTIC,
    "deterministic": VOLUME_DETERMINISTIC,
    "constant": VOLUME_CONSTANT,
}
_STOCK, _DAILY, _INTRADAY, _TRADES, _PROFILE = 0, 1, 2, 3, 4
_DAYS_PER_TASK = 8


@dataclass(frozen=True, kw_only=True)
class SynthParams:
    """Calibration of the synthetic market; every field is per stock unless it says market.

    Times given as a ``*_decay`` are fractions of the session (0.06 of 390 minutes is about 23
    minutes), so the shapes do not depend on the number of minutes.

    Universe (an S&P 100-like cross-section):

    adv_range : (float, float)
        Average daily volume in shares, log-uniform: 0.2M to 90M, the spread of S&P 100 names.
    price_range : (float, float)
        Initial price, log-uniform marginally: $10 to $3,000.
    price_adv_correlation : float
        Gaussian-copula correlation of log price with log ADV. Negative (-0.6) because
        high-priced large caps trade fewer shares, keeping dollar volumes plausible.

    Prices (one-factor market model, Sharpe 1964):

    market_vol : float
        Daily sd of the market factor's log return: 1.0% (about 16% a year).
    beta_range : (float, float)
        Market betas, uniform: 0.6 to 1.4.
    idio_vol_range : (float, float)
        Daily idiosyncratic sd, log-uniform: 0.8% to 2.5%; total daily vol about 1-3%.
    overnight_share : float
        Share of the daily return variance that arrives overnight (close to open): 0.25, in
        the fifth-to-third range reported for US large caps.
    drift : float
        Expected daily return, E[S(d+1) / S(d)] = exp(drift); 0 means no drift (martingale).
    vol_open_boost, vol_close_boost, vol_decay : float
        U-shaped intraday volatility (Wood, McInish and Ord 1985; Harris 1986; Andersen and
        Bollerslev 1997): the sd of a minute's return is proportional to
        1 + open_boost * exp(-u / decay) + close_boost * exp(-(1 - u) / decay), u in (0, 1).

    Volume profile (U-shape: Jain and Joh 1988, Admati and Pfleiderer 1988):

    volume_open_boost, volume_open_decay, volume_close_boost, volume_close_decay : float
        Minute volume proportional to 1 + open_boost * exp(-u / open_decay)
        + close_boost * exp(-(1 - u) / close_decay): about 3x the midday rate at the open and
        2x into the close.
    open_spike, close_spike : float
        Extra share of the day's volume in the first and the last bar: 1% for the opening
        cross, 4% for the closing auction (closing auctions carry several per cent, recently
        close to a tenth, of US daily volume). With the switches below at their defaults, 4%
        puts VWAP's saving against TWAP at about 11% (``lobsim data stats --synthetic``), in
        the 8-14% that real minute bars give (Papanicolaou et al. 2023 report about 10%); the
        closing bar sets most of it: 5% gives about 14%, 3% about 10%.
    profile_dispersion : float
        Log-sd of each stock's multipliers on the four shape parameters above: stocks differ,
        each stock's profile is the same every day.

    Volume shocks (persistence: Gallant, Rossi and Tauchen 1992, Lo and Wang 2000; market and
    idiosyncratic components: Bialkowski, Darolles and Le Fol 2008, Brownlees, Cipollini and
    Gallo 2011; commonality: Chordia, Roll and Subrahmanyam 2000, Hasbrouck and Seppi 2001):

    daily_shock_sd : float
        Sd of the day-level log-volume shock: 0.35.
    daily_shock_persistence : float
        AR(1) coefficient of the day shock from one day to the next: 0.5.
    intraday_shock_sd : float
        Sd of the persistent intraday log-volume shock: 0.5.
    intraday_half_life : float
        Half-life of the intraday shock, in minutes: 45 (AR(1) coefficient 0.5 ** (1/45)).
    minute_noise_sd : float
        Sd of the i.i.d. log-normal minute noise: 0.3.
    market_loading_range : (float, float)
        Weight l_i of the market component in both volume shocks, uniform: 0.55 to 0.85, so
        the market explains 30% to 72% of a stock's shock variance.

    Days of their own (0, 1 and 0 switch each off):

    profile_day_sd : float
        0.6 (the default): the log-sd of each day's multipliers on the stock's four shape
        parameters (opening and closing boost, opening and closing spike), with the market
        loading of the volume shocks shared by all stocks: some days open busy, some close
        heavy (the dynamic component of intraday volume: Bialkowski, Darolles and Le Fol 2008;
        Brownlees, Cipollini and Gallo 2011). 0: a stock's expected profile is the same every
        day. The volume shocks alone make realised shapes differ (the opening half hour's share
        of a day has an sd of about 0.053 across days); 0.6 takes that to 0.061, 1.0 to 0.072.
    heavy_close : float
        Multiplier on the closing spike on index-rebalance days (the third Friday of March,
        June, September and December, whose closing auctions carry several times their usual
        volume) and its square root on other month ends: 3 (the default); 1 for none.
    half_day_minutes : float
        0 (the default): no early closes. Otherwise the session's length on the NYSE's early
        closes (the day after Thanksgiving, Christmas Eve; 210 for 13:00): no volume after
        it, the price left where it closed (the rest of the day's move arrives overnight).
        Off by default because a schedule does not know the day is short: orders after the
        early close find no volume and their shares pay the close's penalty.

    Volume and volatility (the mixture-of-distributions link: Clark 1973, Tauchen and Pitts
    1983, Andersen 1996; volume as the market's clock: Ane and Geman 2000):

    volume_volatility : float
        1 (the default): variance proportional to volume; 0: returns independent of volume.
        kappa > 0 puts returns on a volume clock: a minute's share of the day's return variance
        is its calendar share times exp(kappa s), s the minute's log-volume deviation (market
        and stock components for the market factor and the idiosyncratic part), and a day's
        intraday variance is scaled by exp(kappa D - kappa^2 daily_shock_sd^2 / 2), D the day's
        volume shock (mean one: the average variance is unchanged). Busy minutes and days move
        more, and minute returns gain fat tails; kappa = 1 makes variance proportional to
        volume. Stochastic volume only (``volume_mode="stochastic"``).

    Discrete trades (thin stocks):

    trades_per_day : float
        0 (the default): minute volumes are continuous, every minute trades. Otherwise the
        expected number of trades in a stock's day: each minute's volume becomes a whole number
        of trades of ``round(ADV / trades_per_day)`` shares, Poisson with the continuous
        volume's mean (a compound Poisson tape, Hasbrouck 2007 ch. 2), so that minutes without a
        trade appear where the expected volume is below one trade, as in small caps. Expected
        volumes are unchanged. The ``"thin"`` preset (:data:`SYNTH_PRESETS`) uses 150: a median
        of about 100 traded minutes a day.
    """

    adv_range: tuple[float, float] = (2e5, 9e7)
    price_range: tuple[float, float] = (10.0, 3000.0)
    price_adv_correlation: float = -0.6
    market_vol: float = 0.010
    beta_range: tuple[float, float] = (0.6, 1.4)
    idio_vol_range: tuple[float, float] = (0.008, 0.025)
    overnight_share: float = 0.25
    drift: float = 0.0
    vol_open_boost: float = 1.5
    vol_close_boost: float = 0.5
    vol_decay: float = 0.05
    volume_open_boost: float = 2.0
    volume_open_decay: float = 0.06
    volume_close_boost: float = 1.2
    volume_close_decay: float = 0.05
    open_spike: float = 0.01
    close_spike: float = 0.04
    profile_dispersion: float = 0.25
    daily_shock_sd: float = 0.35
    daily_shock_persistence: float = 0.5
    intraday_shock_sd: float = 0.5
    intraday_half_life: float = 45.0
    minute_noise_sd: float = 0.3
    market_loading_range: tuple[float, float] = (0.55, 0.85)
    trades_per_day: float = 0.0
    volume_volatility: float = 1.0
    profile_day_sd: float = 0.6
    heavy_close: float = 3.0
    half_day_minutes: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            numbers = all(
                isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
                for v in values
            )
            if not numbers or not all(math.isfinite(v) for v in values):
                raise _field_error(f.name, f": expected finite numbers, got {value!r}")
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise _field_error(f.name, f": expected (low, high), got {value!r}")
        _require(self, "adv_range", self.adv_range[0] > 0, "> 0")
        _require(self, "price_range", self.price_range[0] > 0, "> 0")
        rho = self.price_adv_correlation
        _require(self, "price_adv_correlation", -1 <= rho <= 1, "in [-1, 1]")
        _require(self, "idio_vol_range", self.idio_vol_range[0] >= 0, ">= 0")
        _require(self, "overnight_share", 0 <= self.overnight_share < 1, "in [0, 1)")
        _require(self, "daily_shock_persistence", 0 <= self.daily_shock_persistence < 1, "[0, 1)")
        _require(self, "intraday_half_life", self.intraday_half_life > 0, "> 0")
        _require(self, "open_spike", 0 <= self.open_spike, ">= 0")
        _require(self, "close_spike", 0 <= self.close_spike, ">= 0")
        _require(self, "close_spike", self.open_spike + self.close_spike < 0.5, "+ open < 0.5")
        _require(self, "trades_per_day", self.trades_per_day >= 0, ">= 0 (0: continuous volume)")
        _require(self, "volume_volatility", 0 <= self.volume_volatility <= 5, "in [0, 5]")
        _require(self, "profile_day_sd", 0 <= self.profile_day_sd <= 2, "in [0, 2]")
        _require(self, "heavy_close", 1 <= self.heavy_close <= 20, "in [1, 20]")
        _require(self, "half_day_minutes", self.half_day_minutes >= 0, ">= 0 (0: none)")
        lo, hi = self.market_loading_range
        _require(self, "market_loading_range", 0 <= lo and hi <= 1, "within [0, 1]")
        for name in ("market_vol", "daily_shock_sd", "intraday_shock_sd", "minute_noise_sd",
                     "profile_dispersion", "vol_open_boost", "vol_close_boost",
                     "volume_open_boost", "volume_close_boost"):  # fmt: skip
            _require(self, name, getattr(self, name) >= 0, ">= 0")
        for name in ("vol_decay", "volume_open_decay", "volume_close_decay"):
            _require(self, name, getattr(self, name) > 0, "> 0")


def _field_error(name: str, detail: str) -> InputError:
    """An error about field ``name`` of a SynthParams: ``SynthParams.NAME`` followed by
    ``detail`` (``": expected > 0, got 0.0"``)."""
    return InputError(f"SynthParams.{name}{detail}", key=(name,), detail=detail)


def _require(params: SynthParams, name: str, ok: bool, expected: str) -> None:
    if not ok:
        raise _field_error(name, f": expected {expected}, got {getattr(params, name)!r}")


SYNTH_PRESETS: dict[str, SynthParams] = {
    "default": SynthParams(),
    # Small caps: 20k to 500k shares a day traded in about 150 trades, so that a median
    # stock-day has about 100 minutes with a trade; minutes without one leave child orders
    # nothing to trade against.
    "thin": SynthParams(adv_range=(2e4, 5e5), price_range=(5.0, 80.0), trades_per_day=150.0),
}


@dataclass(frozen=True)
class SynthUniverse:
    """The stock-level parameters of a synthetic market (drawn from keys (0, stock)).

    Attributes
    ----------
    tickers : tuple[str, ...]
    adv : ndarray(float64, (N,))
        Expected daily volume in shares.
    price0 : ndarray(float64, (N,))
        Close of the day before the first day.
    beta, idio_vol, loading : ndarray(float64, (N,))
        Market beta, daily idiosyncratic sd, market loading of the volume shocks.
    profile : ndarray(float64, (M, N))
        Expected share of the day's volume traded in each minute; columns sum to 1.
    step_sd : ndarray(float64, (M,))
        Intraday volatility shape: sd weight of each minute's return, sum of squares 1.
    spread : ndarray(float64, (N, 4))
        Each stock's multipliers on the profile's four shape parameters.
    """

    tickers: tuple[str, ...]
    adv: np.ndarray
    price0: np.ndarray
    beta: np.ndarray
    idio_vol: np.ndarray
    loading: np.ndarray
    profile: np.ndarray
    step_sd: np.ndarray
    spread: np.ndarray


def synthetic_universe(
    n_stocks: int = 100,
    *,
    minutes: int = 390,
    seed: int | np.random.SeedSequence = 0,
    params: SynthParams | None = None,
) -> SynthUniverse:
    """Draw the stock-level parameters of the synthetic market (see :class:`SynthParams`)."""
    params = SynthParams() if params is None else params
    _check_count("n_stocks", n_stocks)
    _check_count("minutes", minutes)
    root = _root(seed)
    normal = NormalDist()
    u_mid = (np.arange(minutes) + 0.5) / minutes
    uniform = np.empty((n_stocks, 4))
    gauss = np.empty((n_stocks, 5))
    for i in range(n_stocks):
        rng = _generator(root, _STOCK, i)
        uniform[i] = rng.random(4)
        gauss[i] = rng.standard_normal(5)
    u_adv = np.clip(uniform[:, 0], 1e-12, 1 - 1e-12)
    rho = params.price_adv_correlation
    z_price = rho * np.array([normal.inv_cdf(u) for u in u_adv])
    z_price += math.sqrt(1 - rho * rho) * gauss[:, 0]
    u_price = np.array([normal.cdf(z) for z in z_price])
    profile = np.empty((minutes, n_stocks))
    spread = np.exp(params.profile_dispersion * gauss[:, 1:])
    for i in range(n_stocks):
        profile[:, i] = _volume_profile(u_mid, params, spread[i])
    shape = 1 + params.vol_open_boost * np.exp(-u_mid / params.vol_decay)
    shape += params.vol_close_boost * np.exp(-(1 - u_mid) / params.vol_decay)
    width = max(3, len(str(n_stocks - 1)))
    return SynthUniverse(
        tickers=tuple(f"SYN{i:0{width}d}" for i in range(n_stocks)),
        adv=_log_uniform(params.adv_range, u_adv),
        price0=_log_uniform(params.price_range, u_price),
        beta=params.beta_range[0] + (params.beta_range[1] - params.beta_range[0]) * uniform[:, 1],
        idio_vol=_log_uniform(params.idio_vol_range, uniform[:, 2]),
        loading=params.market_loading_range[0]
        + (params.market_loading_range[1] - params.market_loading_range[0]) * uniform[:, 3],
        profile=profile,
        step_sd=shape / math.sqrt(float(np.sum(shape * shape))),
        spread=spread,
    )


def synthesize_market(
    n_stocks: int = 100,
    n_days: int = 600,
    *,
    minutes: int = 390,
    seed: int | np.random.SeedSequence = 0,
    params: SynthParams | None = None,
    volume_mode: str = "stochastic",
    start: str = "2020-01-02",
    session_open: str = "09:30",
    timezone: str = DEFAULT_TIMEZONE,
    days: slice | None = None,
    workers: int = 1,
) -> MarketPanel:
    """Generate a synthetic market of ``n_stocks`` x ``n_days`` x ``minutes`` minute bars.

    Parameters
    ----------
    n_stocks, n_days, minutes : int
        Universe size; 100 x 600 x 390 by default (nine walk-forward folds of 60 + 45 days).
    seed : int or numpy.random.SeedSequence
        Root of every random stream; the same seed gives the same bytes.
    params : SynthParams, optional
        Calibration (defaults documented on :class:`SynthParams`).
    volume_mode : {"stochastic", "deterministic", "constant"}
        "deterministic": each minute's volume is exactly ``adv * profile`` (every day alike);
        "constant": ``adv / minutes`` every minute. Prices are the same in all three modes.
    start : str
        First trading date; dates are consecutive weekdays (no holiday calendar).
    session_open, timezone : str
        Session opening time and exchange time zone recorded on the panel.
    days : slice, optional
        Generate only these days of the ``n_days``-day market: the result equals
        ``synthesize_market(...).days(days)``, byte for byte, for chunked generation.
    workers : int
        Threads generating blocks of days; the output does not depend on it.

    Returns
    -------
    MarketPanel
        ``price`` and ``volume`` float64 (D, M, N) with D = ``n_days`` (or the slice's length);
        tickers ``SYN000``, ``SYN001``, ...
    """
    params = SynthParams() if params is None else params
    _check_count("n_days", n_days)
    _check_count("workers", workers)
    if volume_mode not in VOLUME_MODES:
        raise InputError(f"volume_mode: expected one of {list(VOLUME_MODES)}, got {volume_mode!r}")
    check_timezone(timezone, "timezone")
    try:
        first_date = np.datetime64(start, "D")
    except ValueError:
        raise InputError(f"start: expected a date 'YYYY-MM-DD', got {start!r}") from None
    day_range = range(n_days)[days if days is not None else slice(None)]
    if len(day_range) == 0 or day_range.step != 1:
        raise InputError(f"days: expected a non-empty slice of range({n_days}), got {days}")
    check_fits(
        16 * n_stocks * len(day_range) * minutes,
        f"a synthetic market of {n_stocks} stocks x {len(day_range)} days x {minutes} minutes",
    )
    universe = synthetic_universe(n_stocks, minutes=minutes, seed=seed, params=params)
    root = _root(seed)
    daily = _daily_layer(universe, params, root, day_range.stop)
    mode = VOLUME_MODES[volume_mode]
    shock_var = params.daily_shock_sd**2 + params.intraday_shock_sd**2
    shock_var += params.minute_noise_sd**2
    base_volume = universe.adv * universe.profile
    log_base = np.log(base_volume) - 0.5 * shock_var
    if mode == VOLUME_CONSTANT:
        base_volume = np.broadcast_to(universe.adv / minutes, (minutes, n_stocks)).copy()
    cum_var = np.cumsum(universe.step_sd**2)
    cum_var[-1] = 1.0  # the last bar closes exactly at the day's drawn close
    total_var = (universe.beta * params.market_vol) ** 2 + universe.idio_vol**2
    intraday_share = 1 - params.overnight_share
    compensator = (params.drift - 0.5 * total_var) * intraday_share
    phi = 0.5 ** (1 / params.intraday_half_life)
    market_sd = params.market_vol * math.sqrt(intraday_share)
    idio_sd = universe.idio_vol * math.sqrt(intraday_share)
    clocked = params.volume_volatility > 0 and mode == VOLUME_STOCHASTIC
    trade_size = None
    if params.trades_per_day > 0:
        trade_size = np.maximum(np.round(universe.adv / params.trades_per_day), 1.0)
    price = np.empty((len(day_range), minutes, n_stocks))
    volume = np.empty_like(price)

    dates = np.busday_offset(first_date, np.arange(day_range.stop), "forward")
    shaped = (params.profile_day_sd > 0 or params.heavy_close > 1
              or 0 < params.half_day_minutes < minutes) and mode == VOLUME_STOCHASTIC  # fmt: skip

    def day_base(d: int) -> tuple[np.ndarray, int]:
        """The day's log base volume and session length (the shared ones on a usual day)."""
        if not shaped:
            return log_base, minutes
        return _day_base(universe, params, root, d, dates[d], minutes, shock_var)

    def run_block(block: range) -> None:
        for d in block:
            base_d, session = day_base(d)
            rng = _generator(root, _INTRADAY, d)
            market_draws = rng.standard_normal((2, minutes))
            stock_draws = rng.standard_normal((n_stocks, 3, minutes))
            if clocked:
                f_m, f_i = daily["market_scale"][d], daily["idio_scale"][d]
                synth_day_clock_nb(
                    market_draws, stock_draws, base_d, daily["day_shock"][d],
                    universe.loading, phi, params.intraday_shock_sd, params.minute_noise_sd,
                    universe.step_sd, cum_var, universe.beta, market_sd * f_m, idio_sd * f_i,
                    daily["market_intraday"][d], daily["idio_intraday"][d],
                    daily["open_log_price"][d],
                    -0.5 * (universe.beta * market_sd * f_m) ** 2,
                    -0.5 * (idio_sd * f_i) ** 2,
                    np.full(n_stocks, params.drift * intraday_share),
                    params.volume_volatility, price[d - day_range.start],
                    volume[d - day_range.start],
                )  # fmt: skip
            else:
                synth_day_nb(
                    market_draws,
                    stock_draws,
                    base_d,
                    base_volume,
                    daily["day_shock"][d],
                    universe.loading,
                    phi,
                    params.intraday_shock_sd,
                    params.minute_noise_sd,
                    universe.step_sd,
                    cum_var,
                    universe.beta,
                    params.market_vol * math.sqrt(intraday_share),
                    universe.idio_vol * math.sqrt(intraday_share),
                    daily["market_intraday"][d],
                    daily["idio_intraday"][d],
                    daily["open_log_price"][d],
                    compensator,
                    mode,
                    price[d - day_range.start],
                    volume[d - day_range.start],
                )
            if session < minutes:  # an early close: nothing trades after it, the price rests
                day_price = price[d - day_range.start]
                day_price[session:] = day_price[session - 1]
                volume[d - day_range.start][session:] = 0.0
            if trade_size is not None:  # its own stream: continuous markets keep their bytes
                day_volume = volume[d - day_range.start]
                trades = _generator(root, _TRADES, d).poisson(day_volume / trade_size)
                np.multiply(trades, trade_size, out=day_volume)

    blocks = [day_range[i : i + _DAYS_PER_TASK] for i in range(0, len(day_range), _DAYS_PER_TASK)]
    if workers == 1:
        for block in blocks:
            run_block(block)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run_block, blocks))
    dates = dates[day_range.start : day_range.stop]
    return MarketPanel(
        price,
        volume,
        universe.tickers,
        dates,
        session_open=session_open,
        timezone=timezone,
        validate=False,
    )


def _daily_layer(
    universe: SynthUniverse, params: SynthParams, root: np.random.SeedSequence, n_days: int
) -> dict[str, np.ndarray]:
    """Day-level draws for days 0 .. n_days-1: volume shocks, intraday targets, opens.

    Each day's draws come from its own key (1, day): market first (volume-shock innovation,
    intraday return, overnight return), then the same three per stock, stock-major.
    """
    n_stocks = len(universe.tickers)
    market = np.empty((n_days, 3))
    stock = np.empty((n_days, n_stocks, 3))
    for d in range(n_days):
        rng = _generator(root, _DAILY, d)
        market[d] = rng.standard_normal(3)
        stock[d] = rng.standard_normal((n_stocks, 3))
    market_level = np.empty((n_days, 1))
    ar1_nb(market[:, :1], params.daily_shock_persistence, market_level)
    own_level = np.empty((n_days, n_stocks))
    ar1_nb(np.ascontiguousarray(stock[:, :, 0]), params.daily_shock_persistence, own_level)
    loading = universe.loading
    day_shock = params.daily_shock_sd * (
        loading * market_level + np.sqrt(1 - loading**2) * own_level
    )
    share_on = params.overnight_share
    market_on = params.market_vol * math.sqrt(share_on) * market[:, 2]
    market_in = params.market_vol * math.sqrt(1 - share_on) * market[:, 1]
    idio_on = universe.idio_vol * math.sqrt(share_on) * stock[:, :, 2]
    idio_in = universe.idio_vol * math.sqrt(1 - share_on) * stock[:, :, 1]
    drift = params.drift - 0.5 * ((universe.beta * params.market_vol) ** 2 + universe.idio_vol**2)
    overnight = universe.beta * market_on[:, None] + idio_on + drift * share_on
    scales = {}
    kappa = params.volume_volatility
    if kappa > 0:  # a day's intraday variance follows its volume shock (mean one)
        half = 0.5 * (kappa * params.daily_shock_sd) ** 2
        market_scale = np.exp(0.5 * (kappa * params.daily_shock_sd * market_level[:, 0] - half))
        idio_scale = np.exp(0.5 * (kappa * day_shock - half))
        market_in = market_in * market_scale
        idio_in = idio_in * idio_scale
        variance = (universe.beta * params.market_vol * market_scale[:, None]) ** 2
        variance = variance + (universe.idio_vol * idio_scale) ** 2
        intraday = universe.beta * market_in[:, None] + idio_in
        intraday = intraday + (params.drift - 0.5 * variance) * (1 - share_on)
        scales = {"market_scale": market_scale, "idio_scale": idio_scale}
    else:
        intraday = universe.beta * market_in[:, None] + idio_in + drift * (1 - share_on)
    close = np.log(universe.price0) + np.cumsum(overnight + intraday, axis=0)
    previous_close = np.vstack([np.log(universe.price0)[None, :], close[:-1]])
    return {
        "day_shock": day_shock,
        "market_intraday": market_in,
        "idio_intraday": idio_in,
        "open_log_price": previous_close + overnight,
        **scales,
    }


def _day_base(universe, params, root, d: int, date, minutes: int, shock_var: float):
    """Day d's log base volume (M, N) and session length: its own profile shape
    (``profile_day_sd``, drawn from key (4, day)), a heavy close on rebalance days and month
    ends, and an early close."""
    n_stocks = len(universe.tickers)
    multipliers = np.ones((n_stocks, 4))
    if params.profile_day_sd > 0:
        rng = _generator(root, _PROFILE, d)
        market = rng.standard_normal(4)
        own = rng.standard_normal((n_stocks, 4))
        load = universe.loading[:, None]
        z = load * market[None, :] + np.sqrt(1 - load * load) * own
        sd = params.profile_day_sd
        multipliers = np.exp(sd * z - 0.5 * sd * sd)
    day = date.astype(object)
    third_friday = day.month % 3 == 0 and day.weekday() == 4 and 15 <= day.day <= 21
    # The month's last trading day: the next one falls in another month.
    month_end = np.busday_offset(date, 1, "forward").astype("datetime64[M]") != date.astype(
        "datetime64[M]"
    )
    if third_friday:
        multipliers[:, 3] *= params.heavy_close
    elif month_end:
        multipliers[:, 3] *= math.sqrt(params.heavy_close)
    session = minutes
    thanksgiving_friday = day.month == 11 and day.weekday() == 4 and 23 <= day.day <= 29
    christmas_eve = day.month == 12 and day.day == 24
    if 0 < params.half_day_minutes < minutes and (thanksgiving_friday or christmas_eve):
        session = int(params.half_day_minutes)
    u_mid = (np.arange(session) + 0.5) / session
    profile = np.zeros((minutes, n_stocks))
    for i in range(n_stocks):
        profile[:session, i] = _volume_profile(u_mid, params, universe.spread[i] * multipliers[i])
    # The day's volume: the usual rate over the minutes it trades, spikes included.
    volume = universe.adv * profile * (session / minutes)
    with np.errstate(divide="ignore"):
        return np.log(volume) - 0.5 * shock_var, session


def _volume_profile(u_mid: np.ndarray, params: SynthParams, spread: np.ndarray) -> np.ndarray:
    """Expected share of daily volume per minute for one stock; sums to 1."""
    open_boost, close_boost, open_spike, close_spike = spread * (
        params.volume_open_boost,
        params.volume_close_boost,
        params.open_spike,
        params.close_spike,
    )
    spikes = open_spike + close_spike
    if spikes > 0.5:  # a stock's dispersed spikes may not take over the whole day
        open_spike, close_spike = 0.5 * open_spike / spikes, 0.5 * close_spike / spikes
    shape = 1 + open_boost * np.exp(-u_mid / params.volume_open_decay)
    shape += close_boost * np.exp(-(1 - u_mid) / params.volume_close_decay)
    profile = shape * ((1 - open_spike - close_spike) / shape.sum())
    profile[0] += open_spike
    profile[-1] += close_spike
    return profile


def _log_uniform(bounds: tuple[float, float], u: np.ndarray) -> np.ndarray:
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    return np.exp(lo + (hi - lo) * u)


def _root(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed: expected an int >= 0 or a SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def _generator(root: np.random.SeedSequence, *key: int) -> np.random.Generator:
    """The child stream of ``root`` at a stable key, independent of any spawn history."""
    child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, *key))
    return np.random.Generator(np.random.PCG64(child))


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{name}: expected an int >= 1, got {value!r}")
