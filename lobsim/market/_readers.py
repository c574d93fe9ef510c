"""File readers behind load_bars: CSV (long and vendor), Parquet files and panel directories.

Each reader refuses structural problems (empty file, bytes that are not UTF-8 text, missing
or repeated columns, short or long rows, unreadable Parquet) with a BarDataError naming the
file, row and column, and hands its columns to :mod:`lobsim.market.validate` as Arrow data.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import dataclasses
import gzip
import io
import json
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from lobsim.errors import DataError, InputError
from lobsim.market._formats import (
    VENDOR_COLUMNS,
    TextFormat,
    iso_timestamps,
    join_date_time,
    sniff,
    vendor_names,
)
from lobsim.market.validate import BarDataError, Bars, table_to_bars

LONG_COLUMNS = ("timestamp", "ticker", "close", "volume")
OPTIONAL_COLUMNS = ("open", "high", "low")
PARQUET_SUFFIXES = (".parquet", ".pq")
META_KEY = b"lobsim"
PARTITION = "ticker="


def read_source(
    path: Path, ticker: str | None, tz: str | None
) -> Iterator[tuple[int, Bars, dict[str, Any]]]:
    """Yield (order, Bars, metadata) for each file of one path."""
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        if ticker is not None:
            raise InputError(f"{path}: ticker= is for vendor files, not a directory")
        yield from _read_partitioned(path, tz)
    elif path.suffix.lower() in PARQUET_SUFFIXES and ticker is None:
        table, meta = read_parquet(path, LONG_COLUMNS)
        bars = table_to_bars(table, str(path), tz=tz, ticker=None, label="Parquet (long)")
        del table  # not kept alive while the caller builds the panel
        yield 0, bars, meta
    else:
        table, label = _read_csv(path, ticker)
        own = ticker if "ticker" not in table.column_names else None
        yield 0, table_to_bars(table, str(path), tz=tz, ticker=own, label=label), {}


def _read_partitioned(path: Path, tz: str | None) -> Iterator[tuple[int, Bars, dict[str, Any]]]:
    folders = sorted(p for p in path.iterdir() if p.is_dir() and p.name.startswith(PARTITION))
    if not folders:
        raise DataError(
            f"{path}: a directory must hold {PARTITION}NAME/ sub-directories of Parquet files "
            f"(the layout save_panel writes)"
        )
    for folder in folders:
        files = sorted(folder.glob("*.parquet"))
        if not files:
            raise DataError(f"{folder}: no .parquet file in the partition")
        ticker = unquote(folder.name[len(PARTITION) :])
        for file in files:
            table, meta = read_parquet(file, ("timestamp", "close", "volume"))
            bars = table_to_bars(table, str(file), tz=tz, ticker=ticker, label="saved panel")
            del table
            yield meta.get("stock", len(folders)), bars, meta


def read_parquet(path: Path, required: tuple[str, ...]) -> tuple[pa.Table, dict[str, Any]]:
    try:
        reader = pq.ParquetFile(path)
        names = canonical(reader.schema_arrow.names, str(path), required)
        table = reader.read(columns=[reader.schema_arrow.names[i] for i in names.values()])
    except (pa.ArrowException, OSError) as exc:
        raise BarDataError(str(path), f"not a readable Parquet file ({exc})") from None
    return table.rename_columns(list(names)), parquet_meta(path, reader.schema_arrow)


def parquet_meta(path: Path, schema: pa.Schema | None = None) -> dict[str, Any]:
    try:
        schema = schema or pq.read_schema(path)
        return json.loads((schema.metadata or {}).get(META_KEY, b"{}"))
    except (pa.ArrowException, OSError, ValueError):
        return {}


def _read_csv(path: Path, ticker: str | None) -> tuple[pa.Table, str]:
    """Read a text file into string/float columns with canonical names; refuse bad structure.

    Returns the table and the format detected (see :mod:`lobsim.market._formats`).
    """
    file = str(path)
    raw, compression = _decompressed(path.read_bytes(), file)
    raw = raw.removeprefix(codecs.BOM_UTF8)
    if not raw or raw.isspace():
        raise BarDataError(file, "empty file (no data rows)")
    end = raw.find(b"\n")
    first_line = raw if end < 0 else raw[:end]
    try:
        fmt = sniff(first_line.decode("utf-8", errors="replace").rstrip("\r"), file, ticker)
    except BarDataError:
        _check_text(raw, file, TextFormat(",", ticker is None, False, ""), first_line)
        raise
    names = _check_text(raw, file, fmt, first_line)
    if compression:
        fmt = dataclasses.replace(fmt, label=f"{fmt.label}, {compression}")
    if not fmt.header:
        names = list(fmt.columns)
        found = {n: k for k, n in enumerate(names)}
    elif fmt.vendor:
        found = canonical(vendor_names(names), file, ("timestamp", "close", "volume"))
    else:
        found = canonical(names, file, LONG_COLUMNS)
    wanted = [names[i] for i in found.values()]
    bad_rows: list[object] = []

    def read(types: dict[str, pa.DataType]) -> pa.Table:
        return pa_csv.read_csv(
            io.BytesIO(raw),
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=int(fmt.header)),
            parse_options=pa_csv.ParseOptions(
                delimiter=fmt.delimiter, invalid_row_handler=_skip_into(bad_rows)
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=types,
                include_columns=wanted,
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    as_text = ("timestamp", "ticker", "date", "time")
    typed = {names[k]: pa.float64() for n, k in found.items() if n not in as_text}
    text = {n: pa.string() for n in wanted}
    table, error = None, None
    for types in (text | typed, text):  # on a conversion failure, strings locate the value
        try:
            table = read(types)
            break
        except pa.ArrowInvalid as exc:
            error = exc
            if bad_rows:
                break
    if bad_rows:
        _raise_field_count(raw, file, fmt, names)
    if table is None:
        raise BarDataError(file, f"cannot be read as CSV ({error})")
    table = table.rename_columns(list(found))
    if "date" in table.column_names:
        table = join_date_time(table)
    if fmt.vendor:
        stamps = iso_timestamps(table["timestamp"])
        table = table.set_column(table.column_names.index("timestamp"), "timestamp", stamps)
    return table, fmt.label


def _decompressed(raw: bytes, file: str) -> tuple[bytes, str]:
    """The text of a gzip, bzip2, xz or single-file zip archive (as vendors ship minute bars),
    recognised by its first bytes, and what it was; other bytes as they are."""
    try:
        if raw.startswith(b"\x1f\x8b"):
            return gzip.decompress(raw), "gzip-compressed"
        if raw.startswith(b"BZh"):
            return bz2.decompress(raw), "bzip2-compressed"
        if raw.startswith(b"\xfd7zXZ\x00"):
            return lzma.decompress(raw), "xz-compressed"
        if raw.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    raise BarDataError(
                        file,
                        f"a zip archive of {len(members)} files: lobsim reads one file of bars "
                        "at a time, extract them first",
                    )
                return archive.read(members[0]), f"zip archive of {members[0].filename}"
    except BarDataError:
        raise
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise BarDataError(file, f"a compressed file that cannot be read ({exc})") from None
    return raw, ""


def _skip_into(store: list[object]) -> Callable[[object], str]:
    def handler(row: object) -> str:
        store.append(row)
        return "skip"

    return handler


def _check_text(raw: bytes, file: str, fmt: TextFormat, first_line: bytes) -> list[str]:
    """Refuse NUL bytes and invalid UTF-8 (naming row and column); return the header names."""
    nul = raw.find(b"\x00")
    try:
        raw.decode("utf-8")
        bad = nul
    except UnicodeDecodeError as exc:
        bad = exc.start if nul < 0 else min(nul, exc.start)
    names: list[str] = []
    if bad < 0 or bad >= len(first_line):
        line = first_line.decode("utf-8").rstrip("\r")
        names = next(csv.reader([line], delimiter=fmt.delimiter), [])
    if bad < 0:
        return names
    line = raw.count(b"\n", 0, bad) + 1
    start = raw.rfind(b"\n", 0, bad) + 1
    header = fmt.header
    field = raw.count(fmt.delimiter.encode(), start, bad)
    columns = [n.strip().lower() for n in names] if header else list(VENDOR_COLUMNS)
    what = "a NUL byte" if bad == nul else f"byte 0x{raw[bad]:02x}, not valid UTF-8"
    raise BarDataError(
        file,
        f"{what} at offset {bad}: not text (expected a UTF-8 CSV file)",
        row="header" if header and line == 1 else line - 1 if header else line,
        column=columns[field] if field < len(columns) else None,
    )


def _raise_field_count(raw: bytes, file: str, fmt: TextFormat, names: list[str]) -> None:
    """Find the first record whose number of fields differs from the header's, and refuse it."""
    records = csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=fmt.delimiter)
    if fmt.header:
        next(records)
    row = 0
    for record in records:
        if not record:
            continue
        row += 1
        if len(record) != len(names):
            shown = [n.strip().lower() for n in names]
            short = len(record) < len(names)
            raise BarDataError(
                file,
                f"{'short' if short else 'long'} row: {len(record)} fields, expected "
                f"{len(names)} ({', '.join(shown)})",
                row=row,
                column=shown[len(record)] if short else None,
            )
    raise BarDataError(file, "a row could not be parsed as CSV")


def canonical(names: Sequence[str], file: str, required: tuple[str, ...]) -> dict[str, int]:
    """Map canonical column name -> position, for the known columns; refuse missing ones."""
    clean = [n.strip().lower() for n in names]
    repeated = sorted({n for n in clean if clean.count(n) > 1 and n})
    if repeated:
        raise BarDataError(file, f"repeated column name(s) {repeated}", row="header")
    missing = [c for c in required if c not in clean]
    if missing:
        raise BarDataError(
            file,
            f"missing column(s) {missing}; found {list(names)}, expected "
            f"{list(required)} (optional {list(OPTIONAL_COLUMNS)})",
            row="header",
            column=missing[0],
        )
    known = (*required, *OPTIONAL_COLUMNS)
    return {n: clean.index(n) for n in dict.fromkeys(clean) if n in known}
