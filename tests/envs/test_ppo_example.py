"""The PPO example runs end to end (a short training: a smoke test, not its result)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.run.conftest import REPO

pytest.importorskip("stable_baselines3")


def test_the_ppo_example_trains_scores_and_saves_a_policy_the_strategy_runs(tmp_path):
    saved = tmp_path / "agent.pt2"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "ppo_execution.py"), "--steps", "1248",
         "--save", str(saved)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "against TWAP" in done.stdout and saved.stat().st_size > 0
    from lobsim.strategies.policy import _load

    act = _load(str(saved))
    import numpy as np

    fractions = act(np.full((3, 7), 0.5, dtype=np.float32))
    assert fractions.shape == (3,) and ((0 <= fractions) & (fractions <= 1)).all()
