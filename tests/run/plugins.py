"""Strategy plug-ins for the run tests (named as ``tests.run.plugins:Class`` in scenarios)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lobsim import InputError, Observation, TrainData


class DieOnce:
    """TWAP that kills its process, once, on the ``after + 1``-th call of ``fit``.

    The calls are counted in the file ``marker`` + ".count" and the death is recorded in
    ``marker`` + ".died" before it happens, so the plug-in dies once across processes and
    runs; a run whose marker already has ".died" never dies.
    """

    def __init__(self, marker: str, after: int = 0) -> None:
        self.marker = marker
        self.after = after

    def fit(self, train: TrainData) -> None:
        count_file = Path(self.marker + ".count")
        died = Path(self.marker + ".died")
        text = count_file.read_text() if count_file.exists() else ""
        count = int(text) if text.strip() else 0
        # Written whole (workers in other processes read it at the same time).
        tmp = count_file.with_name(f"{count_file.name}.{os.getpid()}")
        tmp.write_text(str(count + 1))
        os.replace(tmp, count_file)
        if count >= self.after and not died.exists():
            died.write_text(str(os.getpid()))
            os._exit(3)

    def decide(self, obs: Observation) -> np.ndarray:
        return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)


class RefusesToFit:
    """A strategy whose ``fit`` refuses the data, as a strategy with a bad option would."""

    def fit(self, train: TrainData) -> None:
        raise InputError("refuses-to-fit: this training window is not acceptable")

    def decide(self, obs: Observation) -> np.ndarray:
        return np.zeros(obs.n_episodes)


class FailsWhenMarked:
    """TWAP whose ``fit`` refuses to run while the file ``marker`` exists."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def fit(self, train: TrainData) -> None:
        if Path(self.marker).exists():
            raise InputError(f"fails-when-marked: {self.marker} exists")

    def decide(self, obs: Observation) -> np.ndarray:
        return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)


class RaisesInInit:
    """A plug-in whose constructor fails."""

    def __init__(self):
        raise RuntimeError("no licence file")

    def decide(self, obs):
        return obs.remaining


class RaisesInFit:
    def fit(self, train):
        return {}["weights"]

    def decide(self, obs):
        return obs.remaining


class RaisesInDecide:
    def decide(self, obs):
        return obs.remaining / undefined_scale  # noqa: F821
