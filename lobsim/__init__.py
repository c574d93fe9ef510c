"""lobsim: an event-driven limit-order-book simulator for optimal trade execution.

The public names are re-exported here; import them from ``lobsim``, not from deep paths.
"""

from lobsim._version import __version__
from lobsim.engine import FILL_DTYPE, BookBatch, OrderBook, ReferenceBook
from lobsim.errors import DataError, InputError, LobsimError, ScenarioError, StrategyError
from lobsim.strategy import BUY, SELL, Observation, Schedule, Strategy, TrainData

__all__ = [
    "BUY",
    "FILL_DTYPE",
    "SELL",
    "BookBatch",
    "DataError",
    "InputError",
    "LobsimError",
    "Observation",
    "OrderBook",
    "ReferenceBook",
    "ScenarioError",
    "Schedule",
    "Strategy",
    "StrategyError",
    "TrainData",
    "__version__",
]
