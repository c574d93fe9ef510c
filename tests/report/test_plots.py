"""The figures hold the data they claim to show; drawing is deterministic."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

from lobsim.report import load_run, summary_table
from lobsim.report import plots as draw
from lobsim.report.profiles import decision_profile, final_inventory
from lobsim.report.tables import savings_columns


@pytest.fixture
def results(random_run):
    run = load_run(random_run)
    return run, summary_table(run), decision_profile(run), final_inventory(run)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def test_cost_by_fold_draws_one_bar_per_fold_and_strategy(results):
    run, summary, _, _ = results

    fig = draw.plot_cost_by_fold(summary, run.strategies)

    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = [bar.get_height() for container in bars for bar in container.patches]
    universe = summary[summary["scope"] == "universe"]
    # 2 folds and "all" per strategy, strategy by strategy
    expected = [
        universe.set_index(["strategy", "fold"]).loc[(s, f), "cost"]
        for s in run.strategies
        for f in ("0", "1", "all")
    ]
    np.testing.assert_allclose(heights, expected)


def test_savings_by_stock_sorts_each_panel_by_savings(results):
    _, summary, _, _ = results
    pairs = [("lstm", "vwap"), ("lstm", "twap")]

    fig = draw.plot_savings_by_stock(summary, pairs)

    for ax, (strategy, baseline) in zip(fig.axes, pairs, strict=True):
        (bars,) = ax.collections
        tops = np.array([path.vertices[1:3, 1].max() for path in bars.get_paths()])
        rows = summary[
            (summary["fold"] == "all")
            & (summary["scope"] == "stock")
            & (summary["strategy"] == strategy)
        ]
        expected = np.sort(rows[savings_columns(baseline)[0]].to_numpy())[::-1]
        np.testing.assert_allclose(np.maximum(tops, 0), np.maximum(expected, 0))


def test_cost_by_time_draws_the_universe_profile_of_each_strategy(results):
    run, _, profile, _ = results

    fig = draw.plot_cost_by_time(profile, run.strategies)

    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(run.strategies)
    lstm = profile[(profile["stock"] == "ALL") & (profile["strategy"] == "lstm")]
    np.testing.assert_allclose(lines[2].get_ydata(), lstm.sort_values("minute")["child_cost"])


def test_cost_by_time_turns_to_a_log_scale_for_an_outlier(results):
    run, _, profile, _ = results
    spiked = profile.copy()
    spiked.loc[(spiked["strategy"] == "lstm") & (spiked["decision"] == 0), "child_cost"] = 1e9

    fig = draw.plot_cost_by_time(spiked, run.strategies)

    assert fig.axes[0].get_yscale() == "log"


def test_inventory_steps_from_full_to_what_is_left(results):
    run, _, profile, final = results

    fig = draw.plot_inventory(profile, final, run.strategies, {"S001": "largest volume"})

    universe, stock = fig.axes[0], fig.axes[1]
    assert stock.get_title() == "S001 (largest volume)"
    for ax in (universe, stock):
        for line in ax.get_lines():
            y = line.get_ydata()
            assert y[0] == pytest.approx(1.0)
            assert y[-1] == pytest.approx(0.0)


def test_sweep_orders_numeric_values_along_the_axis():
    points = pd.DataFrame(
        {
            "x": [0.4, 0.0, 0.2],
            "panel": "",
            "strategy": "twap",
            "cost": [3.0, 1.0, 2.0],
            "cost_se": 0.1,
        }
    )

    fig = draw.plot_sweep(points, "book.alpha_noise", ("twap",))

    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(np.asarray(line.get_xdata(), dtype=float), [0.0, 0.2, 0.4])
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), [1.0, 2.0, 3.0])


def test_the_same_figure_gives_the_same_bytes(results):
    run, summary, _, _ = results

    first = _png(draw.plot_cost_by_fold(summary, run.strategies))
    second = _png(draw.plot_cost_by_fold(summary, run.strategies))

    assert first == second


def test_dollar_amounts_in_titles_are_not_read_as_mathtext(results):
    _, summary, _, _ = results

    fig = draw.plot_savings_by_stock(summary, [("lstm", "vwap")])

    title = fig.axes[0].get_title()
    assert "mean" in title
    # an unescaped pair of "$" would typeset the text between them as a formula
    assert re.search(r"(?<!\\)\$", title) is None
