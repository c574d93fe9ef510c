"""How much memory this machine has, to refuse sizes that cannot fit before allocating them."""

from __future__ import annotations

import os

from lobsim.errors import InputError


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(nbytes: float, what: str) -> None:
    """Raise InputError if ``nbytes`` exceed this machine's memory; ``what`` names the input
    ("market.synthetic.stocks = 1000000000 (3 x 12 x 30 bars)")."""
    total = physical_memory()
    if total is not None and nbytes > total:
        raise InputError(
            f"{what} needs {_size(nbytes)} of memory, more than this machine's {_size(total)}"
        )


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes:,.0f} bytes"
