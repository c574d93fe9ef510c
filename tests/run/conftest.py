"""A tiny scenario and one clean run of it, shared by the run tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from lobsim.cli import main

# 3 stocks, 30-minute days, two folds of 8 + 2 days: two tasks of six strategies (numba, a
# learnt profile, DP, a two-epoch LSTM) in a couple of seconds.
TINY = """
# A tiny scenario for the run tests.
[run]
name = "tiny"
seed = 11

[market.synthetic]
stocks = 3
days = 12

[schedule]
minutes = 30
interval = 5

[folds]
train_days = 8
test_days = 2
step_days = 2
count = 2

[strategies.twap]
[strategies.vwap]
[strategies.dp]
bins = 3

[strategies.lstm]
epochs = 2
hidden = 4
layers = 1
validation_days = 2
"""

REPO = Path(__file__).resolve().parents[2]


def write_scenario(folder: Path, text: str = TINY, name: str = "tiny.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str | Path) -> int:
    return main(["run", *map(str, args), "--quiet"])


@pytest.fixture(scope="session")
def tiny_file(tmp_path_factory) -> Path:
    return write_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="session")
def clean_run(tiny_file, tmp_path_factory) -> Path:
    """The tiny scenario run once, in this process, with two numba threads per task."""
    out = tmp_path_factory.mktemp("clean") / "run"
    assert run_cli(tiny_file, "--out", out, "--threads", "2") == 0
    return out
