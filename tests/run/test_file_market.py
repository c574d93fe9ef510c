"""Bringing your own bars: a headerless vendor file read through [market.load]."""

import pandas as pd
import pytest

from lobsim import ScenarioError, load_scenario, run_scenario, synthesize_market

SCENARIO = """
[market]
source = "file"
path = "AAA.csv"

[market.load]
ticker = "AAA"
tz = "America/New_York"

[folds]
train_days = 6
test_days = 2
step_days = 2
count = 1

[strategies.twap]
"""


def write_vendor_file(path):
    """One ticker's bars as a vendor writes them: no header, naive exchange-time stamps."""
    frame = synthesize_market(1, 8, seed=5).to_frame()
    local = pd.to_datetime(frame.timestamp).dt.tz_convert("America/New_York")
    rows = pd.DataFrame(
        {
            "timestamp": local.dt.strftime("%Y-%m-%d %H:%M"),
            "open": frame.close,
            "high": frame.close,
            "low": frame.close,
            "close": frame.close,
            "volume": frame.volume.round(),
        }
    )
    rows.to_csv(path, header=False, index=False)


def test_a_vendor_file_runs_with_its_ticker_and_time_zone_from_the_scenario(tmp_path):
    write_vendor_file(tmp_path / "AAA.csv")
    (tmp_path / "sc.toml").write_text(SCENARIO)

    done = run_scenario(load_scenario(tmp_path / "sc.toml"), tmp_path / "out")

    episodes = pd.read_parquet(done.out / "episodes.parquet")
    assert list(episodes.stock.unique()) == ["AAA"]
    assert len(episodes) == 2


def test_load_options_are_refused_for_a_synthetic_market(tmp_path):
    (tmp_path / "sc.toml").write_text('[market.load]\ntz = "UTC"\n[strategies.twap]\n')

    with pytest.raises(ScenarioError, match=r"market\.load"):
        load_scenario(tmp_path / "sc.toml")
