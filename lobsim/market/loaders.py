"""Reading and writing minute bars: long CSV and Parquet, vendor files, the saved-panel layout.

Whether bars are stamped by the start or the END of their minute (the end-stamped 09:31 bar
covers 09:30-09:31) is detected from the data unless ``stamp`` is given, and naive timestamps
are read as exchange time unless ``tz`` is given; what was assumed is recorded in the panel's
``assumptions`` (:class:`lobsim.market._detect.Assumptions`). Only the regular session is
kept. Nothing is returned until every row has been checked (see :mod:`lobsim.market.validate`),
and writes are atomic: a temporary file or directory renamed
into place, so a failed write leaves no half-written result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from lobsim._atomic import atomic_dir, atomic_file
from lobsim.errors import InputError
from lobsim.market._detect import Assumptions
from lobsim.market._readers import (
    META_KEY,
    PARQUET_SUFFIXES,
    PARTITION,
    parquet_meta,
    read_source,
)
from lobsim.market._time import DEFAULT_SESSION, DEFAULT_TIMEZONE, check_timezone, parse_clock
from lobsim.market.panel import MarketPanel, build_panel
from lobsim.market.validate import Bars, merge_bars

PathArg = str | os.PathLike[str]


def load_bars(
    path: PathArg | Sequence[PathArg],
    *,
    ticker: str | Sequence[str] | None = None,
    tz: str | None = None,
    exchange_tz: str | None = None,
    session: tuple[str, str] | None = None,
    stamp: str | None = None,
    sort: bool = False,
    min_minutes: int | None = None,
) -> MarketPanel:
    """Load minute bars into a :class:`MarketPanel`, refusing bad data with a typed error.

    Parameters
    ----------
    path : path or sequence of paths
        A long-format CSV file (header ``timestamp,ticker,close,volume`` in any order and case,
        optional ``open,high,low``, other columns ignored), a Parquet file with those columns,
        a directory written by :func:`save_panel`, or, with ``ticker``, vendor files of one
        ticker each (``timestamp,open,high,low,close,volume``, headerless or with a header row;
        comma-separated, or NinjaTrader's ``yyyyMMdd HHmmss;open;high;low;close;volume``).
        Several paths are combined into one panel.
    ticker : str or sequence of str, optional
        The ticker of each vendor file (one per path); marks the files as vendor files.
    tz : str, optional
        IANA zone of timestamps written without a zone offset (vendor files usually are).
        Default: exchange time; refused (with a hint, e.g. that the times look like UTC) when
        most of the volume then falls outside the session. Timestamps with an offset
        (``2024-01-02 09:31:00-05:00``, ``...Z``) need none.
    exchange_tz : str, optional
        The exchange's zone, in which ``session`` is read. Default: from a saved panel's
        metadata, else ``"America/New_York"``.
    session : (str, str), optional
        Regular session (open, close), ``"HH:MM"`` exchange time; bars outside it are dropped.
        Default: from a saved panel's metadata, else ``("09:30", "16:00")``.
    stamp : {"end", "start"}, optional
        Whether a bar is stamped by the end or the start of its minute. Default: detected
        (a 09:30 bar with none before it, or where the opening volume lands); refused when the
        data cannot tell.
    sort : bool
        Accept timestamps out of order within a ticker (refused by default).
    min_minutes : int, optional
        A day on which some stock has fewer session bars is dropped, with a ShortDayWarning
        naming it. Default: 90% of the session's minutes.

    Returns
    -------
    MarketPanel
        Tickers in order of first appearance; missing minutes filled with volume 0 and the
        previous price (counted in a MissingMinutesWarning). Its ``assumptions`` attribute
        records the format, zone and stamping used and how each was decided.

    Raises
    ------
    BarDataError
        (a DataError) naming the file, the 1-based data row and the column: missing column,
        short or long row, non-numeric value, NaN or inf, price <= 0, volume < 0, high < low,
        open or close outside [low, high], duplicate (ticker, timestamp), unsorted timestamps,
        a timestamp off the minute, an empty file, bytes that are not UTF-8 text.
    """
    paths = [Path(path)] if isinstance(path, str | os.PathLike) else [Path(p) for p in path]
    if not paths:
        raise InputError("load_bars: no path given")
    if ticker is None:
        tickers: list[str | None] = [None] * len(paths)
    else:
        tickers = [ticker] if isinstance(ticker, str) else list(ticker)
        if len(tickers) != len(paths):
            raise InputError(f"ticker: {len(tickers)} tickers for {len(paths)} vendor files")
    if tz is not None:
        check_timezone(tz, "tz")
    if exchange_tz is not None:
        check_timezone(exchange_tz, "exchange_tz")
    naive_zone = tz or exchange_tz or DEFAULT_TIMEZONE
    parts: list[tuple[int, Bars]] = []
    meta: dict[str, Any] = {}
    for source, vendor_ticker in zip(paths, tickers, strict=True):
        for order, bars, file_meta in read_source(source, vendor_ticker, naive_zone):
            parts.append((order, bars))
            meta = meta or file_meta
    parts.sort(key=lambda item: item[0])
    exchange_tz = check_timezone(
        exchange_tz or meta.get("timezone", DEFAULT_TIMEZONE), "exchange_tz"
    )
    if session is None:
        session = _meta_session(meta) if meta else DEFAULT_SESSION
    name = str(paths[0]) if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more"
    bars = merge_bars([bars for _, bars in parts])
    saved = stamp is None and bool(meta)  # save_panel writes bars stamped by their end
    panel, stamp, how = build_panel(
        bars,
        exchange_tz=exchange_tz,
        session=session,
        stamp="end" if saved else stamp,
        sort=sort,
        min_minutes=min_minutes,
        name=name,
        zone_assumed=tz is None,
    )
    how = "saved by lobsim" if saved else how
    panel.assumptions = Assumptions(
        format=", ".join(dict.fromkeys(bars.labels)),
        zone=_zone_note(bars, tz, naive_zone),
        stamp=stamp,
        stamp_reason=how,
    )
    return panel


def load_panel(path: PathArg) -> MarketPanel:
    """Reload a panel written by :func:`save_panel` as Parquet, exactly as it was saved.

    Session, time zone and ticker order come from the files' metadata. Other data (CSV,
    foreign Parquet) is refused with a pointer to :func:`load_bars`.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob(f"{PARTITION}*/*.parquet"))
    else:
        files = [path] if path.suffix.lower() in PARQUET_SUFFIXES and path.is_file() else []
    if not files or not parquet_meta(files[0]):
        raise InputError(
            f"{path}: not a panel saved by save_panel as Parquet (a directory of "
            f"{PARTITION}NAME/*.parquet or a .parquet file with lobsim metadata); "
            f"use load_bars for other data"
        )
    return load_bars(path)


def save_panel(panel: MarketPanel, path: PathArg, *, format: str | None = None) -> None:
    """Write ``panel`` atomically: Parquet partitioned by ticker, one Parquet file, or CSV.

    Parameters
    ----------
    panel : MarketPanel
    path : path
        Target. A directory (the default layout, ``PATH/ticker=NAME/part-0.parquet``; an
        existing directory is replaced only if it is empty or holds such a layout), or a file.
    format : {"partitioned", "parquet", "csv"}, optional
        Default: from the suffix, ``.parquet``/``.pq`` or ``.csv``; no suffix: partitioned.

    Notes
    -----
    Long files are written ticker by ticker with columns ``timestamp`` (bar end, exchange zone
    with its offset), ``ticker``, ``close``, ``volume``. Parquet files carry the panel's
    session, time zone and ticker order as metadata, which :func:`load_panel` restores.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if format is None:
        format = "parquet" if suffix in PARQUET_SUFFIXES else "csv" if suffix == ".csv" else None
        format = format or ("partitioned" if not suffix else None)
    if format not in ("partitioned", "parquet", "csv"):
        raise InputError(
            f"{path}: cannot tell the format from the suffix {suffix!r}: use .parquet, .csv, "
            f"or no suffix for a directory partitioned by ticker (or pass format=)"
        )
    meta = {
        "format": 1,
        "session_open": panel.session_open,
        "minutes": panel.n_minutes,
        "timezone": panel.timezone,
        "tickers": list(panel.tickers),
    }
    if format == "partitioned":
        _write_directory(path, lambda tmp: _write_partitions(panel, tmp, meta))
    elif format == "parquet":
        table = _long_table(panel).replace_schema_metadata({META_KEY: json.dumps(meta)})
        _write_file(path, lambda tmp: pq.write_table(table, tmp))
    else:
        _write_file(path, lambda tmp: pa_csv.write_csv(_long_table(panel, as_text=True), tmp))


def _zone_note(bars: Bars, tz: str | None, zone: str) -> str:
    if not bars.naive:
        return "timestamps carry their zone offset"
    if bars.naive_utc:
        return (
            "timestamps without offset read as UTC (assumed: NinjaTrader exports are in UTC, "
            "and the bars fit the session only so; --tz or market.load.tz to change)"
        )
    if tz is not None:
        return f"timestamps without offset read as {zone} (given)"
    return (
        f"timestamps without offset read as {zone}, exchange time "
        "(assumed; --tz or market.load.tz to change)"
    )


def _meta_session(meta: dict[str, Any]) -> tuple[str, str]:
    close = parse_clock(meta["session_open"], "session_open") + int(meta["minutes"])
    return meta["session_open"], f"{close // 60:02d}:{close % 60:02d}"


def _bar_times(panel: MarketPanel) -> pa.Array:
    return pa.array(panel.bar_times()).cast(pa.timestamp("s", tz=panel.timezone))


def _long_table(panel: MarketPanel, *, as_text: bool = False) -> pa.Table:
    """Ticker-major long table; ``as_text`` writes times as ISO 8601 text with the offset."""
    n_bars = panel.n_days * panel.n_minutes
    if as_text:  # formatting D*M strings once is far faster than per row in the CSV writer
        text = [s[:-2] + ":" + s[-2:] for s in panel.bar_times().strftime("%Y-%m-%d %H:%M:%S%z")]
        index = np.tile(np.arange(n_bars, dtype=np.int32), panel.n_stocks)
        times = pa.DictionaryArray.from_arrays(index, text)
    else:
        times = pa.concat_arrays([_bar_times(panel)] * panel.n_stocks)
    codes = np.repeat(np.arange(panel.n_stocks, dtype=np.int32), n_bars)
    return pa.table(
        {
            "timestamp": times,
            "ticker": pa.DictionaryArray.from_arrays(codes, list(panel.tickers)),
            "close": panel.price.transpose(2, 0, 1).reshape(-1),
            "volume": panel.volume.transpose(2, 0, 1).reshape(-1),
        }
    )


def _write_partitions(panel: MarketPanel, folder: Path, meta: dict[str, Any]) -> None:
    times = _bar_times(panel)
    for i, ticker in enumerate(panel.tickers):
        table = pa.table(
            {
                "timestamp": times,
                "close": np.ascontiguousarray(panel.price[:, :, i]).reshape(-1),
                "volume": np.ascontiguousarray(panel.volume[:, :, i]).reshape(-1),
            }
        )
        own = {k: v for k, v in meta.items() if k != "tickers"} | {"stock": i, "ticker": ticker}
        table = table.replace_schema_metadata({META_KEY: json.dumps(own)})
        part = folder / f"{PARTITION}{quote(ticker, safe='')}"
        part.mkdir()
        pq.write_table(table, part / "part-0.parquet")


def _write_file(path: Path, write: Callable[[str], None]) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a directory; expected a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        write(str(tmp))


def _write_directory(path: Path, write: Callable[[Path], None]) -> None:
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{path}: exists and is not a directory")
        foreign = [p.name for p in path.iterdir() if not p.name.startswith(PARTITION)]
        if foreign:
            raise InputError(
                f"{path}: refusing to replace a directory that is not a saved panel "
                f"(it holds {sorted(foreign)[:3]})"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(path) as tmp:
        write(tmp)
