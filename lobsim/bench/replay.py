"""``lobsim bench replay``: LOBSTER messages replayed through the engine per second.

A synthetic LOBSTER day (:func:`lobsim.market.lobster.synthesize_lobster`: 100,000 messages,
10 levels; ``--quick`` 10,000) is replayed by the Numba kernel with the comparison against the
orderbook file off and on, and by the pure-Python replay on the reference book
(:func:`lobsim.simulation.replay.reference_replay`) with the comparison off: the same rules,
checked to give the same report before anything is reported. Times are the thread's CPU time,
compile time excluded (each figure is the best of three runs; the first call compiles or loads
the cache and is reported on its own).
"""

from __future__ import annotations

import dataclasses
import time

DESCRIPTION = "LOBSTER replay: messages/s with and without the comparison, vs the reference"


def run(quick: bool = False) -> dict:
    from lobsim.market.lobster import synthesize_lobster
    from lobsim.simulation.replay import reference_replay, replay_lobster

    n = 10_000 if quick else 100_000
    start = time.perf_counter()
    day = synthesize_lobster(n, levels=10, seed=2024)
    synthesis = time.perf_counter() - start

    start = time.perf_counter()
    checked = replay_lobster(day)  # compiles, or loads the cache
    first_call = time.perf_counter() - start
    reference = reference_replay(day)
    if dataclasses.replace(checked, seconds=0.0) != dataclasses.replace(reference, seconds=0.0):
        raise RuntimeError(
            f"the engine's replay {checked} differs from the reference's {reference}"
        )
    if checked.mismatches:
        raise RuntimeError(f"the replay of lobsim's own day has {checked.mismatches} mismatches")
    off = min(replay_lobster(day, compare=False).seconds for _ in range(3))
    on = min(replay_lobster(day).seconds for _ in range(3))
    reference_off = reference_replay(day, compare=False).seconds
    messages = checked.messages
    return {
        "messages": messages,
        "levels": day.levels,
        "synthesis_seconds": synthesis,
        "first_call_seconds": first_call,
        "engine_messages_per_second": messages / off,
        "engine_compare_messages_per_second": messages / on,
        "reference_messages_per_second": messages / reference_off,
        "speedup": reference_off / off,
        "target_5e6_met": messages / off >= 5e6,
    }
