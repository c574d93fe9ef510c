"""Benchmarks behind ``lobsim bench``.

Each benchmark module defines ``DESCRIPTION`` and ``run(quick: bool) -> dict``: a flat mapping
from figure names to numbers (or short strings). A benchmark checks that what it timed is right
before it reports the time. Speed is compared against a reference measured in the same run, as
ratios, because the machines are shared and noisy.
"""

from __future__ import annotations

import importlib

# name -> module; add a line per benchmark.
BENCHMARKS: dict[str, str] = {
    "engine": "lobsim.bench.engine",
    "simulate": "lobsim.bench.simulate",
    "passive": "lobsim.bench.passive",
    "replay": "lobsim.bench.replay",
    "market": "lobsim.bench.market",
    "strategies": "lobsim.bench.strategies",
    "lstm": "lobsim.bench.lstm",
    "env": "lobsim.bench.env",
}


def run_benchmark(name: str, quick: bool = False) -> dict:
    module = importlib.import_module(BENCHMARKS[name])
    return module.run(quick=quick)
