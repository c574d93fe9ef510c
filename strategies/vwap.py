"""VWAP: child orders in proportion to each decision's expected volume.

The volume profile is estimated per stock on the training days (Papanicolaou et al. 2023,
eq. 7). A child order trades in the single bar of its decision time against a book whose depth
is proportional to that bar's volume, so by default the weight of decision k is the expected
volume of that bar (``window="bar"``); ``window="interval"`` uses the whole interval ending
there, the textbook VWAP, smoother but blind to where the order actually trades.

``weighting="moment"`` minimises the expected power-law cost under random volume instead: with
L(n) proportional to n**p V**(1-p), p = (2+a)/(1+a), the Lagrange conditions of
min sum_k E[n_k**p V_k**(1-p)] subject to sum_k n_k = Q give
n_k proportional to (E[V_k ** (-1/(1+a))]) ** (-(1+a)). With deterministic volume both
weightings agree.
"""

from __future__ import annotations

import numpy as np

from lobsim import InputError, Observation, TrainData


def volume_weights(
    volume: np.ndarray,
    decision_minutes: np.ndarray,
    interval: int,
    window: str = "bar",
    weighting: str = "mean",
    alpha: float = 0.5,
) -> np.ndarray:
    """Schedule weights per stock from training volumes.

    Parameters
    ----------
    volume : ndarray(float64, (D, M, N))
        Training days' minute volumes.
    decision_minutes : ndarray(int64, (K,))
        1-based bars in which the child orders trade.
    interval : int
        Minutes between decisions (for ``window="interval"``).
    window : {"bar", "interval"}
    weighting : {"mean", "moment"}
    alpha : float
        Book shape, for ``weighting="moment"``.

    Returns
    -------
    ndarray(float64, (N, K))
        Non-negative weights summing to one per stock (equal weights for a stock that never
        traded in the training days).
    """
    if window == "bar":
        per_decision = volume[:, decision_minutes - 1, :]  # (D, K, N)
    elif window == "interval":
        d, m, n = volume.shape
        per_decision = volume.reshape(d, m // interval, interval, n).sum(axis=2)
    else:
        raise InputError(f"vwap: window must be 'bar' or 'interval', got {window!r}")
    if weighting == "mean":
        w = per_decision.mean(axis=0)
    elif weighting == "moment":
        q = -1.0 / (1.0 + alpha)
        with np.errstate(divide="ignore"):
            moment = np.where(per_decision > 0, per_decision, np.inf) ** q
        w = moment.mean(axis=0) ** (-(1.0 + alpha))
        w = np.where(np.isfinite(w), w, 0.0)
    else:
        raise InputError(f"vwap: weighting must be 'mean' or 'moment', got {weighting!r}")
    w = w.T  # (N, K)
    total = w.sum(axis=1, keepdims=True)
    k = w.shape[1]
    return np.divide(w, total, out=np.full_like(w, 1.0 / k), where=total > 0)


class VWAP:
    """Child orders proportional to the expected volume of each decision, learnt per stock."""

    def __init__(self, window: str = "bar", weighting: str = "mean") -> None:
        self.window = window
        self.weighting = weighting

    def check_options(self) -> None:
        """Refuse an unknown window or weighting before any work."""
        if self.window not in ("bar", "interval"):
            raise InputError(f"vwap: window must be 'bar' or 'interval', got {self.window!r}")
        if self.weighting not in ("mean", "moment"):
            raise InputError(f"vwap: weighting must be 'mean' or 'moment', got {self.weighting!r}")

    def fit(self, train: TrainData) -> None:
        s = train.schedule
        self.weights_ = volume_weights(
            train.panel.volume,
            s.decision_times,
            s.interval,
            self.window,
            self.weighting,
            train.book.alpha,
        )
        self.done_ = np.cumsum(self.weights_, axis=1)

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "done_"):
            raise InputError("vwap: fit() must run before decide()")
        return obs.initial * np.clip(1.0 - self.done_[obs.stock, obs.k], 0.0, 1.0)
