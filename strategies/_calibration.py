"""Per-stock quantities the model-based strategies estimate on a fold's training days.

Shared by the Almgren-Chriss strategies and the dynamic programme so that they read the book
and the market the same way. Time is measured in trading days (one session), so a volatility
is in $ / (share sqrt(day)).
"""

from __future__ import annotations

import numpy as np

from lobsim import InputError, TrainData


def book_alpha(train: TrainData) -> float:
    """The book's power a (its mean, when the stress options perturb it)."""
    return float(train.book.alpha)


def impact_coefficient(train: TrainData) -> np.ndarray:
    """c_i = eps_i (1 + a) / (2 + a): the walk of n shares against a volume V costs
    c_i S n**p V**(1 - p) (DESIGN.md section 1).

    Returns
    -------
    ndarray(float64, (N,))
        eps from the book model, calibrated on the training days if the run has not done so.
    """
    book = train.book
    n_stocks = train.panel.n_stocks
    if book.epsilon is None:
        book = book.calibrated(
            train.panel.volume,
            np.maximum(np.asarray(train.parent, dtype=np.float64), 1.0),
            train.schedule.decision_times,
        )
    a = book_alpha(train)
    return book.epsilons(n_stocks) * (1.0 + a) / (2.0 + a)


def reference_price(train: TrainData) -> np.ndarray:
    """ndarray(float64, (N,)): the mean mid price of the training days."""
    return train.panel.price.mean(axis=(0, 1))


def intraday_sigma(train: TrainData) -> np.ndarray:
    """Volatility of the mid over the session, in $ / (share sqrt(day)).

    sigma_i = S_i sqrt(mean over days of the sum of squared one-minute log returns): the
    realised intraday variance, overnight gaps excluded (an execution lives within a day),
    times the reference price S_i of :func:`reference_price`.

    Returns
    -------
    ndarray(float64, (N,))
    """
    log_price = np.log(train.panel.price)
    returns = np.diff(log_price, axis=1)  # (D, M - 1, N)
    realised = np.square(returns).sum(axis=1).mean(axis=0)
    return reference_price(train) * np.sqrt(realised)


def intraday_correlation(train: TrainData) -> np.ndarray:
    """Correlation of the stocks' one-minute log returns within the session, (N, N): the
    realised covariance summed over each day's minutes and averaged over days, normalised by
    the realised variances of :func:`intraday_sigma` (a stock that never moved is
    uncorrelated with the rest)."""
    returns = np.diff(np.log(train.panel.price), axis=1)  # (D, M - 1, N)
    realised = np.einsum("dmi,dmj->ij", returns, returns) / returns.shape[0]
    scale = np.sqrt(np.diag(realised))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = realised / np.outer(scale, scale)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    return corr


def interval_volume(train: TrainData) -> np.ndarray:
    """Expected volume of each decision's whole interval (its window of bars, the last one's
    to the close), the training mean: (K, N)."""
    mean = train.panel.volume.mean(axis=0)  # (M, N)
    windows = [train.schedule.window(k) for k in range(train.schedule.n_decisions)]
    return np.stack([mean[w.start - 1 : w.stop - 1].sum(axis=0) for w in windows])


def session_drift(train: TrainData) -> np.ndarray:
    """The mean change of the mid from the session's first minute to its last over the
    training days, in $ / (share day), per stock: a drift estimate (noisy: its standard error
    is about sigma / sqrt(days))."""
    price = train.panel.price
    return (price[:, -1, :] - price[:, 0, :]).mean(axis=0)


def decision_volume(train: TrainData, weighting: str = "mean", owner: str = "") -> np.ndarray:
    """Expected volume of each decision's bar (the bar its child order trades in).

    Parameters
    ----------
    train : TrainData
    weighting : {"mean", "moment"}
        "mean": the training mean. "moment": the effective volume (E[V ** -phi]) ** (-1 / phi),
        phi = 1 / (1 + a), for which the power-law cost of a fixed order under random volume
        is that under this deterministic volume (the moment-weighted VWAP's weights).
    owner : str
        The strategy's name, for error messages.

    Returns
    -------
    ndarray(float64, (K, N))
        Floored at a millionth of the stock's mean (a bar that never traded would make any
        trade in it infinitely expensive and the schedules undefined).
    """
    bars = train.panel.volume[:, train.schedule.decision_times - 1, :]  # (D, K, N)
    if weighting == "mean":
        volume = bars.mean(axis=0)
    elif weighting == "moment":
        phi = 1.0 / (1.0 + book_alpha(train))
        with np.errstate(divide="ignore"):
            moment = np.where(bars > 0, bars, 0.0) ** (-phi)
        volume = moment.mean(axis=0) ** (-1.0 / phi)  # a bar that once had no volume: 0
    else:
        raise InputError(f"{owner}: weighting must be 'mean' or 'moment', got {weighting!r}")
    floor = 1e-6 * np.maximum(bars.mean(axis=(0, 1)), 1e-300)
    return np.maximum(volume, floor[None, :])


def per_stock(value, n_stocks: int, name: str, owner: str) -> np.ndarray | None:
    """A given parameter as (N,) float64 (one value or one per stock), or None if not given."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_stocks, float(arr))
    if arr.shape != (n_stocks,):
        raise InputError(
            f"{owner}: {name} must be one number or one per stock ({n_stocks}), "
            f"got {arr.size} values"
        )
    if not np.all(np.isfinite(arr) & (arr >= 0)):
        raise InputError(f"{owner}: {name} must be finite and >= 0, got {value!r}")
    return arr
