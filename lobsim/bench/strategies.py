"""``lobsim bench strategies``: the classical strategies on the default synthetic market.

Walk-forward folds of 60 training and 45 test days on the default (persistent volume shocks)
synthetic market; every built-in is fitted on the training days and scored on the test days
through the simulator. Reports the mean cost in bps per strategy, the dynamic programme's saving
against VWAP (overall and the share of test days on which it is cheaper), the fit times, and
each strategy's mean time per ``decide`` call (a day's batch of stocks) on the test days.
The strategies are found through their registered short names, as a scenario would.
"""

from __future__ import annotations

import time

import numpy as np

DESCRIPTION = "TWAP, VWAP, Almgren-Chriss and DP costs on walk-forward folds, DP vs VWAP"

_STRATEGIES = {
    "twap": {},
    "vwap": {},
    "vwap_moment": {"weighting": "moment"},
    "powerlaw_ac": {"risk_aversion": 0.0},
    "dp": {},
}


class _Timed:
    """A strategy whose ``decide`` calls are timed (the last day's replay, on a copy, is not)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def decide(self, obs):
        start = time.perf_counter()
        out = self.inner.decide(obs)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


def run(quick: bool = False) -> dict:
    from lobsim import Schedule, TrainData, simulate, synthesize_market
    from lobsim.plugins import load_strategy

    stocks, folds = (20, 1) if quick else (100, 3)
    market = synthesize_market(stocks, 60 * (folds - 1) + 105, seed=2025)
    schedule = Schedule()
    costs: dict[str, list] = {name: [] for name in _STRATEGIES}
    bps: dict[str, list] = {name: [] for name in _STRATEGIES}
    fit_time: dict[str, float] = dict.fromkeys(_STRATEGIES, 0.0)
    decide_time: dict[str, list] = {name: [0.0, 0] for name in _STRATEGIES}
    for fold in range(folds):
        train = market.days(60 * fold, 60 * fold + 60)
        test = market.days(60 * fold + 60, 60 * fold + 105)
        data = TrainData.for_training_days(
            train, schedule, side=-1, seed=np.random.SeedSequence([2025, fold]), device="cpu"
        )
        parent, book = data.parent, data.book
        for label, options in _STRATEGIES.items():
            strategy = load_strategy(label.split("_moment")[0])(**options)
            start = time.perf_counter()
            strategy.fit(data)
            fit_time[label] += time.perf_counter() - start
            timed = _Timed(strategy)
            episodes = simulate(
                test,
                timed,
                book=book,
                parent=parent,
                schedule=schedule,
                adv=train.adv,
                seed=fold,
                name=label,
            ).episodes
            decide_time[label][0] += timed.seconds
            decide_time[label][1] += timed.calls
            costs[label].append(episodes["cost"].to_numpy())
            bps[label].append(episodes["cost_bps"].to_numpy())
    dp, vwap = np.concatenate(costs["dp"]), np.concatenate(costs["vwap"])
    out: dict = {"stocks": stocks, "folds": folds, "episodes": int(dp.size)}
    out |= {f"{label}_cost_bps": float(np.concatenate(v).mean()) for label, v in bps.items()}
    out["dp_saving_vs_vwap_pct"] = float(100.0 * (1.0 - dp.sum() / vwap.sum()))
    out["dp_cheaper_share_of_episodes"] = float(np.mean(dp < vwap))
    out["dp_costs_no_more_than_vwap"] = bool(dp.mean() <= vwap.mean())
    out |= {f"{label}_fit_s": fit_time[label] / folds for label in ("vwap", "powerlaw_ac", "dp")}
    out |= {f"{label}_decide_us": 1e6 * t / n for label, (t, n) in decide_time.items()}
    return out
