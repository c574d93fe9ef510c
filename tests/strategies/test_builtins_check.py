"""Every built-in strategy passes ``check_strategy`` with its default options."""

from __future__ import annotations

import pytest

from lobsim import check_strategy
from lobsim.plugins import registered

BUILT_IN = sorted(
    n for n, target in registered().items() if target.startswith("lobsim.strategies.")
)


def test_the_classical_strategies_are_registered():
    assert {"twap", "vwap", "almgren_chriss", "powerlaw_ac", "dp"} <= set(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_built_in_strategy_passes_the_check(name):
    report = check_strategy(name)

    assert report.ok, str(report)
    assert report.warnings == [], str(report)
