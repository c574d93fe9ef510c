"""LOBSTER message and orderbook files (https://lobsterdata.com/info/DataStructure.php).

LOBSTER writes two CSV files per stock-day, without a header, whose rows pair up: row k of the
orderbook file is the book just after message k.

Message file, six columns:

- ``time``: seconds after midnight, with decimals (down to nanoseconds);
- ``type``: 1 submission of a limit order, 2 cancellation (part of an order withdrawn),
  3 deletion (the whole rest of an order withdrawn), 4 execution of a visible order,
  5 execution of a hidden order (the book does not change), 6 cross trade (an auction; the
  book does not change, its executions came as messages of their own), 7 trading halt
  (price -1: halt, 0: quoting resumes, 1: trading resumes; the book does not change);
- ``order_id``: the order's reference number (0 for hidden executions since 2010, negative for
  cross trades);
- ``size``: shares; ``price``: dollars x 10,000; ``direction``: -1 a sell limit order, 1 a buy
  (for an execution, the side of the resting order, so a -1 execution is a buyer-initiated
  trade).

Orderbook file, 4 L columns for L levels: ask price, ask size, bid price, bid size of level 1,
then of level 2, and so on. An empty level is written as price 9999999999 (asks) or
-9999999999 (bids) with size 0.

lobsim keeps prices as LOBSTER's integers (one tick = $0.0001), so nothing is rounded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lobsim.market.validate import BarDataError

MESSAGE_COLUMNS = ("time", "type", "order_id", "size", "price", "direction")
SUBMISSION, CANCELLATION, DELETION, EXECUTION, HIDDEN, CROSS, HALT = range(1, 8)
EVENT_NAMES = {
    SUBMISSION: "submission",
    CANCELLATION: "cancellation",
    DELETION: "deletion",
    EXECUTION: "visible execution",
    HIDDEN: "hidden execution",
    CROSS: "cross trade",
    HALT: "trading halt",
}
EMPTY_ASK = 9_999_999_999
EMPTY_BID = -9_999_999_999
PRICE_SCALE = 10_000  # LOBSTER prices are dollars times this


class LobsterFileError(BarDataError):
    """A LOBSTER file refused; ``file``, ``row`` (1-based), ``column`` as for minute bars."""


@dataclass(frozen=True)
class LobsterDay:
    """One stock-day of LOBSTER data, read and checked (:func:`read_lobster`).

    Attributes
    ----------
    time : ndarray(float64, (N,))
        Seconds after midnight of each message.
    type, order_id, size, price, direction : ndarray(int64, (N,))
        The message file's other columns.
    book : ndarray(int64, (N, 4 L))
        The orderbook file: the book after each message.
    message_file, orderbook_file : str
    """

    time: np.ndarray
    type: np.ndarray
    order_id: np.ndarray
    size: np.ndarray
    price: np.ndarray
    direction: np.ndarray
    book: np.ndarray
    message_file: str = ""
    orderbook_file: str = ""

    @property
    def levels(self) -> int:
        return self.book.shape[1] // 4

    def __len__(self) -> int:
        return len(self.time)

    def side(self, row: int, side: str) -> list[tuple[int, int]]:
        """(price, size) of the non-empty levels of ``side`` ("ask" or "bid") in book row
        ``row`` (0-based), best first."""
        first = 0 if side == "ask" else 2
        prices = self.book[row, first::4]
        sizes = self.book[row, first + 1 :: 4]
        return [(int(p), int(q)) for p, q in zip(prices, sizes, strict=True) if q > 0]


def read_lobster(message_file: str | os.PathLike, orderbook_file: str | os.PathLike) -> LobsterDay:
    """Read and check a LOBSTER message file and its orderbook file.

    Raises
    ------
    LobsterFileError
        A file that is missing, unreadable or malformed (naming its row and column), or two
        files whose rows do not pair up (different counts; a message that cannot change the
        book beside a book row that changed).
    """
    message_file, orderbook_file = os.fspath(message_file), os.fspath(orderbook_file)
    messages = _read_numbers(message_file, MESSAGE_COLUMNS)
    book = _read_numbers(orderbook_file, None)
    if book.shape[1] % 4:
        raise LobsterFileError(
            orderbook_file,
            f"{book.shape[1]} columns; an orderbook file has 4 per level (ask price, ask size, "
            "bid price, bid size)",
            row=1,
        )
    time = messages[:, 0]
    ints = _integers(message_file, messages[:, 1:], MESSAGE_COLUMNS[1:])
    day = LobsterDay(
        time=np.ascontiguousarray(time),
        type=ints[:, 0].copy(),
        order_id=ints[:, 1].copy(),
        size=ints[:, 2].copy(),
        price=ints[:, 3].copy(),
        direction=ints[:, 4].copy(),
        book=np.ascontiguousarray(
            _integers(orderbook_file, book, _book_columns(book.shape[1] // 4))
        ),
        message_file=message_file,
        orderbook_file=orderbook_file,
    )
    _check_messages(day)
    _check_book(day)
    _check_pairs(day)
    return day


def write_lobster(
    day: LobsterDay, message_file: str | os.PathLike, orderbook_file: str | os.PathLike
) -> None:
    """Write ``day`` in LOBSTER's format (times with nanosecond decimals)."""
    frame = pd.DataFrame(
        {
            "time": [f"{t:.9f}" for t in day.time.tolist()],
            "type": day.type,
            "order_id": day.order_id,
            "size": day.size,
            "price": day.price,
            "direction": day.direction,
        }
    )
    frame.to_csv(message_file, header=False, index=False)
    np.savetxt(orderbook_file, day.book, fmt="%d", delimiter=",")


def _book_columns(levels: int) -> tuple[str, ...]:
    names = []
    for level in range(1, levels + 1):
        names += [f"ask price {level}", f"ask size {level}", f"bid price {level}",
                  f"bid size {level}"]  # fmt: skip
    return tuple(names)


def _read_numbers(file: str, columns: tuple[str, ...] | None) -> np.ndarray:
    """The file's cells as float64 (N, C); every cell a number, every row C cells."""
    if not os.path.exists(file):
        raise LobsterFileError(file, "no such file")
    try:
        frame = pd.read_csv(file, header=None, dtype=str, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise LobsterFileError(file, "the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise LobsterFileError(file, f"not a CSV file LOBSTER writes ({exc})") from None
    width = len(columns) if columns is not None else frame.shape[1]
    if frame.shape[1] != width:
        raise LobsterFileError(
            file, f"{frame.shape[1]} columns where a message file has {width}: "
            + ", ".join(columns), row=1,
        )  # fmt: skip
    names = columns or _book_columns(max(width // 4, 1))
    values = frame.apply(lambda c: pd.to_numeric(c.str.strip(), errors="coerce"))
    bad = values.isna().to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        cell = frame.iat[row, col]
        name = names[col] if col < len(names) else str(col + 1)
        raise LobsterFileError(file, f"{cell!r} is not a number", row=int(row) + 1, column=name)
    return values.to_numpy(dtype=np.float64)


def _integers(file: str, values: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """float64 cells that must be whole numbers, as int64."""
    rounded = np.round(values)
    bad = (rounded != values) | (np.abs(values) > 2**62)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise LobsterFileError(
            file, f"{float(values[row, col])!r} is not a whole number", row=int(row) + 1,
            column=names[col],
        )  # fmt: skip
    return rounded.astype(np.int64)


def _fail(file: str, rows: np.ndarray, column: str, reason: str) -> None:
    if rows.any():
        raise LobsterFileError(file, reason, row=int(np.argmax(rows)) + 1, column=column)


def _check_messages(day: LobsterDay) -> None:
    f = day.message_file
    t, kind = day.time, day.type
    _fail(f, ~np.isfinite(t) | (t < 0) | (t > 86_400), "time",
          "must be seconds after midnight, in [0, 86400]")  # fmt: skip
    _fail(f, np.r_[False, np.diff(t) < 0], "time", "goes back in time from the row before")
    _fail(f, (kind < 1) | (kind > 7), "type", "must be an event type 1 to 7")
    _fail(f, (day.direction != 1) & (day.direction != -1), "direction", "must be -1 or 1")
    book_event = (kind >= SUBMISSION) & (kind <= EXECUTION)
    _fail(f, book_event & (day.size <= 0), "size", "must be > 0 shares")
    _fail(f, book_event & (day.price <= 0), "price", "must be > 0 (dollars x 10000)")
    _fail(f, book_event & (day.order_id <= 0), "order_id", "must be > 0 for this event type")
    halt = "a trading halt message has price -1 (halt), 0 (quoting) or 1 (trading resumes)"
    _fail(f, (kind == HALT) & ~np.isin(day.price, (-1, 0, 1)), "price", halt)


def _check_book(day: LobsterDay) -> None:
    f = day.orderbook_file
    for i in range(day.levels):
        for side, empty, sign in (("ask", EMPTY_ASK, 1), ("bid", EMPTY_BID, -1)):
            first = 4 * i + (0 if side == "ask" else 2)
            price, size = day.book[:, first], day.book[:, first + 1]
            name = f"{side} price {i + 1}"
            _fail(f, size < 0, f"{side} size {i + 1}", "must be >= 0 shares")
            _fail(f, (size == 0) & (price != empty), name,
                  f"an empty level is written as price {empty}")  # fmt: skip
            _fail(f, (size > 0) & (price <= 0), name, "must be > 0 (dollars x 10000)")
            if i:
                before = day.book[:, first - 4]
                before_size = day.book[:, first - 3]
                _fail(f, (size > 0) & (before_size == 0), name,
                      f"level {i + 1} is filled but level {i} is empty")  # fmt: skip
                _fail(f, (size > 0) & (sign * (price - before) <= 0), name,
                      f"{side}s must {'rise' if sign > 0 else 'fall'} level by level")  # fmt: skip
    both = (day.book[:, 1] > 0) & (day.book[:, 3] > 0)
    _fail(f, both & (day.book[:, 2] >= day.book[:, 0]), "bid price 1",
          "the best bid is at or above the best ask (a crossed book)")  # fmt: skip


def _check_pairs(day: LobsterDay) -> None:
    n_messages, n_books = len(day.time), day.book.shape[0]
    if n_messages != n_books:
        raise LobsterFileError(
            day.message_file,
            f"{n_messages} messages but {n_books} rows in {day.orderbook_file}: the files do "
            "not pair up (row k of the orderbook file is the book after message k)",
        )
    # Hidden executions, cross trades and halts do not change the book: LOBSTER repeats the
    # row before.
    still = np.isin(day.type, (HIDDEN, CROSS, HALT))[1:]
    changed = (day.book[1:] != day.book[:-1]).any(axis=1)
    _fail(
        day.orderbook_file, np.r_[False, still & changed], "ask price 1",
        "the book changed beside a message that cannot change it (a hidden execution, cross "
        "trade or halt): the files do not pair up",
    )  # fmt: skip


def synthesize_lobster(
    n_messages: int, *, levels: int = 10, seed: int = 0, session: tuple[float, float] | None = None
) -> LobsterDay:
    """A LOBSTER day written from a random order flow on lobsim's pure-Python reference book,
    so that the engine replaying it is held against an implementation of its own.

    The flow: limit submissions around the touch (never crossing), deletions and partial
    cancellations of random resting orders, visible executions of the order at the head of a
    best level (whole or in part), hidden executions, a cross trade and a trading halt (halt,
    quoting, trading). As LOBSTER does, a message is written only if it changes the best
    ``levels`` levels (hidden executions, cross trades and halts always are), with the book
    after it. The orders resting when the file starts (about 40 levels a side) are never
    submitted in it. Prices are around $100 on a $0.01 grid (LOBSTER units: 1,000,000 and 100).

    Messages come about every 0.01 s from 09:30. With ``session`` = (open, close) in seconds
    after midnight, a day of the whole session: messages spread over it with a U-shaped
    intensity (the rate at the open and the close three times the midday rate, as intraday
    activity is), and a price that moves: submissions are priced around a fair value that
    walks (``FAIR_STEP`` ticks a message), and one that would cross the book arrives, as
    LOBSTER writes a marketable order, as the execution of the best opposite order.
    """
    from lobsim.engine import ReferenceBook

    rng = np.random.default_rng(seed)
    book = ReferenceBook(1.0)
    tick, mid = 100, 1_000_000
    next_id = 1
    ids: list[int] = []
    for side in (-1, 1):  # the orders resting before the file starts
        for depth in range(1, 41):
            for _ in range(int(rng.integers(1, 4))):
                book._limit(
                    side, mid - side * depth * tick, 100 * int(rng.integers(1, 6)), next_id
                )
                next_id += 1
    rows: list[tuple] = []
    books: list[np.ndarray] = []
    clock = 34_200.0
    fair = float(mid)
    snapshot = book_row(book, levels)
    specials = {n_messages // 3: (HALT, -1), n_messages // 3 + 5: (HALT, 0),
                n_messages // 3 + 9: (HALT, 1), n_messages // 2: (CROSS, 0)}  # fmt: skip
    while len(rows) < n_messages:
        clock += float(rng.exponential(0.01))
        special = specials.pop(len(rows), None)
        if special is not None:
            kind, code = special
            price = code if kind == HALT else mid
            rows.append((clock, kind, -1 if kind == CROSS else 0, 0 if kind == HALT else 500,
                         price, 1))  # fmt: skip
            books.append(snapshot)
            continue
        if session is None:
            message = _random_message(book, rng, tick, next_id, ids)
        else:
            fair += float(rng.normal(0.0, FAIR_STEP)) * tick
            message = _random_message(book, rng, tick, next_id, ids, fair)
        if message is None:
            continue
        kind, order_id, size, price, direction = message
        if kind == SUBMISSION:
            next_id += 1
        after = book_row(book, levels)
        if kind != HIDDEN and np.array_equal(after, snapshot):
            continue  # beyond the file's levels: LOBSTER does not write it
        snapshot = after
        rows.append((clock, kind, order_id, size, price, direction))
        books.append(snapshot)
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    if session is not None:
        table[:, 0] = session_clock(rng, len(table), *session)
    ints = table[:, 1:].astype(np.int64)
    return LobsterDay(
        time=np.round(table[:, 0], 9), type=ints[:, 0].copy(), order_id=ints[:, 1].copy(),
        size=ints[:, 2].copy(), price=ints[:, 3].copy(), direction=ints[:, 4].copy(),
        book=np.array(books, dtype=np.int64).reshape(-1, 4 * levels),
    )  # fmt: skip


def session_clock(rng: np.random.Generator, n: int, open_s: float, close_s: float) -> np.ndarray:
    """n ascending message times in (open_s, close_s], seconds after midnight, drawn with the
    U-shaped intensity 1 + 2 (2 u - 1)**2 of the session's fraction u (nanosecond decimals)."""
    if not close_s > open_s:
        raise ValueError(f"session: close {close_s} must come after open {open_s}")
    grid = np.linspace(0.0, 1.0, 4097)
    cdf = grid + (2.0 / 3.0) * ((2.0 * grid - 1.0) ** 3 + 1.0) / 2.0
    u = np.interp(np.sort(rng.random(n)), cdf / cdf[-1], grid)
    times = np.round(open_s + u * (close_s - open_s), 9)
    return np.clip(times, np.nextafter(open_s, np.inf), close_s)


FAIR_STEP = 0.5  # ticks: the standard deviation of the fair value's step per message


def _random_message(book, rng, tick, next_id, ids, fair=None):
    """Apply one random event to the reference book; (type, id, size, price, direction), or
    None when the event is not possible now. ``ids`` lists the ids that may rest (pruned as it
    is sampled). With a ``fair`` value, submissions are priced around it instead of the
    touch, and one that would cross executes the best opposite order instead."""
    u = rng.random()
    bids, asks = book._levels[0], book._levels[1]  # price -> queue, sorted by price
    best_bid = bids.peekitem(-1)[0] if bids else None
    best_ask = asks.peekitem(0)[0] if asks else None
    if u < 0.05:  # hidden execution: the book does not change
        price = best_ask or best_bid or 1_000_000
        return HIDDEN, 0, 100 * int(rng.integers(1, 4)), price, 1
    if u < 0.45:  # submission near the touch, never crossing
        direction = 1 if rng.random() < 0.5 else -1
        own, other = (best_bid, best_ask) if direction == 1 else (best_ask, best_bid)
        if fair is not None:  # around the fair value; a crossing order is marketable
            price = round(fair / tick) * tick - direction * int(rng.geometric(0.25)) * tick
            if other is not None and direction * (price - other) >= 0:
                return _execute_best(book, rng, 1 if direction == 1 else 0)
        else:
            anchor = own if own is not None else (
                other - direction * tick if other is not None else 1_000_000)  # fmt: skip
            price = anchor - direction * (int(rng.geometric(0.3)) - 2) * tick
            if other is not None and direction * (price - other) >= 0:
                price = other - direction * tick
        if price <= 0:
            return None
        size = 100 * int(rng.integers(1, 6))
        book._limit(direction, price, size, next_id)
        ids.append(next_id)
        return SUBMISSION, next_id, size, price, direction
    if u < 0.85:  # deletion or partial cancellation of a random resting order
        order = None
        while ids and order is None:
            j = int(rng.integers(len(ids)))
            order = book._resting.get(ids[j])
            if order is None:
                ids[j] = ids[-1]
                ids.pop()
        if order is None:
            return None
        direction = 1 if order.side == 0 else -1
        order_id, qty, price = order.order_id, order.qty, order.price
        if u < 0.80 or qty == 1:
            book._cancel(order_id)
            return DELETION, order_id, qty, price, direction
        size = int(rng.integers(1, qty))
        book._reduce(order_id, size)
        return CANCELLATION, order_id, size, price, direction
    return _execute_best(book, rng, 0 if rng.random() < 0.5 else 1)


def _execute_best(book, rng, side):
    """Execute the order at the head of ``side``'s best level (0 bids, 1 asks), whole or in
    part; the message, or None if the side is empty."""
    levels = book._levels[side]
    if not levels:
        return None
    price, queue = levels.peekitem(-1 if side == 0 else 0)
    order_id, qty = queue[0].order_id, queue[0].qty
    size = int(rng.integers(1, qty + 1))
    book._reduce(order_id, size)
    return EXECUTION, order_id, size, price, 1 if side == 0 else -1


def book_row(book, levels: int) -> np.ndarray:
    """The best ``levels`` levels of a :class:`lobsim.ReferenceBook` in the orderbook file's
    layout (a row LOBSTER would write for it)."""
    row = np.zeros(4 * levels, dtype=np.int64)
    row[0::4], row[2::4] = EMPTY_ASK, EMPTY_BID
    asks, bids = book._levels[1], book._levels[0]
    for offset, side, prices in ((0, asks, asks.keys()[:levels]),
                                 (2, bids, bids.keys()[-levels:][::-1])):  # fmt: skip
        for j, price in enumerate(prices):
            row[4 * j + offset] = price
            row[4 * j + offset + 1] = sum(order.qty for order in side[price])
    return row
