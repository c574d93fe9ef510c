"""The summary table: mean daily cost and savings per variant, fold, stock and strategy.

Definitions (the paper's, Papanicolaou et al. 2023, section 4 and Tables 2-9):

- cost: ``cost`` of the contract (temporary + permanent impact, plus the penalty on shares left
  unfilled at the close, $), averaged over test days.
  For the whole universe (``scope == "universe"``, ``stock == "ALL"``) the day's costs are
  first summed over stocks, so it is the mean daily cost of the whole program (the paper's
  "$811,433 a day").
- value_traded: mean daily shares * arrival_price of the parent orders ($, the paper's
  "equity value traded"); daily_volume: mean daily market volume (shares; summed over
  stocks for the universe).
- bps: 1e4 * mean daily cost / mean daily value traded (a ratio of means, i.e. the
  value-weighted mean of the episodes' bps, as in the paper's tables). The value traded is the
  parent orders' arrival value, unfilled shares included, for every bps of the run.
- unfilled_shares, unfilled_pct: shares left at the close (mean daily), and their share of the
  parent orders' shares; opportunity_cost and penalty_cost: what they were charged (the
  episodes' columns, see ``lobsim.simulate``).
- posted_shares, passive_shares (mean daily): shares put in limit orders, and filled by them;
  fill_rate_pct = passive / posted; passive_pct = passive / shares filled (the passive share
  of the volume traded). NaN without limit orders.
- savings_vs_B: mean over the same days of (cost of baseline B - cost of the strategy);
  positive means the strategy is cheaper. ``_bps`` divides by the value traded, ``_pct`` by
  the baseline's mean cost, ``_se`` is the standard error of the mean over days (NaN with
  one day).
- fold ``"all"`` pools the test days of every fold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lobsim.report.load import RunResults
from lobsim.simulation.simulate import COST_COLUMNS

ALL_STOCKS = "ALL"
ALL_FOLDS = "all"
STOCK, UNIVERSE = "stock", "universe"
# Episode columns that are averaged over days (and summed over stocks for the universe).
_SUMMED = (
    "day_volume",
    "value_traded",
    *COST_COLUMNS,
    "shares",
    "unfilled",
    "posted_shares",
    "passive_shares",
)
_RENAMED = {"day_volume": "daily_volume", "unfilled": "unfilled_shares", "shares": "parent_shares"}
KEY_COLUMNS = ("variant", "variant_id", "fold", "scope", "stock", "strategy")


def savings_columns(baseline: str) -> tuple[str, str, str, str]:
    """The summary columns of the savings against ``baseline``: $, bps, %, standard error."""
    head = f"savings_vs_{baseline}"
    return head, f"{head}_bps", f"{head}_pct", f"{head}_se"


def summary_table(run: RunResults) -> pd.DataFrame:
    """The long summary table of a run (what ``summary.csv`` holds).

    Parameters
    ----------
    run : RunResults
        From :func:`lobsim.report.load_run`.

    Returns
    -------
    pandas.DataFrame
        One row per variant x fold (each, then ``"all"``) x stock (``"ALL"`` for the universe,
        then each ticker) x strategy, in the order: variants and strategies as in the manifest,
        fold "all" first, then folds ascending; universe row first, then tickers sorted.
        Columns: variant, variant_id, fold (str), scope ("universe" or "stock": tells the
        universe row from a ticker that happens to be "ALL"), stock, strategy, days, stocks,
        daily_volume, value_traded, cost, cost_bps, cost_se, temporary_cost, permanent_cost,
        timing_cost, opportunity_cost, penalty_cost, shortfall, shortfall_bps,
        unfilled_shares, unfilled_pct, posted_shares, passive_shares, fill_rate_pct,
        passive_pct, then for each baseline B the
        four :func:`savings_columns`. Money in $, volumes in shares, see the module docstring.
    """
    daily = _with_savings(_daily(run.episodes), run.baselines)
    pooled = _stats(daily, run.baselines, by_fold=False)
    pooled["fold"] = ALL_FOLDS
    per_fold = _stats(daily, run.baselines, by_fold=True)
    per_fold["fold"] = per_fold["fold"].astype(str)
    table = pd.concat([pooled, per_fold], ignore_index=True)
    labels = {v.id: v.label for v in run.variants}
    table.insert(0, "variant", table["variant_id"].map(labels))
    table = _ordered(table, run)
    savings = [c for b in run.baselines for c in savings_columns(b)]
    columns = [
        *KEY_COLUMNS,
        "days",
        "stocks",
        "daily_volume",
        "value_traded",
        "cost",
        "cost_bps",
        "cost_se",
        "temporary_cost",
        "permanent_cost",
        "timing_cost",
        "opportunity_cost",
        "penalty_cost",
        "shortfall",
        "shortfall_bps",
        "unfilled_shares",
        "unfilled_pct",
        "posted_shares",
        "passive_shares",
        "fill_rate_pct",
        "passive_pct",
        *savings,
    ]
    return table[columns].reset_index(drop=True)


def _daily(episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per (variant_id, fold, scope, stock, strategy, day): stocks, and their sum."""
    columns = ["variant_id", "fold", "stock", "strategy", "day", *_SUMMED]
    stocks = episodes[columns].assign(scope=STOCK, stocks=1)
    universe = (
        episodes.groupby(["variant_id", "fold", "strategy", "day"], sort=True)[list(_SUMMED)]
        .sum()
        .join(
            episodes.groupby(["variant_id", "fold", "strategy", "day"], sort=True)
            .size()
            .rename("stocks")
        )
        .reset_index()
        .assign(scope=UNIVERSE, stock=ALL_STOCKS)
    )
    return pd.concat([universe, stocks], ignore_index=True)


def _with_savings(daily: pd.DataFrame, baselines: tuple[str, ...]) -> pd.DataFrame:
    """``daily`` with, per baseline B, the baseline's cost minus this strategy's, same day."""
    key = ["variant_id", "fold", "scope", "stock", "day"]
    for b in baselines:
        base = daily.loc[daily["strategy"] == b, [*key, "cost"]]
        base = base.rename(columns={"cost": "_base_cost"})
        daily = daily.merge(base, on=key, how="left", validate="many_to_one")
        daily[savings_columns(b)[0]] = daily.pop("_base_cost") - daily["cost"]
    return daily


def _stats(daily: pd.DataFrame, baselines: tuple[str, ...], *, by_fold: bool) -> pd.DataFrame:
    key = ["variant_id", *(["fold"] if by_fold else []), "scope", "stock", "strategy"]
    saving = [savings_columns(b)[0] for b in baselines]
    groups = daily.groupby(key, sort=False)
    out = groups[[*_SUMMED, *saving]].mean()
    out["stocks"] = groups["stocks"].max()
    days = groups.size()
    spread = groups[["cost", *saving]].std(ddof=1)
    out = out.rename(columns=_RENAMED)
    out["days"] = days
    root = np.sqrt(days.to_numpy(dtype=np.float64))
    out["cost_se"] = spread["cost"].to_numpy() / root
    value = out["value_traded"].to_numpy()
    out["cost_bps"] = _ratio(1e4 * out["cost"].to_numpy(), value)
    out["shortfall_bps"] = _ratio(1e4 * out["shortfall"].to_numpy(), value)
    out["unfilled_pct"] = _ratio(
        100.0 * out["unfilled_shares"].to_numpy(), out["parent_shares"].to_numpy()
    )
    passive = out["passive_shares"].to_numpy()
    posted = out["posted_shares"].to_numpy()
    out["fill_rate_pct"] = _ratio(100.0 * passive, posted)
    traded = out["parent_shares"].to_numpy() - out["unfilled_shares"].to_numpy()
    out["passive_pct"] = np.where(posted > 0, _ratio(100.0 * passive, traded), np.nan)
    for b in baselines:
        head, bps, pct, se = savings_columns(b)
        mean = out[head].to_numpy()
        out[bps] = _ratio(1e4 * mean, value)
        # Paired days: the baseline's mean cost is this strategy's plus the mean saving.
        out[pct] = _ratio(100.0 * mean, out["cost"].to_numpy() + mean)
        out[se] = spread[head].to_numpy() / root
    return out.reset_index()


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(len(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _ordered(table: pd.DataFrame, run: RunResults) -> pd.DataFrame:
    variant_rank = {v.id: i for i, v in enumerate(run.variants)}
    strategy_rank = {s: i for i, s in enumerate(run.strategies)}
    fold_rank = table["fold"].map(lambda f: -1 if f == ALL_FOLDS else int(f))
    order = pd.DataFrame(
        {
            "v": table["variant_id"].map(variant_rank),
            "f": fold_rank,
            "u": (table["scope"] != UNIVERSE).astype(int),
            "s": table["stock"],
            "k": table["strategy"].map(strategy_rank),
        }
    )
    index = order.sort_values(["v", "f", "u", "s", "k"], kind="stable").index
    return table.loc[index]


def comparison_pairs(
    strategies: tuple[str, ...], baselines: tuple[str, ...]
) -> list[tuple[str, str]]:
    """(strategy, baseline) pairs the report compares, baselines in the manifest's order.

    Every strategy that is not a baseline against every baseline, then each baseline against
    the baselines listed after it (VWAP vs TWAP); never a pair and its reverse.
    """
    pairs = [(s, b) for b in baselines for s in strategies if s not in baselines]
    pairs += [(s, b) for i, b in enumerate(baselines) for s in baselines[:i]]
    return pairs


def headline_pairs(
    strategies: tuple[str, ...], baselines: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The pairs the report ranks stocks by and plots savings of: every strategy that is not a
    baseline against each baseline, or, when every strategy is one, all
    :func:`comparison_pairs`."""
    pairs = comparison_pairs(strategies, baselines)
    return [p for p in pairs if p[0] not in baselines] or pairs
