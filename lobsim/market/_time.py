"""The exchange's clock: time units, the default session and zone, and their parsing."""

from __future__ import annotations

import datetime as _dt
import zoneinfo

from lobsim.errors import InputError

DEFAULT_TIMEZONE = "America/New_York"
DEFAULT_SESSION = ("09:30", "16:00")

NS_PER_MINUTE = 60_000_000_000
MINUTES_PER_DAY = 24 * 60
NS_PER_DAY = MINUTES_PER_DAY * NS_PER_MINUTE


def parse_clock(value: str, name: str) -> int:
    """Minutes after midnight of an ``"HH:MM"`` string; an InputError naming ``name`` if not."""
    try:
        clock = _dt.time.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a time 'HH:MM', got {value!r}") from None
    if clock.second or clock.microsecond or clock.tzinfo is not None:
        raise InputError(f"{name}: expected a whole minute 'HH:MM' without zone, got {value!r}")
    return clock.hour * 60 + clock.minute


def check_timezone(value: str, name: str) -> str:
    """``value`` if it names an IANA time zone, else an InputError naming ``name``."""
    try:
        zoneinfo.ZoneInfo(value)
    except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InputError(
            f"{name}: unknown time zone {value!r} (expected an IANA name such as "
            f"'America/New_York' or 'UTC')"
        ) from None
    return value
