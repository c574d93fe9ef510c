"""Shared pieces of the scenario tests."""

from __future__ import annotations

import pytest

# The smallest scenario worth having: every key not given takes its default.
MINIMAL = """
[run]
name = "tiny"
seed = 3

[market.synthetic]
stocks = 4
days = 120

[strategies.twap]
[strategies.vwap]
"""


@pytest.fixture
def minimal_text() -> str:
    return MINIMAL
