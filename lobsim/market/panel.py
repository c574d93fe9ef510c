"""The market panel: minute bars of N stocks over D days in the layout the kernels want.

:func:`build_panel` makes one of bars that :mod:`lobsim.market.validate` has checked and laid
out; :func:`lobsim.load_bars` and :meth:`MarketPanel.from_frame` both go through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lobsim.errors import InputError
from lobsim.market._readers import LONG_COLUMNS, canonical
from lobsim.market._time import (
    DEFAULT_SESSION,
    DEFAULT_TIMEZONE,
    MINUTES_PER_DAY,
    NS_PER_MINUTE,
    check_timezone,
    parse_clock,
)
from lobsim.market.validate import Bars, grid_bars, table_to_bars


class MarketPanel:
    """Mid prices and traded volumes of N stocks, minute by minute, over D trading days.

    Minute ``m`` (0-based, axis 1) is bar t = m + 1 of DESIGN.md: it covers the minute
    (t-1, t] after the open and is stamped by its end, so with the default session
    (09:30-16:00, 390 minutes) the bars of a day are stamped 09:31, 09:32, ..., 16:00
    exchange time.

    Parameters
    ----------
    price : ndarray(float64, (D, M, N))
        Mid price (the bar's close) per day, minute and stock; stored C-contiguous.
    volume : ndarray(float64, (D, M, N))
        Shares traded in each minute; stored C-contiguous.
    tickers : sequence of str, length N
        Distinct ticker names, in the order of axis 2.
    dates : array-like of datetime64[D], length D
        Trading dates, strictly increasing.
    session_open : str
        Opening time of the regular session, ``"HH:MM"`` exchange time.
    timezone : str
        The exchange's IANA time zone.
    validate : bool
        Also check every value (finite, price > 0, volume >= 0), an O(D M N) pass. Internal
        constructors that already checked their data pass False.

    Notes
    -----
    :meth:`days` returns views that share memory with this panel; :meth:`select` copies.
    Two panels are equal (``==``) when every array, name and setting is identical.
    ``assumptions`` is set by :func:`lobsim.load_bars` (what it assumed about the file: format,
    zone, stamping) and is not part of equality.
    """

    assumptions: Any = None

    def __init__(
        self,
        price: np.ndarray,
        volume: np.ndarray,
        tickers: Sequence[str],
        dates: Any,
        *,
        session_open: str = DEFAULT_SESSION[0],
        timezone: str = DEFAULT_TIMEZONE,
        validate: bool = True,
    ) -> None:
        price = np.ascontiguousarray(price, dtype=np.float64)
        volume = np.ascontiguousarray(volume, dtype=np.float64)
        if price.ndim != 3:
            raise InputError(f"price: expected a (days, minutes, stocks) array, got {price.shape}")
        if volume.shape != price.shape:
            raise InputError(f"volume: shape {volume.shape} differs from price {price.shape}")
        if 0 in price.shape:
            raise InputError(f"price: every dimension must be >= 1, got {price.shape}")
        tickers = tuple(tickers)
        if len(tickers) != price.shape[2]:
            raise InputError(f"tickers: {len(tickers)} names for {price.shape[2]} stocks")
        if not all(isinstance(t, str) and t for t in tickers):
            raise InputError("tickers: every name must be a non-empty str")
        if len(set(tickers)) != len(tickers):
            repeated = sorted({t for t in tickers if tickers.count(t) > 1})
            raise InputError(f"tickers: names must be distinct, repeated: {repeated}")
        dates = np.asarray(dates).astype("datetime64[D]")
        if dates.shape != (price.shape[0],):
            raise InputError(f"dates: {dates.shape} for {price.shape[0]} days")
        if np.any(dates[1:] <= dates[:-1]):
            raise InputError("dates: must be strictly increasing")
        open_minute = parse_clock(session_open, "session_open")
        if open_minute + price.shape[1] > MINUTES_PER_DAY:
            raise InputError(
                f"session_open: {session_open} plus {price.shape[1]} minutes passes midnight"
            )
        check_timezone(timezone, "timezone")
        if validate:
            _check_values(price, volume)
        self.price = price
        self.volume = volume
        self.tickers: tuple[str, ...] = tickers
        self.dates = dates
        self.session_open = session_open
        self.timezone = timezone

    @property
    def n_days(self) -> int:
        return self.price.shape[0]

    @property
    def n_minutes(self) -> int:
        return self.price.shape[1]

    @property
    def n_stocks(self) -> int:
        return self.price.shape[2]

    @property
    def session(self) -> tuple[str, str]:
        """(open, close) of the regular session, ``"HH:MM"`` exchange time."""
        close = parse_clock(self.session_open, "session_open") + self.n_minutes
        return self.session_open, f"{close // 60:02d}:{close % 60:02d}"

    @cached_property
    def adv(self) -> np.ndarray:
        """ndarray(float64, (N,)): mean daily volume (shares) over the panel's days."""
        return self.volume.sum(axis=1).mean(axis=0)

    def days(self, start: int | slice, stop: int | None = None) -> MarketPanel:
        """Days ``start`` .. ``stop - 1`` (or a slice such as ``Fold.train``), as views.

        The returned arrays share memory with this panel: no copy is made.
        """
        if isinstance(start, slice):
            if stop is not None or start.step not in (None, 1):
                raise InputError(f"days: expected a slice with step 1 and no stop, got {start}")
            start, stop = start.start or 0, start.stop
        stop = self.n_days if stop is None else stop
        if not 0 <= start < stop <= self.n_days:
            raise InputError(f"days: need 0 <= start < stop <= {self.n_days}, got {start}:{stop}")
        part = MarketPanel(
            self.price[start:stop],
            self.volume[start:stop],
            self.tickers,
            self.dates[start:stop],
            session_open=self.session_open,
            timezone=self.timezone,
            validate=False,
        )
        part.assumptions = self.assumptions
        return part

    def select(self, tickers: str | Sequence[str]) -> MarketPanel:
        """The given stocks, in the given order (arrays are copied)."""
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        position = {t: i for i, t in enumerate(self.tickers)}
        unknown = [t for t in names if t not in position]
        if unknown:
            raise InputError(f"select: unknown tickers {unknown}; the panel has {self.n_stocks}")
        columns = np.array([position[t] for t in names], dtype=np.int64)
        chosen = MarketPanel(
            self.price[:, :, columns],
            self.volume[:, :, columns],
            names,
            self.dates,
            session_open=self.session_open,
            timezone=self.timezone,
            validate=False,
        )
        chosen.assumptions = self.assumptions
        return chosen

    def bar_times(self) -> pd.DatetimeIndex:
        """Timestamps of the D * M bars (day-major), bar ends, in the exchange's time zone."""
        open_ns = parse_clock(self.session_open, "session_open") * NS_PER_MINUTE
        ends = np.arange(1, self.n_minutes + 1, dtype=np.int64) * NS_PER_MINUTE + open_ns
        wall = self.dates.astype("datetime64[ns]").astype(np.int64)[:, None] + ends[None, :]
        return pd.DatetimeIndex(wall.reshape(-1).view("datetime64[ns]")).tz_localize(self.timezone)

    def to_frame(self) -> pd.DataFrame:
        """Long DataFrame, one row per (ticker, bar), sorted by ticker then time.

        Columns: ``timestamp`` (datetime64[ns, exchange zone], the bar's end), ``ticker``
        (categorical, categories in panel order), ``close`` and ``volume`` (float64).
        """
        n_bars = self.n_days * self.n_minutes
        codes = np.repeat(np.arange(self.n_stocks, dtype=np.int32), n_bars)
        return pd.DataFrame(
            {
                "timestamp": np.tile(self.bar_times(), self.n_stocks),
                "ticker": pd.Categorical.from_codes(codes, categories=list(self.tickers)),
                "close": self.price.transpose(2, 0, 1).reshape(-1),
                "volume": self.volume.transpose(2, 0, 1).reshape(-1),
            }
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        tz: str | None = None,
        exchange_tz: str = DEFAULT_TIMEZONE,
        session: tuple[str, str] = DEFAULT_SESSION,
        stamp: str = "end",
        sort: bool = False,
        min_minutes: int | None = None,
        name: str = "DataFrame",
    ) -> MarketPanel:
        """Build a panel from a long DataFrame, with the checks and options of ``load_bars``.

        ``frame`` has columns ``timestamp``, ``ticker``, ``close``, ``volume`` (optional
        ``open``, ``high``, ``low``); errors name the 1-based row of the frame. See
        :func:`lobsim.load_bars` for ``tz``, ``exchange_tz``, ``session``, ``stamp``, ``sort``,
        ``min_minutes`` and ``name``.
        """
        if tz is not None:
            check_timezone(tz, "tz")
        check_timezone(exchange_tz, "exchange_tz")
        names = canonical([str(c) for c in frame.columns], name, LONG_COLUMNS)
        arrays = {}
        for canon, original in names.items():
            series = frame.iloc[:, original]
            if canon not in ("ticker", "timestamp") and isinstance(series.dtype, np.dtype):
                arrays[canon] = pa.array(series.to_numpy())  # NaN stays NaN, not null
                continue
            try:
                arrays[canon] = pa.array(series)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                arrays[canon] = pa.array(series.astype("str"))
        bars = table_to_bars(pa.table(arrays), name, tz=tz, ticker=None)
        panel, _, _ = build_panel(
            bars,
            exchange_tz=exchange_tz,
            session=session,
            stamp=stamp,
            sort=sort,
            min_minutes=min_minutes,
            name=name,
        )
        return panel

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MarketPanel):
            return NotImplemented
        return (
            self.tickers == other.tickers
            and self.session_open == other.session_open
            and self.timezone == other.timezone
            and np.array_equal(self.dates, other.dates)
            and np.array_equal(self.price, other.price)
            and np.array_equal(self.volume, other.volume)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"MarketPanel({self.n_stocks} stocks x {self.n_days} days x {self.n_minutes} "
            f"minutes, {self.dates[0]}..{self.dates[-1]}, session {'-'.join(self.session)} "
            f"{self.timezone})"
        )


def build_panel(
    bars: Bars,
    *,
    exchange_tz: str,
    session: tuple[str, str],
    stamp: str | None,
    sort: bool,
    min_minutes: int | None,
    name: str,
    zone_assumed: bool = False,
) -> tuple[MarketPanel, str, str]:
    """The panel of checked ``bars`` (:func:`lobsim.market.validate.grid_bars` says how they
    are checked and laid out, and what the arguments mean), the stamping ("start" or "end")
    and how it was decided."""
    price, volume, dates, stamp, how = grid_bars(
        bars,
        exchange_tz=exchange_tz,
        session=session,
        stamp=stamp,
        sort=sort,
        min_minutes=min_minutes,
        name=name,
        zone_assumed=zone_assumed,
    )
    panel = MarketPanel(
        price,
        volume,
        bars.tickers,
        dates,
        session_open=session[0],
        timezone=exchange_tz,
        validate=False,
    )
    return panel, stamp, how


def _check_values(price: np.ndarray, volume: np.ndarray) -> None:
    bad = ~(np.isfinite(price) & (price > 0))
    if bad.any():
        d, m, i = np.argwhere(bad)[0]
        raise InputError(
            f"price: expected finite values > 0, got {price[d, m, i]} at [{d}, {m}, {i}]"
        )
    bad = ~(np.isfinite(volume) & (volume >= 0))
    if bad.any():
        d, m, i = np.argwhere(bad)[0]
        raise InputError(
            f"volume: expected finite values >= 0, got {volume[d, m, i]} at [{d}, {m}, {i}]"
        )
