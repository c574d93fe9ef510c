"""Fits shared between the variants of a sweep: once per (fold, strategy, key), same bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lobsim import MarketPanel, Schedule, StrategyError, fit_digest
from lobsim.run import build_plan, run_scenario
from lobsim.rundir import FITS, TABLES
from lobsim.scenario import parse_scenario
from tests.run.conftest import TINY, run_cli, write_scenario
from tests.run.plugins import fit_count

# Two variants (the book's noise, which no strategy here reads) x two folds.
SHARE = (
    TINY.split("[strategies.twap]")[0]
    + """[strategies.twap]

[strategies.counts]
class = "tests.run.plugins:{cls}"
counter = "{counter}"
key = "{key}"
sleep = {sleep}
{extra}
[sweep]
"book.alpha_noise" = [0.1, 0.3]
"""
)


def _run(tmp_path, name, *args, cls="CountsFits", key="train", sleep=0.0, extra=""):
    """(exit code, run directory, fits counted) of a run of SHARE."""
    counter = tmp_path / f"{name}.count"
    text = SHARE.format(cls=cls, counter=counter, key=key, sleep=sleep, extra=extra)
    scenario = write_scenario(tmp_path, text, f"{name}.toml")
    out = tmp_path / name
    return run_cli(scenario, "--out", out, *args), out, fit_count(counter)


def _tables(out) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in TABLES}


def _fit_info(out) -> list[dict]:
    """The counting strategy's timings in the manifest, task by task (variant, then fold)."""
    doc = json.loads((out / "manifest.json").read_text())
    return [t["strategies"]["counts"] for t in doc["tasks"]]


def _variant_ids(out) -> list[str]:
    return [v["id"] for v in json.loads((out / "manifest.json").read_text())["variants"]]


def test_equal_keys_fit_once_per_fold(tmp_path):
    code, out, fits = _run(tmp_path, "shared")

    info = _fit_info(out)  # (v0, fold 0), (v0, fold 1), (v1, fold 0), (v1, fold 1)
    assert (code, fits) == (0, 2)
    assert [i["fit_reused"] for i in info] == [False, False, True, True]
    assert [i["fit_variant"] for i in info[2:]] == [_variant_ids(out)[0]] * 2


def test_a_complete_run_keeps_no_fits(tmp_path):
    code, out, _ = _run(tmp_path, "shared")

    assert code == 0
    assert not list(out.glob(f"tasks/*/{FITS}"))


@pytest.mark.parametrize(
    ("cls", "key"),
    [("CountsFits", "book"), ("CountsFits", "none"), ("CountsFitsWithoutKey", "train")],
    ids=["keys-differ", "key-none", "no-fit-key"],
)
def test_other_keys_fit_in_every_task(tmp_path, cls, key):
    code, out, fits = _run(tmp_path, "own", cls=cls, key=key)

    assert (code, fits) == (0, 4)
    assert not any(i["fit_reused"] for i in _fit_info(out))


def test_shared_fits_give_the_bytes_of_fitting_afresh(tmp_path):
    _, shared, _ = _run(tmp_path, "shared")
    _, afresh, _ = _run(tmp_path, "afresh", key="none")

    assert _tables(shared) == _tables(afresh)


def test_the_lstm_shared_gives_the_bytes_of_the_lstm_fitted_afresh(tmp_path):
    head, lstm = TINY.split("[strategies.lstm]")
    sweep = '\n[sweep]\n"book.alpha_noise" = [0.1, 0.3]\n'
    shared = write_scenario(tmp_path, f"{head}[strategies.lstm]{lstm}{sweep}", "shared.toml")
    plain = write_scenario(
        tmp_path,
        f'{head}[strategies.lstm]\nclass = "tests.run.lstm_plugins:UnsharedLSTM"{lstm}{sweep}',
        "plain.toml",
    )
    assert run_cli(shared, "--out", tmp_path / "shared") == 0
    assert run_cli(plain, "--out", tmp_path / "plain") == 0

    doc = json.loads((tmp_path / "shared" / "manifest.json").read_text())
    reused = [t["strategies"]["lstm"]["fit_reused"] for t in doc["tasks"]]
    assert reused == [False, False, True, True]
    doc = json.loads((tmp_path / "plain" / "manifest.json").read_text())
    assert not any(t["strategies"]["lstm"]["fit_reused"] for t in doc["tasks"])
    assert _tables(tmp_path / "shared") == _tables(tmp_path / "plain")


def test_workers_in_other_processes_share_fits(tmp_path):
    code, pooled, fits = _run(tmp_path, "pooled", "--workers", "2")
    _, afresh, _ = _run(tmp_path, "afresh", key="none")

    assert (code, fits) == (0, 2)
    assert _tables(pooled) == _tables(afresh)


def test_dask_workers_share_fits(tmp_path):
    pytest.importorskip("dask.distributed")
    code, dasked, fits = _run(tmp_path, "dask", "--backend", "dask", "--workers", "2")
    _, afresh, _ = _run(tmp_path, "afresh", key="none")

    assert (code, fits) == (0, 2)
    assert _tables(dasked) == _tables(afresh)


def test_a_task_waits_for_the_fit_another_task_is_making(tmp_path):
    # One fold: both variants' tasks start together, in two processes; one fits (slowly).
    code, out, fits = _run(tmp_path, "waits", "--workers", "2", "--set", "folds.count=1",
                           sleep=3.0)  # fmt: skip

    assert (code, fits) == (0, 1)
    assert sorted(i["fit_reused"] for i in _fit_info(out)) == [False, True]


FAILS = """
[strategies.fails]
class = "tests.run.plugins:FailsWhenMarked"
marker = "{marker}"
"""


def test_resume_reuses_the_fits_of_the_interrupted_run(tmp_path):
    marker = tmp_path / "marker"
    marker.touch()
    extra = FAILS.format(marker=marker)
    failed, out, fits_before = _run(tmp_path, "run", extra=extra)
    marker.unlink()

    code, _, fits = _run(tmp_path, "run", "--resume", extra=extra)
    _, afresh, _ = _run(tmp_path, "afresh", key="none", extra=extra)

    assert (failed, fits_before, code, fits) == (2, 1, 0, 2)  # one fit per fold in all
    assert [i["fit_reused"] for i in _fit_info(out)] == [True, False, True, True]
    assert _tables(out) == _tables(afresh)


def test_a_run_without_resume_fits_again(tmp_path):
    marker = tmp_path / "marker"
    marker.touch()
    extra = FAILS.format(marker=marker)
    _run(tmp_path, "run", extra=extra)  # fails in its first task, after the fit was stored
    marker.unlink()

    code, out, fits = _run(tmp_path, "run", extra=extra)

    assert (code, fits) == (0, 1 + 2)
    assert [i["fit_reused"] for i in _fit_info(out)] == [False, False, True, True]


def test_a_fit_key_that_is_not_a_digest_is_refused_naming_the_strategy(tmp_path):
    text = SHARE.format(cls="BadFitKey", counter=tmp_path / "c", key="x", sleep=0, extra="")
    scenario = parse_scenario(text, name="share")

    with pytest.raises(StrategyError, match="strategy 'counts': fit_key"):
        run_scenario(scenario, tmp_path / "out")


def test_a_scenario_without_a_sweep_shares_nothing(tmp_path):
    plan = build_plan(parse_scenario(TINY, name="tiny"), tmp_path / "out")

    assert all(spec.fits is None for spec in plan.tasks)


# -- fit_digest ---------------------------------------------------------------------------


def _panel(tickers=("A", "B")) -> MarketPanel:
    price = np.full((2, 3, 2), 10.0)
    volume = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    return MarketPanel(price, volume, tickers, np.array(["2024-01-02", "2024-01-03"]))


def test_fit_digest_is_the_same_for_equal_parts():
    def parts():
        return ({"b": 1, "a": [1.5, None]}, np.arange(4), _panel(), Schedule(30, 5),
                np.random.SeedSequence(3, spawn_key=(1, 2)))  # fmt: skip

    assert fit_digest(*parts()) == fit_digest(*parts())
    assert fit_digest({"a": 1, "b": 2}) == fit_digest({"b": 2, "a": 1})


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (1, 1.0),
        (1, True),
        (1, "1"),
        (0.0, -0.0),
        ((1, 2), [1, 2]),
        (("ab", "c"), ("a", "bc")),
        (np.arange(4), np.arange(4.0)),
        (np.arange(4), np.arange(4).reshape(2, 2)),
        (np.random.SeedSequence(3, spawn_key=(1,)), np.random.SeedSequence(3, spawn_key=(2,))),
        (_panel(), _panel(("A", "C"))),
        (Schedule(30, 5), Schedule(30, 10)),
    ],
)
def test_fit_digest_tells_apart_what_differs(one, other):
    assert fit_digest(one) != fit_digest(other)


def test_fit_digest_refuses_what_it_cannot_see_into():
    with pytest.raises(TypeError, match="object"):
        fit_digest(object())
