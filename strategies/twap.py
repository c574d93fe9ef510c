"""TWAP: equal child orders at every decision time (Papanicolaou et al. 2023, eq. 6)."""

from __future__ import annotations

import numpy as np

from lobsim import Observation


class TWAP:
    """Equal child orders at every decision time."""

    def __init__(self) -> None:
        pass

    def fit(self, train) -> None:
        """TWAP has nothing to learn."""

    def decide(self, obs: Observation) -> np.ndarray:
        done = (obs.k + 1) / obs.schedule.n_decisions
        return obs.initial * (1.0 - done)
