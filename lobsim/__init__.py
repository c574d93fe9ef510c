"""lobsim: an event-driven limit-order-book simulator for optimal trade execution.

The public names are re-exported here; import them from ``lobsim``, not from deep paths.
"""

from __future__ import annotations

import importlib
from typing import Any

from lobsim._version import __version__
from lobsim.errors import DataError, InputError, LobsimError, ScenarioError, StrategyError

# Module -> the public names it defines. They are imported on first use (PEP 562), so that
# `import lobsim` and the command line's help do not pay for NumPy, Numba, pandas and pyarrow
# until a name that needs them is used.
_LAZY: dict[str, tuple[str, ...]] = {
    "lobsim._atomic": ("atomic_dir", "atomic_file"),
    "lobsim.almgren_chriss": (
        "ac_bounded_trajectory",
        "ac_cost_variance",
        "ac_frontier",
        "ac_kappa",
        "ac_portfolio_cost_variance",
        "ac_portfolio_frontier",
        "ac_portfolio_trajectory",
        "ac_trajectory",
        "powerlaw_trajectory",
    ),
    "lobsim.books": (
        "BookModel",
        "Drought",
        "calibrate_epsilon",
        "cost_exponent",
        "powerlaw_cost",
    ),
    "lobsim.books.walk": ("book_walk_cost", "walk_costs_in_minute"),
    "lobsim.check": ("CheckReport", "check_strategy"),
    "lobsim.engine": ("FILL_DTYPE", "BookBatch", "OrderBook", "ReferenceBook"),
    "lobsim.market": (
        "Fold",
        "MarketPanel",
        "SynthParams",
        "load_bars",
        "load_panel",
        "save_panel",
        "synthesize_market",
        "walk_forward_folds",
    ),
    "lobsim.plugins": ("load_strategy",),
    "lobsim.report": ("ReportError", "RunResults", "load_run", "summary_table", "write_report"),
    "lobsim.run": ("CompletedRun", "run_scenario"),
    "lobsim.sandbox": ("Sandbox",),
    "lobsim.scenario": (
        "Scenario",
        "Variant",
        "expand_sweep",
        "load_scenario",
        "parse_scenario",
        "resolve_strategies",
    ),
    "lobsim.simulation": ("SimulationResult", "simulate"),
    "lobsim.strategy": (
        "BUY",
        "SELL",
        "Decision",
        "Limits",
        "Observation",
        "Schedule",
        "Strategy",
        "TrainData",
        "fit_digest",
    ),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "DataError",
    "InputError",
    "LobsimError",
    "ScenarioError",
    "StrategyError",
    "__version__",
]
__all__ += sorted(_HOME)


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use; or a submodule, as the eager
    imports of this package used to make ``lobsim.engine`` reachable after ``import lobsim``."""
    home = _HOME.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
