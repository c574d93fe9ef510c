"""``lobsim bench strategies``: the classical strategies on the default synthetic market.

Walk-forward folds of 60 training and 45 test days on the default (persistent volume shocks)
synthetic market; every built-in is fitted on the training days and scored on the test days
through the simulator. Reports the mean cost in bps per strategy, the dynamic programme's saving
against VWAP (overall and the share of test days on which it is cheaper), and the fit times.
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


def run(quick: bool = False) -> dict:
    from lobsim import Schedule, TrainData, simulate, synthesize_market
    from lobsim.plugins import load_strategy

    stocks, folds = (20, 1) if quick else (100, 3)
    market = synthesize_market(stocks, 60 * (folds - 1) + 105, seed=2025)
    schedule = Schedule()
    costs: dict[str, list] = {name: [] for name in _STRATEGIES}
    bps: dict[str, list] = {name: [] for name in _STRATEGIES}
    fit_time: dict[str, float] = dict.fromkeys(_STRATEGIES, 0.0)
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
            episodes = simulate(
                test,
                strategy,
                book=book,
                parent=parent,
                schedule=schedule,
                adv=train.adv,
                seed=fold,
            ).episodes
            costs[label].append(episodes["cost"].to_numpy())
            bps[label].append(episodes["cost_bps"].to_numpy())
    dp, vwap = np.concatenate(costs["dp"]), np.concatenate(costs["vwap"])
    out: dict = {"stocks": stocks, "folds": folds, "episodes": int(dp.size)}
    out |= {f"{label}_cost_bps": float(np.concatenate(v).mean()) for label, v in bps.items()}
    out["dp_saving_vs_vwap_pct"] = float(100.0 * (1.0 - dp.sum() / vwap.sum()))
    out["dp_cheaper_share_of_episodes"] = float(np.mean(dp < vwap))
    out["dp_costs_no_more_than_vwap"] = bool(dp.mean() <= vwap.mean())
    out |= {f"{label}_fit_s": fit_time[label] / folds for label in ("vwap", "powerlaw_ac", "dp")}
    return out
