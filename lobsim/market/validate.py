"""Strict validation of minute bars: Arrow columns in, checked NumPy columns out.

Every refusal is a :class:`BarDataError` naming the file, the 1-based data row (row 1 is the
first row after the header) and the column. Columns are converted in the order timestamp,
ticker, close, volume, open, high, low, and the first bad value of a column is reported. The
row checks that follow (NaN or inf, price <= 0, volume < 0, high < low, open or close outside
[low, high], a timestamp off the minute, a repeated or earlier timestamp for the same ticker)
report the earliest bad row, checks in that order for ties.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lobsim.errors import DataError, InputError
from lobsim.market._detect import check_zone, detect_stamp
from lobsim.market._kernels import fill_forward_nb, first_order_problem_nb, scatter_bars_nb
from lobsim.market._time import NS_PER_DAY, NS_PER_MINUTE, parse_clock

PRICE_COLUMNS = ("close", "open", "high", "low")
_ZONE_SUFFIX = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


class BarDataError(DataError):
    """Minute bars refused; ``file``, ``row`` (1-based data row or "header"), ``column``."""

    def __init__(
        self, file: str, reason: str, *, row: int | str | None = None, column: str | None = None
    ) -> None:
        self.file, self.row, self.column, self.reason = file, row, column, reason
        where = [file]
        if row is not None:
            where.append(row if isinstance(row, str) else f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {reason}")


class DataWarning(UserWarning):
    """Data was usable but changed on the way in (see the subclasses)."""


class MissingMinutesWarning(DataWarning):
    """Minutes without a bar were filled (volume 0, price carried forward); ``filled`` of
    ``cells`` (day, minute, stock) cells."""

    def __init__(self, message: str, *, filled: int, cells: int) -> None:
        super().__init__(message)
        self.filled, self.cells = filled, cells


class ShortDayWarning(DataWarning):
    """Days with too few bars were dropped; ``dates`` lists them ("YYYY-MM-DD")."""

    def __init__(self, message: str, *, dates: tuple[str, ...]) -> None:
        super().__init__(message)
        self.dates = dates


@dataclass
class Bars:
    """Parsed columns of one or more sources, in source order then row order.

    Source k holds the bars ``starts[k]`` .. ``starts[k+1] - 1`` (int64, length sources + 1);
    ``ts`` (int64) is UTC nanoseconds; ``ticker`` (int32) indexes ``tickers`` (first
    appearance order); ``columns`` maps close, volume and those of open, high, low that every
    source has to float64 arrays.
    """

    files: list[str]
    starts: np.ndarray
    ts: np.ndarray
    ticker: np.ndarray
    tickers: list[str]
    columns: dict[str, np.ndarray]
    labels: list[str] = field(default_factory=list)  # the format of each source, in words
    naive: bool = False  # some timestamps had no zone offset
    naive_utc: bool = False  # ... and were read as UTC after all (build_panel)

    def where(self, k: int) -> tuple[str, int]:
        """(file, 1-based data row) of bar ``k``."""
        source = int(np.searchsorted(self.starts, k, side="right")) - 1
        return self.files[source], int(k - self.starts[source]) + 1

    def group(self) -> np.ndarray:
        """ndarray(int64, (R,)): one code per (source, ticker) pair."""
        sizes = np.diff(self.starts)
        source = np.repeat(np.arange(len(self.files), dtype=np.int64), sizes)
        return source * len(self.tickers) + self.ticker


def table_to_bars(
    table: pa.Table, file: str, *, tz: str | None, ticker: str | None, label: str = "table"
) -> Bars:
    """Convert one source's table (canonical lower-case column names) into :class:`Bars`.

    ``tz`` is the zone of naive timestamps (None refuses them); ``ticker`` names the stock of
    a single-ticker source that has no ticker column.
    """
    n_rows = table.num_rows
    if n_rows == 0:
        raise BarDataError(file, "no data rows (expected at least one bar)")
    ts, naive = _timestamps(table["timestamp"], file, tz)
    if ticker is None:
        codes, names = _tickers(table["ticker"], file)
    else:
        codes, names = np.zeros(n_rows, dtype=np.int32), [ticker]
    columns = {
        name: _numbers(table[name], file, name)
        for name in ("close", "volume", "open", "high", "low")
        if name in table.column_names
    }
    return Bars(
        files=[file],
        starts=np.array([0, n_rows], dtype=np.int64),
        ts=ts,
        ticker=codes,
        tickers=names,
        columns=columns,
        labels=[label],
        naive=naive,
    )


def merge_bars(parts: list[Bars]) -> Bars:
    """Concatenate sources; tickers keep their first-appearance order across sources."""
    if len(parts) == 1:
        return parts[0]
    position: dict[str, int] = {}
    codes = []
    for part in parts:
        remap = np.array([position.setdefault(t, len(position)) for t in part.tickers])
        codes.append(remap.astype(np.int32)[part.ticker])
    shared = set.intersection(*(set(p.columns) for p in parts))
    return Bars(
        files=[p.files[0] for p in parts],
        starts=np.cumsum([0, *(len(p.ts) for p in parts)], dtype=np.int64),
        ts=np.concatenate([p.ts for p in parts]),
        ticker=np.concatenate(codes),
        tickers=list(position),
        columns={c: np.concatenate([p.columns[c] for p in parts]) for c in sorted(shared)},
        labels=[label for p in parts for label in p.labels],
        naive=any(p.naive for p in parts),
    )


def check_rows(bars: Bars, local: np.ndarray, *, sort: bool) -> None:
    """Row checks (module docstring); raises at the earliest bad row. ``local``: wall-clock ns."""
    found: list[tuple[int, str, str]] = []  # (index, column, reason), at most one per check

    def first(mask: np.ndarray, column: str, reason: Callable[[int], str]) -> None:
        if mask.any():
            k = int(np.argmax(mask))
            found.append((k, column, reason(k)))

    cols = bars.columns
    for name, values in cols.items():
        first(np.isnan(values), name, lambda k: "value is NaN (expected a finite number)")
        first(
            np.isinf(values),
            name,
            lambda k, v=values: f"value is {v[k]} (expected a finite number)",
        )
    for name in PRICE_COLUMNS:
        if name in cols:
            v = cols[name]
            first(v <= 0, name, lambda k, v=v: f"price must be > 0, got {float(v[k])}")
    vol = cols["volume"]
    first(vol < 0, "volume", lambda k: f"volume must be >= 0, got {float(vol[k])}")
    if "high" in cols and "low" in cols:
        high, low = cols["high"], cols["low"]
        first(high < low, "high", lambda k: f"high {float(high[k])} is below low {float(low[k])}")
        for name in ("open", "close"):
            if name in cols:
                v = cols[name]
                first(
                    (v < low) | (v > high),
                    name,
                    lambda k, v=v, n=name: (
                        f"{n} {float(v[k])} is outside "
                        f"[low {float(low[k])}, high {float(high[k])}]"
                    ),
                )
    first(
        local % NS_PER_MINUTE != 0,
        "timestamp",
        lambda k: f"{_clock(local[k])} is not on a whole minute (bars are one minute long)",
    )
    group = bars.group()
    bad, previous = first_order_problem_nb(group, bars.ts, len(bars.files) * len(bars.tickers))
    if bad >= 0 and not (sort and bars.ts[bad] != bars.ts[previous]):
        what = "repeats" if bars.ts[bad] == bars.ts[previous] else "is earlier than"
        hint = (
            ""
            if what == "repeats"
            else " (timestamps must increase within a ticker, or pass sort=True)"
        )
        ticker = bars.tickers[bars.ticker[bad]]
        found.append(
            (
                bad,
                "timestamp",
                f"{_clock(local[bad])} for {ticker!r} {what} row {bars.where(previous)[1]}'s "
                f"{_clock(local[previous])}{hint}",
            )
        )
    if found:
        k, column, reason = min(found, key=lambda item: item[0])
        file, row = bars.where(k)
        raise BarDataError(file, reason, row=row, column=column)


def utc_to_local(ts: np.ndarray, zone: str) -> np.ndarray:
    """UTC nanoseconds -> wall-clock nanoseconds in ``zone`` (int64)."""
    aware = pa.array(ts, type=pa.timestamp("ns", tz=zone))
    return pc.local_timestamp(aware).cast(pa.int64()).to_numpy()


def _clock(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns")).replace("T", " ").removesuffix(".000000000")


def _timestamps(col: pa.ChunkedArray, file: str, tz: str | None) -> tuple[np.ndarray, bool]:
    """UTC nanoseconds, and whether the times had no zone (read in ``tz``)."""
    col = _decoded(col)
    kind = col.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(col)
        _refuse_empty(text, file, "timestamp")
        aware_mask = pc.match_substring_regex(text, _ZONE_SUFFIX)
        aware = bool(aware_mask[0].as_py())
        differs = pc.not_equal(aware_mask, pa.scalar(aware))
        if pc.any(differs).as_py():
            k = pc.index(differs, True).as_py()
            raise BarDataError(
                file,
                f"{text[k].as_py()!r} has {'no' if aware else 'a'} zone offset, unlike row 1; "
                f"timestamps with and without offsets must not be mixed",
                row=k + 1,
                column="timestamp",
            )
        target = pa.timestamp("ns", tz="UTC") if aware else pa.timestamp("ns")
        parsed = _cast(text, target, file, "timestamp", "not an ISO 8601 timestamp")
    elif pa.types.is_timestamp(kind):
        _refuse_nulls(col, file, "timestamp")
        target = pa.timestamp("ns", tz=kind.tz)
        parsed = _cast(col, target, file, "timestamp", "timestamp out of range")
    else:
        raise BarDataError(
            file, f"has type {kind}; expected timestamps or ISO 8601 text", column="timestamp"
        )
    naive = parsed.type.tz is None
    if naive:
        if tz is None:
            raise BarDataError(
                file,
                f"{_clock(parsed[0].cast(pa.int64()).as_py())} has no zone offset: pass tz= "
                f"(the zone the times are in, e.g. tz='America/New_York')",
                row=1,
                column="timestamp",
            )
        # DST gaps and repeats fall at night, outside any session: either reading will do.
        parsed = pc.assume_timezone(
            parsed, timezone=tz, ambiguous="earliest", nonexistent="earliest"
        )
    return parsed.cast(pa.int64()).to_numpy(), naive


def _tickers(col: pa.ChunkedArray, file: str) -> tuple[np.ndarray, list[str]]:
    """Codes and names; names in category order for a categorical column, else as they come."""
    categories = None
    if pa.types.is_dictionary(col.type):
        categories = [str(c).strip() for c in col.unify_dictionaries().chunk(0).dictionary]
        col = _decoded(col)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        if not pa.types.is_integer(col.type):
            raise BarDataError(file, f"has type {col.type}; expected text", column="ticker")
        _refuse_nulls(col, file, "ticker")
        col = col.cast(pa.string())
    text = pc.utf8_trim_whitespace(col)
    _refuse_empty(text, file, "ticker")
    encoded = pc.dictionary_encode(text.combine_chunks())
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    names = encoded.dictionary.to_pylist()
    if categories is not None:
        rank = {name: k for k, name in enumerate(categories)}
        order = sorted(range(len(names)), key=lambda k: rank[names[k]])
        remap = np.empty(len(names), dtype=np.int32)
        remap[order] = np.arange(len(names), dtype=np.int32)
        codes, names = remap[codes], [names[k] for k in order]
    return codes, names


def _numbers(col: pa.ChunkedArray, file: str, name: str) -> np.ndarray:
    col = _decoded(col)
    kind = col.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        _refuse_nulls(col, file, name)
        return pc.cast(col, pa.float64(), safe=False).to_numpy()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(col)
        _refuse_empty(text, file, name)
        return _cast(text, pa.float64(), file, name, "not a number").to_numpy()
    raise BarDataError(file, f"has type {kind}; expected numbers", column=name)


def _decoded(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(col.type):
        return col.cast(col.type.value_type)
    return col


def _refuse_nulls(col: pa.ChunkedArray, file: str, name: str) -> None:
    if col.null_count:
        k = pc.index(pc.is_null(col), True).as_py()
        raise BarDataError(file, "empty value", row=k + 1, column=name)


def _refuse_empty(text: pa.ChunkedArray, file: str, name: str) -> None:
    _refuse_nulls(text, file, name)
    empty = pc.equal(pc.utf8_length(text), 0)
    if pc.any(empty).as_py():
        raise BarDataError(file, "empty value", row=pc.index(empty, True).as_py() + 1, column=name)


def _cast(col: pa.ChunkedArray, target: pa.DataType, file: str, name: str, what: str):
    """Cast, or raise naming the first element that does not convert (binary search)."""
    try:
        return pc.cast(col, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    lo, hi = 0, len(col)  # the prefix [0, lo) converts; the first failure is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(col.slice(lo, mid - lo), target)
            lo = mid
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
    raise BarDataError(file, f"{what}: {col[lo].as_py()!r}", row=lo + 1, column=name)


def grid_bars(
    bars: Bars,
    *,
    exchange_tz: str,
    session: tuple[str, str],
    stamp: str | None,
    sort: bool,
    min_minutes: int | None,
    name: str,
    zone_assumed: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """Check the rows, keep the regular session, drop short days, fill missing minutes.

    Returns the arrays of a panel (:func:`lobsim.market.panel.build_panel` makes it): price and
    volume, ndarray(float64, (D, M, N)) with the stocks of ``bars.tickers``, and the dates,
    ndarray(datetime64[D], (D,)); then the stamping ("start" or "end") and how it was decided:
    given, or detected from the data when ``stamp`` is None (:func:`detect_stamp`).
    ``zone_assumed``: naive timestamps were read as exchange time without being told, checked
    by :func:`check_zone`.

    A day is dropped (ShortDayWarning) when some stock has fewer than ``min_minutes`` bars on
    it (default: 90% of the session). Missing minutes of the days kept get volume 0 and the
    previous price, carried across days; a gap at the very start takes the first price seen
    (MissingMinutesWarning with the count).
    """
    open_minute = parse_clock(session[0], "session open")
    n_minutes = parse_clock(session[1], "session close") - open_minute
    if n_minutes < 1:
        raise InputError(f"session: close {session[1]} must come after open {session[0]}")
    if stamp not in ("end", "start", None):
        raise InputError(f"stamp: expected 'end' or 'start', got {stamp!r}")
    if min_minutes is None:
        min_minutes = math.ceil(0.9 * n_minutes)
    if not 1 <= min_minutes <= n_minutes:
        raise InputError(f"min_minutes: expected 1..{n_minutes}, got {min_minutes}")
    local = utc_to_local(bars.ts, exchange_tz)
    check_rows(bars, local, sort=sort)
    close_minute = open_minute + n_minutes
    if zone_assumed and bars.naive:
        as_utc = utc_to_local(local, exchange_tz)
        if check_zone(
            local,
            bars.columns["volume"],
            as_utc,
            open_=open_minute,
            close=close_minute,
            zone=exchange_tz,
            name=name,
            utc_allowed=all(label.startswith("NinjaTrader") for label in bars.labels),
        ):
            bars.ts, local, bars.naive_utc = local, as_utc, True
    day_number = local // NS_PER_DAY
    minute = (local - day_number * NS_PER_DAY) // NS_PER_MINUTE - open_minute
    if not ((minute >= 0) & (minute <= n_minutes)).any():
        raise DataError(
            f"{name}: no bar falls in the session {session[0]}-{session[1]} {exchange_tz} "
            f"(stamp={stamp!r}); the bars run from {_clock(local.min())} to "
            f"{_clock(local.max())} local time: check tz=, exchange_tz=, session= and stamp="
        )
    how = "given"
    if stamp is None:
        stamp, how = detect_stamp(
            local, bars.columns["volume"], open_=open_minute, close=close_minute, name=name
        )
    minute -= 1 if stamp == "end" else 0
    inside = (minute >= 0) & (minute < n_minutes)
    if not inside.any():
        raise DataError(
            f"{name}: no bar falls in the session {session[0]}-{session[1]} {exchange_tz} "
            f"(stamp={stamp!r}); the bars run from {_clock(local.min())} to "
            f"{_clock(local.max())} local time: check tz=, exchange_tz=, session= and stamp="
        )
    # Days are few and close together: index them through a table, not np.unique's sort.
    first_day = day_number[inside].min()
    day_number -= first_day
    present = np.bincount(day_number[inside]) > 0
    days = np.flatnonzero(present)
    day = np.full(len(local), -1, dtype=np.int64)  # -1: the bar is not kept
    day[inside] = (np.cumsum(present) - 1)[day_number[inside]]
    del day_number
    n_stocks = len(bars.tickers)
    cells = (day * n_stocks + bars.ticker)[inside]
    counts = np.bincount(cells, minlength=len(days) * n_stocks).reshape(len(days), n_stocks)
    short = (counts < min_minutes).any(axis=1)
    dates = (first_day + days).astype("datetime64[D]")
    listed = _short_days(dates, counts, bars.tickers, short, 10)
    if short.all():
        raise DataError(
            f"{name}: every day has a stock with fewer than min_minutes={min_minutes} bars "
            f"in the session: {listed}"
        )
    if short.any():
        dropped = tuple(str(d) for d in dates[short])
        warnings.warn(
            ShortDayWarning(
                f"{name}: dropped {len(dropped)} day(s) with a stock below min_minutes="
                f"{min_minutes} of {n_minutes} bars: {listed}",
                dates=dropped,
            ),
            stacklevel=4,  # the caller of load_bars or MarketPanel.from_frame
        )
        renumber = np.full(len(days) + 1, -1, dtype=np.int64)  # last entry: day -1 stays -1
        renumber[np.flatnonzero(~short)] = np.arange(np.count_nonzero(~short))
        day = renumber[day]
        dates = dates[~short]
    shape = (len(dates), n_minutes, n_stocks)
    price = np.full(shape, np.nan)
    volume = np.zeros(shape)
    clash = scatter_bars_nb(
        day, minute, bars.ticker, bars.columns["close"], bars.columns["volume"], price, volume
    )
    if clash >= 0:
        k = clash
        same = (bars.ts == bars.ts[k]) & (bars.ticker == bars.ticker[k])
        file, row = bars.where(k)
        other_file, other_row = bars.where(int(np.argmax(same)))
        raise BarDataError(
            file,
            f"{_clock(local[k])} for {bars.tickers[bars.ticker[k]]!r} repeats "
            f"{other_file} row {other_row} (duplicate ticker and timestamp)",
            row=row,
            column="timestamp",
        )
    filled = fill_forward_nb(price.reshape(-1, n_stocks))
    if filled:
        warnings.warn(
            MissingMinutesWarning(
                f"{name}: filled {filled} of {price.size} minutes that had no bar "
                f"({100 * filled / price.size:.2f}%; volume 0, price carried forward)",
                filled=filled,
                cells=price.size,
            ),
            stacklevel=4,  # the caller of load_bars or MarketPanel.from_frame
        )
    return price, volume, dates, stamp, how


def _short_days(
    dates: np.ndarray, counts: np.ndarray, tickers: list[str], short: np.ndarray, limit: int
) -> str:
    """'2024-01-05 (AAA: 120 bars), ...' for the first ``limit`` short days."""
    index = np.flatnonzero(short)
    worst = counts.argmin(axis=1)
    items = [
        f"{dates[d]} ({tickers[worst[d]]}: {counts[d, worst[d]]} bars)" for d in index[:limit]
    ]
    more = len(index) - limit
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")
