"""One task: what it computes, how it is seeded, what it writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from lobsim import BookModel, InputError, Schedule, TrainData, simulate, synthesize_market
from lobsim.run import build_plan, run_task, strategy_seed
from lobsim.run.assemble import format_headline, headline, unfilled_warnings
from lobsim.run.task import DECISIONS, EPISODES, book_seed, is_done, parent_orders
from lobsim.rundir import SCHEMAS, TABLES
from lobsim.scenario import parse_scenario
from lobsim.strategies.vwap import VWAP
from tests.run.conftest import TINY


def _plan(tmp_path, text: str = TINY, *overrides: str):
    scenario = parse_scenario(text, name="tiny", overrides=overrides)
    return build_plan(scenario, tmp_path / "out", threads=1)


def _run(spec) -> tuple[pd.DataFrame, pd.DataFrame]:
    run_task(spec)
    return pd.read_parquet(spec.out / EPISODES), pd.read_parquet(spec.out / DECISIONS)


def test_one_task_per_variant_and_fold(tmp_path):
    plan = _plan(tmp_path, TINY + '\n[sweep]\n"strategies.dp.bins" = [2, 3]\n')
    keys = [(t.variant_index, t.fold.index) for t in plan.tasks]
    assert keys == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_vwap_rows_equal_a_direct_simulation_of_the_fold(tmp_path):
    spec = _plan(tmp_path, TINY, "folds.count=1").tasks[0]
    market = synthesize_market(3, 12, minutes=30, seed=11)
    train, test = market.days(0, 8), market.days(8, 10)
    schedule = Schedule(minutes=30, interval=5)
    parent = np.rint(0.05 * train.adv).astype(np.int64)
    book = BookModel().calibrated(train.volume, parent.astype(float), schedule.decision_times)
    vwap = VWAP()
    vwap.fit(TrainData(panel=train, schedule=schedule, book=book, parent=parent, side=-1,
                       seed=np.random.SeedSequence(0)))  # fmt: skip
    expected = simulate(test, vwap, book=book, parent=parent, schedule=schedule,
                        adv=train.adv, seed=book_seed(11)).episodes  # fmt: skip

    episodes, _ = _run(spec)

    got = episodes[episodes["strategy"] == "vwap"].reset_index(drop=True)
    np.testing.assert_array_equal(got["cost"].to_numpy(), expected["cost"].to_numpy())


def test_episode_columns_are_the_contract(tmp_path):
    episodes, _ = _run(_plan(tmp_path, TINY, "folds.count=1").tasks[0])
    contract = (
        "variant variant_id fold strategy stock day side shares shares_filled unfilled "
        "posted_shares passive_shares arrival_price avg_price day_volume temporary_cost "
        "permanent_cost timing_cost "
        "opportunity_cost penalty_cost shortfall cost temporary_bps permanent_bps timing_bps "
        "opportunity_bps penalty_bps shortfall_bps cost_bps"
    ).split()
    assert list(episodes.columns) == contract


def test_decision_columns_are_the_contract(tmp_path):
    _, decisions = _run(_plan(tmp_path, TINY, "folds.count=1").tasks[0])
    contract = (
        "variant variant_id fold strategy stock decision minute inventory child_cost".split()
    )
    assert list(decisions.columns) == contract


def test_decisions_start_with_the_whole_parent(tmp_path):
    _, decisions = _run(_plan(tmp_path, TINY, "folds.count=1").tasks[0])
    first = decisions[decisions["decision"] == 0]
    np.testing.assert_array_equal(first["inventory"].to_numpy(), 1.0)


def test_child_costs_add_up_to_the_mean_temporary_cost(tmp_path):
    episodes, decisions = _run(_plan(tmp_path, TINY, "folds.count=1").tasks[0])
    by_decision = decisions.groupby(["strategy", "stock"])["child_cost"].sum()
    by_episode = episodes.groupby(["strategy", "stock"])["temporary_cost"].mean()
    np.testing.assert_allclose(by_decision.sort_index(), by_episode.sort_index(), rtol=1e-9)


def test_a_strategy_does_not_depend_on_the_others_of_the_scenario(tmp_path):
    alone = TINY.split("[strategies.twap]")[0] + "[strategies.lstm]\nepochs = 2\nhidden = 4\n"
    alone += "layers = 1\nvalidation_days = 2\n"
    full = _plan(tmp_path / "a", TINY, "folds.count=1").tasks[0]
    single = _plan(tmp_path / "b", alone, "folds.count=1").tasks[0]

    with_others, _ = _run(full)
    by_itself, _ = _run(single)

    lstm = with_others[with_others["strategy"] == "lstm"].reset_index(drop=True)
    pd.testing.assert_frame_equal(lstm, by_itself)


def test_book_noise_is_common_to_every_variant(tmp_path):
    book = "[book]\nalpha_noise = 0.3\ndepth_noise = 0.5"
    text = f'{TINY}\n{book}\n[sweep]\n"strategies.dp.bins" = [2, 3]\n'
    plan = _plan(tmp_path, text, "folds.count=1")

    first, _ = _run(plan.tasks[0])
    second, _ = _run(plan.tasks[1])

    def twap(frame):
        return frame.loc[frame["strategy"] == "twap", ["stock", "day", "cost"]].reset_index(
            drop=True
        )

    pd.testing.assert_frame_equal(twap(first), twap(second))


def test_strategy_seeds_differ_by_fold_and_label():
    states = {
        (fold, label): tuple(strategy_seed(5, fold, label).generate_state(4))
        for fold in (0, 1)
        for label in ("lstm", "lstm2")
    }
    assert len(set(states.values())) == 4


def test_strategy_seed_is_a_child_of_the_run_seed():
    assert strategy_seed(5, 0, "lstm").entropy == 5


def test_parent_is_a_fraction_of_training_adv():
    scenario = parse_scenario(TINY + "\n[parent]\nfraction_adv = 0.1\n", name="tiny")
    parent = parent_orders(scenario, np.array([1000.0, 2004.0, 50.0]))
    np.testing.assert_array_equal(parent, [100, 200, 5])


def test_parent_of_fixed_shares_ignores_adv():
    scenario = parse_scenario(TINY + "\n[parent]\nshares = 700\n", name="tiny")
    parent = parent_orders(scenario, np.array([1000.0, 2004.0, 50.0]))
    np.testing.assert_array_equal(parent, [700, 700, 700])


def test_finished_task_is_done(tmp_path):
    spec = _plan(tmp_path, TINY, "folds.count=1").tasks[0]
    run_task(spec)
    assert is_done(spec)


def test_task_without_its_record_is_not_done(tmp_path):
    spec = _plan(tmp_path, TINY, "folds.count=1").tasks[0]
    run_task(spec)
    (spec.out / "task.json").unlink()
    assert not is_done(spec)


def test_task_error_names_the_variant_fold_and_strategy(tmp_path):
    text = TINY + '\n[strategies.picky]\nclass = "tests.run.plugins:RefusesToFit"\n'
    spec = _plan(tmp_path, text, "folds.count=1").tasks[0]
    with pytest.raises(InputError, match=r"variant base, fold 0: strategy 'picky': refuses"):
        run_task(spec)


def test_failed_task_writes_nothing(tmp_path):
    text = TINY + '\n[strategies.picky]\nclass = "tests.run.plugins:RefusesToFit"\n'
    spec = _plan(tmp_path, text, "folds.count=1").tasks[0]
    with pytest.raises(InputError):
        run_task(spec)
    assert not spec.out.parent.exists() or not any(spec.out.parent.iterdir())


def test_the_printed_headline_agrees_with_the_report(clean_run):
    episodes = pd.read_parquet(clean_run / "episodes.parquet")
    summary = pd.read_csv(clean_run / "summary.csv", dtype={"fold": str, "stock": str})
    overall = summary[(summary.fold == "all") & (summary.scope == "universe")]

    table = headline(episodes, tuple(overall.strategy))

    np.testing.assert_allclose(table.cost_bps.to_numpy(), overall.cost_bps.to_numpy())
    np.testing.assert_allclose(
        table.cost.to_numpy() * overall.stocks.to_numpy(), overall.cost.to_numpy()
    )


def test_the_headline_shows_what_was_left_unfilled_only_when_something_was(clean_run):
    episodes = pd.read_parquet(clean_run / "episodes.parquet")
    labels = tuple(pd.unique(episodes.strategy))
    plain = format_headline(headline(episodes, labels))
    assert "unfilled" not in plain and not unfilled_warnings(headline(episodes, labels))

    first = episodes.strategy == labels[0]
    episodes.loc[first, "unfilled"] = episodes.loc[first, "shares"] // 4
    table = headline(episodes, labels)
    text = format_headline(table).splitlines()

    assert text[0].split()[-2:] == ["unfilled", "%"]
    row = text[2].split()
    assert row[0] == labels[0] and 24.0 < float(row[-1]) <= 25.0
    assert all(line.split()[-1] == "0.000" for line in text[3:])
    assert len({len(line) for line in text}) == 1  # every column right-aligned
    (warning,) = unfilled_warnings(table)
    assert warning.startswith(f"warning: {labels[0]} left ")
    assert f"on {int(first.sum())} of {int(first.sum())} stock-days" in warning


@pytest.mark.parametrize("name", TABLES)
def test_the_runs_tables_are_stored_as_their_schemas_say(clean_run, name):
    stored = pq.read_schema(clean_run / name)

    schema = SCHEMAS[name]
    assert stored.names[: len(schema)] == schema.names
    assert [stored.field(f.name).type for f in schema] == schema.types
