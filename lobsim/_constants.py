"""Conventions every layer shares, defined once: book sides, taker directions, and the names of
the synthetic market's options.

This module imports nothing heavy, so the command line can build its help from it. The sides
and directions are module-level ints, so njit code that imports them reads them as
compile-time constants; :mod:`lobsim.engine.records`, :mod:`lobsim.books.kernels` and
:mod:`lobsim.strategy` re-export them.
"""

from __future__ import annotations

from typing import Literal

# Book sides: index of the side axis of the engine's level arrays and of the book builders.
BID = 0
ASK = 1

# Taker directions: a parent order's ``side`` and a fill's ``side``.
BUY = 1
SELL = -1

# Names of ``lobsim.market.synth.VOLUME_MODES`` and ``SYNTH_PRESETS`` (the tests hold them
# against those tables), for the scenario schema and the command line.
VolumeMode = Literal["stochastic", "deterministic", "constant"]
SynthPreset = Literal["default", "thin"]
