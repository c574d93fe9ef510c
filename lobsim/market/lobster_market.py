"""A market of LOBSTER stock-days: the file pairs found by name, and the minute bars they imply.

LOBSTER names each file of a stock-day ``TICKER_YYYY-MM-DD_START_END_message_L.csv`` and
``..._orderbook_L.csv``: START and END are the window in milliseconds after midnight
(34200000 and 57600000 for the regular session, 09:30-16:00) and L the number of levels. A
scenario's ``[market] source = "lobster"`` names one message file (its orderbook file beside
it) or a directory of pairs; every stock must have a pair for every date, all with one window.

Strategies see the day as minute bars (:class:`~lobsim.market.MarketPanel`), the same
observation as on any market: bar t's price is the mid of the file's book after the last
message of minute (t-1, t] of the window (carried over a minute whose book has one side
empty), its volume the shares of the minute's executions (visible, hidden and cross trades:
types 4, 5 and 6). Their orders are traded by replaying the files
(:mod:`lobsim.simulation.replay_trade`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lobsim.errors import DataError
from lobsim.market.lobster import (
    CROSS,
    EXECUTION,
    HIDDEN,
    PRICE_SCALE,
    LobsterDay,
    read_lobster,
    synthesize_lobster,
    write_lobster,
)
from lobsim.market.panel import MarketPanel

_NAME = re.compile(
    r"(?P<ticker>[^_]+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<kind>message|orderbook)_(?P<levels>\d+)\.csv"
)
NAMING = "TICKER_YYYY-MM-DD_START_END_message_L.csv (LOBSTER's naming)"
SESSION_MS = (34_200_000, 57_600_000)  # 09:30 and 16:00, LOBSTER's regular-session window


@dataclass(frozen=True)
class LobsterPair:
    """One stock-day's two files, as their names describe them."""

    ticker: str
    date: np.datetime64
    start_ms: int
    end_ms: int
    levels: int
    message: str
    orderbook: str

    @property
    def minutes(self) -> int:
        return (self.end_ms - self.start_ms) // 60_000

    def read(self) -> LobsterDay:
        return read_lobster(self.message, self.orderbook)


def pair_of(message_file: str | os.PathLike) -> LobsterPair:
    """The pair a LOBSTER message file belongs to (its orderbook file must exist beside it)."""
    message_file = os.fspath(message_file)
    match = _NAME.fullmatch(os.path.basename(message_file))
    if match is None or match["kind"] != "message":
        raise DataError(f"{message_file}: not a LOBSTER message file name; expected {NAMING}")
    start, end = int(match["start"]), int(match["end"])
    if end <= start or (end - start) % 60_000:
        raise DataError(
            f"{message_file}: the window {start}..{end} ms in the name is not a whole number "
            "of minutes"
        )
    try:
        date = np.datetime64(match["date"], "D")
    except ValueError:
        raise DataError(f"{message_file}: {match['date']!r} in the name is not a date") from None
    orderbook = os.path.join(
        os.path.dirname(message_file),
        os.path.basename(message_file).replace("_message_", "_orderbook_"),
    )
    if not os.path.isfile(orderbook):
        raise DataError(f"{message_file}: its orderbook file {orderbook} is missing")
    return LobsterPair(match["ticker"], date, start, end, int(match["levels"]), message_file,
                       orderbook)  # fmt: skip


def find_pairs(path: str | os.PathLike) -> list[LobsterPair]:
    """The LOBSTER pairs at ``path``: a message file, or every message file of a directory."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return [pair_of(path)]
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such file or directory")
    names = sorted(n for n in os.listdir(path) if "_message_" in n and n.endswith(".csv"))
    if not names:
        raise DataError(f"{path}: no LOBSTER message files in the directory; expected {NAMING}")
    return [pair_of(os.path.join(path, n)) for n in names]


def minute_bars(day: LobsterDay, start_ms: int, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """(price, volume), each float64 (minutes,): the minute bars of a replayed day.

    Bar t covers (start + 60 (t-1), start + 60 t] seconds (a message at the window's start
    counts in bar 1); price is the mid of the book after its last message, carried from the
    bar before when the book then has a side empty (or has no message yet), in dollars;
    volume the shares executed in it (types 4, 5 and 6).
    """
    start = start_ms / 1000.0
    bar = np.clip(np.ceil((day.time - start) / 60.0).astype(np.int64), 1, minutes) - 1
    traded = np.isin(day.type, (EXECUTION, HIDDEN, CROSS))
    volume = np.bincount(bar[traded], day.size[traded], minlength=minutes).astype(np.float64)
    ask, bid = day.book[:, 0], day.book[:, 2]
    both = (day.book[:, 1] > 0) & (day.book[:, 3] > 0)
    mid = np.where(both, (ask + bid) / (2.0 * PRICE_SCALE), np.nan)
    last = np.full(minutes, -1, dtype=np.int64)
    rows = np.flatnonzero(both)
    if rows.size == 0:
        raise DataError(f"{day.orderbook_file}: no row has both a bid and an ask, so no mid")
    last[bar[rows]] = rows  # rows ascend, so each bar keeps its last row with a mid
    price = np.full(minutes, np.nan)
    price[last >= 0] = mid[last[last >= 0]]
    if np.isnan(price[0]):
        price[0] = mid[rows[0]]
    for t in range(1, minutes):
        if np.isnan(price[t]):
            price[t] = price[t - 1]
    return price, volume


@dataclass(frozen=True)
class LobsterMarket:
    """Minute bars of LOBSTER stock-days and the file pair behind each (day, stock).

    Attributes
    ----------
    panel : MarketPanel
        (D, M, N) bars (:func:`minute_bars`).
    pairs : tuple of tuple of LobsterPair
        ``pairs[d][i]``: the files of stock i on day d.
    """

    panel: MarketPanel
    pairs: tuple[tuple[LobsterPair, ...], ...]

    def days(self, start: int, stop: int) -> LobsterMarket:
        return LobsterMarket(self.panel.days(start, stop), self.pairs[start:stop])


def load_lobster_market(
    path: str | os.PathLike, *, tickers: tuple[str, ...] | None = None
) -> LobsterMarket:
    """Read every LOBSTER pair at ``path`` (a message file or a directory) into a market.

    Raises
    ------
    DataError
        A file name that is not LOBSTER's, a missing orderbook file, pairs with different
        windows, a stock without a pair on some date, a ticker of ``tickers`` not there, or
        a malformed file (naming its row and column, :func:`read_lobster`).
    """
    pairs = find_pairs(path)
    windows = {(p.start_ms, p.end_ms) for p in pairs}
    if len(windows) > 1:
        raise DataError(
            f"{path}: the files cover different windows ({sorted(windows)} ms after midnight); "
            "a market needs one window for every stock-day"
        )
    found = sorted({p.ticker for p in pairs})
    if tickers is not None:
        missing = [t for t in tickers if t not in found]
        if missing:
            raise DataError(f"market.tickers: {missing} not in {path} (it has {found})")
        pairs = [p for p in pairs if p.ticker in tickers]
        found = list(tickers)
    dates = sorted({p.date for p in pairs})
    by_key = {(p.date, p.ticker): p for p in pairs}
    for date in dates:
        for ticker in found:
            if (date, ticker) not in by_key:
                raise DataError(
                    f"{path}: no LOBSTER pair for {ticker} on {date}; every stock needs one "
                    "for every date of the market"
                )
    grid = tuple(tuple(by_key[(date, t)] for t in found) for date in dates)
    minutes = pairs[0].minutes
    price = np.zeros((len(dates), minutes, len(found)))
    volume = np.zeros_like(price)
    for d, row in enumerate(grid):
        for i, pair in enumerate(row):
            price[d, :, i], volume[d, :, i] = minute_bars(pair.read(), pair.start_ms, minutes)
    start_ms = pairs[0].start_ms
    session_open = f"{start_ms // 3_600_000:02d}:{start_ms // 60_000 % 60:02d}"
    panel = MarketPanel(price, volume, found, np.array(dates), session_open=session_open)
    return LobsterMarket(panel, grid)


def write_synthetic_market(
    out: str | os.PathLike,
    *,
    stocks: int = 1,
    days: int = 1,
    messages: int = 20_000,
    levels: int = 10,
    seed: int = 0,
    ticker: str = "SYN",
) -> list[LobsterPair]:
    """Write ``stocks`` x ``days`` synthetic LOBSTER pairs covering the regular session
    (:func:`lobsim.market.lobster.synthesize_lobster` with a U-shaped clock), business days
    from 2024-01-02, tickers ``ticker`` (one stock) or ``ticker``1, 2, ... Returns the pairs."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [ticker] if stocks == 1 else [f"{ticker}{i + 1}" for i in range(stocks)]
    dates = np.busday_offset(np.datetime64("2024-01-02"), np.arange(days), roll="forward")
    session = (SESSION_MS[0] / 1000.0, SESSION_MS[1] / 1000.0)
    written = []
    for d, date in enumerate(dates):
        for i, name in enumerate(names):
            day = synthesize_lobster(messages, levels=levels, seed=_pair_seed(seed, d, i),
                                     session=session)  # fmt: skip
            stem = f"{name}_{date}_{SESSION_MS[0]}_{SESSION_MS[1]}"
            message = out / f"{stem}_message_{levels}.csv"
            orderbook = out / f"{stem}_orderbook_{levels}.csv"
            write_lobster(day, message, orderbook)
            written.append(pair_of(message))
    return written


def _pair_seed(seed: int, day: int, stock: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(day, stock))
