"""What load_bars assumes when the file does not say: the zone of naive times, the stamping.

Naive timestamps are read as exchange time unless a zone is given; :func:`check_zone` refuses
the reading when most of the volume then falls outside the session but would fit it were the
times UTC. :func:`detect_stamp` tells bars stamped by the start of their minute (FirstRate,
Kibot, Polygon, IB: the 09:30 bar opens the day) from bars stamped by the end (NinjaTrader,
lobsim: the 16:00 bar closes it), and refuses when the data cannot tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lobsim.errors import DataError
from lobsim.market._time import MINUTES_PER_DAY, NS_PER_MINUTE


def option(name: str, value: str) -> str:
    """How to give load option ``name``, wherever the user is: ``--tz UTC on the command line,
    tz = "UTC" under [market.load] in a scenario, tz="UTC" in Python``."""
    return (
        f'--{name} {value} on the command line, {name} = "{value}" under [market.load] in a '
        f'scenario, {name}="{value}" in Python'
    )


JUMP = 3.0  # how much bigger one reading's opening jump must be than the other's


@dataclass(frozen=True)
class Assumptions:
    """What :func:`lobsim.load_bars` assumed, in words: ``format``, ``zone``, ``stamp``
    ("start" or "end") and ``stamp_reason`` (given, or how it was detected)."""

    format: str
    zone: str
    stamp: str
    stamp_reason: str

    def lines(self) -> list[str]:
        return [
            f"format: {self.format}",
            f"time zone: {self.zone}",
            f"bars stamped by the {self.stamp} of their minute ({self.stamp_reason})",
        ]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _minute_volume(local: np.ndarray, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(minute of day of each bar, volume summed per minute of day, plus one share)."""
    minute = (local // NS_PER_MINUTE) % MINUTES_PER_DAY
    total = np.bincount(minute, weights=volume, minlength=MINUTES_PER_DAY) + 1.0
    return minute, total


def _session_share(local: np.ndarray, volume: np.ndarray, open_: int, close: int) -> float:
    _, total = _minute_volume(local, volume)
    return float(total[open_ : close + 1].sum() / total.sum())


def check_zone(
    local: np.ndarray,
    volume: np.ndarray,
    as_utc_local: np.ndarray,
    *,
    open_: int,
    close: int,
    zone: str,
    name: str,
    utc_allowed: bool = False,
) -> bool:
    """Refuse naive times read in ``zone`` when most volume falls outside the session.

    ``local``: wall-clock ns as read; ``as_utc_local``: the same times read as UTC, in the
    exchange zone. Returns True when the times are to be read as UTC instead: only with
    ``utc_allowed`` (a format documented as UTC, e.g. NinjaTrader exports) and when they fit
    the session as UTC but not as exchange time.
    """
    inside = _session_share(local, volume, open_, close)
    if inside >= 0.5:
        return False
    session = f"{_clock(open_)}-{_clock(close)}"
    utc = _session_share(as_utc_local, volume, open_, close)
    if utc_allowed and utc >= 0.5:
        return True
    hint = (
        f"these look like UTC: pass {option('tz', 'UTC')}"
        if utc >= 0.5
        else f"pass {option('tz', 'ZONE')} with the zone the times are in"
    )
    raise DataError(
        f"{name}: timestamps have no zone offset and were read as {zone} (exchange time), "
        f"but {100 * (1 - inside):.0f}% of the volume then falls outside the session "
        f"{session}; {hint}"
    )


def detect_stamp(
    local: np.ndarray, volume: np.ndarray, *, open_: int, close: int, name: str
) -> tuple[str, str]:
    """("start" or "end", how it was decided) from the bars' wall-clock ns and volumes."""
    minute, total = _minute_volume(local, volume)
    at_open, before = bool((minute == open_).any()), bool((minute < open_).any())
    if before and open_ >= 1:
        jump_start = total[open_] / total[open_ - 1]
        jump_end = total[open_ + 1] / total[open_]
        if jump_start >= JUMP * max(jump_end, 1.0):
            return "start", f"detected: the opening volume lands on the {_clock(open_)} bar"
        if jump_end >= JUMP * max(jump_start, 1.0):
            return "end", f"detected: the opening volume lands on the {_clock(open_ + 1)} bar"
        seen = (
            f"bars before {_clock(open_)} and no clear jump in volume at "
            f"{_clock(open_)} or {_clock(open_ + 1)}"
        )
    elif at_open:
        return "start", f"detected: bars at {_clock(open_)} and none before it"
    elif (minute == close).any():
        return "end", f"detected: bars at {_clock(close)} and none at {_clock(open_)}"
    else:
        seen = f"no bar at {_clock(open_)} or {_clock(close)}"
    raise DataError(
        f"{name}: cannot tell whether bars are stamped by the start or the end of their "
        f"minute ({seen}): pass {option('stamp', 'start|end')}"
    )
