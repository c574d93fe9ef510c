"""VWAP's schedule is the power-law optimum when volume is known (Papanicolaou et al. 2023).

With deterministic volume, no risk aversion and a mid that does not move, the expected cost of
a schedule is sum_k c S n_k**p V_k**(1-p), minimised subject to sum_k n_k = X by n_k
proportional to V_k: no feasible perturbation of VWAP may lower it, neither in the closed form
nor through the simulator's books.
"""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import powerlaw_cost, synthesize_market
from lobsim.strategies.twap import TWAP
from lobsim.strategies.vwap import VWAP
from tests.strategies.folds import make_fold, with_constant_price


class FixedSchedule:
    """Sells the fractions ``trades`` (N, K) of the parent order, one per decision."""

    def __init__(self, trades: np.ndarray) -> None:
        self.left = 1.0 - np.cumsum(trades, axis=1)

    def decide(self, obs):
        return obs.initial * np.clip(self.left[obs.stock, obs.k], 0.0, 1.0)


def feasible_perturbations(trades: np.ndarray, rng, scales):
    """Schedules with the same total per stock and no buying, at several distances."""
    for scale in scales:
        delta = rng.normal(size=trades.shape)
        delta -= delta.mean(axis=1, keepdims=True)
        delta *= (
            scale * trades.mean(axis=1, keepdims=True) / np.abs(delta).max(axis=1, keepdims=True)
        )
        # Shrink where a trade would turn into a buy; the sum stays that of ``trades``.
        room = np.where(delta < 0, trades / np.maximum(-delta, 1e-300), np.inf).min(axis=1)
        yield trades + delta * np.minimum(1.0, 0.99 * room)[:, None]


def closed_form_cost(fold, trades: np.ndarray) -> np.ndarray:
    """Expected walk cost per stock of selling trades * X at the decision bars, $ (N,)."""
    train = fold.train
    bars = train.schedule.decision_times - 1
    volume = fold.test.volume[0, bars, :].T  # (N, K): deterministic, every day alike
    eps = train.book.epsilons(len(train.parent))[:, None]
    shares = train.parent[:, None] * trades
    return powerlaw_cost(shares, volume, 1.0, train.book.alpha, eps).sum(axis=1)


@pytest.fixture(scope="module")
def deterministic():
    return make_fold(n_stocks=5, train_days=3, test_days=1, volume_mode="deterministic")


def test_no_feasible_perturbation_lowers_the_closed_form_cost(deterministic):
    vwap = deterministic.fitted(VWAP())
    trades = np.diff(vwap.done_, axis=1, prepend=0.0)
    best = closed_form_cost(deterministic, trades)
    rng = np.random.default_rng(0)

    costs = [
        closed_form_cost(deterministic, t)
        for t in feasible_perturbations(trades, rng, np.geomspace(1e-6, 0.9, 40))
    ]

    assert np.all(np.array(costs) >= best * (1 - 1e-12))


def test_no_perturbation_lowers_the_simulated_cost():
    market = synthesize_market(5, 4, seed=8, volume_mode="deterministic")
    fold = make_fold(market=with_constant_price(market), train_days=3, test_days=1)
    vwap = fold.fitted(VWAP())
    trades = np.diff(vwap.done_, axis=1, prepend=0.0)
    best = fold.cost(vwap)
    rng = np.random.default_rng(1)

    costs = [
        fold.cost(FixedSchedule(t)) for t in feasible_perturbations(trades, rng, (0.05, 0.2, 0.5))
    ]

    assert np.all(np.array(costs) > best)


def test_the_simulator_agrees_with_the_closed_form_at_fine_resolution():
    market = synthesize_market(5, 4, seed=8, volume_mode="deterministic")
    fold = make_fold(market=with_constant_price(market, 1.0), train_days=3, test_days=1)
    vwap = fold.fitted(VWAP())

    simulated = fold.cost(vwap)

    expected = closed_form_cost(fold, np.diff(vwap.done_, axis=1, prepend=0.0))
    np.testing.assert_allclose(simulated, expected, rtol=2e-3)


def test_with_constant_volume_vwap_is_twap():
    fold = make_fold(n_stocks=3, train_days=4, test_days=2, volume_mode="constant")
    vwap = fold.fitted(VWAP())
    steps = fold.train.schedule.n_decisions

    np.testing.assert_allclose(
        vwap.done_, np.tile(np.arange(1, steps + 1) / steps, (3, 1)), rtol=1e-12
    )
    # Equal up to whole-share rounding of the targets.
    np.testing.assert_allclose(fold.cost(vwap), fold.cost(TWAP()), rtol=1e-5)
