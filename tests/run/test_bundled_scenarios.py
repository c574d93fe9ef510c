"""The scenarios shipped in scenarios/: each validates, each says what question it asks."""

from __future__ import annotations

import pytest

from lobsim import plugins
from lobsim.market.lobster_market import write_synthetic_market
from lobsim.run import build_plan
from lobsim.scenario import expand_sweep, load_scenario
from tests.run.conftest import REPO

SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))
EXPECTED = {
    "quickstart",
    "paper_noiseless",
    "paper_noisy",
    "paper_fixed_shares",
    "stress_book_shape",
    "stress_tick",
    "stress_permanent",
    "stress_volume_shocks",
    "thin_market",
    "basket_joint",
    "participation_cap",
    "lobster_replay",
}


def load_bundled(path, tmp_path):
    """The scenario; one that replays LOBSTER files gets a small market of lobsim's own
    written where its files would be (a clean checkout has none: the user writes them)."""
    if 'source = "lobster"' not in path.read_text(encoding="utf-8"):
        return load_scenario(path)
    files = tmp_path / "lobster"
    write_synthetic_market(files, stocks=3, days=6, messages=600, levels=5)
    return load_scenario(path, overrides=[f"market.path={files}"])


def test_every_expected_scenario_is_bundled():
    assert EXPECTED <= {p.stem for p in SCENARIOS}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_builds_a_run(path, tmp_path):
    plan = build_plan(load_bundled(path, tmp_path), tmp_path / "out")
    assert plan.tasks
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_opens_with_the_question_it_asks(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    comment = []
    for line in lines:
        if not line.startswith("#"):
            break
        comment.append(line)
    assert "?" in " ".join(comment)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_is_named_after_its_file(path, tmp_path):
    assert load_bundled(path, tmp_path).run.name == path.stem


def test_quickstart_runs_every_registered_strategy():
    scenario = load_scenario(REPO / "scenarios" / "quickstart.toml")
    # The policy plug-in wraps an agent the user trains (examples/ppo_execution.py): a clean
    # checkout has none for it to run.
    assert {s.cls for s in scenario.strategies} == set(plugins.registered()) - {"policy"}


def test_quickstart_is_one_small_fold():
    plan = build_plan(load_scenario(REPO / "scenarios" / "quickstart.toml"), "unused")
    (task,) = plan.tasks
    assert task.scenario.market.synthetic.stocks <= 10
    assert task.fold.n_train + task.fold.n_test <= 40


def test_paper_noiseless_is_the_papers_set_up():
    sc = load_scenario(REPO / "scenarios" / "paper_noiseless.toml")
    plan = build_plan(sc, "unused")
    setup = (
        sc.market.synthetic.stocks,
        sc.market.synthetic.days,
        len(plan.tasks),
        (sc.folds.train_days, sc.folds.test_days, sc.folds.step_days),
        sc.parent.fraction_adv,
        sc.schedule.n_decisions,
        sc.book.alpha_noise,
        set(sc.labels),
    )
    assert setup == (100, 600, 9, (60, 45, 60), 0.05, 78, 0.0, {"twap", "vwap", "lstm", "dp"})


def test_paper_noisy_sweeps_the_alpha_noise_width_under_both_conventions():
    sc = load_scenario(REPO / "scenarios" / "paper_noisy.toml")
    books = [v.scenario.book for v in expand_sweep(sc)]
    widths = {b.alpha_noise for b in books}
    assert len(widths) >= 2 and all(w > 0 for w in widths)
    for w in widths:  # each width under the paper's convention and under eps held
        assert {b.alpha_noise_convention for b in books if b.alpha_noise == w} == {"depth", "eps"}


def test_paper_fixed_shares_sells_a_fixed_number_of_shares():
    sc = load_scenario(REPO / "scenarios" / "paper_fixed_shares.toml")
    assert (sc.parent.shares, sc.parent.fraction_adv) == (100_000, None)
