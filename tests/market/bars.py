"""Small minute-bar files for the loader tests: a good day, and ways to spoil it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SESSION = ("09:30", "09:40")  # ten one-minute bars, 09:31 .. 09:40
HEADER = ["timestamp", "ticker", "open", "high", "low", "close", "volume"]
TICKERS = ("AAA", "BBB")


def good_rows(days: tuple[str, ...] = ("2024-01-02",), offset: str = "-05:00") -> list[list[str]]:
    """Rows of a valid long file: per ticker, per day, the ten bars, ticker-major."""
    rows = []
    for k, ticker in enumerate(TICKERS):
        for day in days:
            for minute in range(31, 41):
                close = 10.0 + k + minute / 100
                rows.append(
                    [
                        f"{day} 09:{minute:02d}:00{offset}",
                        ticker,
                        f"{close - 0.01:.2f}",
                        f"{close + 0.05:.2f}",
                        f"{close - 0.05:.2f}",
                        f"{close:.2f}",
                        str(100 * minute + k),
                    ]
                )
    return rows


def csv_text(rows: list[list[str]], header: list[str] | None = HEADER) -> bytes:
    lines = ([",".join(header)] if header is not None else []) + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def expected_close(rows: list[list[str]]) -> np.ndarray:
    """(days, 10, tickers) closes of good_rows output, for comparisons."""
    close = np.array([float(r[5]) for r in rows])
    return close.reshape(len(TICKERS), -1, 10).transpose(1, 2, 0)
