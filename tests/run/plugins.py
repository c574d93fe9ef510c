"""Strategy plug-ins for the run tests (named as ``tests.run.plugins:Class`` in scenarios)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from lobsim import InputError, Observation, TrainData, fit_digest


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


def _count_fit(counter: str) -> None:
    """One line per fit in the file ``counter`` (O_APPEND: whole lines from any process)."""
    fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
    finally:
        os.close(fd)


def fit_count(counter: str | Path) -> int:
    """How many fits the strategies counting into ``counter`` made."""
    path = Path(counter)
    return len(path.read_text().splitlines()) if path.exists() else 0


class _CountsFits:
    """Sells along its training volume profile at the decision bars, scaled per stock and
    decision by seeded noise (so the seed matters), and counts its fits in ``counter``;
    ``sleep`` seconds of fitting make it slow enough for tasks to meet at its fit."""

    def __init__(self, counter: str, key: str = "train", sleep: float = 0.0) -> None:
        self.counter = counter
        self.key = key
        self.sleep = sleep

    def fit(self, train: TrainData) -> None:
        _count_fit(self.counter)
        time.sleep(self.sleep)
        rng = np.random.default_rng(train.seed)
        bars = train.panel.volume.mean(axis=0)[train.schedule.decision_times - 1]  # (K, N)
        weights = bars * rng.uniform(0.5, 1.5, size=bars.shape) + 1e-9
        self.left_ = 1.0 - np.cumsum(weights, axis=0) / weights.sum(axis=0)

    def decide(self, obs: Observation) -> np.ndarray:
        return obs.initial * self.left_[obs.k, obs.stock]


class CountsFits(_CountsFits):
    """:class:`_CountsFits` with a ``fit_key``: ``key="train"`` digests what its fit reads
    (equal across variants that change only the book's noise), ``key="book"`` adds the whole
    book (noise included: differs between such variants), ``key="none"`` returns None."""

    def fit_key(self, train: TrainData) -> str | None:
        if self.key == "none":
            return None
        parts = [vars(self), train.panel, train.schedule, train.parent, train.seed]
        if self.key == "book":
            parts.append(train.book)
        return fit_digest(*parts)


class CountsFitsWithoutKey(_CountsFits):
    """:class:`_CountsFits` without a ``fit_key``: never shared."""


class BadFitKey(_CountsFits):
    """A ``fit_key`` that returns neither a digest nor None."""

    def fit_key(self, train: TrainData):
        return 42
