"""``summary.md``: the summary table as readable Markdown, overall first.

Layout: the run's facts; for a sweep, the cost of every variant; then per variant: overall
costs and savings, costs and savings per fold, the top and bottom ten stocks by savings (the
paper's Tables 2-9, with the middle stock between them), every stock (runs without a sweep
only) and the plots.
"""

from __future__ import annotations

import math

import pandas as pd

from lobsim.report.basket import basket_table, hindsight_gap, model_frontiers
from lobsim.report.load import RunResults
from lobsim.report.tables import (
    ALL_FOLDS,
    UNIVERSE,
    comparison_pairs,
    headline_pairs,
    savings_columns,
)

# Past this many stocks, the ranking table shows the top and bottom TOP_N and the median.
TOP_N = 10
DASH = "—"


def render_markdown(
    run: RunResults, summary: pd.DataFrame, plots: dict[str, dict[str, str]]
) -> str:
    """The text of ``summary.md``.

    Parameters
    ----------
    run : RunResults
    summary : pandas.DataFrame
        :func:`lobsim.report.summary_table` of ``run``.
    plots : dict
        Per variant id, plot title -> path relative to the run directory ("" key: run-wide
        plots such as the sweep's).
    """
    universe = summary[summary["scope"] == UNIVERSE]
    overall = universe[universe["fold"] == ALL_FOLDS]
    folds = sorted({f for f in summary["fold"] if f != ALL_FOLDS}, key=int)
    stocks = summary.loc[summary["scope"] != UNIVERSE, "stock"].nunique()
    manifest = run.manifest
    lines = [
        f"# lobsim report: {run.name}",
        "",
        f"- scenario hash: `{str(manifest.get('scenario_hash', DASH))[:12]}`, "
        f"seed {manifest.get('seed', DASH)}, created {manifest.get('created', DASH)}",
        f"- strategies: {', '.join(run.strategies)}; baselines: "
        f"{', '.join(run.baselines) or DASH}",
        f"- {len(run.variants)} variant(s), {len(folds)} fold(s), {stocks} stock(s), "
        f"{int(overall['days'].max())} test day(s) in all",
        "",
        "Cost: temporary + permanent impact in $ per day (mean over test days), summed over "
        "stocks for all stocks, plus a penalty on shares left unfilled at the close; bps of the "
        "value traded (parent shares × arrival price, unfilled shares included). "
        "Savings: baseline cost - strategy cost on the same days (positive: the strategy is "
        "cheaper), ± one standard error over days. Every figure is in `summary.csv`.",
        "",
    ]
    several = len(run.variants) > 1
    if several:
        lines += _sweep_section(run, overall, plots)
    for variant in run.variants:
        rows = summary[summary["variant_id"] == variant.id]
        level = "###" if several else "##"
        if several:
            lines += [f"## Variant {variant.label} (`{variant.id}`)", ""]
        lines += _variant_sections(run, rows, level, plots.get(variant.id, {}), not several)
    return "\n".join(lines).rstrip("\n") + "\n"


def _sweep_section(run: RunResults, overall: pd.DataFrame, plots: dict[str, dict]) -> list[str]:
    header = ["Variant", *(f"{s} $ (bps)" for s in run.strategies)]
    body = []
    for variant in run.variants:
        rows = overall[overall["variant_id"] == variant.id].set_index("strategy")
        body.append([variant.label, *(_cost(rows.loc[s]) for s in run.strategies)])
    lines = ["## Sweep: mean daily cost, all stocks, all folds", "", *_table(header, body), ""]
    for title, path in plots.get("", {}).items():
        lines += [f"![{title}]({path})", ""]
    if not any(plots.get(v.id) for v in run.variants):
        lines += ["The sweep has too many variants for plots of each; see the tables below.", ""]
    return lines


def _variant_sections(
    run: RunResults, rows: pd.DataFrame, level: str, plots: dict[str, str], every_stock: bool
) -> list[str]:
    universe = rows[rows["scope"] == UNIVERSE]
    overall = universe[universe["fold"] == ALL_FOLDS].set_index("strategy")
    pairs = comparison_pairs(run.strategies, run.baselines)
    first = overall.iloc[0]
    lines = [
        f"{level} Overall",
        "",
        f"All {int(first['stocks'])} stocks, {_count(int(first['days']), 'test day')}; "
        "value traded "
        f"${_big(first['value_traded'])} a day, market volume {_big(first['daily_volume'])} "
        "shares a day.",
        "",
    ]
    header = ["Strategy", "Daily cost ($)", "bps"]
    for b in run.baselines:
        header += [f"Savings vs {b} ($)", "(bps)", "(%)"]
    body = []
    for s in run.strategies:
        row = overall.loc[s]
        cells = [s, _money(row["cost"]), _num(row["cost_bps"])]
        for b in run.baselines:
            head, bps, pct, se = savings_columns(b)
            if s == b:
                cells += [DASH, DASH, DASH]
            else:
                cells += [_pm(row[head], row[se]), _num(row[bps]), _num(row[pct], 1)]
        body.append(cells)
    lines += [*_table(header, body), ""]
    lines += _unfilled_section(run, overall, level)
    lines += _passive_section(run, overall, level)
    variant_id = str(rows["variant_id"].iloc[0])
    lines += _hindsight_section(run, variant_id, level)
    if int(first["stocks"]) > 1:
        lines += _basket_section(run, variant_id, level)
    lines += _fold_sections(run, universe, pairs, level)
    stock_rows = rows[(rows["scope"] != UNIVERSE) & (rows["fold"] == ALL_FOLDS)]
    for strategy, baseline in headline_pairs(run.strategies, run.baselines):
        lines += _ranking(stock_rows, strategy, baseline, level)
    if every_stock:  # a sweep's per-stock figures would swamp the page; summary.csv has them
        lines += _per_stock(run, stock_rows, level)
    if plots:
        lines += [f"{level} Plots", ""]
        for title, path in plots.items():
            lines += [f"![{title}]({path})", ""]
    return lines


def _unfilled_section(run: RunResults, overall: pd.DataFrame, level: str) -> list[str]:
    """Shares left at the close, per strategy: only when some were."""
    if not (overall["unfilled_shares"] > 0).any():
        return []
    header = ["Strategy", "Unfilled shares a day", "% of the order", "Opportunity $", "Penalty $"]
    body = [
        [
            s,
            _big(overall.loc[s, "unfilled_shares"]),
            _num(overall.loc[s, "unfilled_pct"], 3),
            _money(overall.loc[s, "opportunity_cost"]),
            _money(overall.loc[s, "penalty_cost"]),
        ]
        for s in run.strategies
    ]
    return [
        f"{level} Unfilled at the close",
        "",
        "Minutes without volume left child orders unfilled; what a strategy still held at the "
        "close is charged an opportunity cost in the shortfall (valued at the close against "
        "arrival) and a penalty in the cost above (one market order for those shares in the "
        "day's thinnest traded minute, at most their value), so not trading never ranks "
        "cheaper than trading.",
        "",
        *_table(header, body),
        "",
    ]


def _passive_section(run: RunResults, overall: pd.DataFrame, level: str) -> list[str]:
    """Limit orders per strategy: only when some strategy posted any."""
    if not (overall["posted_shares"] > 0).any():
        return []
    header = ["Strategy", "Posted a day", "Filled passively", "Fill rate (%)", "Passive share (%)"]
    body = [
        [
            s,
            _big(overall.loc[s, "posted_shares"]),
            _big(overall.loc[s, "passive_shares"]),
            _num(overall.loc[s, "fill_rate_pct"], 1),
            _num(overall.loc[s, "passive_pct"], 1),
        ]
        for s in run.strategies
    ]
    return [
        f"{level} Limit orders",
        "",
        "Shares posted in limit orders and filled by the market's flow (the background flow, "
        "or the mid moving through them; on replayed days, the files' messages); the rest was "
        "cancelled and crossed. Passive share: of the shares "
        "traded. Adverse selection shows in the timing cost (summary.csv).",
        "",
        *_table(header, body),
        "",
    ]


def _hindsight_section(run: RunResults, variant_id: str, level: str) -> list[str]:
    """The hindsight yardstick and each strategy's share of the gap to it."""
    baseline = "vwap" if "vwap" in run.strategies else (run.baselines or run.strategies)[0]
    table = hindsight_gap(run, variant_id, baseline)
    if table is None:
        return []
    first = table.iloc[0]
    header = ["Strategy", "Daily cost ($)", f"Share of the {baseline}-to-hindsight gap (%)"]
    body = [
        [s, _money(r["cost"]),
         _num(r["captured"], 1) + (" (limit orders: not bounded by it)" if r["limit_orders"]
                                   else "")]
        for s, r in table.iterrows()
    ]  # fmt: skip
    return [
        f"{level} Hindsight",
        "",
        f"The hindsight optimum uses the future: each episode's cheapest schedule of market "
        f"child orders given the day's true volumes and books "
        f"(`lobsim.simulation.hindsight`). Not a strategy, it is the floor no market-order "
        f"strategy can go below (the run checks that none did): "
        f"${_money(first['hindsight'])} a day against {baseline}'s "
        f"${_money(first['baseline'])}, over {int(first['days'])} test days. Each strategy's "
        f"share of that gap: 0% is {baseline}, 100% is hindsight.",
        "",
        *_table(header, body),
        "",
    ]


def _basket_section(run: RunResults, variant_id: str, level: str) -> list[str]:
    """The day's basket as one trade; with the model frontiers strategies recorded."""
    table = basket_table(run, variant_id)
    header = ["Strategy", "Days", "Basket cost ($/day)", "sd", "Shortfall ($/day)", "sd"]
    body = [
        [s, str(int(r["days"])), _money(r["cost"]), _money(r["cost_sd"]),
         _money(r["shortfall"]), _money(r["shortfall_sd"])]
        for s, r in table.iterrows()
    ]  # fmt: skip
    lines = [
        f"{level} Basket",
        "",
        "Every stock of a day as one trade: its cost and implementation shortfall summed over "
        "stocks, mean and standard deviation across test days.",
        "",
        *_table(header, body),
        "",
    ]
    frontiers = model_frontiers(run, variant_id)
    if not frontiers:
        return lines
    header = ["Strategy", "Fold", "lambda", "Per stock: E ($)", "sd ($)", "Joint: E ($)",
              "sd ($)", "Joint sd at the per-stock E ($)", "Variance saved (%)"]  # fmt: skip
    body = []
    for f in frontiers:
        own = f.at_own()
        at_cost = f.joint_variance_at(float(own["alone_cost"]))
        saved = 100.0 * (1.0 - at_cost / own["alone_variance"]) if own["alone_variance"] else 0
        body.append([
            f.strategy, str(f.fold), f"{own['risk_aversion']:.3g}", _money(own["alone_cost"]),
            _money(math.sqrt(own["alone_variance"])), _money(own["joint_cost"]),
            _money(math.sqrt(own["joint_variance"])), _money(math.sqrt(at_cost)),
            _num(saved, 1),
        ])  # fmt: skip
    lines += [
        "The model's efficient frontier, fitted on each fold's training days by the "
        "strategies that solve the basket jointly: E and sd of a day's basket shortfall, solved "
        "stock by stock and jointly (the correlations used), at the strategy's lambda, and the "
        "variance the joint solution saves at the per-stock expected cost. The realised "
        "figures above are what the model calls E and sd.",
        "",
        *_table(header, body),
        "",
    ]
    return lines


def _fold_sections(
    run: RunResults, universe: pd.DataFrame, pairs: list[tuple[str, str]], level: str
) -> list[str]:
    folds = universe[universe["fold"] != ALL_FOLDS]
    order = sorted(folds["fold"].unique(), key=int)
    header = ["Fold", "Days", "Value traded ($)", *(f"{s} $ (bps)" for s in run.strategies)]
    body = []
    for fold in order:
        rows = folds[folds["fold"] == fold].set_index("strategy")
        first = rows.iloc[0]
        body.append(
            [
                fold,
                str(int(first["days"])),
                _big(first["value_traded"]),
                *(_cost(rows.loc[s]) for s in run.strategies),
            ]
        )
    lines = [f"{level} Per fold: mean daily cost, all stocks", "", *_table(header, body), ""]
    if not pairs:
        return lines
    header = ["Fold", *(f"{s} vs {b} $ (bps)" for s, b in pairs)]
    body = []
    for fold in [*order, ALL_FOLDS]:
        rows = universe[universe["fold"] == fold].set_index("strategy")
        cells = []
        for s, b in pairs:
            head, bps, _pct, se = savings_columns(b)
            cells.append(f"{_pm(rows.loc[s, head], rows.loc[s, se])} ({_num(rows.loc[s, bps])})")
        body.append([fold if fold != ALL_FOLDS else "all", *cells])
    return [*lines, f"{level} Per fold: savings, all stocks", "", *_table(header, body), ""]


def _ranking(stocks: pd.DataFrame, strategy: str, baseline: str, level: str) -> list[str]:
    head, bps, _pct, _se = savings_columns(baseline)
    mine = stocks[stocks["strategy"] == strategy].set_index("stock")
    base = stocks[stocks["strategy"] == baseline].set_index("stock")
    ranked = (
        mine.reset_index()
        .sort_values([head, "stock"], ascending=[False, True], kind="stable")
        .set_index("stock")
    )
    n = len(ranked)
    median = ranked.index[(n - 1) // 2]
    if n > 2 * TOP_N + 1:
        shown = [*ranked.index[:TOP_N], median, *ranked.index[-TOP_N:]]
        what = f"top and bottom {TOP_N} of {n} stocks and the middle one"
    else:
        shown = list(ranked.index)
        what = f"all {n} stocks"
    header = [
        "Ticker",
        "Daily volume",
        "Value traded ($)",
        f"{baseline} $ (bps)",
        f"{strategy} $ (bps)",
        "Savings $ (bps)",
    ]
    body = []
    for ticker in shown:
        row = ranked.loc[ticker]
        name = f"{ticker} (middle)" if ticker == median and n > 2 * TOP_N + 1 else ticker
        body.append(
            [
                name,
                _big(row["daily_volume"]),
                _big(row["value_traded"]),
                _cost(base.loc[ticker]),
                _cost(row),
                f"{_money(row[head])} ({_num(row[bps])})",
            ]
        )
    values = ranked[head]
    return [
        f"{level} Savings per stock: {strategy} vs {baseline}",
        "",
        f"Sorted by savings, {what}. {strategy} is cheaper on {int((values > 0).sum())} of {n} "
        f"stocks; median saving {_money(values.median())}, mean {_money(values.mean())} a day.",
        "",
        *_table(header, body),
        "",
    ]


def _per_stock(run: RunResults, stocks: pd.DataFrame, level: str) -> list[str]:
    header = ["Ticker", "Daily volume", "Value traded ($)"]
    header += [f"{s} $ (bps)" for s in run.strategies]
    body = []
    for ticker, rows in stocks.groupby("stock", sort=True):
        rows = rows.set_index("strategy")
        first = rows.iloc[0]
        body.append(
            [
                str(ticker),
                _big(first["daily_volume"]),
                _big(first["value_traded"]),
                *(_cost(rows.loc[s]) for s in run.strategies),
            ]
        )
    return [f"{level} Every stock: mean daily cost, all folds", "", *_table(header, body), ""]


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    rows = [header, *body]
    widths = [max(len(str(r[j])) for r in rows) for j in range(len(header))]
    right = [j > 0 for j in range(len(header))]

    def line(cells):
        padded = [
            str(c).rjust(w) if r else str(c).ljust(w)
            for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if r else ("-" * (w + 2))
            for w, r in zip(widths, right, strict=True)
        )
        + "|"
    )
    return [line(header), rule, *(line(r) for r in body)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cost(row: pd.Series) -> str:
    return f"{_money(row['cost'])} ({_num(row['cost_bps'])})"


def _pm(value: float, se: float) -> str:
    if not math.isfinite(se):
        return _money(value)
    return f"{_money(value)} ± {_money(se).lstrip('-')}"


def _money(x: float) -> str:
    if not math.isfinite(x):
        return DASH
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}"


def _num(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else DASH


def _big(x: float) -> str:
    """42.65 M, 1.20 B, 3.10 k."""
    if not math.isfinite(x):
        return DASH
    for scale, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= scale:
            return f"{x / scale:.2f}{suffix}"
    return f"{x:.0f}"
