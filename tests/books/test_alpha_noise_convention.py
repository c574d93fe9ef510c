"""Alpha noise under both conventions: eps fixed (lobsim's default) or the depth scale
eps**(1 + a) fixed, eps_t following a_t (the paper's)."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import BookModel, InputError, Schedule, simulate, synthesize_market
from lobsim.simulation.kernels import Shape, shape_at


def shape(noise: float, depth: bool) -> Shape:
    return Shape(-1, 0.5, noise, 0, 0.0, 0.0, 0.0, 10.0, 0.0, int(depth))


def test_the_depth_scale_convention_holds_eps_to_the_one_plus_alpha_fixed():
    eps = 0.004
    for minute in range(1, 200):
        a, eps_t = shape_at(shape(0.4, True), np.uint64(12345), minute, eps)
        assert 0.1 <= a <= 0.9
        assert eps_t ** (1 + a) == pytest.approx(eps**1.5, rel=1e-12)
        same_a, same_eps = shape_at(shape(0.4, False), np.uint64(12345), minute, eps)
        assert same_a == a and same_eps == eps  # the same draw; eps held instead
    assert shape_at(shape(0.0, True), np.uint64(1), 5, eps) == (0.5, eps)


def test_costs_rise_with_the_noise_width_only_when_the_depth_scale_is_held():
    panel = synthesize_market(6, 8, seed=1)
    train, test = panel.days(0, 4), panel.days(4, 8)
    schedule = Schedule()
    parent = np.rint(0.05 * train.adv).astype(np.int64)

    class TWAP:
        def decide(self, obs):
            return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)

    def cost(**book):
        model = BookModel(**book).calibrated(train.volume, parent, schedule.decision_times)
        return simulate(test, TWAP(), book=model, parent=parent, schedule=schedule,
                        adv=train.adv, seed=3).episodes["cost"].sum()  # fmt: skip

    calm = cost()
    depth = cost(alpha_noise=0.25, alpha_noise_convention="depth")
    eps = cost(alpha_noise=0.25)
    assert depth > 1.01 * calm  # the paper's finding: noise costs more
    assert abs(eps / calm - 1) < 0.05  # eps held: about what the calm book costs


def test_an_unknown_convention_is_refused():
    with pytest.raises(InputError, match="alpha_noise_convention must be 'eps'"):
        BookModel(alpha_noise_convention="gamma")
