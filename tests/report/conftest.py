"""Run directories for the report tests: one simulated for real, the rest random."""

from __future__ import annotations

import pytest

from tests.report.runs import random_frames, simulated_frames, write_run_dir


@pytest.fixture(scope="session")
def simulated():
    """(episodes, decisions, manifest) of a real simulation: 4 stocks, 2 folds of 3 days."""
    return simulated_frames()


@pytest.fixture
def run_dir(tmp_path, simulated):
    """A fresh copy of the simulated run directory."""
    episodes, decisions, manifest = simulated
    return write_run_dir(tmp_path / "run", episodes.copy(), decisions.copy(), manifest)


@pytest.fixture
def random_run(tmp_path):
    """A run directory of random figures: 1 variant, 2 folds, 5 stocks, 4 days, 3 strategies."""
    return write_run_dir(tmp_path / "random", *random_frames())
