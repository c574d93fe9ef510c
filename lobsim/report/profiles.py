"""Intraday profiles from ``decisions.parquet``: cost and inventory by decision time.

``decisions.parquet`` holds, per fold, means over that fold's test days. Pooling folds weights
each fold by its number of test days, so the profiles average over the same days as the
summary table's fold ``"all"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lobsim.report.load import RunResults
from lobsim.report.tables import ALL_STOCKS


def decision_profile(run: RunResults) -> pd.DataFrame:
    """Cost and inventory by decision, pooled over folds, per stock and for the universe.

    Parameters
    ----------
    run : RunResults

    Returns
    -------
    pandas.DataFrame
        One row per (variant_id, strategy, stock, decision), ``stock == "ALL"`` for the
        universe, sorted by those keys. Columns: variant_id, strategy, stock, decision,
        minute, inventory (mean remaining fraction of the parent before the decision; the
        universe's is the plain mean over stocks), child_cost (mean daily temporary cost of
        the decision's child order, $; the universe's is the sum over stocks, so summed over
        decisions it is the universe's mean daily temporary cost).
    """
    decisions = run.decisions.merge(_fold_days(run), on=["variant_id", "fold"], how="left")
    weight = decisions["days"].to_numpy(dtype=np.float64)
    weighted = decisions.assign(
        inventory=decisions["inventory"] * weight,
        child_cost=decisions["child_cost"] * weight,
        minute=decisions["minute"] * weight,
        weight=weight,
    )
    key = ["variant_id", "strategy", "stock", "decision"]
    sums = weighted.groupby(key, sort=True)[["inventory", "child_cost", "minute", "weight"]].sum()
    per_stock = sums[["inventory", "child_cost", "minute"]].div(sums["weight"], axis=0)
    per_stock = per_stock.reset_index()
    universe = (
        per_stock.groupby(["variant_id", "strategy", "decision"], sort=True)
        .agg(
            inventory=("inventory", "mean"),
            child_cost=("child_cost", "sum"),
            minute=("minute", "mean"),
        )
        .reset_index()
        .assign(stock=ALL_STOCKS)
    )
    out = pd.concat([universe, per_stock], ignore_index=True)
    out["minute"] = np.rint(out["minute"]).astype(np.int64)
    columns = ["variant_id", "strategy", "stock", "decision", "minute", "inventory", "child_cost"]
    return out[columns].sort_values(key, kind="stable").reset_index(drop=True)


def final_inventory(run: RunResults) -> pd.DataFrame:
    """Mean fraction of the parent left unfilled after the last decision.

    Returns
    -------
    pandas.DataFrame
        Columns variant_id, strategy, stock (``"ALL"``: the mean over stocks), inventory.
    """
    episodes = run.episodes
    shares = episodes["shares"].to_numpy(dtype=np.float64)
    left = np.zeros(len(episodes))
    np.divide(episodes["unfilled"].to_numpy(dtype=np.float64), shares, out=left, where=shares > 0)
    frame = episodes[["variant_id", "strategy", "stock"]].assign(inventory=left)
    per_stock = (
        frame.groupby(["variant_id", "strategy", "stock"], sort=True)["inventory"]
        .mean()
        .reset_index()
    )
    universe = (
        per_stock.groupby(["variant_id", "strategy"], sort=True)["inventory"]
        .mean()
        .reset_index()
        .assign(stock=ALL_STOCKS)
    )
    return pd.concat([universe, per_stock], ignore_index=True)


def _fold_days(run: RunResults) -> pd.DataFrame:
    """Number of test days per (variant_id, fold)."""
    return (
        run.episodes.groupby(["variant_id", "fold"], sort=True)["day"]
        .nunique()
        .rename("days")
        .reset_index()
    )
