"""A corpus of malformed minute-bar files: each refused with the file, row and column named.

Every case spoils one thing in an otherwise good file (see bars.py). The files are written
into tmp_path by the tests; the corpus has one case per failure mode and variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lobsim import DataError, load_bars
from lobsim.market import BarDataError

from .bars import HEADER, SESSION, csv_text, good_rows


@dataclass
class Case:
    name: str
    content: object  # bytes, or a callable(path) that writes the file
    row: int | str | None
    column: str | None
    fragment: str
    suffix: str = ".csv"
    options: dict = field(default_factory=dict)


def _cell(row: int, column: str, value: str, header=HEADER) -> bytes:
    """A good file with data row ``row`` (1-based), ``column`` set to ``value``."""
    rows = good_rows()
    rows[row - 1][header.index(column)] = value
    return csv_text(rows, header)


def _without(column: str) -> bytes:
    keep = [k for k, name in enumerate(HEADER) if name != column]
    return csv_text([[r[k] for k in keep] for r in good_rows()], [HEADER[k] for k in keep])


def _rows(edit) -> bytes:
    rows = good_rows()
    edit(rows)
    return csv_text(rows)


def _parquet(frame_edit):
    def write(path):
        frame = pd.DataFrame(good_rows(), columns=HEADER)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        for name in ("open", "high", "low", "close", "volume"):
            frame[name] = frame[name].astype(float)
        table = frame_edit(frame)
        pq.write_table(table if isinstance(table, pa.Table) else pa.table(table), path)

    return write


def _set(frame, row, column, value, dtype=None):
    frame[column] = frame[column].astype(dtype or object)
    frame.loc[row - 1, column] = value
    return frame


def _vendor(edit=lambda rows: None, header=None) -> bytes:
    rows = [[r[0][:19], r[2], r[3], r[4], r[5], r[6]] for r in good_rows() if r[1] == "AAA"]
    edit(rows)
    return csv_text(rows, header)


VENDOR = {"ticker": "AAA", "tz": "America/New_York"}

CASES = [
    # structure of a CSV file
    Case("missing_close", _without("close"), "header", "close", "missing column"),
    Case("missing_volume", _without("volume"), "header", "volume", "missing column"),
    Case("missing_timestamp", _without("timestamp"), "header", "timestamp", "missing column"),
    Case("missing_ticker", _without("ticker"), "header", "ticker", "missing column"),
    Case(
        "repeated_column",
        csv_text(good_rows(), [*HEADER[:-1], "close"]),
        "header",
        None,
        "repeated column",
    ),
    Case("short_row", _rows(lambda r: r[2].pop()), 3, "volume", "short row: 6 fields"),
    Case(
        "short_row_two_missing",
        _rows(lambda r: r.__setitem__(4, r[4][:5])),
        5,
        "close",
        "short row: 5 fields",
    ),
    Case("long_row", _rows(lambda r: r[3].append("7")), 4, None, "long row: 8 fields"),
    Case("empty_file", b"", None, None, "empty file"),
    Case("blank_file", b"\n \n", None, None, "empty file"),
    Case("header_only", csv_text([]), None, None, "no data rows"),
    Case(
        "invalid_utf8",
        _cell(2, "ticker", "AA~").replace(b"AA~", b"AA\xff"),
        2,
        "ticker",
        "not valid UTF-8",
    ),
    Case(
        "invalid_utf8_in_header",
        b"time\xe9stamp,ticker,close,volume\n",
        "header",
        None,
        "not valid UTF-8",
    ),
    Case("nul_byte", _cell(6, "volume", "3\x001"), 6, "volume", "NUL byte"),
    Case(
        "corrupt_gzip",
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)),
        None,
        None,
        "a compressed file that cannot be read",
    ),
    Case("binary_file", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "header", None, "not text"),
    # values
    Case("non_numeric_close", _cell(2, "close", "abc"), 2, "close", "not a number: 'abc'"),
    Case("non_numeric_volume", _cell(7, "volume", '"1,5"'), 7, "volume", "not a number"),
    Case("non_numeric_open", _cell(9, "open", "10.3.1"), 9, "open", "not a number"),
    Case("empty_close", _cell(4, "close", ""), 4, "close", "empty value"),
    Case("empty_ticker", _cell(5, "ticker", " "), 5, "ticker", "empty value"),
    Case("nan_close", _cell(3, "close", "NaN"), 3, "close", "NaN"),
    Case("inf_volume", _cell(8, "volume", "inf"), 8, "volume", "inf"),
    Case("minus_inf_high", _cell(8, "high", "-inf"), 8, "high", "-inf"),
    Case("zero_close", _cell(2, "close", "0"), 2, "close", "must be > 0"),
    Case("negative_low", _cell(12, "low", "-1"), 12, "low", "must be > 0"),
    Case("negative_volume", _cell(11, "volume", "-5"), 11, "volume", "must be >= 0"),
    Case("high_below_low", _cell(6, "high", "9.00"), 6, "high", "below low"),
    Case("open_above_high", _cell(7, "open", "99.00"), 7, "open", "outside [low"),
    Case("close_below_low", _cell(13, "close", "1.00"), 13, "close", "outside [low"),
    # timestamps
    Case(
        "duplicate_bar",
        _rows(lambda r: r.__setitem__(4, list(r[3]))),
        5,
        "timestamp",
        "repeats row 4",
    ),
    Case(
        "unsorted",
        _rows(lambda r: r.__setitem__(slice(2, 4), [r[3], r[2]])),
        4,
        "timestamp",
        "earlier than row 3",
    ),
    Case(
        "off_minute_seconds",
        _cell(3, "timestamp", "2024-01-02 09:33:30-05:00"),
        3,
        "timestamp",
        "not on a whole minute",
    ),
    Case(
        "off_minute_fraction",
        _cell(14, "timestamp", "2024-01-02 09:34:00.250-05:00"),
        14,
        "timestamp",
        "not on a whole minute",
    ),
    Case(
        "bad_timestamp",
        _cell(5, "timestamp", "2024-13-45 09:35:00-05:00"),
        5,
        "timestamp",
        "not an ISO 8601 timestamp",
    ),
    Case("empty_timestamp", _cell(9, "timestamp", ""), 9, "timestamp", "empty value"),
    Case(
        "mixed_offsets",
        _cell(6, "timestamp", "2024-01-02 09:36:00"),
        6,
        "timestamp",
        "must not be mixed",
    ),
    Case(
        "pipe_separated",
        csv_text([["|".join(r)] for r in good_rows()], ["|".join(HEADER)]),
        "header",
        None,
        "'timestamp|ticker|open|high|low|close|volume' has fields separated by pipes",
    ),
    # Parquet
    Case(
        "parquet_missing_volume",
        _parquet(lambda f: f.drop(columns="volume")),
        "header",
        "volume",
        "missing column",
        ".parquet",
    ),
    Case(
        "parquet_null_close",
        _parquet(lambda f: _set(f, 4, "close", None, float)),
        4,
        "close",
        "empty value",
        ".parquet",
    ),
    Case(
        "parquet_text_volume",
        _parquet(lambda f: _set(f, 6, "volume", "many").astype({"volume": str})),
        6,
        "volume",
        "not a number: 'many'",
        ".parquet",
    ),
    Case(
        "parquet_negative_volume",
        _parquet(lambda f: _set(f, 15, "volume", -1.0, float)),
        15,
        "volume",
        "must be >= 0",
        ".parquet",
    ),
    Case(
        "parquet_bool_close",
        _parquet(lambda f: f.assign(close=True)),
        None,
        "close",
        "type bool",
        ".parquet",
    ),
    Case(
        "parquet_no_rows", _parquet(lambda f: f.iloc[:0]), None, None, "no data rows", ".parquet"
    ),
    Case(
        "parquet_duplicate",
        _parquet(
            lambda f: (
                f.drop(index=2)
                .sort_index()
                .pipe(lambda g: pd.concat([g.iloc[:2], g.iloc[1:2], g.iloc[2:]]))
            )
        ),
        3,
        "timestamp",
        "repeats row 2",
        ".parquet",
    ),
    Case(
        "not_parquet",
        b"PAR1 this is not really parquet",
        None,
        None,
        "not a readable Parquet file",
        ".parquet",
    ),
    # headerless vendor files
    Case(
        "vendor_short_row", _vendor(lambda r: r[4].pop()), 5, "volume", "short row", options=VENDOR
    ),
    Case(
        "vendor_with_unknown_header_line",
        _vendor(header=["when", "o", "h", "l", "c", "v"]),
        "header",
        None,
        "a header row in a vendor file that does not name its columns: 'when,o,h,l,c,v'",
        options=VENDOR,
    ),
    Case(
        "vendor_non_numeric",
        _vendor(lambda r: r[2].__setitem__(4, "n/a")),
        3,
        "close",
        "not a number: 'n/a'",
        options=VENDOR,
    ),
    Case("vendor_without_ticker", _vendor(), 1, None, "needs its ticker, pass --ticker NAME"),
]


def test_the_corpus_has_at_least_thirty_cases():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_file_is_refused_naming_file_row_and_column(case, tmp_path):
    path = tmp_path / f"{case.name}{case.suffix}"
    if callable(case.content):
        case.content(path)
    else:
        path.write_bytes(case.content)

    with pytest.raises(BarDataError) as caught:
        load_bars(path, session=SESSION, **case.options)

    error = caught.value
    assert isinstance(error, DataError)
    assert (error.file, error.row, error.column) == (str(path), case.row, case.column)
    message = str(error)
    assert message.startswith(str(path))
    assert case.fragment in message
    if isinstance(case.row, int):
        assert f"row {case.row}" in message
    if case.column is not None:
        assert f"column {case.column!r}" in message


def test_a_duplicate_across_two_files_names_both(tmp_path):
    rows = good_rows()
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"
    first.write_bytes(csv_text(rows[:12]))
    second.write_bytes(csv_text(rows[11:]))

    with pytest.raises(BarDataError) as caught:
        load_bars([first, second], session=SESSION)

    assert (caught.value.file, caught.value.row) == (str(second), 1)
    assert f"{first} row 12" in str(caught.value)


def test_a_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_bars(tmp_path / "absent.csv")
