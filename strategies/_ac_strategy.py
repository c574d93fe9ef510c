"""The Almgren-Chriss strategies: the trajectories of :mod:`lobsim.almgren_chriss` as plug-ins.

Both follow a schedule fixed at ``fit``, per stock, on the decision grid: K decisions over one
session, so the horizon is T = 1 day and tau = 1 / K; the child order of decision k takes the
holdings from x_k to x_{k+1}. Volatility sigma is in $ / (share sqrt(day)), estimated from the
training days' one-minute returns (:func:`lobsim.strategies._calibration.intraday_sigma`) unless
given. ``risk_aversion`` is lambda of Almgren and Chriss (2001): each strategy minimises
E + lambda Var of its cost, in 1 / $.

Names: ``lobsim.strategies.almgren_chriss:AlmgrenChriss`` and
``lobsim.strategies.almgren_chriss:PowerLawAC`` (short names ``almgren_chriss`` and
``powerlaw_ac``).
"""

from __future__ import annotations

import numpy as np

from lobsim import InputError, Observation, TrainData
from lobsim.almgren_chriss import ac_trajectory, powerlaw_trajectory
from lobsim.strategies._calibration import (
    book_alpha,
    decision_volume,
    impact_coefficient,
    intraday_sigma,
    per_stock,
    reference_price,
)


def _check_risk_aversion(owner: str, value: float) -> float:
    value = float(value) if isinstance(value, (int, float, np.number)) else float("nan")
    if not (np.isfinite(value) and value >= 0):
        raise InputError(f"{owner}: risk_aversion must be a finite number >= 0 (1 / $)")
    return value


def _check_parameters(owner: str, **given) -> None:
    """Each given parameter: one finite number >= 0, or one per stock (checked against the
    number of stocks in fit)."""
    for name, value in given.items():
        if value is None:
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.array([np.nan])
        if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr) & (arr >= 0)):
            raise InputError(
                f"{owner}: {name} must be a finite number >= 0 or one per stock, got {value!r}"
            )


def _follow(fraction: np.ndarray, obs: Observation, owner: str) -> np.ndarray:
    """Target holdings of a fixed schedule: the parent order times x_{k+1} / X."""
    if fraction.shape[1] != obs.schedule.n_decisions + 1:
        raise InputError(
            f"{owner}: fitted for {fraction.shape[1] - 1} decisions a day, asked to decide on "
            f"{obs.schedule.n_decisions}"
        )
    return obs.initial * fraction[obs.stock, obs.k + 1]


class AlmgrenChriss:
    """Almgren-Chriss (2001) trajectory with linear impact calibrated to the book, per stock.

    Parameters
    ----------
    risk_aversion : float
        lambda in 1 / $ (1e-6 in the paper's example); 0 gives the straight line (TWAP).
    sigma : float or tuple of float, optional
        Volatility in $ / (share sqrt(day)), one value or one per stock; default: from the
        training days' one-minute returns.
    eta : float or tuple of float, optional
        Temporary impact in $ day / share^2. Default: the book's power-law cost linearised
        around the TWAP child order n0 = X / K at the mean decision-bar volume V: the walk of n
        shares concedes h(n) = c S (n / V) ** phi per share (c = eps (1 + a) / (2 + a),
        phi = 1 / (1 + a)), whose tangent at n0 is h(n) ~ (1 - phi) h(n0) + phi h(n0) n / n0,
        i.e. the model's epsilon + eta v with v = n / tau: eta = tau phi h(n0) / n0,
        epsilon = (1 - phi) h(n0) (reported as ``epsilon_``; it does not move the optimum).
    gamma : float or tuple of float, optional
        Permanent impact in $ / share^2. Default: g S / ADV from the run's permanent impact g,
        since S~ = S (1 - g X_sold / ADV) moves the mid by g S / ADV per share sold.

    Attributes (after fit)
    ----------------------
    sigma_, eta_, gamma_, epsilon_ : ndarray(float64, (N,))
        The parameters used, per stock.
    holdings_ : ndarray(float64, (N, K + 1))
        The trajectory per stock as fractions of the parent order, x_0 / X = 1 .. x_K / X = 0.
    """

    def __init__(
        self,
        risk_aversion: float = 1e-6,
        sigma: float | tuple[float, ...] | None = None,
        eta: float | tuple[float, ...] | None = None,
        gamma: float | tuple[float, ...] | None = None,
    ) -> None:
        self.risk_aversion = risk_aversion
        self.sigma = sigma
        self.eta = eta
        self.gamma = gamma

    def check_options(self) -> None:
        """Refuse options out of range before any work."""
        _check_risk_aversion("almgren_chriss", self.risk_aversion)
        _check_parameters("almgren_chriss", sigma=self.sigma, eta=self.eta, gamma=self.gamma)

    def fit(self, train: TrainData) -> None:
        """Calibrate sigma, eta and gamma per stock and compute the trajectories."""
        owner = "almgren_chriss"
        lam = _check_risk_aversion(owner, self.risk_aversion)
        n_stocks = train.panel.n_stocks
        steps = train.schedule.n_decisions
        tau = 1.0 / steps
        shares = np.maximum(np.asarray(train.parent, dtype=np.float64), 1.0)
        price = reference_price(train)
        phi = 1.0 / (1.0 + book_alpha(train))
        child = shares / steps
        volume = decision_volume(train).mean(axis=0)
        concession = impact_coefficient(train) * price * (child / volume) ** phi  # h(n0)
        sigma = per_stock(self.sigma, n_stocks, "sigma", owner)
        eta = per_stock(self.eta, n_stocks, "eta", owner)
        gamma = per_stock(self.gamma, n_stocks, "gamma", owner)
        self.sigma_ = intraday_sigma(train) if sigma is None else sigma
        self.eta_ = tau * phi * concession / child if eta is None else eta
        self.gamma_ = train.permanent_impact * price / train.panel.adv if gamma is None else gamma
        self.epsilon_ = (1.0 - phi) * concession
        self.holdings_ = np.empty((n_stocks, steps + 1))
        for i in range(n_stocks):
            eta_tilde = self.eta_[i] - 0.5 * self.gamma_[i] * tau
            if not eta_tilde > 0:
                raise InputError(
                    f"{owner}: for {train.panel.tickers[i]} eta - gamma tau / 2 = {eta_tilde:.3g}"
                    f" <= 0 (eta={self.eta_[i]:.3g}, gamma={self.gamma_[i]:.3g}): the permanent "
                    "impact outweighs the temporary one and the problem has no smooth optimum; "
                    "give eta or gamma explicitly"
                )
            path = ac_trajectory(
                shares[i],
                1.0,
                steps,
                self.sigma_[i],
                self.eta_[i],
                self.gamma_[i],
                self.epsilon_[i],
                lam,
            )
            self.holdings_[i] = path / shares[i]

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "holdings_"):
            raise InputError("almgren_chriss: fit() must run before decide()")
        return _follow(self.holdings_, obs, "almgren_chriss")


class PowerLawAC:
    """Power-law impact on the training volume curve (Gueant 2016); VWAP with no risk aversion.

    Minimises E + lambda Var with the book's own walk cost, sum_k eta V_k (n_k / V_k)**(1+phi)
    with eta = c S = eps (1 + a) / (2 + a) S and phi = 1 / (1 + a), against the expected
    volume V_k of each decision's bar (:func:`lobsim.strategies.almgren_chriss.powerlaw_trajectory`
    with its risk aversion gamma = 2 lambda, since its risk term is gamma sigma^2 / 2 sum tau q^2).
    Linear permanent impact costs g S / ADV (X^2 - sum n_k^2) / 2 whatever the schedule but
    for the small sum n_k^2 term, which is left out.

    Parameters
    ----------
    risk_aversion : float
        lambda in 1 / $; 0 gives the VWAP schedule (``window="bar"``) exactly.
    sigma : float or tuple of float, optional
        Volatility in $ / (share sqrt(day)); default: from the training days.
    weighting : {"mean", "moment"}
        Expected volume per bar: the training mean, or the effective volume
        (E[V ** -phi]) ** (-1 / phi) of the moment-weighted VWAP.

    Attributes (after fit)
    ----------------------
    sigma_ : ndarray(float64, (N,))
    holdings_ : ndarray(float64, (N, K + 1))
        The schedule per stock as fractions of the parent order.
    """

    def __init__(
        self,
        risk_aversion: float = 1e-6,
        sigma: float | tuple[float, ...] | None = None,
        weighting: str = "mean",
    ) -> None:
        self.risk_aversion = risk_aversion
        self.sigma = sigma
        self.weighting = weighting

    def check_options(self) -> None:
        """Refuse options out of range before any work."""
        _check_risk_aversion("powerlaw_ac", self.risk_aversion)
        _check_parameters("powerlaw_ac", sigma=self.sigma)
        if self.weighting not in ("mean", "moment"):
            raise InputError(
                f"powerlaw_ac: weighting must be 'mean' or 'moment', got {self.weighting!r}"
            )

    def fit(self, train: TrainData) -> None:
        """Compute the schedule of every stock from its training volume curve."""
        owner = "powerlaw_ac"
        lam = _check_risk_aversion(owner, self.risk_aversion)
        n_stocks = train.panel.n_stocks
        volumes = decision_volume(train, self.weighting, owner)  # (K, N)
        sigma = per_stock(self.sigma, n_stocks, "sigma", owner)
        self.sigma_ = intraday_sigma(train) if sigma is None else sigma
        eta = impact_coefficient(train) * reference_price(train)
        phi = 1.0 / (1.0 + book_alpha(train))
        shares = np.maximum(np.asarray(train.parent, dtype=np.float64), 1.0)
        self.holdings_ = np.empty((n_stocks, volumes.shape[0] + 1))
        for i in range(n_stocks):
            path = powerlaw_trajectory(
                shares[i], volumes[:, i], self.sigma_[i], eta[i], phi, 2.0 * lam, 1.0
            )
            self.holdings_[i] = path / shares[i]

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "holdings_"):
            raise InputError("powerlaw_ac: fit() must run before decide()")
        return _follow(self.holdings_, obs, "powerlaw_ac")
