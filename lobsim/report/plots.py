"""The report's figures (matplotlib, drawn off-screen: no pyplot, no global state).

Each ``plot_*`` function returns a :class:`matplotlib.figure.Figure`; :func:`save_png` writes
it. The figures follow Papanicolaou et al. (2023): Fig. 4 row 1 (:func:`plot_cost_by_fold`),
Fig. 4 rows 2-3 (:func:`plot_savings_by_stock`), Fig. 5 (:func:`plot_cost_by_time`) and Fig. 3
(:func:`plot_inventory`); :func:`plot_sweep` draws the cost against a swept key.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from lobsim.report.tables import ALL_FOLDS, ALL_STOCKS, UNIVERSE, savings_columns

DPI = 110
# Tick labels are written out below this many stocks; past it they would overlap.
MAX_TICK_LABELS = 40
# cost_by_time uses a log scale when its largest point exceeds this many times the median.
LOG_RATIO = 30.0
_DOLLARS = FuncFormatter(lambda x, _pos: _money_tick(x))


def strategy_colors(strategies: tuple[str, ...]) -> dict[str, tuple]:
    """One fixed colour per strategy label (tab10 in the manifest's order)."""
    cmap = colormaps["tab10"]
    return {s: cmap(i % 10) for i, s in enumerate(strategies)}


def save_png(fig: Figure, path: Path) -> None:
    """Write ``fig`` as PNG without a software stamp (same figure, same bytes)."""
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


def plot_cost_by_fold(
    summary: pd.DataFrame, strategies: tuple[str, ...], context: str = ""
) -> Figure:
    """Mean daily cost of the universe per fold and strategy, then over all folds.

    ``summary`` is the summary table of one variant. Bars carry +-1 standard error over days.
    """
    rows = summary[summary["scope"] == UNIVERSE]
    folds = [f for f in rows["fold"].unique() if f != ALL_FOLDS]
    folds = [*sorted(folds, key=int), ALL_FOLDS]
    colors = strategy_colors(strategies)
    width = 0.8 / len(strategies)
    fig = Figure(figsize=(float(np.clip(2.5 + 0.2 * len(folds) * len(strategies), 7, 12)), 4.2))
    ax = fig.add_subplot()
    x = np.arange(len(folds), dtype=np.float64)
    x[-1] += 0.5  # set "all folds" apart
    for j, strategy in enumerate(strategies):
        cells = rows[rows["strategy"] == strategy].set_index("fold").reindex(folds)
        ax.bar(
            x + (j - (len(strategies) - 1) / 2) * width,
            cells["cost"],
            width,
            yerr=cells["cost_se"].fillna(0.0),
            capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "0.25"},
            color=colors[strategy],
            label=strategy,
        )
    ax.set_xticks(x, [f"fold {f}" if f != ALL_FOLDS else "all folds" for f in folds])
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_ylabel("mean daily cost ($)")
    stocks = int(rows["stocks"].max())
    ax.set_title(
        _titled(f"Mean daily cost per test fold\n{stocks} stocks, ±1 s.e. over days", context)
    )
    _legend(fig, ax)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.set_layout_engine("constrained")
    return fig


def plot_savings_by_stock(
    summary: pd.DataFrame, pairs: list[tuple[str, str]], context: str = ""
) -> Figure:
    """Mean daily savings per stock of each (strategy, baseline) pair, stocks sorted by them.

    ``summary`` is the summary table of one variant; savings are over all folds.
    """
    rows = summary[(summary["fold"] == ALL_FOLDS) & (summary["scope"] != UNIVERSE)]
    # One row of panels per strategy, one column per baseline (the paper's Fig. 4 rows 2-3).
    challengers = list(dict.fromkeys(s for s, _ in pairs))
    baselines = list(dict.fromkeys(b for _, b in pairs))
    nrows, ncols = len(challengers), len(baselines)
    fig = Figure(figsize=(max(6.0, 5.2 * ncols), 2.9 * nrows + 0.7))
    grid = fig.subplots(nrows, ncols, squeeze=False)
    for ax in grid.ravel():
        ax.set_visible(False)
    for strategy, baseline in pairs:
        ax = grid[challengers.index(strategy), baselines.index(baseline)]
        ax.set_visible(True)
        head = savings_columns(baseline)[0]
        cells = rows[rows["strategy"] == strategy].sort_values(
            [head, "stock"], ascending=[False, True], kind="stable"
        )
        values = cells[head].to_numpy()
        x = np.arange(len(values))
        _bars(ax, x, values, np.where(values >= 0, "tab:green", "tab:red"))
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        mean, median = float(np.mean(values)), float(np.median(values))
        ax.axhline(mean, color="0.2", linestyle="--", linewidth=1, label="mean over stocks")
        ax.axhline(median, color="0.2", linestyle=":", linewidth=1, label="median over stocks")
        cheaper = int(np.sum(values > 0))
        ax.set_title(
            f"{strategy} vs {baseline}: cheaper on {cheaper} of {len(values)} stocks\n"
            f"mean {_money(mean)}, median {_money(median)} a day",
            fontsize=9,
        )
        if len(values) <= MAX_TICK_LABELS:
            ax.set_xticks(x, cells["stock"], rotation=90, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_xlabel(f"{len(values)} stocks, sorted by savings")
        ax.set_xlim(-0.6, len(values) - 0.4)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.set_ylabel(f"savings vs {baseline}\n($ per day)")
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, labels = grid[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8)
    fig.suptitle(
        _titled("Mean daily savings per stock, all folds (baseline cost - strategy cost)", context)
    )
    fig.set_layout_engine("constrained")
    return fig


def plot_cost_by_time(
    profile: pd.DataFrame, strategies: tuple[str, ...], context: str = ""
) -> Figure:
    """Mean daily temporary cost of each decision's child order, all stocks, through the day.

    ``profile`` is :func:`lobsim.report.profiles.decision_profile` of one variant.
    """
    rows = profile[profile["stock"] == ALL_STOCKS]
    colors = strategy_colors(strategies)
    fig = Figure(figsize=(9.0, 4.2))
    ax = fig.add_subplot()
    many = rows["decision"].nunique() > 30
    for strategy in strategies:
        line = rows[rows["strategy"] == strategy].sort_values("minute")
        ax.plot(
            line["minute"],
            line["child_cost"],
            color=colors[strategy],
            marker=None if many else "o",
            markersize=3,
            linewidth=1.4,
            label=strategy,
        )
    ax.set_xlabel("decision time (minute of the trading day)")
    ax.set_ylabel("mean daily cost of the child order ($)")
    last = int(rows["minute"].max())
    ax.set_xlim(0, last * 1.02)
    positive = rows["child_cost"].to_numpy()
    positive = positive[positive > 0]
    # One strategy far above the others would flatten them: switch to a log scale then.
    if len(positive) and positive.max() > LOG_RATIO * np.median(positive):
        ax.set_yscale("log")
        ax.set_ylabel("mean daily cost of the child order ($, log scale)")
    else:
        ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_title(_titled("Temporary cost by decision time, summed over stocks", context))
    _legend(fig, ax)
    ax.grid(alpha=0.3)
    fig.set_layout_engine("constrained")
    return fig


def plot_inventory(
    profile: pd.DataFrame,
    final: pd.DataFrame,
    strategies: tuple[str, ...],
    stocks: dict[str, str],
    context: str = "",
) -> Figure:
    """Mean remaining inventory through the day for the universe and a few ``stocks``.

    ``profile``/``final`` are :mod:`lobsim.report.profiles`' frames for one variant. The
    inventory after decision k holds until decision k + 1 (a step function). ``stocks`` maps
    each ticker to draw to a caption for its panel title.
    """
    panels = [ALL_STOCKS, *stocks]
    colors = strategy_colors(strategies)
    ncols = 2 if len(panels) > 1 else 1
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 3.2 * nrows + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    for ax, stock in zip(axes, panels, strict=False):
        for strategy in strategies:
            line = profile[(profile["stock"] == stock) & (profile["strategy"] == strategy)]
            line = line.sort_values("decision")
            left = final[(final["stock"] == stock) & (final["strategy"] == strategy)]
            minutes = np.concatenate(([0], line["minute"].to_numpy()))
            held = np.concatenate((line["inventory"].to_numpy(), left["inventory"].to_numpy()[:1]))
            ax.step(minutes, held, where="post", color=colors[strategy], label=strategy)
        caption = stocks.get(stock, "") if stock != ALL_STOCKS else ""
        name = "all stocks (mean)" if stock == ALL_STOCKS else stock
        ax.set_title(f"{name} ({caption})" if caption else name, fontsize=10)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel("minute of the trading day")
    for ax in axes[::ncols]:
        ax.set_ylabel("inventory left")
    _legend(fig, axes[0])
    fig.suptitle(_titled("Mean remaining inventory (fraction of the parent order)", context))
    fig.set_layout_engine("constrained")
    return fig


def plot_basket_frontier(
    frontier, realised: pd.DataFrame, strategies: tuple[str, ...], context: str = ""
) -> Figure:
    """The model's basket frontier of one fold (joint and per stock: sd against E) with the
    strategies' realised points of that fold (sd and mean of the basket's daily shortfall).

    ``frontier`` is a :class:`lobsim.report.basket.Frontier`; ``realised`` a
    :func:`lobsim.report.basket.basket_table` of the fold.
    """
    t = frontier.table.sort_values("risk_aversion")
    colors = strategy_colors(strategies)
    fig = Figure(figsize=(7, 4.6))
    ax = fig.add_subplot()
    ax.plot(np.sqrt(t["joint_variance"]), t["joint_cost"], color="0.15", label="model: joint")
    ax.plot(np.sqrt(t["alone_variance"]), t["alone_cost"], color="0.15", linestyle="--",
            label="model: stock by stock")  # fmt: skip
    own = frontier.at_own()
    ax.plot([math.sqrt(own["joint_variance"])], [own["joint_cost"]], "o", color="0.15",
            markerfacecolor="none")  # fmt: skip
    for strategy, row in realised.iterrows():
        if np.isfinite(row["shortfall_sd"]):
            ax.plot(row["shortfall_sd"], row["shortfall"], "o", color=colors[strategy],
                    label=f"{strategy} (realised)")  # fmt: skip
    ax.xaxis.set_major_formatter(_DOLLARS)
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_xlabel("sd of the basket's daily shortfall ($)")
    ax.set_ylabel("expected / mean shortfall ($ a day)")
    title = f"Basket frontier, fold {frontier.fold} ({frontier.strategy}'s model)"
    ax.set_title(_titled(title, context))
    _legend(fig, ax)
    ax.grid(alpha=0.3)
    fig.set_layout_engine("constrained")
    return fig


def plot_sweep(
    points: pd.DataFrame, key: str, strategies: tuple[str, ...], context: str = ""
) -> Figure:
    """Mean daily cost (all stocks, all folds) against the swept ``key``.

    ``points`` has columns ``x`` (the key's value), ``panel`` (the other swept keys' values,
    one subplot each; "" when there are none), strategy, cost and cost_se. Non-numeric values
    of ``x`` are placed evenly in order of appearance.
    """
    colors = strategy_colors(strategies)
    panels = list(dict.fromkeys(points["panel"]))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(max(8.0, 4.2 * ncols + 1.2), 3.6 * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True).ravel()
    numeric = all(_is_number(v) for v in points["x"])
    ticks = list(dict.fromkeys(points["x"]))
    for ax, panel in zip(axes, panels, strict=False):
        for strategy in strategies:
            line = points[(points["panel"] == panel) & (points["strategy"] == strategy)]
            if numeric:
                line = line.sort_values("x", key=lambda s: s.astype(float))
                x = line["x"].astype(float).to_numpy()
            else:
                x = np.array([ticks.index(v) for v in line["x"]], dtype=np.float64)
            ax.errorbar(
                x,
                line["cost"],
                yerr=line["cost_se"].fillna(0.0),
                color=colors[strategy],
                marker="o",
                markersize=4,
                capsize=2,
                label=strategy,
            )
        if not numeric:
            ax.set_xticks(range(len(ticks)), [str(t) for t in ticks], rotation=30)
        elif len(ticks) <= 8:  # few values: tick exactly the swept ones
            at = sorted(float(t) for t in ticks)
            ax.set_xticks(at, [f"{t:g}" for t in at])
        if panel:
            ax.set_title(panel, fontsize=9)
        ax.yaxis.set_major_formatter(_DOLLARS)
        ax.grid(alpha=0.3)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel(key)
    for ax in axes[::ncols]:
        ax.set_ylabel("mean daily cost ($)")
    _legend(fig, axes[0])
    heading = f"Mean daily cost against {key}\nall stocks, all folds, ±1 s.e. over days"
    fig.suptitle(_titled(heading, context))
    fig.set_layout_engine("constrained")
    return fig


def _bars(ax, x: np.ndarray, heights: np.ndarray, colors: np.ndarray, width: float = 0.8) -> None:
    """Bars as one PolyCollection: a hundred Rectangle artists draw several times slower."""
    half = width / 2
    zero = np.zeros(len(x))
    verts = np.stack(
        [
            np.column_stack([x - half, zero]),
            np.column_stack([x - half, heights]),
            np.column_stack([x + half, heights]),
            np.column_stack([x + half, zero]),
        ],
        axis=1,
    )
    ax.add_collection(PolyCollection(verts, facecolors=colors, linewidths=0))
    ax.update_datalim(np.column_stack([np.concatenate([x, x]), np.concatenate([zero, heights])]))
    ax.autoscale_view()


def _legend(fig: Figure, ax) -> None:
    """The strategies' legend outside the axes, right of the figure."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, title="strategy", loc="outside right upper", fontsize=8)


def _titled(title: str, context: str) -> str:
    return f"{title}\n{context.replace('$', _USD)}" if context else title


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


# Matplotlib reads text between two "$" as mathtext; an escaped dollar prints as itself.
_USD = r"\$"


def _money(x: float) -> str:
    sign = "-" if x < 0 else ""
    return f"{sign}{_USD}{abs(x):,.0f}" if abs(x) >= 100 else f"{sign}{_USD}{abs(x):,.2f}"


def _money_tick(x: float) -> str:
    sign = "-" if x < 0 else ""
    x = abs(x)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{sign}{_USD}{x / scale:g}{suffix}"
    return f"{sign}{_USD}{x:g}"
