"""``lobsim bench env``: environment steps per second, one episode at a time and 4,500 at once.

The paper universe's size (100 stocks x 45 test days = 4,500 episodes of 78 decisions) on a
synthetic market, a TWAP policy (the fraction 1 / (decisions left)); a step of the vector
environment is N environment steps. Against the same episodes through :func:`lobsim.simulate`
in the same run (its figure: child orders a second), and checked: the TWAP returns through the
environment (its fractions rounded as the strategy's targets are) equal minus the simulator's
``cost_bps``, episode by episode.
"""

from __future__ import annotations

import time

import numpy as np

DESCRIPTION = "Gymnasium environment steps/s: N = 1 and N = 4,500 (vs simulate on the same)"


def run(quick: bool = False) -> dict:
    from lobsim import BookModel, Schedule, simulate, synthesize_market
    from lobsim.envs import ExecutionBatch, ExecutionEnv, ExecutionVectorEnv, Reference

    stocks, days = (20, 10) if quick else (100, 45)
    panel = synthesize_market(stocks, days + 5, seed=2024)
    train, test = panel.days(0, 5), panel.days(5, days + 5)
    schedule = Schedule()
    parent = np.round(0.05 * train.adv).astype(np.int64)
    book = BookModel().calibrated(train.volume, parent, schedule.decision_times)
    batch = ExecutionBatch(test, Reference.of(train), book=book, parent=parent, side=-1,
                           schedule=schedule, adv=train.adv, seed=1)  # fmt: skip
    n = batch.n_episodes
    k_total = schedule.n_decisions
    twap = 1.0 / (k_total - np.arange(k_total + 1, dtype=np.float64)).clip(1)

    vec = ExecutionVectorEnv(n, batch=batch, sequential=True)

    def vector_episode():
        _, info = vec.reset(seed=0)
        total = np.zeros(n)
        for k in range(k_total):
            rem = info["remaining"]
            kept = np.minimum(np.rint(info["initial"] * (1.0 - (k + 1) / k_total)), rem)
            action = np.divide(rem - kept, rem, out=np.zeros(n), where=rem > 0)
            _, reward, _, _, info = vec.step(action[:, None])
            total += reward
        return total

    vector_episode()  # compiles on a first run, then reads the cache
    start = time.perf_counter()
    total = vector_episode()
    vector_s = time.perf_counter() - start
    vec.close()

    class TWAP:
        def decide(self, obs):
            return obs.initial * (1.0 - (obs.k + 1) / obs.schedule.n_decisions)

    def simulation():
        return simulate(test, TWAP(), book=book, parent=parent, schedule=schedule,
                        adv=train.adv, seed=1)  # fmt: skip

    simulation()
    start = time.perf_counter()
    result = simulation()
    simulate_s = time.perf_counter() - start
    gap = np.abs(total + result.episodes["cost_bps"].to_numpy()).max()
    if not gap < 1e-8:
        raise AssertionError(f"bench env: environment and simulator differ by {gap:.3g} bps")

    single = ExecutionEnv(batch=ExecutionBatch(test, Reference.of(train), book=book,
                                               parent=parent, side=-1, schedule=schedule,
                                               adv=train.adv, seed=1))  # fmt: skip
    episodes = 5 if quick else 20
    start = time.perf_counter()
    for e in range(episodes):
        single.reset(options={"episode": e})
        for k in range(k_total):
            single.step(np.array([twap[k]], dtype=np.float32))
    single_s = time.perf_counter() - start
    single.close()
    return {
        "episodes": n,
        "decisions": k_total,
        "vector_steps_per_second": n * k_total / vector_s,
        "single_steps_per_second": episodes * k_total / single_s,
        "simulate_orders_per_second": n * k_total / simulate_s,
        "vector_vs_simulate": simulate_s / vector_s,
        "target_1e6_met": bool(n * k_total / vector_s >= 1e6),
        "max_return_gap_bps": float(gap),
    }
