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

from lobsim import BUY, InputError, Observation, TrainData
from lobsim.almgren_chriss import (
    ac_bounded_trajectory,
    ac_portfolio_cost_variance,
    ac_portfolio_trajectory,
    ac_trajectory,
    powerlaw_trajectory,
)
from lobsim.strategies._calibration import (
    book_alpha,
    decision_volume,
    impact_coefficient,
    interval_volume,
    intraday_correlation,
    intraday_sigma,
    per_stock,
    reference_price,
    session_drift,
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


def _check_extensions(owner: str, drift, max_participation, min_trade) -> None:
    if isinstance(drift, str):
        if drift != "estimate":
            raise InputError(
                f"{owner}: drift must be a number, one per stock, or 'estimate', got {drift!r}"
            )
    elif drift is not None:
        try:
            arr = np.asarray(drift, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.array([np.nan])
        if arr.ndim > 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
            raise InputError(
                f"{owner}: drift must be a finite number ($ / share a day), one per stock, or "
                f"'estimate', got {drift!r}"
            )
    if max_participation is not None and not (
        isinstance(max_participation, (int, float)) and 0 < max_participation <= 1
    ):
        raise InputError(
            f"{owner}: max_participation must be a fraction in (0, 1] of each interval's "
            f"expected volume, got {max_participation!r}"
        )
    if not (isinstance(min_trade, (int, float)) and np.isfinite(min_trade) and min_trade >= 0):
        raise InputError(f"{owner}: min_trade must be a number of shares >= 0, got {min_trade!r}")


def _sell_drift(drift, train: TrainData, owner: str) -> np.ndarray:
    """The drift per stock in $ / (share day) as a sell program sees it (a buy program is its
    mirror image, so the sign turns)."""
    n = train.panel.n_stocks
    if drift is None:
        value = np.zeros(n)
    elif isinstance(drift, str):
        value = session_drift(train)
    else:
        value = np.asarray(drift, dtype=np.float64)
        if value.size not in (1, n):
            raise InputError(f"{owner}: drift must be one number or one per stock ({n})")
        value = np.broadcast_to(value.reshape(-1), (n,)).copy()
    return -value if train.side == BUY else value


def _trade_bounds(owner: str, train: TrainData, shares: np.ndarray, max_participation,
                  min_trade) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(lo, hi) per decision and stock, (K, N), checked against each parent order."""
    steps = train.schedule.n_decisions
    lo = np.full((steps, shares.size), float(min_trade))
    hi = np.full((steps, shares.size), np.inf)
    if max_participation is not None:
        hi = max_participation * interval_volume(train)
    for i, ticker in enumerate(train.panel.tickers):
        if lo[:, i].sum() > shares[i]:
            raise InputError(
                f"{owner}: for {ticker} min_trade={min_trade:g} a child order over {steps} "
                f"decisions exceeds the parent order of {shares[i]:,.0f} shares"
            )
        if hi[:, i].sum() < shares[i]:
            raise InputError(
                f"{owner}: for {ticker} a participation cap of {max_participation:g} of each "
                f"interval's expected volume allows {hi[:, i].sum():,.0f} shares a day, less "
                f"than the parent order of {shares[i]:,.0f}; raise max_participation or trade "
                "a smaller parent order"
            )
    return lo, hi


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
    drift : float, tuple of float or "estimate", optional
        The expected change of the mid over a session, $ / share a day ([AC] section 2.5): a
        view given as a number (one or per stock), or "estimate": the training days' mean
        change from the first minute to the last (noisy: its standard error is about
        sigma / sqrt(training days)). For a sell program a positive drift delays the sales.
    max_participation : float, optional
        Cap on each child order as a fraction of its interval's expected volume (the training
        mean over the interval's bars), in (0, 1].
    min_trade : float
        Floor on each child order, in shares.
    portfolio : bool
        Solve each day's basket jointly ([AC] section 5): the covariance of the stocks' price
        changes from the training days (their one-minute returns' correlation, scaled by
        sigma), impacts per stock. The joint optimum may plan to buy back a stock for a while
        (a hedge); a sell program never buys, so such targets are clipped. Not with
        max_participation or min_trade.

    With a drift, a cap or a floor, each stock's trajectory is
    :func:`lobsim.ac_bounded_trajectory` (every child order a sale, at least min_trade and at
    most the cap); without, :func:`lobsim.ac_trajectory`.

    Attributes (after fit)
    ----------------------
    sigma_, eta_, gamma_, epsilon_, drift_ : ndarray(float64, (N,))
        The parameters used, per stock (drift_ as a sell program sees it).
    covariance_ : ndarray(float64, (N, N))
        In portfolio mode: the covariance used, $^2 / (share^2 day).
    holdings_ : ndarray(float64, (N, K + 1))
        The trajectory per stock as fractions of the parent order, x_0 / X = 1 .. x_K / X = 0.
    """

    def __init__(
        self,
        risk_aversion: float = 1e-6,
        sigma: float | tuple[float, ...] | None = None,
        eta: float | tuple[float, ...] | None = None,
        gamma: float | tuple[float, ...] | None = None,
        drift: float | tuple[float, ...] | str | None = None,
        max_participation: float | None = None,
        min_trade: float = 0.0,
        portfolio: bool = False,
    ) -> None:
        self.risk_aversion = risk_aversion
        self.sigma = sigma
        self.eta = eta
        self.gamma = gamma
        self.drift = drift
        self.max_participation = max_participation
        self.min_trade = min_trade
        self.portfolio = portfolio

    def check_options(self) -> None:
        """Refuse options out of range before any work."""
        owner = "almgren_chriss"
        _check_risk_aversion(owner, self.risk_aversion)
        _check_parameters(owner, sigma=self.sigma, eta=self.eta, gamma=self.gamma)
        _check_extensions(owner, self.drift, self.max_participation, self.min_trade)
        if not isinstance(self.portfolio, bool):
            raise InputError(f"{owner}: portfolio must be true or false, got {self.portfolio!r}")
        if self.portfolio and (self.max_participation is not None or self.min_trade):
            raise InputError(
                f"{owner}: portfolio mode solves the basket in closed form, without bounds on "
                "the child orders: leave max_participation and min_trade out, or portfolio"
            )

    def fit(self, train: TrainData) -> None:
        """Calibrate sigma, eta and gamma per stock and compute the trajectories."""
        owner = "almgren_chriss"
        self.check_options()
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
        self.drift_ = _sell_drift(self.drift, train, owner)
        for i in range(n_stocks):
            eta_tilde = self.eta_[i] - 0.5 * self.gamma_[i] * tau
            if not eta_tilde > 0:
                raise InputError(
                    f"{owner}: for {train.panel.tickers[i]} eta - gamma tau / 2 = {eta_tilde:.3g}"
                    f" <= 0 (eta={self.eta_[i]:.3g}, gamma={self.gamma_[i]:.3g}): the permanent "
                    "impact outweighs the temporary one and the problem has no smooth optimum; "
                    "give eta or gamma explicitly"
                )
        self.shares_ = shares
        if self.portfolio:
            self.covariance_ = intraday_correlation(train) * np.outer(self.sigma_, self.sigma_)
            path = ac_portfolio_trajectory(shares, 1.0, steps, self.covariance_, self.eta_,
                                           self.gamma_, self.epsilon_, lam,
                                           drift=self.drift_)  # fmt: skip
            self.holdings_ = path.T / shares[:, None]
            return
        bounded = self.max_participation is not None or self.min_trade > 0
        if bounded or self.drift_.any():
            lo, hi = _trade_bounds(owner, train, shares, self.max_participation, self.min_trade)
        self.holdings_ = np.empty((n_stocks, steps + 1))
        for i in range(n_stocks):
            args = (shares[i], 1.0, steps, self.sigma_[i], self.eta_[i], self.gamma_[i],
                    self.epsilon_[i], lam)  # fmt: skip
            if bounded or self.drift_[i]:
                path = ac_bounded_trajectory(*args, drift=self.drift_[i], min_trade=lo[:, i],
                                             max_trade=hi[:, i])  # fmt: skip
            else:
                path = ac_trajectory(*args)
            self.holdings_[i] = path / shares[i]

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "holdings_"):
            raise InputError("almgren_chriss: fit() must run before decide()")
        return _follow(self.holdings_, obs, "almgren_chriss")

    def model_frontier(self) -> dict[str, list] | None:
        """In portfolio mode, after fit: the basket's efficient frontier in the fitted model
        (the optional plug-in hook a run records and the report draws). For each lambda of a
        grid around ``risk_aversion`` (which it holds), E ($) and V ($^2) of a day's basket
        solved jointly and solved stock by stock, both under the fitted covariance, and
        ``own`` marking the strategy's lambda; None outside portfolio mode."""
        if not self.portfolio:
            return None
        if not hasattr(self, "covariance_"):
            raise InputError("almgren_chriss: fit() must run before model_frontier()")
        lam = float(self.risk_aversion)
        grid = np.unique(np.append(np.geomspace(1e-3, 1e3, 25) * (lam or 1e-6), lam))
        steps = self.holdings_.shape[1] - 1
        args = (self.covariance_, self.eta_, self.gamma_, self.epsilon_)
        out: dict[str, list] = {k: [] for k in ("risk_aversion", "own", "joint_cost",
                                "joint_variance", "alone_cost", "alone_variance")}  # fmt: skip
        for value in grid.tolist():
            joint = ac_portfolio_trajectory(self.shares_, 1.0, steps, *args, value,
                                            drift=self.drift_)  # fmt: skip
            alone = np.column_stack([
                ac_trajectory(self.shares_[i], 1.0, steps, self.sigma_[i], self.eta_[i],
                              self.gamma_[i], self.epsilon_[i], value, self.drift_[i])
                for i in range(self.shares_.size)
            ])  # fmt: skip
            for name, path in (("joint", joint), ("alone", alone)):
                e, v = ac_portfolio_cost_variance(path, 1.0, *args, self.drift_)
                out[f"{name}_cost"].append(e)
                out[f"{name}_variance"].append(v)
            out["risk_aversion"].append(value)
            out["own"].append(value == lam)
        return out


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
    drift, max_participation, min_trade
        As in :class:`AlmgrenChriss` (:func:`lobsim.powerlaw_trajectory` takes them).

    Attributes (after fit)
    ----------------------
    sigma_, drift_ : ndarray(float64, (N,))
    holdings_ : ndarray(float64, (N, K + 1))
        The schedule per stock as fractions of the parent order.
    """

    def __init__(
        self,
        risk_aversion: float = 1e-6,
        sigma: float | tuple[float, ...] | None = None,
        weighting: str = "mean",
        drift: float | tuple[float, ...] | str | None = None,
        max_participation: float | None = None,
        min_trade: float = 0.0,
    ) -> None:
        self.risk_aversion = risk_aversion
        self.sigma = sigma
        self.weighting = weighting
        self.drift = drift
        self.max_participation = max_participation
        self.min_trade = min_trade

    def check_options(self) -> None:
        """Refuse options out of range before any work."""
        _check_risk_aversion("powerlaw_ac", self.risk_aversion)
        _check_parameters("powerlaw_ac", sigma=self.sigma)
        if self.weighting not in ("mean", "moment"):
            raise InputError(
                f"powerlaw_ac: weighting must be 'mean' or 'moment', got {self.weighting!r}"
            )
        _check_extensions("powerlaw_ac", self.drift, self.max_participation, self.min_trade)

    def fit(self, train: TrainData) -> None:
        """Compute the schedule of every stock from its training volume curve."""
        owner = "powerlaw_ac"
        self.check_options()
        lam = _check_risk_aversion(owner, self.risk_aversion)
        n_stocks = train.panel.n_stocks
        volumes = decision_volume(train, self.weighting, owner)  # (K, N)
        sigma = per_stock(self.sigma, n_stocks, "sigma", owner)
        self.sigma_ = intraday_sigma(train) if sigma is None else sigma
        eta = impact_coefficient(train) * reference_price(train)
        phi = 1.0 / (1.0 + book_alpha(train))
        shares = np.maximum(np.asarray(train.parent, dtype=np.float64), 1.0)
        self.drift_ = _sell_drift(self.drift, train, owner)
        lo, hi = _trade_bounds(owner, train, shares, self.max_participation, self.min_trade)
        self.holdings_ = np.empty((n_stocks, volumes.shape[0] + 1))
        for i in range(n_stocks):
            path = powerlaw_trajectory(
                shares[i], volumes[:, i], self.sigma_[i], eta[i], phi, 2.0 * lam, 1.0,
                drift=self.drift_[i], min_trade=lo[:, i], max_trade=hi[:, i],
            )  # fmt: skip
            self.holdings_[i] = path / shares[i]

    def decide(self, obs: Observation) -> np.ndarray:
        if not hasattr(self, "holdings_"):
            raise InputError("powerlaw_ac: fit() must run before decide()")
        return _follow(self.holdings_, obs, "powerlaw_ac")
