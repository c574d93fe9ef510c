"""One ticker's minute bars written in each vendor's documented convention.

Every writer gets the same bars: two trading days of the full 09:30-16:00 session (bars ending
09:31 .. 16:00 New York time), with a big opening and closing volume, and, where the vendor
ships them, ten pre-market and ten after-hours bars of small volume.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TICKER = "AAPL"
DAYS = ("2024-01-02", "2024-01-03")
ZONE = "America/New_York"


def bars(days: tuple[str, ...] = DAYS, extended: bool = True) -> pd.DataFrame:
    """Bars stamped by their END, tz-aware New York time; ``session`` marks the regular ones."""
    rows = []
    first, last = (-9, 400) if extended else (1, 390)
    for day in days:
        opening = pd.Timestamp(f"{day} 09:30", tz=ZONE)
        for t in range(first, last + 1):  # bar t ends t minutes after the open
            close = 187.0 + 0.01 * (t % 50) + (0.5 if day != days[0] else 0.0)
            session = 1 <= t <= 390
            volume = 50_000 if t == 1 else 40_000 if t == 390 else 1_000 + t if session else 150
            rows.append((opening + pd.Timedelta(minutes=t), close, volume, session))
    frame = pd.DataFrame(rows, columns=["end", "close", "volume", "session"])
    frame["open"] = frame["close"] - 0.01
    frame["high"] = frame["close"] + 0.02
    frame["low"] = frame["close"] - 0.02
    return frame


def _ohlcv(frame: pd.DataFrame) -> list[str]:
    return [
        f"{o:.2f}{{sep}}{h:.2f}{{sep}}{lo:.2f}{{sep}}{c:.2f}{{sep}}{v}"
        for o, h, lo, c, v in zip(
            frame["open"], frame["high"], frame["low"], frame["close"], frame["volume"],
            strict=True,
        )
    ]  # fmt: skip


def _write(path: Path, stamps, frame: pd.DataFrame, sep: str, header: str | None) -> Path:
    lines = [header] if header else []
    lines += [
        f"{s}{sep}{rest.format(sep=sep)}" for s, rest in zip(stamps, _ohlcv(frame), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def long_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Long format with a header, end-stamped, zone offsets, regular session only."""
    frame = frame[frame["session"]]
    text = (
        frame["end"].dt.strftime("%Y-%m-%d %H:%M:%S%z").str.replace(r"(\d\d)$", r":\1", regex=True)
    )
    out = pd.DataFrame({"timestamp": text, "ticker": TICKER, "close": frame["close"].round(2)})
    out["volume"] = frame["volume"].to_numpy()
    out.to_csv(path, index=False)
    return path


def firstrate(path: Path, frame: pd.DataFrame, header: str | None = None) -> Path:
    """FirstRate Data style: ``yyyy-MM-dd HH:mm:ss,o,h,l,c,v``, no header, naive New York
    time, each bar stamped by the START of its minute, extended hours included."""
    starts = (frame["end"] - pd.Timedelta(minutes=1)).dt.strftime("%Y-%m-%d %H:%M:%S")
    return _write(path, starts, frame, ",", header)


def kibot(path: Path, frame: pd.DataFrame) -> Path:
    """Kibot: ``mm/dd/yyyy,hh:mm,o,h,l,c,v``, no header, New York time, stamped by the START
    of the bar (kibot.com/Data_Format.aspx), pre-market from 08:00 and after-market included."""
    starts = (frame["end"] - pd.Timedelta(minutes=1)).dt.strftime("%m/%d/%Y,%H:%M")
    return _write(path, starts, frame, ",", None)


def ninjatrader(path: Path, frame: pd.DataFrame, zone: str = ZONE) -> Path:
    """NinjaTrader minute bars: ``yyyyMMdd HHmmss;o;h;l;c;v``, stamped by the END of the bar;
    NinjaTrader's own exports are in UTC, files from elsewhere often in exchange time."""
    ends = frame["end"].dt.tz_convert(zone).dt.strftime("%Y%m%d %H%M%S")
    return _write(path, ends, frame, ";", None)


def naive_utc_long(path: Path, frame: pd.DataFrame) -> Path:
    """Long format with a header, end-stamped, naive UTC times."""
    frame = frame[frame["session"]]
    text = frame["end"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S")
    out = pd.DataFrame({"timestamp": text, "ticker": TICKER, "close": frame["close"].round(2)})
    out["volume"] = frame["volume"].to_numpy()
    out.to_csv(path, index=False)
    return path
