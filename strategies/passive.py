"""Passive execution: child orders posted as limit orders that wait in the queue.

Both strategies follow a schedule (TWAP's equal slices, or VWAP's training-volume profile) and
post each decision's slice as a limit order on the program's side, ``ticks`` from the mid (0:
the first tick beyond it, at or inside the touch). What a slice has not filled when its
interval ends is cancelled and crossed with a market order, so the program never falls behind
the schedule by more than one slice; the last decision crosses everything left.

- :class:`PassiveSlicer` posts every slice.
- :class:`PassiveAdaptive` posts a slice only when the recent mid trend runs toward the order
  (rising for a sell, falling for a buy: the background flow then trades on its side, so a
  resting order is likely to be reached, and the mid is moving away from it rather than
  through it); otherwise it crosses the slice at once. A heuristic, stated as such: the
  trade-off it plays on is the one of posting (earning the spread) against non-execution and
  adverse selection (the mid moving through the order).
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from lobsim import Decision, InputError, Limits, Observation, TrainData
from lobsim.strategies.vwap import VWAP

SCHEDULES = ("twap", "vwap")


class PassiveSlicer:
    """Post each slice of the schedule at ``ticks`` from the mid; cross its leftover when its
    interval ends.

    Parameters
    ----------
    schedule : {"twap", "vwap"}
        The slices: equal, or the training days' volume profile (VWAP's ``mean`` weighting).
    ticks : float
        Distance of the limit orders from the mid, in ticks of the book's grid, >= 0.
    """

    def __init__(self, schedule: str = "vwap", ticks: float = 0.0) -> None:
        self.schedule = schedule
        self.ticks = ticks

    def check_options(self) -> None:
        """Refuse options out of range before any work."""
        name = type(self).__name__
        if self.schedule not in SCHEDULES:
            raise InputError(f"{name}: schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (
            isinstance(self.ticks, int | float) and math.isfinite(self.ticks) and self.ticks >= 0
        ):
            raise InputError(f"{name}: ticks must be a finite number >= 0, got {self.ticks!r}")

    def fit(self, train: TrainData) -> None:
        """The schedule's cumulative fractions per stock, done_ (N, K)."""
        self.check_options()
        k = train.schedule.n_decisions
        if self.schedule == "vwap":
            vwap = VWAP()
            vwap.fit(train)
            self.done_ = vwap.done_
        else:
            steps = np.arange(1, k + 1) / k
            self.done_ = np.tile(steps, (train.panel.n_stocks, 1))

    def decide(self, obs: Observation) -> Decision:
        if not hasattr(self, "done_"):
            raise InputError(f"{type(self).__name__}: fit() must run before decide()")
        done = self.done_[obs.stock]  # (E, K)
        before = done[:, obs.k - 1] if obs.k > 0 else np.zeros(obs.n_episodes)
        # Cross whatever of the schedule up to this interval has not filled.
        targets = obs.initial * (1.0 - before)
        slices = np.rint(obs.initial * (done[:, obs.k] - before)).astype(np.int64)
        post = self.posts(obs) & (slices > 0)
        if not post.all():  # slices not posted are crossed now
            targets = np.where(post, targets, obs.initial * (1.0 - done[:, obs.k]))
        episodes = np.flatnonzero(post)
        return Decision(
            targets=targets,
            limits=Limits(episodes, slices[episodes], ticks=np.full(len(episodes), self.ticks)),
            cancel=obs.resting["id"],
        )

    def posts(self, obs: Observation) -> np.ndarray:
        """bool (E,): which episodes post their slice (all of them here)."""
        return np.ones(obs.n_episodes, dtype=bool)


class PassiveAdaptive(PassiveSlicer):
    """:class:`PassiveSlicer` that posts only when the mid's trend over the last ``lookback``
    visible minutes runs toward the order (see the module docstring), and crosses otherwise.

    Parameters
    ----------
    schedule, ticks : as :class:`PassiveSlicer`
    lookback : int
        Minutes of mid changes the trend is measured over, >= 1.
    """

    def __init__(self, schedule: str = "vwap", ticks: float = 0.0, lookback: int = 5) -> None:
        super().__init__(schedule, ticks)
        self.lookback = lookback

    def check_options(self) -> None:
        super().check_options()
        if isinstance(self.lookback, bool) or not isinstance(self.lookback, Integral):
            raise InputError(
                f"PassiveAdaptive: lookback must be an int >= 1, got {self.lookback!r}"
            )
        if self.lookback < 1:
            raise InputError(
                f"PassiveAdaptive: lookback must be an int >= 1, got {self.lookback!r}"
            )

    def posts(self, obs: Observation) -> np.ndarray:
        seen = obs.price.shape[1]
        if seen <= self.lookback:
            return np.ones(obs.n_episodes, dtype=bool)  # too early to tell: post
        now = obs.price[obs.day, seen - 1, obs.stock]
        then = obs.price[obs.day, seen - 1 - self.lookback, obs.stock]
        # side is -1 for a sell: a rising mid (now > then) runs toward a sell's asks.
        return (now - then) * -obs.side >= 0
