"""Scenario files: the schema, loading with overrides, sweep expansion, strategy resolution.

See :mod:`lobsim.scenario.schema` for the tables of a scenario file and
:mod:`lobsim.scenario.load` for the rules of ``--set`` and ``[sweep]``.
"""

from lobsim.scenario.load import (
    expand_sweep,
    load_scenario,
    parse_override,
    parse_scenario,
    scenario_from_dict,
)
from lobsim.scenario.resolve import ResolvedStrategy, resolve_strategies, resolve_strategy
from lobsim.scenario.schema import (
    FoldsSpec,
    ImpactSpec,
    MarketSpec,
    ParentSpec,
    ReportSpec,
    RunSpec,
    Scenario,
    StrategySpec,
    SweepAxis,
    SyntheticMarketSpec,
    Variant,
    canonical_json,
    content_hash,
)

__all__ = [
    "FoldsSpec",
    "ImpactSpec",
    "MarketSpec",
    "ParentSpec",
    "ReportSpec",
    "ResolvedStrategy",
    "RunSpec",
    "Scenario",
    "StrategySpec",
    "SweepAxis",
    "SyntheticMarketSpec",
    "Variant",
    "canonical_json",
    "content_hash",
    "expand_sweep",
    "load_scenario",
    "parse_override",
    "parse_scenario",
    "resolve_strategies",
    "resolve_strategy",
    "scenario_from_dict",
]
