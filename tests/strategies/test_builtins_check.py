"""Every built-in strategy passes ``check_strategy`` with its default options (the policy
plug-in, which has none to run without, with a policy of the tests')."""

from __future__ import annotations

import pytest

from lobsim import check_strategy
from lobsim.plugins import registered

BUILT_IN = sorted(
    n for n, target in registered().items() if target.startswith("lobsim.strategies.")
)


def test_the_classical_strategies_are_registered():
    assert {"twap", "vwap", "almgren_chriss", "powerlaw_ac", "dp"} <= set(BUILT_IN)


REQUIRED = {"policy": {"policy": "tests.envs.policies:front_loaded"}}


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_built_in_strategy_passes_the_check(name):
    report = check_strategy(name, options=REQUIRED.get(name))

    assert report.ok, str(report)
    assert report.warnings == [], str(report)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("almgren_chriss", {"portfolio": True}),  # decides for the whole basket at once
        ("almgren_chriss", {"drift": "estimate", "max_participation": 0.5}),
        ("powerlaw_ac", {"drift": 0.2, "min_trade": 1.0}),
    ],
)
def test_the_almgren_chriss_extensions_pass_the_check(name, options):
    report = check_strategy(name, options=options)

    assert report.ok, str(report)
