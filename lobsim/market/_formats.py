"""Telling the layout of a text file of minute bars from its first line.

Recognised: a long CSV with a header row (``timestamp,ticker,close,volume``, optional
``open,high,low``); a headerless vendor file, one ticker per file, ``timestamp,open,high,low,
close,volume`` separated by commas (FirstRate Data style), or by semicolons with NinjaTrader's
``yyyyMMdd HHmmss`` timestamps, or Kibot's ``mm/dd/yyyy,hh:mm,open,...``; a vendor file of one
ticker with a header row naming those columns. Anything else is refused with what was seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lobsim.market._detect import option
from lobsim.market.validate import BarDataError

VENDOR_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
KIBOT_COLUMNS = ("date", "time", *VENDOR_COLUMNS[1:])
TIMESTAMP_ALIASES = ("datetime", "date time", "date_time", "time stamp", "date/time")
_NINJA = r"^\s*(\d{4})(\d{2})(\d{2}) (\d{2})(\d{2})(\d{2})\s*$"
_KIBOT_DATE = r"^\s*(\d{2})/(\d{2})/(\d{4})\s*$"
_KIBOT_TIME = r"^\s*(\d{1,2}):(\d{2})\s*$"
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


@dataclass(frozen=True)
class TextFormat:
    """How to read one text file: separator, whether row 1 is a header, a label for people."""

    delimiter: str
    header: bool
    vendor: bool
    label: str
    columns: tuple[str, ...] = VENDOR_COLUMNS  # of a headerless file


def sniff(first_line: str, file: str, ticker: str | None) -> TextFormat:
    """The layout of a file whose first line is ``first_line``; refuse an unknown one."""
    counts = {sep: first_line.count(sep) for sep in _SEPARATORS}
    delimiter = max(counts, key=lambda sep: counts[sep])
    fields = first_line.split(delimiter) if counts[delimiter] else [first_line]
    header = not re.match(r'\s*"?\d', fields[0])
    shown = first_line if len(first_line) <= 80 else first_line[:77] + "..."
    if delimiter not in (",", ";") or counts[delimiter] == 0:
        found = (
            f"fields separated by {_SEPARATORS[delimiter]}s" if counts[delimiter] else "one field"
        )
        raise BarDataError(
            file,
            f"first line {shown!r} has {found}; expected comma-separated CSV or NinjaTrader's "
            f"semicolon-separated text",
            row="header" if header else 1,
        )
    names = [n.strip().strip('"').lower() for n in fields]
    if header:
        if "ticker" in names:
            if ticker is not None:
                raise BarDataError(
                    file,
                    "has a ticker column: drop the ticker option (--ticker, market.load.ticker, "
                    "ticker=)",
                    row="header",
                )
            return TextFormat(
                delimiter, True, False, f"long CSV with a header row ({_name(delimiter)})"
            )
        if ticker is None:
            return TextFormat(delimiter, True, False, "long CSV with a header row")
        known = set(VENDOR_COLUMNS) | set(TIMESTAMP_ALIASES)
        if not {"close", "volume"} <= set(names) or not known & set(names) - {"close", "volume"}:
            raise BarDataError(
                file,
                f"a header row in a vendor file that does not name its columns: {shown!r} "
                f"(expected e.g. timestamp,open,high,low,close,volume, or no header row)",
                row="header",
            )
        return TextFormat(delimiter, True, True, f"vendor file of {ticker} with a header row")
    if ticker is None:
        raise BarDataError(
            file,
            f"no header row (first line {shown!r}): a headerless vendor file needs its ticker, "
            f"pass {option('ticker', 'NAME')}",
            row=1,
        )
    if (
        len(fields) == len(KIBOT_COLUMNS)
        and re.match(_KIBOT_DATE, fields[0])
        and re.match(_KIBOT_TIME, fields[1])
    ):
        return TextFormat(",", False, True, "Kibot (comma, mm/dd/yyyy,hh:mm)", KIBOT_COLUMNS)
    if len(fields) != len(VENDOR_COLUMNS):
        raise BarDataError(
            file,
            f"first line {shown!r} has {len(fields)} fields separated by "
            f"{_SEPARATORS[delimiter]}s; a headerless vendor file has {len(VENDOR_COLUMNS)} "
            f"({','.join(VENDOR_COLUMNS)})",
            row=1,
        )
    if re.match(_NINJA, fields[0]):
        label = "NinjaTrader text (semicolon, yyyyMMdd HHmmss)"
        if delimiter != ";":
            label = "headerless vendor file (comma, yyyyMMdd HHmmss)"
        return TextFormat(delimiter, False, True, label)
    return TextFormat(
        delimiter, False, True, f"headerless vendor file ({_name(delimiter)}, FirstRate style)"
    )


def vendor_names(names: list[str]) -> list[str]:
    """Header names of a vendor file with the timestamp aliases mapped to ``timestamp``."""
    clean = [n.strip().strip('"').lower() for n in names]
    return ["timestamp" if n in TIMESTAMP_ALIASES else n for n in clean]


def iso_timestamps(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """``yyyyMMdd HHmmss`` text rewritten as ISO 8601; other text is left as it is."""
    return pc.replace_substring_regex(col, _NINJA, r"\1-\2-\3 \4:\5:\6")


def join_date_time(table: pa.Table) -> pa.Table:
    """Kibot's ``mm/dd/yyyy`` and ``hh:mm`` columns joined into an ISO 8601 ``timestamp``."""
    date = pc.replace_substring_regex(table["date"], _KIBOT_DATE, r"\3-\1-\2")
    time = pc.replace_substring_regex(table["time"], _KIBOT_TIME, r"\1:\2:00")
    time = pc.replace_substring_regex(time, r"^(\d):", r"0\1:")
    stamps = pc.binary_join_element_wise(date, time, " ")
    rest = table.drop_columns(["date", "time"])
    return rest.add_column(0, "timestamp", stamps)


def _name(delimiter: str) -> str:
    return _SEPARATORS[delimiter]
