"""Intraday profiles: fold pooling, and agreement with the episodes' own costs."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim.report import load_run, summary_table
from lobsim.report.profiles import decision_profile, final_inventory
from tests.report.runs import random_frames, write_run_dir


def test_universe_child_costs_add_up_to_the_mean_daily_temporary_cost(run_dir):
    run = load_run(run_dir)
    summary = summary_table(run)
    overall = summary[(summary["fold"] == "all") & (summary["scope"] == "universe")]

    profile = decision_profile(run)
    universe = profile[profile["stock"] == "ALL"]

    by_strategy = universe.groupby("strategy")["child_cost"].sum()
    expected = overall.set_index("strategy")["temporary_cost"]
    np.testing.assert_allclose(by_strategy[expected.index], expected, rtol=1e-9)


def test_inventory_starts_full_for_every_stock(run_dir):
    profile = decision_profile(load_run(run_dir))

    first = profile[profile["decision"] == 0]

    np.testing.assert_allclose(first["inventory"], 1.0)


def test_folds_are_pooled_in_proportion_to_their_test_days(tmp_path):
    episodes, decisions, manifest = random_frames(days=4)
    # fold 1 keeps one test day of four; fold 0 holds 0.8, fold 1 holds 0.2 at every decision
    first_day = episodes.loc[episodes["fold"] == 1, "day"].min()
    episodes = episodes[(episodes["fold"] == 0) | (episodes["day"] == first_day)]
    decisions["inventory"] = np.where(decisions["fold"] == 0, 0.8, 0.2)
    run = load_run(write_run_dir(tmp_path / "run", episodes, decisions, manifest))

    profile = decision_profile(run)

    np.testing.assert_allclose(profile["inventory"], (4 * 0.8 + 1 * 0.2) / 5)


def test_final_inventory_is_the_mean_unfilled_fraction(tmp_path):
    episodes, decisions, manifest = random_frames()
    episodes["unfilled"] = np.where(episodes["stock"] == "S002", episodes["shares"] // 4, 0)
    run = load_run(write_run_dir(tmp_path / "run", episodes, decisions, manifest))

    final = final_inventory(run).set_index(["strategy", "stock"])["inventory"]

    left = episodes["shares"] // 4 / episodes["shares"]
    mean = left[episodes["stock"] == "S002"].mean()
    assert final["lstm", "S002"] == pytest.approx(mean)
    assert final["lstm", "S001"] == 0.0
    assert final["lstm", "ALL"] == pytest.approx(mean / 5)
