"""Market data: the panel container, the synthetic market, loaders and validation, folds."""

from lobsim.market.folds import Fold, walk_forward_folds
from lobsim.market.loaders import load_bars, load_panel, save_panel
from lobsim.market.panel import MarketPanel
from lobsim.market.synth import (
    SYNTH_PRESETS,
    SynthParams,
    SynthUniverse,
    synthesize_market,
    synthetic_universe,
)
from lobsim.market.validate import (
    BarDataError,
    DataWarning,
    MissingMinutesWarning,
    ShortDayWarning,
)

__all__ = [
    "SYNTH_PRESETS",
    "BarDataError",
    "DataWarning",
    "Fold",
    "MarketPanel",
    "MissingMinutesWarning",
    "ShortDayWarning",
    "SynthParams",
    "SynthUniverse",
    "load_bars",
    "load_panel",
    "save_panel",
    "synthesize_market",
    "synthetic_universe",
    "walk_forward_folds",
]
