"""The portfolio view: a day's basket (every stock of the universe) as one trade.

Per strategy, the basket's cost and implementation shortfall of each test day (summed over
stocks), their mean and standard deviation across days; and, where a strategy offered its
model's efficient frontier (``model_frontier``, recorded per fold in the manifest's tasks),
the realised points against it: the mean of the basket's shortfall is what the model calls E,
its variance across days what it calls V.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lobsim.report.load import RunResults


def basket_days(run: RunResults, variant_id: str) -> pd.DataFrame:
    """One row per (strategy, fold, day): the basket's ``cost`` and ``shortfall`` in $."""
    e = run.episodes[run.episodes["variant_id"] == variant_id]
    days = e.groupby(["strategy", "fold", "day"], sort=False)[["cost", "shortfall"]].sum()
    return days.reset_index()


def basket_table(run: RunResults, variant_id: str, fold: int | None = None) -> pd.DataFrame:
    """Per strategy (index, the run's order): ``days``, ``cost`` and ``cost_sd``,
    ``shortfall`` and ``shortfall_sd`` ($ a day, across test days; of one fold if given)."""
    days = basket_days(run, variant_id)
    if fold is not None:
        days = days[days["fold"] == fold]
    stats = days.groupby("strategy").agg(
        days=("day", "size"),
        cost=("cost", "mean"),
        cost_sd=("cost", "std"),
        shortfall=("shortfall", "mean"),
        shortfall_sd=("shortfall", "std"),
    )
    return stats.reindex([s for s in run.strategies if s in stats.index])


@dataclass(frozen=True)
class Frontier:
    """One strategy's model frontier on one fold (see :func:`model_frontiers`)."""

    strategy: str
    fold: int
    table: pd.DataFrame  # the columns of Strategy.model_frontier (lobsim.strategy)

    def at_own(self) -> pd.Series:
        """The row of the strategy's own lambda."""
        own = self.table[self.table["own"].astype(bool)]
        return own.iloc[0] if len(own) else self.table.iloc[len(self.table) // 2]

    def joint_variance_at(self, cost: float) -> float:
        """V of the joint frontier at expected cost ``cost`` (log-linear in between; NaN
        outside the grid)."""
        t = self.table.sort_values("joint_cost")
        e, v = t["joint_cost"].to_numpy(), t["joint_variance"].to_numpy()
        if not e[0] <= cost <= e[-1]:
            return float("nan")
        return float(np.exp(np.interp(cost, e, np.log(np.maximum(v, 1e-300)))))


def model_frontiers(run: RunResults, variant_id: str) -> list[Frontier]:
    """The frontiers strategies recorded for this variant, by fold then strategy."""
    out = []
    for task in run.manifest.get("tasks", []):
        if task.get("variant_id") != variant_id:
            continue
        for label, frontier in (task.get("frontiers") or {}).items():
            out.append(Frontier(label, int(task["fold"]), pd.DataFrame(frontier)))
    return sorted(out, key=lambda f: (f.fold, f.strategy))


def hindsight_gap(run: RunResults, variant_id: str, baseline: str) -> pd.DataFrame | None:
    """Per strategy (index, the run's order): its mean daily cost (all stocks), the
    hindsight optimum's and the baseline's on the same days, and ``captured``: the share of
    the baseline-to-hindsight gap the strategy closes, (baseline - strategy) / (baseline -
    hindsight), in %. Only days where the yardstick is defined for every stock; None when
    it is nowhere (or the run has none)."""
    if run.hindsight is None:
        return None
    h = run.hindsight[run.hindsight["variant_id"] == variant_id]
    per_day = h.groupby(["fold", "day"])["hindsight_cost"].agg(
        lambda c: c.sum() if c.notna().all() else np.nan
    )
    per_day = per_day.dropna()
    if per_day.empty:
        return None
    e = run.episodes[run.episodes["variant_id"] == variant_id]
    daily = e.groupby(["strategy", "fold", "day"])[["cost", "passive_shares"]].sum()
    rows = {}
    base = daily.loc[baseline]["cost"].reindex(per_day.index)
    for strategy in run.strategies:
        mine = daily.loc[strategy].reindex(per_day.index)
        gap = base.mean() - per_day.mean()
        rows[strategy] = {
            "cost": mine["cost"].mean(),
            "hindsight": per_day.mean(),
            "baseline": base.mean(),
            "captured": 100.0 * (base.mean() - mine["cost"].mean()) / gap if gap else np.nan,
            "limit_orders": bool((mine["passive_shares"] > 0).any()),
            "days": len(per_day),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
