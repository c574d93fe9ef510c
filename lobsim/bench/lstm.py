"""``lobsim bench lstm``: what the LSTM policy costs to train and to run.

On a synthetic universe of 100 stocks (60 training days of 390 minutes, 401 inputs a minute,
78 decisions a day) and on every device there is (CPU always, CUDA where available):

- seconds per training epoch (median wall time of the epochs of a short fit; feature
  building excluded): the default shared mode (one network of 5,281 parameters that every
  stock runs, one step per decision), the paper's joint mode (one network, 116,100
  parameters, one step per minute) with one torch thread (the default) and with all the
  cores this process may use, and per-stock mode (100 networks, one thread).
- milliseconds of one inference step (one ``decide`` call, in NumPy on the host whatever the
  training device): a batch is one trading day, so one call covers the 100 stocks of a day,
  one forward pass over the rows since the previous decision; median and max over every
  decision of 45 test days, for each mode.
- a whole fold with the default options (early stopping on the last 10 training days):
  seconds to fit, and the test days' cost against VWAP in the simulator. The target is a
  fold trained to beat VWAP in under 10 minutes on 2 CPU cores.

Before it reports a time, the benchmark checks what it timed: parameter counts, finite
losses, monotone targets that end at zero, and the fold's result. torch is used only through
the ``lobsim.strategies.lstm`` plug-in.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from lobsim.market import synthesize_market
from lobsim.sandbox import Sandbox
from lobsim.simulation import simulate
from lobsim.strategy import SELL, Schedule, TrainData

DESCRIPTION = "LSTM policy: seconds per training epoch, inference step over a day's 100 stocks"

SEED = 20240611


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise RuntimeError(f"bench lstm: result check failed: {what}")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _fold(n_stocks: int, n_train: int, n_test: int):
    market = synthesize_market(n_stocks, n_train + n_test, seed=SEED)
    train, test = market.days(0, n_train), market.days(n_train, n_train + n_test)
    data = TrainData.for_training_days(train, Schedule(), side=SELL, seed=SEED, device="cpu")
    return data, test


def _timed_fit(data: TrainData, **options):
    from lobsim.strategies.lstm import LSTM

    strategy = LSTM(progress=False, validation_days=0, **options)
    strategy.fit(data)
    losses = strategy.history_["train_loss"]
    _check(
        len(losses) == options["epochs"] and all(np.isfinite(losses)),
        f"{options}: training losses {losses}",
    )
    return strategy


def _inference(strategy, test, data: TrainData) -> tuple[float, float]:
    """Median and max milliseconds of a ``decide`` call: one day's stocks, every test day."""
    sandbox = Sandbox(test, data.schedule, parent=data.parent, side=SELL, adv=data.panel.adv)
    times = []
    for d in range(test.n_days):
        remaining = data.parent.copy()
        for k in range(data.schedule.n_decisions - 1):
            obs = sandbox.observe(d, k, remaining)
            start = time.perf_counter()
            target = strategy.decide(obs)
            times.append(time.perf_counter() - start)
            _check(
                target.shape == remaining.shape and np.all(np.isfinite(target)),
                f"day {d}, decision {k}: bad targets",
            )
            _check(np.all(target <= remaining + 1e-6), f"day {d}, decision {k}: inventory rose")
            remaining = np.rint(target).astype(np.int64)
    return 1e3 * statistics.median(times), 1e3 * max(times)


def _device_figures(device: str, data: TrainData, test) -> dict:
    n_stocks = data.panel.n_stocks
    figures: dict = {}
    shared = _timed_fit(data, epochs=3, device=device, threads=1)
    _check(shared.n_parameters == 4 * 32 * 41 + 33, f"shared parameters {shared.n_parameters}")
    figures[f"shared_epoch_s_{device}"] = statistics.median(shared.history_["seconds"])
    figures["shared_parameters"] = shared.n_parameters
    for threads in sorted({1, _cores()}) if device == "cpu" else [1]:
        joint = _timed_fit(
            data, mode="joint", hidden=50, layers=2, epochs=3, device=device, threads=threads
        )
        label = f"{device}_{threads}thread" if device == "cpu" else device
        figures[f"joint_epoch_s_{label}"] = statistics.median(joint.history_["seconds"])
    expected = 4 * 50 * (1 + 4 * n_stocks + 50 + 2) + 4 * 50 * 102 + 51 * n_stocks
    _check(joint.n_parameters == expected, f"joint parameters {joint.n_parameters}")
    figures["joint_parameters"] = joint.n_parameters

    per_stock = _timed_fit(
        data, mode="per_stock", hidden=50, layers=2, epochs=1, device=device, threads=1
    )
    _check(per_stock.net_.n_stocks == n_stocks, "per-stock networks")
    figures[f"per_stock_epoch_s_{device}"] = per_stock.history_["seconds"][0]
    figures["per_stock_parameters_each"] = per_stock.n_parameters // n_stocks
    if device == "cpu":  # decisions run in NumPy on the host, whatever the training device
        for mode, strategy in (("shared", shared), ("joint", joint), ("per_stock", per_stock)):
            ms, worst = _inference(strategy, test, data)
            figures[f"{mode}_inference_step_ms"] = ms
            figures[f"{mode}_inference_step_max_ms"] = worst
    return figures


def _fold_figures(data: TrainData, test, quick: bool) -> dict:
    """A fold with the default options, against VWAP on its test days."""
    from lobsim.strategies.lstm import LSTM
    from lobsim.strategies.vwap import VWAP

    lstm = LSTM(progress=False, device="cpu", **({"epochs": 3} if quick else {}))
    start = time.perf_counter()
    lstm.fit(data)
    seconds = time.perf_counter() - start
    vwap = VWAP()
    vwap.fit(data)
    run = {"book": data.book, "parent": data.parent, "adv": data.panel.adv, "seed": SEED}
    cost = {}
    for name, strategy in (("vwap", vwap), ("lstm", lstm)):
        episodes = simulate(test, strategy, **run).episodes
        _check(bool(np.all(episodes["unfilled"] == 0)), f"{name} left inventory")
        cost[name] = float(episodes["cost_bps"].mean())
    return {
        "fold_fit_s_cpu": seconds,
        "fold_epochs": lstm.history_["epochs"],
        "fold_best_epoch": lstm.history_["best_epoch"],
        "fold_vwap_cost_bps": cost["vwap"],
        "fold_lstm_cost_bps": cost["lstm"],
        "fold_saving_vs_vwap_pct": 100 * (1 - cost["lstm"] / cost["vwap"]),
        "fold_target_met": bool(seconds < 600 and cost["lstm"] < cost["vwap"]),
    }


def run(quick: bool = False) -> dict:
    """Measure; raises RuntimeError if a result check fails."""
    from lobsim.strategies.lstm import resolve_device

    sizes = (8, 12, 3) if quick else (100, 60, 45)
    data, test = _fold(*sizes)
    figures: dict = {
        "stocks": sizes[0],
        "train_days": sizes[1],
        "test_days": sizes[2],
        "inputs": 1 + 4 * sizes[0],
        "episodes": sizes[0] * sizes[2],
        "cores": _cores(),
    }
    devices = ["cpu"] + (["cuda"] if resolve_device("auto").type == "cuda" else [])
    figures["cuda"] = "cuda" in devices
    for device in devices:
        figures |= _device_figures(device, data, test)
    figures |= _fold_figures(data, test, quick)
    return figures
