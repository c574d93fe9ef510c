"""``lobsim run``: end to end, determinism, and bad input refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from lobsim import plugins
from lobsim.cli import main
from lobsim.scenario import load_scenario
from tests.run.conftest import REPO, TINY, run_cli, write_scenario

MALFORMED = sorted((REPO / "tests" / "scenario" / "malformed").glob("*.toml"))
QUICKSTART = REPO / "scenarios" / "quickstart.toml"
# The quickstart shrunk for the test suite: 3 stocks, 12 training and 2 test days, 30-minute
# days, a 2-epoch LSTM; every strategy of the real file still runs.
SHRINK = [
    "--set", "market.synthetic.stocks=3",
    "--set", "market.synthetic.days=14",
    "--set", "folds.train_days=12",
    "--set", "folds.test_days=2",
    "--set", "schedule.minutes=30",
    "--set", "strategies.lstm.epochs=2",
    "--set", "strategies.lstm.validation_days=2",
]  # fmt: skip


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart") / "run"
    code = main(["run", str(QUICKSTART), "--out", str(out), *SHRINK])
    return code, out


def test_quickstart_exits_0(quickstart):
    code, _ = quickstart
    assert code == 0


def test_quickstart_writes_every_result_file(quickstart):
    _, out = quickstart
    names = {"episodes.parquet", "decisions.parquet", "summary.csv", "summary.md",
             "manifest.json"}  # fmt: skip
    assert names <= {p.name for p in out.iterdir()}
    assert list((out / "plots").glob("*.png"))


def test_quickstart_runs_every_registered_strategy(quickstart):
    _, out = quickstart
    episodes = pd.read_parquet(out / "episodes.parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    classes = {spec["class"] for spec in manifest["scenario"]["strategies"].values()}
    assert classes == set(plugins.registered()) - {"policy"}  # it needs a trained agent
    assert set(episodes["strategy"]) == set(manifest["strategies"])


def test_quickstart_has_one_row_per_strategy_stock_and_day(quickstart):
    _, out = quickstart
    episodes = pd.read_parquet(out / "episodes.parquet")
    keys = ["variant", "fold", "strategy", "stock", "day"]
    assert not episodes.duplicated(keys).any()
    strategies = len(load_scenario(QUICKSTART).strategies)
    assert len(episodes) == strategies * 3 * 2


def test_manifest_has_the_contract_keys(quickstart):
    _, out = quickstart
    manifest = json.loads((out / "manifest.json").read_text())
    keys = {"scenario", "scenario_hash", "variants", "seed", "baselines", "strategies",
            "versions", "timings", "tasks", "backend", "workers", "created"}  # fmt: skip
    assert keys <= set(manifest)
    assert {"lobsim", "python", "numpy", "numba", "pandas", "torch"} <= set(manifest["versions"])


def test_run_prints_the_mean_daily_cost_of_each_strategy(tiny_file, tmp_path, capsys):
    main(["run", str(tiny_file), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    episodes = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    means = episodes.groupby("strategy")["cost"].mean()
    for label, cost in means.items():
        assert any(line.split()[:2] == [label, f"{cost:,.2f}"] for line in out.splitlines())


def test_quiet_run_prints_nothing(tiny_file, tmp_path, capsys):
    run_cli(tiny_file, "--out", tmp_path / "run")
    assert capsys.readouterr() == ("", "")


def test_two_runs_give_the_same_bytes(clean_run, tiny_file, tmp_path):
    assert run_cli(tiny_file, "--out", tmp_path / "again", "--threads", "2") == 0
    again = (tmp_path / "again" / "episodes.parquet").read_bytes()
    assert again == (clean_run / "episodes.parquet").read_bytes()


def test_numba_threads_do_not_change_the_results(clean_run, tiny_file, tmp_path):
    assert run_cli(tiny_file, "--out", tmp_path / "one", "--threads", "1") == 0
    one = (tmp_path / "one" / "episodes.parquet").read_bytes()
    assert one == (clean_run / "episodes.parquet").read_bytes()


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_malformed_scenario_exits_2_and_writes_nothing(path, tmp_path):
    out = tmp_path / "out"
    assert run_cli(path, "--out", out) == 2
    assert not out.exists()


def _refused(tmp_path: Path, text: str, *args: str) -> tuple[int, bool]:
    path = write_scenario(tmp_path, text)
    out = tmp_path / "out"
    return run_cli(path, "--out", out, *args), out.exists()


def test_unknown_strategy_class_is_refused(tmp_path):
    text = TINY + '\n[strategies.x]\nclass = "no_such_module:Thing"\n'
    assert _refused(tmp_path, text) == (2, False)


def test_unknown_strategy_option_is_refused(tmp_path):
    text = TINY.replace("bins = 3", "binz = 3")
    assert _refused(tmp_path, text) == (2, False)


def test_strategy_option_of_the_wrong_type_is_refused(tmp_path):
    text = TINY.replace("epochs = 2", 'epochs = "two"')
    assert _refused(tmp_path, text) == (2, False)


def test_bad_market_file_is_refused(tmp_path):
    (tmp_path / "bars.csv").write_text("timestamp,ticker,close\n2024-01-02T09:31:00-05:00,A,1\n")
    text = TINY.replace("[market.synthetic]\nstocks = 3\ndays = 12",
                        '[market]\nsource = "file"\npath = "bars.csv"')  # fmt: skip
    assert _refused(tmp_path, text) == (2, False)


def test_folds_longer_than_the_market_file_are_refused(tmp_path):
    from lobsim import save_panel, synthesize_market

    save_panel(synthesize_market(2, 5, minutes=30, seed=1), tmp_path / "bars.parquet")
    text = TINY.replace("[market.synthetic]\nstocks = 3\ndays = 12",
                        '[market]\nsource = "file"\npath = "bars.parquet"')  # fmt: skip
    assert _refused(tmp_path, text) == (2, False)


def test_scheduler_without_dask_backend_is_refused(tmp_path):
    assert _refused(tmp_path, TINY, "--scheduler", "tcp://127.0.0.1:1") == (2, False)


def test_zero_workers_is_refused(tmp_path):
    assert _refused(tmp_path, TINY, "--workers", "0") == (2, False)


def test_cuda_where_there_is_none_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert _refused(tmp_path, TINY, "--device", "cuda") == (2, False)
