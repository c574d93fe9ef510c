"""An adaptive execution policy by dynamic programming on (remaining inventory, volume state).

The walk of n shares against a bar of volume V costs c S n**p V**(-phi), phi = 1 / (1 + a),
p = 1 + phi (DESIGN.md section 1). What the strategy cannot see is the volume of the bar its
child order trades in; what it can see is how the day's volume has run so far. The volume
state of decision k is

    z_k = log( sum_t w_t V_t / sum_t w_t m_t ),   w_t = 2 ** (-(T_k - t) / half_life),

over the visible minutes t <= T_k = t_k - lag, with m the training mean volume per minute:
the recent volume relative to its profile (``half_life=inf``: the day so far). z is cut into
``bins`` states at the stock's training quantiles.

The simulator's execution rules (:meth:`lobsim.Schedule.fill_bars`): decision k's order fills
in the first bar of its window with volume, or, on a day with no trade in the window, not at
all (its shares return to the inventory at the next decision; after the last one they are left
at the close and charged the penalty of :func:`lobsim.simulate`). On the training days the
strategy counts, per stock, the transitions b_k -> b_{k+1} from one decision to the next,
the probability f_k(b) that the order fills, and the mean of (V / m_{t_k}) ** (-phi) over the
days it filled (V the volume of the bar it filled in), as a time-of-day factor times a state
factor; all are shrunk towards a pooled mean (``prior`` pseudo-observations), so a state that a
stock rarely visits borrows strength from the others.

Bellman's recursion (Bertsekas, Dynamic Programming and Optimal Control, vol. I, ch. 1) then
runs backwards over the decisions on a log-spaced grid of remaining inventory x the states:

    J_k(q, b) = min_{0 <= q' <= q}  c_k(b) (q - q')**p
                                    + f_k(b) [lambda sigma^2 tau q'^2 + E J_{k+1}(q', b')]
                + (1 - f_k(b)) [lambda sigma^2 tau q^2 + E J_{k+1}(q, b')],
    J_{K-1}(q, b) = c_{K-1}(b) q**p + (1 - f_{K-1}(b)) P q**p,

with c_k(b) = f_k(b) E[(V / mean m)**(-phi) | k, b, filled] the expected walk cost and P the
penalty on what is left at the close. With no risk aversion (the default) J_k(q, b) = A_k(b) q**p
exactly and the policy keeps the fraction U / (W + U) of its holdings, where W = c_k(b) ** (-1/phi)
is the effective volume of the bar about to trade and U = (f_k(b) sum_b' P(b' | b)
A_{k+1}(b')) ** (-1/phi) that of the rest of the day: it trades faster than VWAP when the state
says the coming bars are busier than the profile, slower when they are quieter. With a single
state on a market that trades every minute it is close to the moment-weighted VWAP.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from lobsim import InputError, Observation, Schedule, TrainData
from lobsim.strategies._calibration import (
    book_alpha,
    impact_coefficient,
    intraday_sigma,
    reference_price,
)
from lobsim.strategies._dp_kernels import (
    advance_volume_state_nb,
    backward_induction_nb,
    policy_nb,
    volume_state_nb,
)

# The inventory grid, in units of the training parent order: log-spaced, so the relative
# resolution is the same for the last shares as for the first.
_GRID_LOW = 1e-6
_GRID_HIGH = 4.0
_GRID_POINTS = 49
_TIME_OF_DAY_WIDTH = 0.5  # decisions: the nearest ones weigh exp(-2) = 0.14
_RATIO_FLOOR = 1e-3  # a bar with V / m below this counts as this thin (V = 0 has no depth)


class DynamicProgramming:
    """Adaptive policy by backward induction on remaining inventory x a volume state."""

    def __init__(
        self,
        bins: int = 12,
        half_life: float = 8.0,
        prior: float = 50.0,
        risk_aversion: float = 0.0,
    ) -> None:
        self.bins = bins
        self.half_life = half_life
        self.prior = prior
        self.risk_aversion = risk_aversion

    def check_options(self) -> None:
        """Refuse options out of range (lobsim calls it before any work; fit calls it too)."""
        if isinstance(self.bins, bool) or not isinstance(self.bins, Integral) or self.bins < 1:
            raise InputError(f"dp: bins must be an int >= 1, got {self.bins!r}")
        if not self.half_life > 0:
            raise InputError(f"dp: half_life must be > 0 minutes (or inf), got {self.half_life!r}")
        if not (math.isfinite(self.prior) and self.prior >= 0):
            raise InputError(f"dp: prior must be a finite number >= 0, got {self.prior!r}")
        if not (math.isfinite(self.risk_aversion) and self.risk_aversion >= 0):
            raise InputError(f"dp: risk_aversion must be >= 0 (1 / $), got {self.risk_aversion!r}")

    def fit(self, train: TrainData) -> None:
        """Estimate the volume model per stock and solve the Bellman recursion."""
        self.check_options()
        schedule = train.schedule
        volume = train.panel.volume
        n_stocks = volume.shape[2]
        phi = 1.0 / (1.0 + book_alpha(train))
        self.schedule_ = schedule
        self.power_ = 1.0 + phi
        self.decay_ = 0.5 ** (1.0 / self.half_life)
        self.profile_ = volume.mean(axis=0)  # (M, N)
        visible = schedule.decision_times - schedule.lag
        states = np.empty((volume.shape[0], len(visible), n_stocks))
        volume_state_nb(volume, self.profile_, visible, self.decay_, states)
        self.edges_ = _bin_edges(states, self.bins)  # (N, B - 1)
        labels = _label(states, self.edges_)  # (D, K, N)

        bars = schedule.decision_times - 1
        mean_bar = np.maximum(self.profile_[bars], 1e-300)  # (K, N)
        # Each order fills in the first bar of its window with volume, or not at all: the
        # simulator's rule (Schedule.fill_bars).
        fill_bar = schedule.fill_bars(volume)  # (D, K, N)
        filled = fill_bar > 0
        traded = np.take_along_axis(volume, np.maximum(fill_bar - 1, 0), axis=1)
        ratio = np.maximum(traded / mean_bar, _RATIO_FLOOR)
        walk = ratio ** (-phi)
        # E[(V / m) ** -phi | decision, state, filled] as a time-of-day factor (K, N) times a
        # state factor (N, B), and P(filled | decision, state) (N, K, B).
        tod = _time_of_day(walk, filled, self.prior)
        factor = _state_means(walk / tod, labels, self.bins, self.prior, where=filled)
        factor = factor[:, None, :] * tod.T[:, :, None]
        self.fill_ = np.ascontiguousarray(_fill_probability(filled, labels, self.bins, self.prior))
        relative = mean_bar / mean_bar.mean(axis=0)
        # C order throughout: the kernels are compiled for one layout.
        self.cost_ = np.ascontiguousarray((relative ** (-phi)).T[:, :, None] * factor * self.fill_)
        self.penalty_ = _penalty(volume, mean_bar.mean(axis=0), phi)
        self.transition_ = np.ascontiguousarray(_transitions(labels, self.bins, self.prior))

        # Holdings are measured in units X of the training parent order (the risk term is
        # not homogeneous in X, so the grid needs a unit).
        self.unit_ = np.maximum(np.asarray(train.parent, dtype=np.float64), 1.0)
        self.risk_ = np.zeros(n_stocks)
        if self.risk_aversion > 0:
            scale = impact_coefficient(train) * reference_price(train)
            tau = 1.0 / schedule.n_decisions
            self.risk_ = (
                self.risk_aversion
                * intraday_sigma(train) ** 2
                * tau
                * self.unit_ ** (1.0 - phi)
                * mean_bar.mean(axis=0) ** phi
                / scale
            )
        self.grid_ = (math.log(_GRID_LOW), math.log(_GRID_HIGH / _GRID_LOW) / (_GRID_POINTS - 1))
        self.future_ = np.empty((n_stocks, schedule.n_decisions, self.bins, _GRID_POINTS))
        backward_induction_nb(
            self.cost_,
            self.fill_,
            self.transition_,
            self.risk_,
            self.penalty_,
            self.power_,
            *self.grid_,
            self.future_,
        )

    def volume_state(self, obs: Observation) -> np.ndarray:
        """ndarray(int64, (E,)): each episode's volume-state bin at this decision.

        The weighted sums of z run from one decision of the batch to the next (reset at
        k = 0, so decisions must come in order k = 0, 1, 2, ...): each decision folds in only
        the minutes that became visible since the previous one, with the fit's arithmetic
        (:func:`advance_volume_state_nb`), so a day's states are those the fit computed for it.
        """
        if obs.k == 0:
            self._sum_v = np.zeros(obs.n_episodes)
            self._sum_m = np.zeros(obs.n_episodes)
            self._folded = 0
        elif obs.k != getattr(self, "_next_k", None):
            raise InputError(
                "dp: decide() must be called for k = 0, 1, 2, ... in order; "
                f"expected k={getattr(self, '_next_k', 0)}, got k={obs.k}"
            )
        self._next_k = obs.k + 1
        n_visible = obs.volume.shape[1]
        bins = np.empty(obs.n_episodes, dtype=np.int64)
        advance_volume_state_nb(
            obs.volume, self.profile_, self.edges_, obs.day, obs.stock, self._folded,
            n_visible, self.decay_, self._sum_v, self._sum_m, bins,
        )  # fmt: skip
        self._folded = n_visible
        return bins

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "future_"):
            raise InputError("dp: fit() must run before decide()")
        if obs.schedule != self.schedule_:
            raise InputError(
                f"dp: fitted for {self.schedule_} but asked to decide on {obs.schedule}"
            )
        q = obs.remaining / self.unit_[obs.stock]
        keep = np.empty(obs.n_episodes)
        policy_nb(
            q,
            obs.stock,
            self.volume_state(obs),
            obs.k,
            self.cost_,
            self.fill_,
            self.risk_,
            self.power_,
            self.future_,
            *self.grid_,
            keep,
        )
        return keep * obs.remaining

    def fitted_state(self) -> dict:
        """The options and the fit as plain values (ndarrays, floats, lists), for a
        checkpoint: :meth:`from_fitted_state` makes the fitted policy again."""
        if not hasattr(self, "future_"):
            raise InputError("dp: fit() must run before fitted_state()")
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        s = self.schedule_
        state["schedule_"] = [s.minutes, s.interval, s.lag]
        state["grid_"] = list(self.grid_)
        state["options"] = {
            "bins": self.bins,
            "half_life": self.half_life,
            "prior": self.prior,
            "risk_aversion": self.risk_aversion,
        }
        return state

    @classmethod
    def from_fitted_state(cls, state: dict) -> DynamicProgramming:
        """The fitted policy of :meth:`fitted_state` (arrays may come back as any array-like)."""
        state = dict(state)
        policy = cls(**state.pop("options"))
        policy.schedule_ = Schedule(*state.pop("schedule_"))
        policy.grid_ = tuple(float(v) for v in state.pop("grid_"))
        for name, value in state.items():
            value = np.asarray(value)
            setattr(policy, name, float(value) if value.ndim == 0 else np.ascontiguousarray(value))
        return policy

    def keep_fraction(self, obs: Observation) -> np.ndarray:
        """ndarray(float64, (E,)): the share of one training parent order that each episode
        would keep at this decision (decisions in order, as for :meth:`decide`).

        Without risk aversion the policy is homogeneous (J = A q**p), so this is the share it
        keeps of any holdings: another policy can build on it (the LSTM's ``base="dp"``).
        """
        keep = np.empty(obs.n_episodes)
        policy_nb(
            np.ones(obs.n_episodes), obs.stock, self.volume_state(obs), obs.k, self.cost_,
            self.fill_, self.risk_, self.power_, self.future_, *self.grid_, keep,
        )  # fmt: skip
        return keep

    def keep_fractions(self, volume: np.ndarray) -> np.ndarray:
        """What :meth:`keep_fraction` gives at every decision of whole days.

        Parameters
        ----------
        volume : ndarray(float64, (D, M, N))
            Days of the fitted universe and schedule.

        Returns
        -------
        ndarray(float64, (D, K, N))
        """
        schedule = self.schedule_
        n_days, _, n_stocks = volume.shape
        states = np.empty((n_days, schedule.n_decisions, n_stocks))
        visible = schedule.decision_times - schedule.lag
        volume_state_nb(volume, self.profile_, visible, self.decay_, states)
        labels = _label(states, self.edges_)
        stock = np.tile(np.arange(n_stocks, dtype=np.int64), n_days)
        out = np.empty_like(states)
        keep = np.empty(n_days * n_stocks)
        for k in range(schedule.n_decisions):
            policy_nb(
                np.ones(len(stock)), stock, np.ascontiguousarray(labels[:, k].ravel()), k,
                self.cost_, self.fill_, self.risk_, self.power_, self.future_, *self.grid_,
                keep,
            )  # fmt: skip
            out[:, k] = keep.reshape(n_days, n_stocks)
        return out


def _time_of_day(walk: np.ndarray, filled: np.ndarray, prior: float) -> np.ndarray:
    """Per (decision, stock), (K, N): E[(V / m) ** -phi | filled] at that decision relative to
    the stock's mean over the day, from the days it filled, borrowing from the neighbouring
    decisions (Gaussian weights, ``_TIME_OF_DAY_WIDTH``) and shrunk to 1 (``prior``).

    Where a stock trades in lumps (a few trades a minute or fewer), an order that fills meets
    a whole trade's volume, more than the profile's mean: thin hours are cheaper than the
    profile says, once they fill. In a continuous market the factor stays close to 1.
    """
    sums = np.where(filled, walk, 0.0).sum(axis=0)  # (K, N)
    counts = filled.sum(axis=0).astype(np.float64)
    k = np.arange(walk.shape[1])
    kernel = np.exp(-0.5 * ((k[:, None] - k[None, :]) / _TIME_OF_DAY_WIDTH) ** 2)
    sums, counts = kernel @ sums, kernel @ counts
    overall = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1e-300)  # (N,)
    overall = np.where(counts.sum(axis=0) > 0, overall, 1.0)
    return (sums + prior * overall) / np.maximum(counts + prior, 1e-300) / overall


def _penalty(volume: np.ndarray, mean_bar: np.ndarray, phi: float) -> np.ndarray:
    """Per stock, the normalised charge per q**p on holdings left at the close: the simulator's
    penalty, one order in the day's thinnest traded minute, averaged over the training days that
    traded (its cap at the shares' value is left out, which keeps the cost homogeneous)."""
    thinnest = np.where(volume > 0, volume, np.inf).min(axis=1)  # (D, N)
    ratio = np.maximum(thinnest / np.maximum(mean_bar, 1e-300), _RATIO_FLOOR)
    charge = np.where(np.isfinite(thinnest), ratio ** (-phi), np.nan)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(charge, axis=0) if len(charge) else np.full(volume.shape[2], np.nan)
    return np.where(np.isfinite(mean), mean, _RATIO_FLOOR ** (-phi))


def _bin_edges(states: np.ndarray, bins: int) -> np.ndarray:
    """Per stock, the training quantiles that cut z into ``bins`` equally likely states."""
    levels = np.arange(1, bins) / bins
    flat = states.reshape(-1, states.shape[2])
    return np.quantile(flat, levels, axis=0).T.copy()  # (N, B - 1)


def _label(states: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of every z: (D, K, N) float -> (D, K, N) int64, with per-stock edges."""
    return (states[..., None] > edges[None, None, :, :]).sum(axis=-1).astype(np.int64)


def _state_means(
    values: np.ndarray, labels: np.ndarray, bins: int, prior: float, where: np.ndarray
) -> np.ndarray:
    """Mean of ``values`` (D, K, N) per stock and state over the cells ``where`` holds, shrunk
    to the all-stock mean (to 1 where no cell of any stock counts)."""
    n_stocks = values.shape[2]
    sums = np.zeros((n_stocks, bins))
    counts = np.zeros((n_stocks, bins))
    stock = np.broadcast_to(np.arange(n_stocks), labels.shape)[where]
    np.add.at(sums, (stock, labels[where]), values[where])
    np.add.at(counts, (stock, labels[where]), 1.0)
    pooled = sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1.0)
    overall = values[where].mean() if where.any() else 1.0
    pooled = np.where(counts.sum(axis=0) > 0, pooled, overall)
    return (sums + prior * pooled) / np.maximum(counts + prior, 1e-300)


def _fill_probability(
    filled: np.ndarray, labels: np.ndarray, bins: int, prior: float
) -> np.ndarray:
    """P(the order of decision k fills | state b) per stock, (N, K, B): the share of training
    days it filled, per (stock, decision, state), shrunk to the stock's share at that decision
    (the time of day matters most: thin stocks trade at the open and the close)."""
    n_days, n_dec, n_stocks = filled.shape
    counts = np.zeros((n_stocks, n_dec, bins))
    hits = np.zeros((n_stocks, n_dec, bins))
    stock = np.broadcast_to(np.arange(n_stocks), labels.shape)
    decision = np.broadcast_to(np.arange(n_dec)[:, None], labels.shape)
    index = (stock.ravel(), decision.ravel(), labels.ravel())
    np.add.at(counts, index, 1.0)
    np.add.at(hits, index, filled.ravel().astype(np.float64))
    rate = hits.sum(axis=2, keepdims=True) / n_days  # (N, K, 1)
    shrunk = (hits + prior * rate) / np.maximum(counts + prior, 1e-300)
    return np.where(counts + prior > 0, shrunk, rate)


def _transitions(labels: np.ndarray, bins: int, prior: float) -> np.ndarray:
    """P(b' | b) per stock from consecutive decisions, shrunk to the all-stock matrix."""
    n_stocks = labels.shape[2]
    counts = np.zeros((n_stocks, bins, bins))
    stock = np.broadcast_to(np.arange(n_stocks), labels[:, 1:].shape)
    np.add.at(counts, (stock.ravel(), labels[:, :-1].ravel(), labels[:, 1:].ravel()), 1.0)
    pooled = counts.sum(axis=0)
    rows = pooled.sum(axis=1, keepdims=True)
    pooled = np.where(rows > 0, pooled / np.maximum(rows, 1.0), 1.0 / bins)
    mixed = counts + prior * pooled[None]
    total = mixed.sum(axis=2, keepdims=True)
    return np.where(total > 0, mixed / np.maximum(total, 1e-300), 1.0 / bins)
