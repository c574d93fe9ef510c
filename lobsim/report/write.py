"""``write_report(DIR)``: summary.csv, summary.md and plots/ from a run directory's results.

Files written under DIR (made from episodes.parquet, decisions.parquet and manifest.json only,
so ``lobsim report DIR`` re-renders them at any time):

- ``summary.csv``: :func:`lobsim.report.summary_table`, one row per variant x fold (and
  "all") x stock (and "ALL") x strategy; ``pandas.read_csv`` loads it.
- ``summary.md``: the same as Markdown tables, overall first, with the plots embedded.
- ``plots/``, for a run of one variant:

  - ``cost_by_fold.png``: mean daily cost per fold and strategy (paper Fig. 4, row 1);
  - ``savings_by_stock.png``: savings per stock against each baseline (Fig. 4, rows 2-3);
  - ``cost_by_time.png``: cost of the child orders by decision time (Fig. 5);
  - ``inventory.png``: remaining inventory through the day, all stocks and three stocks
    (the largest, median and smallest daily volume; Fig. 3);
  - ``basket_frontier.png``, when a strategy recorded its model frontier (Almgren-Chriss in
    portfolio mode): the basket's realised shortfall (mean, sd across days) of each strategy
    against the model's joint and stock-by-stock frontiers (:mod:`lobsim.report.basket`).

  For a sweep (several variants) the same files are under ``plots/<variant id>/`` (for
  sweeps of up to MAX_VARIANT_PLOTS variants), and ``plots/sweep_<key>.png`` draws the mean
  daily cost against each swept key, one line per strategy (``plots/sweep.png`` against the
  variant labels when they cannot be parsed into the keys' values).

Writing is atomic per file and all-or-nothing for the whole (:mod:`lobsim._atomic`): every
file is rendered into a temporary inside DIR first, and the three are moved into place only
once all are rendered; a failure leaves the previous report (if any) untouched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from lobsim._atomic import atomic_dir, atomic_file
from lobsim.report.load import RunResults, load_run
from lobsim.report.markdown import render_markdown
from lobsim.report.tables import ALL_FOLDS, UNIVERSE, headline_pairs, summary_table
from lobsim.rundir import PLOTS, SUMMARY_CSV, SUMMARY_MD

# File name -> title used in summary.md.
VARIANT_PLOTS = {
    "cost_by_fold.png": "Mean daily cost per fold",
    "savings_by_stock.png": "Savings per stock",
    "cost_by_time.png": "Cost by decision time",
    "inventory.png": "Inventory through the day",
    "basket_frontier.png": "Basket: realised shortfall against the model frontier",
}
# Per-variant plots are drawn for sweeps of up to this many variants (a few seconds each);
# larger sweeps get the tables and the sweep plots only.
MAX_VARIANT_PLOTS = 16
# A sweep plot gets one subplot per combination of the other swept keys, up to this many;
# past it the cost is averaged over them.
MAX_SWEEP_PANELS = 6


def write_report(run_dir: str | Path) -> list[Path]:
    """Render ``summary.csv``, ``summary.md`` and ``plots/`` of the run directory ``run_dir``.

    Parameters
    ----------
    run_dir : str or Path
        A directory holding manifest.json, episodes.parquet and decisions.parquet.

    Returns
    -------
    list of Path
        The files written, sorted.

    Raises
    ------
    lobsim.report.ReportError
        If ``run_dir`` is not a run directory or one of its files is missing or corrupt;
        nothing is written then.
    """
    run = load_run(run_dir)
    summary = summary_table(run)
    with contextlib.ExitStack() as stack:
        # Entered last, moved in first: plots/, then summary.csv, then summary.md.
        markdown = stack.enter_context(atomic_file(run.path / SUMMARY_MD))
        csv = stack.enter_context(atomic_file(run.path / SUMMARY_CSV))
        folder = stack.enter_context(atomic_dir(run.path / PLOTS))
        plots = _render_plots(run, summary, folder)
        csv.write_text(summary.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        markdown.write_text(render_markdown(run, summary, plots), encoding="utf-8")
    written = [run.path / SUMMARY_CSV, run.path / SUMMARY_MD]
    written += [p for p in (run.path / PLOTS).rglob("*.png")]
    return sorted(written)


def _render_plots(run: RunResults, summary: pd.DataFrame, out: Path) -> dict[str, dict]:
    """Draw every plot under ``out`` (an empty directory); returns {variant id or "": {title:
    relative path}}."""
    from lobsim.report import plots as draw
    from lobsim.report.basket import basket_table, model_frontiers
    from lobsim.report.profiles import decision_profile, final_inventory

    profile = decision_profile(run)
    final = final_inventory(run)
    headline = headline_pairs(run.strategies, run.baselines)
    several = len(run.variants) > 1
    index: dict[str, dict] = {}
    drawn = run.variants if len(run.variants) <= MAX_VARIANT_PLOTS else ()
    for variant in drawn:
        folder = out / variant.id if several else out
        folder.mkdir(exist_ok=True)
        rel = f"{PLOTS}/{variant.id}/" if several else f"{PLOTS}/"
        rows = summary[summary["variant_id"] == variant.id]
        mine = profile[profile["variant_id"] == variant.id]
        left = final[final["variant_id"] == variant.id]
        context = f"variant {variant.label}" if several else ""
        suffix = f" ({variant.label})" if several else ""
        figures = {
            "cost_by_fold.png": draw.plot_cost_by_fold(rows, run.strategies, context),
            "cost_by_time.png": draw.plot_cost_by_time(mine, run.strategies, context),
            "inventory.png": draw.plot_inventory(
                mine, left, run.strategies, inventory_stocks(rows), context
            ),
        }
        if headline:
            figures["savings_by_stock.png"] = draw.plot_savings_by_stock(rows, headline, context)
        frontiers = model_frontiers(run, variant.id)
        if frontiers:  # the first fold's, with that fold's realised points
            realised = basket_table(run, variant.id, frontiers[0].fold)
            figures["basket_frontier.png"] = draw.plot_basket_frontier(
                frontiers[0], realised, run.strategies, context
            )
        index[variant.id] = {}
        for name, title in VARIANT_PLOTS.items():
            if name in figures:
                draw.save_png(figures[name], folder / name)
                index[variant.id][title + suffix] = rel + name
    if several:
        index[""] = {}
        for key, points, note in sweep_points(run, summary):
            name = f"sweep_{key}.png" if key else "sweep.png"
            title = f"Mean daily cost against {key or 'the variant'}"
            fig = draw.plot_sweep(points, key or "variant", run.strategies, note.strip())
            draw.save_png(fig, out / name)
            index[""][title] = f"{PLOTS}/{name}"
    return index


def inventory_stocks(summary: pd.DataFrame) -> dict[str, str]:
    """The stocks of the inventory plot, with captions: largest, median, smallest volume.

    ``summary`` is one variant's summary table; ties in volume go to the first ticker.
    """
    rows = summary[(summary["scope"] != UNIVERSE) & (summary["fold"] == ALL_FOLDS)]
    volume = rows.drop_duplicates("stock")[["stock", "daily_volume"]]
    ranked = volume.sort_values(["daily_volume", "stock"], ascending=[False, True])["stock"]
    stocks = ranked.tolist()
    if len(stocks) <= 3:
        return dict.fromkeys(stocks, "")
    picks = (stocks[0], stocks[(len(stocks) - 1) // 2], stocks[-1])
    captions = ("largest volume", "median volume", "smallest volume")
    return dict(zip(picks, captions, strict=True))


def sweep_points(run: RunResults, summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame, str]]:
    """The data of each sweep plot: (swept key, points for ``plot_sweep``, title note).

    One entry per swept key with more than one value; a single entry with key "" (x: the
    variant labels) when the labels could not be parsed into the swept keys' values.
    """
    overall = summary[(summary["scope"] == UNIVERSE) & (summary["fold"] == ALL_FOLDS)]
    values = {v.id: v.values for v in run.variants}
    parsed = run.sweep_paths and all(values[v.id] for v in run.variants)
    if not parsed:
        points = overall.assign(x=overall["variant"], panel="")
        return [("", points[["x", "panel", "strategy", "cost", "cost_se"]], "")]
    out = []
    for key in run.sweep_paths:
        if len({repr(values[v][key]) for v in values}) < 2:
            continue
        others = [k for k in run.sweep_paths if k != key and _varies(values, k)]

        def panel_of(vid: str, others=others) -> str:
            return ", ".join(f"{k}={values[vid][k]}" for k in others)

        points = overall.assign(
            x=[values[v][key] for v in overall["variant_id"]],
            panel=[panel_of(v) for v in overall["variant_id"]],
        )[["x", "panel", "strategy", "cost", "cost_se"]]
        note = ""
        panels = points["panel"].nunique()
        if panels > MAX_SWEEP_PANELS:
            points = _average_panels(points)
            note = f" (averaged over {panels} combinations of the other swept keys)"
        out.append((key, points, note))
    return out


def _varies(values: dict[str, dict], key: str) -> bool:
    return len({repr(v[key]) for v in values.values()}) > 1


def _average_panels(points: pd.DataFrame) -> pd.DataFrame:
    """Mean cost over panels per (x, strategy), with the mean of their standard errors.

    Variants share their test days, so their errors are correlated; the mean s.e. is the
    bound for perfectly correlated errors (independent ones would give less).
    """
    points = points.assign(x_key=points["x"].map(repr))
    groups = points.groupby(["x_key", "strategy"], sort=False)
    merged = groups.agg(x=("x", "first"), cost=("cost", "mean"), cost_se=("cost_se", "mean"))
    return merged.reset_index().assign(panel="")[["x", "panel", "strategy", "cost", "cost_se"]]
