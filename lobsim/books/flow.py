"""Background order flow: each minute's traded volume as a sequence of market orders.

The passive minute (issue 13) needs the bar's volume V_t as the trades that reached the book,
in order, so that a resting limit order fills only when that flow reaches it. lobsim builds
them from the bar alone, with these documented assumptions:

1. Side (bulk volume classification, Easley, Lopez de Prado and O'Hara, "The Volume Clock",
   Journal of Portfolio Management 39(1), 2012): the buyer-initiated share of the minute's
   volume is Phi(dP_t / sigma), dP_t = S_t - S_{t-1} the bar's mid change and sigma the standard
   deviation of the one-minute changes of that stock-day (Phi the standard normal CDF). A flat
   bar splits its volume evenly; the shares are whole: V_buy = round(V Phi), V_sell = V - V_buy,
   V = round(V_t).
2. Count: each side's volume arrives in k = max(1, round(n V_side / V)) orders, n the expected
   number of background orders a minute (``BookModel.background_orders``, 20 by default).
3. Sizes: the gaps between k - 1 cut points drawn uniformly over the side's shares (a flat
   Dirichlet split: sizes roughly exponential with mean V_side / k, the shape reported for
   trade sizes at the minute scale by Gopikrishnan et al., "Statistical properties of share
   volume traded in financial markets", Phys. Rev. E 62, 2000, in its body). They add up to
   V_side exactly; empty gaps are no order.
4. Sequence: buy and sell orders interleave at random (each order an independent uniform
   arrival time within the minute).

Random numbers come from the counter-based generator of :mod:`lobsim.books.kernels` (keyed by
episode, minute and order), so the flow of an episode does not depend on batching or workers.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from lobsim.books.kernels import uniform01
from lobsim.engine.records import BUY, SELL

# Streams of the counter-based generator (the book's noise uses 0..3).
_CUT_STREAM = 16
_ARRIVAL_STREAM = 17


@njit(cache=True)
def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@njit(cache=True)
def background_flow(
    volume, price_change, sigma, n_orders, key, minute, directions, sizes, arrivals
):
    """The minute's background market orders, in arrival order.

    Parameters
    ----------
    volume : float
        The bar's traded volume (shares; rounded to whole shares).
    price_change, sigma : float
        dP_t and the stock-day's standard deviation of one-minute changes (sigma <= 0: an even
        split).
    n_orders : float
        Expected orders a minute, >= 1.
    key, minute : int
        Coordinates of the counter-based generator.
    directions, sizes, arrivals : ndarray((>= n_orders + 2,)), int64, int64, float64
        Outputs: BUY (+1) or SELL (-1), shares and arrival time (a fraction of the minute) of
        each order, in arrival order.

    Returns
    -------
    int
        Number of orders written; their sizes add up to round(volume).
    """
    total = np.int64(math.floor(volume + 0.5))
    if total <= 0:
        return 0
    share = 0.5 if sigma <= 0.0 else _phi(price_change / sigma)
    buy = np.int64(math.floor(total * share + 0.5))
    capacity = directions.shape[0]
    count = 0
    for side in range(2):
        v = buy if side == 0 else total - buy
        if v <= 0:
            continue
        k = max(1, np.int64(math.floor(n_orders * v / total + 0.5)))
        k = min(k, capacity - count, v)
        # The k - 1 cut points, sorted, in sizes[count:]; then their gaps, in place (a gap is
        # written at or before the cut it is read from), empty gaps dropped.
        base = count
        for j in range(1, k):
            cut = np.int64(uniform01(key, minute, side * 1_000_003 + j, _CUT_STREAM) * v)
            at = base + j - 1
            while at > base and sizes[at - 1] > cut:
                sizes[at] = sizes[at - 1]
                at -= 1
            sizes[at] = cut
        previous = 0
        for j in range(k):
            cut = sizes[base + j] if j < k - 1 else v
            q = cut - previous
            previous = cut
            if q > 0:
                directions[count] = BUY if side == 0 else SELL
                sizes[count] = q
                arrivals[count] = uniform01(key, minute, side * 1_000_003 + j, _ARRIVAL_STREAM)
                count += 1
    # Arrival order: a stable insertion sort (a few dozen orders).
    for j in range(1, count):
        d, s, a = directions[j], sizes[j], arrivals[j]
        at = j
        while at > 0 and arrivals[at - 1] > a:
            directions[at] = directions[at - 1]
            sizes[at] = sizes[at - 1]
            arrivals[at] = arrivals[at - 1]
            at -= 1
        directions[at], sizes[at], arrivals[at] = d, s, a
    return count


def day_sigma(price: np.ndarray) -> np.ndarray:
    """Standard deviation of the one-minute mid changes per stock-day: (D, M, N) -> (D, N)."""
    changes = np.diff(price, axis=1)
    return changes.std(axis=1)
