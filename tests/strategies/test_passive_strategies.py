"""The passive strategies: options, schedule, and what posting buys on the synthetic market."""

from __future__ import annotations

import types

import numpy as np
import pytest

from lobsim import InputError, load_strategy, simulate
from lobsim.strategies.passive import PassiveAdaptive, PassiveSlicer
from lobsim.strategies.vwap import VWAP
from tests.strategies.folds import make_fold


@pytest.fixture(scope="module")
def fold():
    return make_fold(n_stocks=6, train_days=20, test_days=5, seed=3)


def _run(fold, strategy):
    strategy.fit(fold.train)
    return simulate(
        fold.test, strategy, book=fold.train.book, parent=fold.train.parent,
        adv=fold.train.panel.adv, record_fills=True,
    )  # fmt: skip


def test_posting_each_slice_is_cheaper_than_walking_the_book(fold):
    vwap, passive = _run(fold, VWAP()), _run(fold, PassiveSlicer())

    fills = passive.fills
    assert fills[fills.passive].qty.sum() > 0.5 * fills.qty.sum()  # most of it rested
    assert passive.episodes.cost.sum() < vwap.episodes.cost.sum()
    assert (passive.episodes.unfilled == 0).all()  # the leftovers were crossed


def test_the_slicer_never_falls_behind_its_schedule_by_more_than_a_slice(fold):
    result = _run(fold, PassiveSlicer(schedule="twap"))
    held = result.inventory / fold.train.parent[np.arange(result.inventory.shape[0]) % 6, None]
    planned = 1.0 - np.arange(79) / 78  # before each decision, then after the last

    # Before decision k it holds at most the plan before k-1 (the slice of k-1 is crossed at k).
    assert np.all(held[:, 1:] <= planned[:-1] + 1e-9 + 1 / 12_000)


def test_the_adaptive_variant_posts_only_when_the_mid_runs_toward_its_orders():
    adaptive = PassiveAdaptive(lookback=3)
    price = np.array([[[10.0, 11.0], [10.0, 11.0], [10.0, 11.0], [10.2, 10.8]]])  # (1, 4, 2)
    obs = types.SimpleNamespace(price=price, day=np.zeros(2, int), stock=np.arange(2),
                                side=np.full(2, -1), n_episodes=2)  # fmt: skip

    # A sell: post where the mid rose (stock 0), cross where it fell (stock 1).
    assert adaptive.posts(obs).tolist() == [True, False]


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (PassiveSlicer, {"schedule": "fast"}, "schedule must be one of"),
        (PassiveSlicer, {"ticks": -1.0}, "ticks must be a finite number >= 0"),
        (PassiveAdaptive, {"lookback": 0}, "lookback must be an int >= 1"),
    ],
)
def test_bad_options_are_refused(cls, options, message):
    with pytest.raises(InputError, match=message):
        cls(**options).check_options()


def test_short_names_are_registered():
    assert load_strategy("passive") is PassiveSlicer
    assert load_strategy("passive_adaptive") is PassiveAdaptive
