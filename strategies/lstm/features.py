"""The LSTM's inputs, minute by minute, in NumPy (no torch here).

Row r of a day's input describes minute r (bar r of DESIGN.md, r = 1..M); row 0 is a
pre-open row (all-zero market features, full inventories) so that a decision which sees no bar
yet (t - lag = 0) still has an input. The output that sets decision k is read at row
t_k - lag: the last bar the decision may see. Each row has 1 + 4N features:

- ``[0]`` minute: r / M, in [0, 1].
- ``[1 : 1+N]`` price: ``100 * log(S[r] / S[1])``, the log return since the day's first bar
  in per cent (the first bar is the first price any decision of the day can see).
- ``[1+N : 1+2N]`` volume: ``log((V[r] + d) / (mu[r] + d))`` clipped to [-6, 6], the log of
  the minute's volume relative to the stock's mean volume in that minute over the training
  days (``mu``, the training profile), with ``d = 1e-3 * ADV / M`` so empty minutes stay
  finite. On the synthetic market its day-to-day sd is about 0.7.
- ``[1+2N : 1+3N]`` TWAP inventory: the fraction of the parent order TWAP still holds at the
  end of minute r (1 - #decisions traded in bars <= r / K).
- ``[1+3N : 1+4N]`` VWAP inventory: the same for the VWAP schedule of each stock.

Only bars 1..r enter row r, so the input that sets decision k covers bars up to t_k - lag.

The shared network reads, of these rows, each stock's own five features and the
cross-section's mean price and volume (:func:`stock_inputs`); with decision rows
(:func:`pooled_rows`) one row stands for the bars since the previous decision, so decision k
still sees bars up to t_k - lag and no later.
"""

from __future__ import annotations

import numpy as np

PRICE_SCALE = 100.0
VOLUME_CLIP = 6.0
VOLUME_FLOOR = 1e-3


def inventory_paths(
    vwap_weights: np.ndarray, decision_times: np.ndarray, minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """TWAP and VWAP remaining fractions at the end of each minute, with the pre-open row.

    Parameters
    ----------
    vwap_weights : ndarray(float64, (N, K))
        VWAP's share of the parent order at each decision, rows summing to one.
    decision_times : ndarray(int64, (K,))
        Bars (1-based) in which the child orders trade.
    minutes : int

    Returns
    -------
    twap, vwap : ndarray(float64, (M + 1, N))
        Row r: the fraction still held after every child order traded in bars <= r.
    """
    n_stocks, n_dec = vwap_weights.shape
    rows = np.arange(minutes + 1)
    done = np.searchsorted(decision_times, rows, side="right")  # decisions traded by row r
    twap = np.repeat((1.0 - done / n_dec)[:, None], n_stocks, axis=1)
    cum = np.concatenate([np.zeros((n_stocks, 1)), np.cumsum(vwap_weights, axis=1)], axis=1)
    vwap = np.clip(1.0 - cum[:, done].T, 0.0, 1.0)
    return twap, vwap


def volume_floor(adv: np.ndarray, minutes: int) -> np.ndarray:
    """ndarray(float64, (N,)): the d of the volume feature, 1e-3 of an average minute."""
    return VOLUME_FLOOR * np.asarray(adv, dtype=np.float64) / minutes


def minute_features(
    price: np.ndarray,
    volume: np.ndarray,
    first_price: np.ndarray,
    rows: np.ndarray,
    profile: np.ndarray,
    floor: np.ndarray,
    twap: np.ndarray,
    vwap: np.ndarray,
    minutes: int,
) -> np.ndarray:
    """Input rows ``rows`` (>= 1) of D days.

    Parameters
    ----------
    price, volume : ndarray(float64, (D, len(rows), N))
        Bars ``rows`` of each day (bar r is ``price[:, r - 1]`` of a panel).
    first_price : ndarray(float64, (D, N))
        Each day's first bar.
    rows : ndarray(int64, (R,))
        1-based minutes.
    profile : ndarray(float64, (M, N))
        Mean training volume of each minute.
    floor : ndarray(float64, (N,))
        See :func:`volume_floor`.
    twap, vwap : ndarray(float64, (M + 1, N))
        From :func:`inventory_paths`.
    minutes : int

    Returns
    -------
    ndarray(float32, (D, R, 1 + 4N))
    """
    n_days, n_rows, n_stocks = price.shape
    out = np.empty((n_days, n_rows, 1 + 4 * n_stocks), dtype=np.float32)
    out[:, :, 0] = (rows / minutes)[None, :]
    out[:, :, 1 : 1 + n_stocks] = PRICE_SCALE * np.log(price / first_price[:, None, :])
    ratio = (volume + floor) / (profile[rows - 1] + floor)[None]
    out[:, :, 1 + n_stocks : 1 + 2 * n_stocks] = np.clip(np.log(ratio), -VOLUME_CLIP, VOLUME_CLIP)
    out[:, :, 1 + 2 * n_stocks : 1 + 3 * n_stocks] = twap[rows][None]
    out[:, :, 1 + 3 * n_stocks :] = vwap[rows][None]
    return out


def stock_inputs(x: np.ndarray, n_stocks: int) -> np.ndarray:
    """The shared network's inputs: rows (T, D, 1 + 4N) -> (T, D, N, 7).

    Per stock: ``[0]`` the minute, ``[1:5]`` its own price, volume, TWAP and VWAP inventory
    features, ``[5]`` and ``[6]`` the mean over the N stocks of the price and of the volume
    feature (the market's return and activity relative to its profile).
    """
    n = n_stocks
    x = np.asarray(x, dtype=np.float64)
    price, volume = x[..., 1 : 1 + n], x[..., 1 + n : 1 + 2 * n]
    out = np.empty((*x.shape[:-1], n, 7), dtype=np.float64)
    out[..., 0] = x[..., :1]
    out[..., 1] = price
    out[..., 2] = volume
    out[..., 3] = x[..., 1 + 2 * n : 1 + 3 * n]
    out[..., 4] = x[..., 1 + 3 * n :]
    out[..., 5] = price.mean(axis=-1, keepdims=True)
    out[..., 6] = volume.mean(axis=-1, keepdims=True)
    return out


def span_ends(decision_times: np.ndarray, lag: int) -> np.ndarray:
    """ndarray(int64, (J,)): where the spans of decision rows end, minutes 1..M.

    Decision k reads bars up to t_k - lag; the decision row that it reads pools the bars since
    the previous decision's. Span j covers minutes (ends[j-1], ends[j]] (ends[-1] := 0); the
    decisions that see no bar (t_k - lag = 0) read the pre-open row.
    """
    ends = np.asarray(decision_times[:-1], dtype=np.int64) - lag
    return np.unique(ends[ends > 0])


def decision_rows_read(decision_times: np.ndarray, lag: int) -> np.ndarray:
    """ndarray(int64, (K - 1,)): the decision row each decision but the last reads (0: the
    pre-open row)."""
    ends = np.asarray(decision_times[:-1], dtype=np.int64) - lag
    return np.searchsorted(span_ends(decision_times, lag), ends, side="right")


def pool_span(rows: np.ndarray, n_stocks: int) -> np.ndarray:
    """One decision row from the minute rows of its span: (..., S, F) -> (..., F).

    The span's last row, with the volume features replaced by their mean over the span (the
    log of the geometric mean volume relative to the profile): the recurrence then steps once
    per decision, not once per minute.
    """
    out = np.array(rows[..., -1, :], dtype=np.float32)
    volume = slice(1 + n_stocks, 1 + 2 * n_stocks)
    out[..., volume] = rows[..., volume].astype(np.float64).mean(axis=-2)
    return out


def pooled_rows(x: np.ndarray, ends: np.ndarray, n_stocks: int) -> np.ndarray:
    """Minute rows (D, 1 + R, F), row 0 the pre-open row -> decision rows (D, 1 + J, F): the
    pre-open row, then :func:`pool_span` of each span (ends from :func:`span_ends`, <= R)."""
    starts = np.concatenate([[0], ends[:-1]])
    spans = [pool_span(x[:, a + 1 : b + 1], n_stocks) for a, b in zip(starts, ends, strict=True)]
    return np.concatenate([x[:, :1]] + [span[:, None] for span in spans], axis=1)


def preopen_row(n_days: int, n_stocks: int) -> np.ndarray:
    """ndarray(float32, (D, 1, 1 + 4N)): row 0, before any bar: full inventories."""
    out = np.zeros((n_days, 1, 1 + 4 * n_stocks), dtype=np.float32)
    out[:, :, 1 + 2 * n_stocks :] = 1.0
    return out


def day_features(
    price: np.ndarray,
    volume: np.ndarray,
    last_row: int,
    profile: np.ndarray,
    floor: np.ndarray,
    twap: np.ndarray,
    vwap: np.ndarray,
) -> np.ndarray:
    """Rows 0..``last_row`` of whole days, for training.

    Parameters
    ----------
    price, volume : ndarray(float64, (D, M, N))
    last_row : int
        The last row any decision reads (t_{K-2} - lag).

    Returns
    -------
    ndarray(float32, (D, last_row + 1, 1 + 4N))
    """
    n_days, minutes, n_stocks = price.shape
    head = preopen_row(n_days, n_stocks)
    if last_row < 1:
        return head
    rows = np.arange(1, last_row + 1)
    body = minute_features(
        price[:, :last_row],
        volume[:, :last_row],
        price[:, 0],
        rows,
        profile,
        floor,
        twap,
        vwap,
        minutes,
    )
    return np.concatenate([head, body], axis=1)
