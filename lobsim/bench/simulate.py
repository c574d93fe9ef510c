"""``lobsim bench simulate``: a paper-scale evaluation against the analytic floor.

100 stocks x 45 days x 78 child orders of a fixed TWAP schedule, run through the simulator in
one process (each child order walks its minute's freshly built book), against evaluating the
closed form ``powerlaw_cost`` on the same orders with NumPy, the least work any simulator
could do. Both are warmed up first (the simulator's first run compiles its kernels or loads
them from numba's cache: ``compile_seconds``, outside every other figure) and timed as the
best of several runs, with the thread's CPU clock (``time.thread_time``) so that other work
on a shared machine does not count: everything here runs on the calling thread (100 stocks
make one chunk of the simulator, see ``MIN_CHUNK``).

Checks before any figure is reported: the simulated costs are within 0.5% of the closed form
(the tick's discretisation), and a sample of child orders costs exactly, bit for bit, what the
engine's own walk of the same book charges (:func:`lobsim.walk_costs_in_minute`: levels laid
out, bulk-loaded into an engine book and walked by a market order).

``decision_loop_seconds`` is the part of a simulation no execution kernel can remove: the
same strategy driven through the same sandboxed decisions (observations built, targets
validated) with every order filled at no cost.
"""

from __future__ import annotations

import time

import numpy as np

DESCRIPTION = "paper-scale simulation (100 x 45 x 78 child orders) vs the NumPy closed form"

# Relative gap to the closed form allowed at the default resolution (levels_per_eps = 100).
_CLOSED_FORM_TOLERANCE = 5e-3


class _TWAP:
    name = "twap"

    def decide(self, obs):
        return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)


def _best_of(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"bench simulate: result check failed: {what}")


def _engine_sample(result, panel, book, schedule, n_sample: int) -> int:
    """Hold ``n_sample`` random child orders against the engine's walk; returns how many."""
    from lobsim import walk_costs_in_minute

    child = -np.diff(result.inventory, axis=1)  # (E, K)
    episodes, decisions = np.nonzero(child > 0)
    pick = np.random.default_rng(0).choice(len(episodes), size=n_sample, replace=False)
    n_stocks = panel.price.shape[2]
    eps = book.epsilons(n_stocks)
    s0 = result.episodes.arrival_price.to_numpy()
    for j in pick:
        e, k = int(episodes[j]), int(decisions[j])
        stock, day, t = e % n_stocks, e // n_stocks, int(schedule.decision_times[k])
        # The run's grid step (BookModel.tick is None): S0 * eps / levels_per_eps.
        tick = s0[e] * eps[stock] / book.levels_per_eps
        engine = walk_costs_in_minute(
            [int(child[e, k])],
            panel.volume[day, t - 1, stock],
            panel.price[day, t - 1, stock],
            book.alpha,
            eps[stock],
            tick,
        )[0]
        _check(
            engine == result.child_cost[e, k],
            f"child order {k} of episode {e} costs {result.child_cost[e, k]!r} in the "
            f"simulator and {engine!r} through the engine",
        )
    return n_sample


def _decision_loop(panel, strategy, parent, schedule) -> None:
    """The sandboxed decisions of a simulation, every order filled at no cost."""
    from lobsim.sandbox import Sandbox, trade

    sandbox = Sandbox(panel, schedule, parent=parent, side=-1, adv=panel.adv)
    held = {}

    def execute(d, k, decision, orders):
        after = (held.get(d, sandbox.initial) if k else sandbox.initial) - orders
        held[d] = after
        return after

    trade(strategy, sandbox, strategy.name, execute)


def run(quick: bool = False) -> dict:
    from numba import get_num_threads

    from lobsim import BookModel, Schedule, powerlaw_cost, simulate, synthesize_market

    stocks, days, n_sample = (20, 10, 20) if quick else (100, 45, 100)
    panel = synthesize_market(stocks, days, seed=2024)
    schedule = Schedule()
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = BookModel().calibrated(panel.volume, parent, schedule.decision_times)
    strategy = _TWAP()

    def simulation():
        return simulate(panel, strategy, book=book, parent=parent, schedule=schedule, seed=1)

    start = time.thread_time()
    result = simulation()  # compiles on a first run, then reads the cache
    first_s = time.thread_time() - start
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

    exact = floor().sum(axis=1)  # also the floor's warm-up
    walked = result.episodes.temporary_cost.to_numpy()
    error = float(np.max(np.abs(walked / exact - 1)))
    _check(error <= _CLOSED_FORM_TOLERANCE, f"costs differ from the closed form by {error:.2%}")
    checked = _engine_sample(result, panel, book, schedule, n_sample)

    sim_s = _best_of(simulation, 3)
    floor_s = _best_of(floor, 5)
    _decision_loop(panel, strategy, parent, schedule)  # warm-up
    loop_s = _best_of(lambda: _decision_loop(panel, strategy, parent, schedule), 3)
    return {
        "episodes": stocks * days,
        "child_orders": n_orders,
        "threads": get_num_threads(),
        "levels_per_eps": book.levels_per_eps,
        "compile_seconds": max(first_s - sim_s, 0.0),
        "simulate_seconds": sim_s,
        "simulate_ns_per_child_order": 1e9 * sim_s / n_orders,
        "child_orders_per_second": n_orders / sim_s,
        "floor_seconds": floor_s,
        "floor_ns_per_child_order": 1e9 * floor_s / n_orders,
        "floor_child_orders_per_second": n_orders / floor_s,
        "ratio_to_floor": sim_s / floor_s,
        "decision_loop_seconds": loop_s,
        "decision_loop_ratio_to_floor": loop_s / floor_s,
        "max_cost_error_vs_closed_form": error,
        "child_orders_equal_to_engine_walk": checked,
    }
