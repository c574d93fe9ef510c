"""``lobsim bench simulate``: a paper-scale evaluation against the analytic floor.

100 stocks x 45 days x 78 child orders of a fixed TWAP schedule, run through the simulator in
one process (engine books rebuilt every decision), against evaluating the closed form
``powerlaw_cost`` on the same orders with NumPy, the least work any simulator could do.
"""

from __future__ import annotations

import time

import numpy as np

DESCRIPTION = "paper-scale simulation (100 x 45 x 78 child orders) vs the NumPy closed form"


class _TWAP:
    name = "twap"

    def decide(self, obs):
        return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)


def _best_of(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run(quick: bool = False) -> dict:
    from numba import get_num_threads

    from lobsim import BookModel, Schedule, powerlaw_cost, simulate, synthesize_market

    stocks, days = (20, 10) if quick else (100, 45)
    panel = synthesize_market(stocks, days, seed=2024)
    schedule = Schedule()
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = BookModel().calibrated(panel.volume, parent, schedule.decision_times)
    strategy = _TWAP()

    def simulation():
        return simulate(panel, strategy, book=book, parent=parent, schedule=schedule, seed=1)

    result = simulation()  # compiles on a first run, then reads the cache
    child = -np.diff(result.inventory, axis=1)  # (E, K)
    n_orders = int((child > 0).sum())
    t = schedule.decision_times
    e_stock = np.tile(np.arange(stocks), days)
    e_day = np.repeat(np.arange(days), stocks)
    volume = panel.volume[e_day[:, None], t[None, :] - 1, e_stock[:, None]]
    price = panel.price[e_day[:, None], t[None, :] - 1, e_stock[:, None]]
    eps = book.epsilons(stocks)[e_stock][:, None]

    def floor():
        return powerlaw_cost(child, volume, price, book.alpha, eps)

    exact = floor().sum(axis=1)
    walked = result.episodes.temporary_cost.to_numpy()
    error = float(np.max(np.abs(walked / exact - 1)))
    if error > 5e-3:
        raise RuntimeError(f"simulated costs differ from the closed form by {error:.2%}")
    sim_s = _best_of(simulation, 3)
    floor_s = _best_of(floor, 5)
    return {
        "episodes": stocks * days,
        "child_orders": n_orders,
        "threads": get_num_threads(),
        "levels_per_eps": book.levels_per_eps,
        "simulate_seconds": sim_s,
        "child_orders_per_second": n_orders / sim_s,
        "floor_seconds": floor_s,
        "floor_child_orders_per_second": n_orders / floor_s,
        "ratio_to_floor": sim_s / floor_s,
        "max_cost_error_vs_closed_form": error,
    }
