"""Limit child orders in the simulator: the Decision contract, queue, fills and accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lobsim import BookModel, InputError, StrategyError, simulate, synthesize_market
from lobsim.strategy import Decision, Limits

BOOK = BookModel(epsilon=1e-3, levels_per_eps=100)
PARENT = np.full(3, 12_000)


@pytest.fixture(scope="module")
def panel():
    return synthesize_market(3, 2, seed=5)


class Twap:
    name = "twap"

    def __init__(self, wrap=False):
        self.wrap = wrap

    def decide(self, obs):
        targets = obs.initial * (1 - (obs.k + 1) / obs.schedule.n_decisions)
        return Decision(targets) if self.wrap else targets


class Poster:
    """Each decision: post one slice at ``ticks`` from the mid; keep the rest."""

    name = "poster"

    def __init__(self, ticks=0.0, cancel=False):
        self.ticks, self.cancel, self.seen = ticks, cancel, []

    def decide(self, obs):
        self.seen.append(obs.resting.copy())
        n = obs.n_episodes
        size = np.maximum(obs.initial // obs.schedule.n_decisions, 1).astype(np.int64)
        return Decision(
            targets=obs.remaining.astype(float),  # no market order
            limits=Limits(np.arange(n), size, ticks=np.full(n, self.ticks)),
            cancel=obs.resting["id"] if self.cancel else None,
        )


def run(panel, strategy, **kw):
    return simulate(panel, strategy, book=BOOK, parent=PARENT, record_fills=True, **kw)


def test_a_decision_without_limit_orders_is_an_array(panel):
    plain, wrapped = run(panel, Twap()), run(panel, Twap(wrap=True))

    assert plain.episodes.equals(wrapped.episodes)
    assert not plain.fills.passive.any()
    assert (plain.episodes.posted_shares == 0).all() and (plain.episodes.passive_shares == 0).all()


def test_posted_orders_fill_passively_and_the_accounts_add_up(panel):
    result = run(panel, Poster())
    e, f = result.episodes, result.fills

    assert f.passive.any() and (~f.passive).any()  # the last decision crosses what is left
    np.testing.assert_array_equal(
        f.groupby("episode").qty.sum().to_numpy(), e.shares_filled.to_numpy()
    )
    parts = e.temporary_cost + e.permanent_cost + e.timing_cost + e.opportunity_cost
    np.testing.assert_allclose(e.shortfall, parts, rtol=1e-12, atol=1e-9)
    slice_ = PARENT[0] // 78
    assert (f[f.passive].groupby("order_id").qty.sum() <= slice_).all()  # never beyond size
    passive = f[f.passive].groupby("episode").qty.sum().reindex(range(len(e)), fill_value=0)
    np.testing.assert_array_equal(e.passive_shares.to_numpy(), passive.to_numpy())
    assert (e.posted_shares >= e.passive_shares).all() and (e.posted_shares > 0).all()
    # Resting sells earn against the mid what the walk costs: cheaper than TWAP's walk.
    twap = run(panel, Twap()).episodes
    assert e.temporary_bps.mean() < twap.temporary_bps.mean()


def test_resting_orders_are_visible_with_their_queue_and_cancels_withdraw_them(panel):
    poster = Poster(ticks=1e6, cancel=True)  # far from the mid: never reached
    result = run(panel, poster)

    assert not result.fills.passive.any()
    assert result.episodes.unfilled.sum() == 0  # the last decision crossed everything
    shown = [r for r in poster.seen if len(r)]
    assert shown and all(len(r) == 3 for r in shown)  # one per stock: the cancel withdrew
    # Posted far beyond the flow's reach, each still queues behind the shape's depth there.
    assert all((r["size"] > 0).all() and (r["ahead"] > 0).all() for r in shown)


@pytest.mark.parametrize(
    ("limits", "cancel", "message"),
    [
        (Limits(np.array([7]), np.array([10]), ticks=np.array([0.0])), None, "out of range"),
        (Limits(np.array([0]), np.array([10]), ticks=np.array([-1.0])), None, "out of range"),
        (Limits(np.array([0]), np.array([10])), None, "needs ticks or depth"),
        (None, np.array([123]), "not resting"),
    ],
)
def test_bad_limit_orders_are_refused_naming_the_strategy(panel, limits, cancel, message):
    class Bad:
        name = "bad"

        def decide(self, obs):
            return Decision(np.zeros(obs.n_episodes), limits=limits, cancel=cancel)

    with pytest.raises(StrategyError, match=f"strategy 'bad'.*{message}"):
        run(panel, Bad())


def test_a_depth_of_zero_posts_where_zero_ticks_does(panel):
    class AtDepth(Poster):
        def decide(self, obs):
            decision = super().decide(obs)
            limits = decision.limits
            at_depth = Limits(limits.episode, limits.size, depth=np.zeros(len(limits.size)))
            return Decision(decision.targets, at_depth, decision.cancel)

    ticks, depth = run(panel, Poster()), run(panel, AtDepth())

    assert ticks.episodes.equals(depth.episodes)
    assert ticks.fills.equals(depth.fills)


def test_background_orders_set_how_finely_the_flow_is_split(panel):
    from dataclasses import replace

    coarse = simulate(panel, Poster(), book=replace(BOOK, background_orders=5), parent=PARENT)
    fine = run(panel, Poster())

    assert 0 < coarse.background_orders < fine.background_orders
    # Fewer, larger orders: each carries more of the same bars.
    assert (coarse.background_shares / coarse.background_orders
            > 2 * fine.background_shares / fine.background_orders)  # fmt: skip
    with pytest.raises(InputError, match="background_orders"):
        BookModel(background_orders=0.5)


def test_every_cost_is_the_sum_over_the_fills_against_that_minutes_mid(panel):
    # Held apart from the kernels: each fill, passive or aggressive, costs a seller the mid of
    # the bar it traded in less its price (temporary; no permanent impact here), and the mid's
    # move since arrival (timing).
    result = run(panel, Poster())
    e, f = result.episodes, result.fills
    n = panel.n_stocks
    day, stock = f.episode.to_numpy() // n, f.episode.to_numpy() % n
    mid = panel.price[day, f.minute.to_numpy() - 1, stock]
    s0 = e.arrival_price.to_numpy()[f.episode.to_numpy()]
    qty = f.qty.to_numpy()
    by_episode = (
        pd.DataFrame(
            {"episode": f.episode, "temporary": qty * (mid - f.price), "timing": qty * (s0 - mid)}
        )
        .groupby("episode")
        .sum()
    )

    np.testing.assert_allclose(e.temporary_cost, by_episode.temporary, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(e.timing_cost, by_episode.timing, rtol=1e-9, atol=1e-6)
    assert (by_episode.temporary[f[f.passive].episode.unique()] < 0).any()  # spread earned
