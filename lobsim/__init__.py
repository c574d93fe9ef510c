"""lobsim: an event-driven limit-order-book simulator for optimal trade execution.

The public names are re-exported here; import them from ``lobsim``, not from deep paths.
"""

from lobsim._version import __version__
from lobsim.almgren_chriss import (
    ac_bounded_trajectory,
    ac_cost_variance,
    ac_frontier,
    ac_kappa,
    ac_portfolio_cost_variance,
    ac_portfolio_frontier,
    ac_portfolio_trajectory,
    ac_trajectory,
    powerlaw_trajectory,
)
from lobsim.books import BookModel, Drought, calibrate_epsilon, cost_exponent, powerlaw_cost
from lobsim.books.walk import book_walk_cost, walk_costs_in_minute
from lobsim.check import CheckReport, check_strategy
from lobsim.engine import FILL_DTYPE, BookBatch, OrderBook, ReferenceBook
from lobsim.errors import DataError, InputError, LobsimError, ScenarioError, StrategyError
from lobsim.market import (
    Fold,
    MarketPanel,
    SynthParams,
    load_bars,
    load_panel,
    save_panel,
    synthesize_market,
    walk_forward_folds,
)
from lobsim.plugins import load_strategy
from lobsim.report import ReportError, RunResults, load_run, summary_table, write_report
from lobsim.run import CompletedRun, run_scenario
from lobsim.sandbox import Sandbox
from lobsim.scenario import (
    Scenario,
    Variant,
    expand_sweep,
    load_scenario,
    parse_scenario,
    resolve_strategies,
)
from lobsim.simulation import SimulationResult, simulate
from lobsim.strategy import (
    BUY,
    SELL,
    Decision,
    Limits,
    Observation,
    Schedule,
    Strategy,
    TrainData,
)

__all__ = [
    "BUY",
    "FILL_DTYPE",
    "SELL",
    "BookBatch",
    "BookModel",
    "CheckReport",
    "CompletedRun",
    "DataError",
    "Decision",
    "Drought",
    "Fold",
    "InputError",
    "Limits",
    "LobsimError",
    "MarketPanel",
    "Observation",
    "OrderBook",
    "ReferenceBook",
    "ReportError",
    "RunResults",
    "Sandbox",
    "Scenario",
    "ScenarioError",
    "Schedule",
    "SimulationResult",
    "Strategy",
    "StrategyError",
    "SynthParams",
    "TrainData",
    "Variant",
    "__version__",
    "ac_bounded_trajectory",
    "ac_cost_variance",
    "ac_frontier",
    "ac_kappa",
    "ac_portfolio_cost_variance",
    "ac_portfolio_frontier",
    "ac_portfolio_trajectory",
    "ac_trajectory",
    "book_walk_cost",
    "calibrate_epsilon",
    "check_strategy",
    "cost_exponent",
    "expand_sweep",
    "load_bars",
    "load_panel",
    "load_run",
    "load_scenario",
    "load_strategy",
    "parse_scenario",
    "powerlaw_cost",
    "powerlaw_trajectory",
    "resolve_strategies",
    "run_scenario",
    "save_panel",
    "simulate",
    "summary_table",
    "synthesize_market",
    "walk_costs_in_minute",
    "walk_forward_folds",
    "write_report",
]
