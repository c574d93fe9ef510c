"""The synthetic market is worth adapting to: adaptive < VWAP < TWAP in mean daily cost.

Costs use the closed form of DESIGN.md section 1 with a = 1/2: selling n shares in minute t
costs S_t * n**p * V_t**(1-p), p = (2+a)/(1+a) (eps and the constant factor cancel in the
comparison). Orders are decided every 5 minutes and trade in the decision's bar; training on
60 days and testing on the next 45, as in the paper's folds.
"""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import SynthParams, synthesize_market

P = (2 + 0.5) / (1 + 0.5)
INTERVAL, MINUTES = 5, 390
DECISIONS = np.arange(INTERVAL, MINUTES + 1, INTERVAL)  # bar t = 5, 10, ..., 390


@pytest.fixture(scope="module")
def fold():
    panel = synthesize_market(12, 105, minutes=MINUTES, seed=2024)
    return panel.days(0, 60), panel.days(60, 105)


def _cost(test, fractions):
    """Mean daily cost per stock; fractions (days, K, stocks) of the parent order per bar."""
    price = test.price[:, DECISIONS - 1, :]
    volume = test.volume[:, DECISIONS - 1, :]
    return (price * fractions**P * volume ** (1 - P)).sum(axis=1).mean(axis=0)


def _vwap_weights(train):
    """Paper's VWAP: mean training share of volume in each decision's 5-minute interval."""
    share = (train.volume / train.volume.sum(axis=1, keepdims=True)).mean(axis=0)
    weights = share.reshape(len(DECISIONS), INTERVAL, -1).sum(axis=1)
    return weights / weights.sum(axis=0), share


def _adaptive(train, test, params):
    """VWAP re-weighted by the forecast of the persistent intraday volume shock.

    The shock at t-1 is estimated from the last 10 minutes of log-volume against the training
    profile, net of the day's level so far; it decays as phi**h over the h minutes ahead.
    """
    weights, share = _vwap_weights(train)
    residual = np.log(test.volume) - np.log(share)[None]
    phi = 0.5 ** (1 / params.intraday_half_life)
    remaining = np.ones((test.n_days, test.n_stocks))
    fractions = np.zeros((test.n_days, len(DECISIONS), test.n_stocks))
    for k, t in enumerate(DECISIONS):
        seen = residual[:, : t - 1, :]  # lag 1: minutes 1 .. t-1
        shock = seen[:, -10:, :].mean(axis=1) - seen.mean(axis=1)
        ahead = DECISIONS[k:] - (t - 1)
        tilt = weights[k:][None] * np.exp(phi ** ahead[None, :, None] * shock[:, None, :])
        now = remaining if k == len(DECISIONS) - 1 else remaining * tilt[:, 0] / tilt.sum(axis=1)
        fractions[:, k] = now
        remaining = remaining - now
    return fractions


def test_vwap_beats_twap_on_every_stock(fold):
    train, test = fold
    weights, _ = _vwap_weights(train)
    shape = (test.n_days, len(DECISIONS), test.n_stocks)

    twap = _cost(test, np.full(shape, 1 / len(DECISIONS)))
    vwap = _cost(test, np.broadcast_to(weights, shape))

    assert np.all(vwap < twap)
    assert vwap.sum() < 0.95 * twap.sum()


def test_an_adaptive_schedule_beats_vwap(fold):
    train, test = fold
    weights, _ = _vwap_weights(train)
    shape = (test.n_days, len(DECISIONS), test.n_stocks)

    vwap = _cost(test, np.broadcast_to(weights, shape))
    adaptive = _cost(test, _adaptive(train, test, SynthParams()))

    assert np.mean(adaptive < vwap) >= 0.75
    assert adaptive.sum() < 0.99 * vwap.sum()


def test_without_intraday_shocks_adapting_gains_nothing():
    params = SynthParams(intraday_shock_sd=0.0)
    panel = synthesize_market(6, 105, minutes=MINUTES, seed=2024, params=params)
    train, test = panel.days(0, 60), panel.days(60, 105)
    weights, _ = _vwap_weights(train)
    shape = (test.n_days, len(DECISIONS), test.n_stocks)

    vwap = _cost(test, np.broadcast_to(weights, shape))
    adaptive = _cost(test, _adaptive(train, test, params))

    assert adaptive.sum() > 0.995 * vwap.sum()
