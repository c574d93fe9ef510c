"""Policies for the tests, named as a scenario names them (``tests.envs.policies:...``)."""

from __future__ import annotations

import numpy as np


def front_loaded(obs: np.ndarray) -> np.ndarray:
    """Trade a fixed share more than TWAP's of what is left, more when volume runs high."""
    time_left = obs[:, 0]
    decisions_left = np.maximum(np.rint(time_left * 18), 1.0)
    return np.clip(1.3 / decisions_left * np.sqrt(np.maximum(obs[:, 2], 0.1)), 0.0, 1.0)
