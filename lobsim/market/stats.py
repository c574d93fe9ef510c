"""The stylised facts of a market panel, to hold the synthetic market against real minute bars
(``lobsim data stats``).

Each figure is computed the same way on any :class:`lobsim.MarketPanel` (D days x M minutes x
N stocks), so the synthetic market and a user's data are compared like for like:

- ``open_share``, ``close_share``: the day's volume in the first and the last 30 minutes (the
  U shape; the closing auction's prints, where a vendor folds them into the last bar, are in
  the last);
- ``profile_variation``: how much a day's profile differs from the stock's mean profile: the
  mean over stocks and 30-minute buckets of the coefficient of variation of each bucket's
  share of the day across days;
- ``volume_autocorrelation``: lag-one autocorrelation of the minute log volume's deviation
  from the stock's mean profile (clustering within days), and ``daily_volume_autocorrelation``
  of the log daily volume's deviation from the stock's mean (across days);
- ``volume_volatility_correlation``: correlation of that minute deviation with the minute's
  absolute log return, and ``daily_volume_volatility_correlation`` of log daily volume with
  the log of the day's realised volatility (each against the stock's mean);
- ``return_correlation``: mean correlation of different stocks' 5-minute log returns, and
  ``volume_correlation`` of their log daily volumes;
- ``return_kurtosis``: excess kurtosis of the one-minute log returns (0 for a Gaussian);
- ``vwap_saving``: what VWAP saves against TWAP, in %, on the power-law book (a = 1/2, a
  decision every 5 minutes), each day traded on the mean profile of the other days (leave
  one day out), a parent order of the same shares every day (as a run's fraction of ADV),
  per stock over its days whose every decision bar traded, then averaged over stocks. Only
  the volumes enter, so this is the saving the book model gives on these volumes (a run's
  VWAP-against-TWAP saving, with its training-window profile, comes out within a point of
  it); the published range on real large caps is about 8% to 14%.

Minutes without volume are left out of the log-volume figures.
"""

from __future__ import annotations

import warnings

import numpy as np

BUCKET = 30  # minutes in a profile bucket
ALPHA = 0.5  # the power of the book the VWAP saving is measured on (its default)


def stylised_facts(panel, interval: int = 5) -> dict[str, float]:
    """The figures of the module docstring for ``panel``, by name."""
    price = np.asarray(panel.price, dtype=np.float64)
    volume = np.asarray(panel.volume, dtype=np.float64)
    n_days, minutes, n_stocks = volume.shape
    day = volume.sum(axis=1)  # (D, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = volume / day[:, None, :]
    edge = min(BUCKET, minutes)
    out = {
        "days": float(n_days),
        "stocks": float(n_stocks),
        "minutes": float(minutes),
        "open_share": _mean(share[:, :edge].sum(axis=1)),
        "close_share": _mean(share[:, -edge:].sum(axis=1)),
    }
    buckets = share[:, : minutes - minutes % edge].reshape(n_days, -1, edge, n_stocks).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = buckets.std(axis=0) / buckets.mean(axis=0)
    out["profile_variation"] = _mean(cv)

    log_v = np.where(volume > 0, np.log(np.where(volume > 0, volume, 1.0)), np.nan)
    with warnings.catch_warnings():  # a minute that never traded has no profile: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        profile = np.nanmean(log_v, axis=0)  # (M, N)
    dev = log_v - profile[None]
    out["volume_autocorrelation"] = _corr(dev[:, 1:], dev[:, :-1])
    log_day = np.log(np.where(day > 0, day, np.nan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        log_day = log_day - np.nanmean(log_day, axis=0)  # each stock against its own level
    out["daily_volume_autocorrelation"] = _corr(log_day[1:], log_day[:-1])

    returns = np.diff(np.log(price), axis=1)  # (D, M - 1, N)
    out["volume_volatility_correlation"] = _corr(dev[:, 1:], np.abs(returns))
    realised = np.sqrt((returns**2).sum(axis=1))
    with np.errstate(divide="ignore"):
        log_realised = np.where(realised > 0, np.log(realised), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        log_realised = log_realised - np.nanmean(log_realised, axis=0)
    out["daily_volume_volatility_correlation"] = _corr(log_day, log_realised)

    five = np.diff(np.log(price[:, ::interval]), axis=1).reshape(-1, n_stocks)
    out["return_correlation"] = _cross(five)
    out["volume_correlation"] = _cross(log_day)
    r = returns.reshape(-1, n_stocks)
    r = r - np.nanmean(r, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kurt = np.nanmean(r**4, axis=0) / np.nanmean(r**2, axis=0) ** 2 - 3.0
    out["return_kurtosis"] = _mean(kurt)
    out["vwap_saving"] = vwap_saving(volume, interval)
    return out


def vwap_saving(volume: np.ndarray, interval: int = 5, alpha: float = ALPHA) -> float:
    """VWAP's saving against TWAP in % (see the module docstring), on (D, M, N) volumes."""
    n_days = volume.shape[0]
    bars = volume[:, interval - 1 :: interval]  # (D, K, N): the bars child orders trade in
    if n_days < 2:
        return float("nan")
    p = (2.0 + alpha) / (1.0 + alpha)
    total = bars.sum(axis=0)
    others = (total[None] - bars) / (n_days - 1)  # each day's leave-one-out mean profile
    full = (bars > 0).all(axis=1) & (others > 0).all(axis=1)  # (D, N): every bar traded
    if not full.any():
        return float("nan")
    k = bars.shape[1]
    b = np.where(full[:, None, :], bars, 1.0)
    weights = others / np.maximum(others.sum(axis=1, keepdims=True), 1e-300)
    # The same parent every day: its X^p is a constant of the stock, which cancels.
    twap = np.where(full, ((1.0 / k) ** p * b ** (1 - p)).sum(axis=1), 0.0)  # (D, N)
    vwap = np.where(full, (weights**p * b ** (1 - p)).sum(axis=1), 0.0)
    traded = full.any(axis=0)
    per_stock = 1.0 - vwap.sum(axis=0)[traded] / twap.sum(axis=0)[traded]
    return float(100.0 * per_stock.mean())


def _mean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the pairs where both are finite."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return float("nan")
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def _cross(x: np.ndarray) -> float:
    """Mean correlation between different columns of x (rows: observations)."""
    if x.shape[1] < 2:
        return float("nan")
    keep = np.isfinite(x).all(axis=1)
    x = x[keep]
    if len(x) < 3:
        return float("nan")
    # A column that never moves (to rounding) has no correlation.
    moving = x.std(axis=0) > 1e-12 * np.maximum(np.abs(x).mean(axis=0), 1e-300)
    if moving.sum() < 2:
        return float("nan")
    c = np.corrcoef(x[:, moving], rowvar=False)
    off = c[~np.eye(c.shape[0], dtype=bool)]
    return _mean(off)


# name -> (label, unit, scale for printing): shares print in %, the saving is one already.
LABELS = {
    "open_share": ("volume in the first 30 minutes", "%", 100.0),
    "close_share": ("volume in the last 30 minutes", "%", 100.0),
    "profile_variation": ("day-to-day variation of the profile (CV of 30-min shares)", "", 1.0),
    "volume_autocorrelation": ("minute volume autocorrelation (lag 1, vs profile)", "", 1.0),
    "daily_volume_autocorrelation": ("daily volume autocorrelation (lag 1)", "", 1.0),
    "volume_volatility_correlation": ("minute volume vs |return| correlation", "", 1.0),
    "daily_volume_volatility_correlation": ("daily volume vs realised volatility", "", 1.0),
    "return_correlation": ("cross-stock correlation of 5-minute returns", "", 1.0),
    "volume_correlation": ("cross-stock correlation of daily volume", "", 1.0),
    "return_kurtosis": ("excess kurtosis of 1-minute returns", "", 1.0),
    "vwap_saving": ("VWAP saving against TWAP on the power-law book", "%", 1.0),
}


def format_facts(facts: dict[str, float]) -> list[str]:
    """Printable lines, one figure each."""
    lines = []
    for key, (label, unit, scale) in LABELS.items():
        value = facts[key] * scale
        text = "n/a" if not np.isfinite(value) else f"{value:.3f}{unit}"
        lines.append(f"  {label:<58} {text}")
    return lines
