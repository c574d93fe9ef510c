"""``lobsim bench engine``: it reports every figure and refuses to report wrong results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lobsim.bench import engine as bench
from lobsim.cli import main
from lobsim.engine import ReferenceBook


def test_quick_run_prints_one_json_object_with_the_figures_and_ratios(capsys):
    code = main(["bench", "engine", "--quick", "--json"])

    figures = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("mixed_numba_events_per_s", "mixed_reference_events_per_s", "mixed_speedup",
                "walk_numba_orders_per_s", "walk_reference_orders_per_s", "walk_speedup",
                "walk_numba_parallel_orders_per_s"):  # fmt: skip
        assert figures[key] > 0
    assert isinstance(figures["walk_target_1e6_met"], bool)
    assert figures["mixed_speedup"] == pytest.approx(
        figures["mixed_numba_events_per_s"] / figures["mixed_reference_events_per_s"]
    )


def test_a_wrong_reference_result_stops_the_benchmark(monkeypatch):
    replay = ReferenceBook.replay

    def one_share_short(self, *args):
        fills, ends, results = replay(self, *args)
        fills = fills.copy()
        fills["qty"][-1] -= 1
        return fills, ends, results

    monkeypatch.setattr(ReferenceBook, "replay", one_share_short)

    with pytest.raises(RuntimeError, match="fills differ"):
        bench.run(quick=True)


def test_random_stream_numbers_orders_like_the_facades():
    stream = bench.random_stream(np.random.default_rng(0), 2000)

    numbered = stream["order_ids"][stream["kinds"] != bench.EV_CANCEL]

    assert numbered.tolist() == list(range(1, len(numbered) + 1))


def test_compile_time_is_reported_apart_from_the_timed_figures():
    figures = bench.run(quick=True)

    assert next(iter(figures)) == "compile_seconds"
    assert figures["compile_seconds"] >= 0


def test_the_lean_book_replays_a_stream_as_the_reference_book_does():
    stream = bench.random_stream(np.random.default_rng(3), 3000)
    args = [stream[k] for k in bench.STREAM_FIELDS]
    lean = bench.LeanBook()

    fills, ends, results = lean.replay(stream)

    ref = ReferenceBook()
    ref_fills, ref_ends, ref_results = ref.replay(*args)
    assert fills == ref_fills.tolist()
    assert (ends, results) == (ref_ends.tolist(), ref_results.tolist())
    for side in (bench.BID, bench.ASK):
        assert lean.queues(side) == ref._queues(side)


def test_a_lean_book_that_disagrees_stops_the_benchmark(monkeypatch):
    match = bench.LeanBook.match

    def keeps_a_share(self, direction, limit, qty, taker_id):
        return match(self, direction, limit, max(qty - 1, 0), taker_id)

    monkeypatch.setattr(bench.LeanBook, "match", keeps_a_share)

    with pytest.raises(RuntimeError, match="lean book"):
        bench.run(quick=True)
