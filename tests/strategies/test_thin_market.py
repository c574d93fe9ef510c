"""The adaptive strategies on a thin market: they learn under the rules they are scored by."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lobsim import simulate
from lobsim.strategies.lstm import LSTM
from lobsim.strategies.lstm.train import day_set, schedule_cost
from tests.strategies.folds import make_fold


@pytest.fixture(scope="module")
def fold():
    return make_fold(n_stocks=8, train_days=20, test_days=12, seed=5, preset="thin")


def test_the_thin_preset_trades_in_about_a_hundred_minutes_a_day(fold):
    traded = (fold.train.panel.volume > 0).sum(axis=1)  # (D, N)

    assert 80 <= np.median(traded) <= 125
    assert traded.min() >= 1


def test_the_lstm_training_loss_is_what_the_simulator_charges(fold):
    lstm = LSTM(epochs=2, lr=0.01, validation_days=0, progress=False, threads=1, seed=1)
    lstm.fit(fold.train)
    test = fold.test
    data = day_set(
        test.price,
        test.volume,
        fold.train.schedule,
        fold.train.book.epsilons(test.n_stocks),
        fold.train.parent,
        lstm.normaliser_,
        lstm.base_,
        "bps",
        torch.device("cpu"),
        alpha=lstm.alpha_,
        rows=lstm.rows_,
    )
    assert data.carry is not None  # some windows of these days have no trade
    with torch.no_grad():
        loss = schedule_cost(lstm.net_, data, lstm.alpha_).numpy()  # (D, N), bps

    fine = dataclasses.replace(fold.train.book, levels_per_eps=400)  # close to the closed form
    episodes = simulate(
        test,
        lstm,
        book=fine,
        parent=fold.train.parent,
        schedule=fold.train.schedule,
        adv=fold.train.panel.adv,
    ).episodes
    assert (episodes.unfilled > 0).any()  # ... and some days leave shares at the close
    charged = episodes.cost_bps.to_numpy().reshape(loss.shape)

    np.testing.assert_allclose(loss, charged, rtol=0.01)  # the engine's tick: 0.3% here
    # Without the rules (every order costed in its own bar, empty or not) it would be far off.
    with torch.no_grad():
        naive = schedule_cost(lstm.net_, dataclasses.replace(data, carry=None), lstm.alpha_)
    assert np.abs(naive.numpy() / charged - 1).max() > 1.0
