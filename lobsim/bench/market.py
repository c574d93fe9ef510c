"""``lobsim bench market``: generating the synthetic market, and saving and reloading it.

Checked before it is reported: the market generated on one thread and on several is the same
bytes, and the panel reloaded from Parquet equals the one saved. Generation is timed with the
thread's CPU clock (single thread) and compared with drawing the same number of normal
variates with NumPy in the same run, the floor below which no generator of this design can go.
Saving and loading are wall-clock.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from lobsim.errors import LobsimError
from lobsim.market import load_panel, save_panel, synthesize_market

DESCRIPTION = "synthetic market generation (100 x 600 x 390) and Parquet save/reload"


def run(quick: bool = False) -> dict:
    n_stocks, n_days, minutes = (20, 60, 390) if quick else (100, 600, 390)
    workers = min(8, os.cpu_count() or 1)
    synthesize_market(2, 2, minutes=minutes)  # compile (or load the cache) outside the timing

    started = time.thread_time()
    panel = synthesize_market(n_stocks, n_days, minutes=minutes)
    generate_cpu = time.thread_time() - started
    started = time.perf_counter()
    threaded = synthesize_market(n_stocks, n_days, minutes=minutes, workers=workers)
    generate_wall = time.perf_counter() - started
    if threaded != panel:
        raise LobsimError("bench market: the threaded market differs from the single-threaded one")

    rng = np.random.default_rng(0)
    started = time.thread_time()
    for _ in range(n_days):  # the generator's intraday draws, day by day as it makes them
        rng.standard_normal((n_stocks * 3 + 2) * minutes)
    normals_cpu = time.thread_time() - started

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        save_panel(panel, Path(tmp) / "panel")
        save_wall = time.perf_counter() - started
        started = time.perf_counter()
        again = load_panel(Path(tmp) / "panel")
        load_wall = time.perf_counter() - started
    if again != panel:
        raise LobsimError("bench market: the reloaded panel differs from the saved one")

    cells = n_stocks * n_days * minutes
    return {
        "stocks": n_stocks,
        "days": n_days,
        "minutes": minutes,
        "generate_cpu_s": generate_cpu,
        "generate_wall_s": generate_wall,
        "generate_workers": workers,
        "generate_vs_normals": generate_cpu / normals_cpu,
        "minute_bars_per_s": cells / generate_cpu,
        "save_parquet_wall_s": save_wall,
        "load_parquet_wall_s": load_wall,
    }
