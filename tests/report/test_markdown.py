"""summary.md: overall first, the paper's ranking tables, the sweep section."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lobsim.report import load_run, summary_table
from lobsim.report.markdown import render_markdown
from tests.report.runs import random_frames, write_run_dir


def _markdown(tmp_path, **kwargs) -> str:
    run = load_run(write_run_dir(tmp_path / "run", *random_frames(**kwargs)))
    return render_markdown(run, summary_table(run), plots={})


def _section(text: str, heading: str) -> list[str]:
    """The table rows (header and rule excluded) of the first table after ``heading``."""
    after = text.split(heading, 1)[1]
    tables = [block for block in after.split("\n\n") if block.startswith("|")]
    return tables[0].splitlines()[2:]


def test_the_overall_table_comes_before_the_folds(tmp_path):
    text = _markdown(tmp_path)

    assert text.index("## Overall") < text.index("## Per fold")


def test_the_overall_table_has_one_row_per_strategy(tmp_path):
    text = _markdown(tmp_path)

    rows = _section(text, "## Overall")

    assert [row.split("|")[1].strip() for row in rows] == ["twap", "vwap", "lstm"]


def test_a_strategy_shows_no_savings_against_itself(tmp_path):
    text = _markdown(tmp_path)

    vwap = next(r for r in _section(text, "## Overall") if r.startswith("| vwap"))

    assert vwap.split("|")[4].strip() == "—"


@pytest.mark.parametrize(("stocks", "shown"), [(30, 21), (8, 8)])
def test_the_ranking_shows_top_and_bottom_ten_and_the_middle_stock(tmp_path, stocks, shown):
    text = _markdown(tmp_path, stocks=stocks)

    rows = _section(text, "## Savings per stock: lstm vs vwap")

    assert len(rows) == shown
    savings = [float(re.sub(r"[,\s]", "", r.split("|")[-2]).split("(")[0]) for r in rows]
    assert savings == sorted(savings, reverse=True)
    assert any("(middle)" in r for r in rows) == (stocks > 21)


def test_a_sweep_lists_every_variant_first(tmp_path):
    text = _markdown(tmp_path, sweep={"book.alpha_noise": [0.0, 0.1, 0.2]})

    rows = _section(text, "## Sweep")

    assert [r.split("|")[1].strip() for r in rows] == [
        "book.alpha_noise=0.0",
        "book.alpha_noise=0.1",
        "book.alpha_noise=0.2",
    ]
    assert text.index("## Sweep") < text.index("## Variant")


def test_a_single_variant_has_no_sweep_section(tmp_path):
    assert "## Sweep" not in _markdown(tmp_path)


def test_nothing_left_at_the_close_adds_no_section(tmp_path):
    assert "Unfilled at the close" not in _markdown(tmp_path)


def test_shares_left_at_the_close_get_a_section_per_strategy(tmp_path):
    episodes, decisions, manifest = random_frames()
    vwap = episodes["strategy"] == "vwap"
    episodes.loc[vwap, "unfilled"] = episodes.loc[vwap, "shares"] // 10
    episodes["opportunity_cost"] = 0.0
    episodes["penalty_cost"] = 0.0
    episodes.loc[vwap, "penalty_cost"] = 5.0
    run = load_run(write_run_dir(tmp_path / "run", episodes, decisions, manifest))
    summary = summary_table(run)

    rows = _section(render_markdown(run, summary, plots={}), "## Unfilled at the close")

    cells = {row.split("|")[1].strip(): row.split("|")[3].strip() for row in rows}
    assert set(cells) == {"twap", "vwap", "lstm"}
    assert cells["twap"] == "0.000"
    overall = summary[(summary.scope == "universe") & (summary.fold == "all")]
    pct = overall.set_index("strategy").loc["vwap", "unfilled_pct"]
    assert 9.0 < pct <= 10.0  # a tenth of each order, rounded down to whole shares
    assert cells["vwap"] == f"{pct:.3f}"


def test_limit_orders_get_a_section_only_when_a_strategy_posted(tmp_path):
    assert "## Limit orders" not in _markdown(tmp_path)
    episodes, decisions, manifest = random_frames()
    lstm = episodes["strategy"] == "lstm"
    episodes["posted_shares"] = np.where(lstm, episodes["shares"], 0)
    episodes["passive_shares"] = np.where(lstm, episodes["shares"] // 2, 0)
    run = load_run(write_run_dir(tmp_path / "posted", episodes, decisions, manifest))

    rows = _section(render_markdown(run, summary_table(run), plots={}), "## Limit orders")

    cells = {row.split("|")[1].strip(): row.split("|")[4].strip() for row in rows}
    assert cells["twap"] == "—" and 49.0 < float(cells["lstm"]) <= 50.0  # the fill rate
