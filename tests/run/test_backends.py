"""Backends give the same bytes; a killed worker or driver loses nothing with --resume."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.run.conftest import REPO, TINY, run_cli, write_scenario

pytest.importorskip("dask.distributed")

# The tiny scenario without the LSTM (no torch in the subprocesses) plus a strategy that kills
# its process on its (after + 1)-th fit; a marker file makes it die once only.
KILLER = (
    TINY.split("[strategies.lstm]")[0]
    + """
[strategies.killer]
class = "tests.run.plugins:DieOnce"
marker = "{marker}"
after = {after}
"""
)


def _episodes(out) -> bytes:
    return (out / "episodes.parquet").read_bytes()


def test_dask_local_cluster_gives_the_same_bytes(clean_run, tiny_file, tmp_path):
    out = tmp_path / "dask"
    assert run_cli(tiny_file, "--out", out, "--backend", "dask", "--workers", "2") == 0
    assert _episodes(out) == _episodes(clean_run)


@pytest.fixture
def killer(tmp_path):
    """(make(after): a scenario file killing its process on fit number after + 1, the same
    scenario's results from a run that was not killed)."""
    (tmp_path / "never.died").touch()
    clean_file = write_scenario(tmp_path, KILLER.format(marker=tmp_path / "never", after=0),
                                "clean.toml")  # fmt: skip
    assert run_cli(clean_file, "--out", tmp_path / "clean") == 0

    def make(after: int):
        return write_scenario(tmp_path, KILLER.format(marker=tmp_path / "kill", after=after))

    return make, tmp_path / "clean"


def test_process_pool_gives_the_same_bytes(killer, tmp_path):
    # Without the LSTM, to spare the workers torch's import; the Dask test above has it.
    _, clean = killer
    clean_file = tmp_path / "clean.toml"
    assert run_cli(clean_file, "--out", tmp_path / "pool", "--workers", "2") == 0
    assert _episodes(tmp_path / "pool") == _episodes(clean)


def _task_stamps(out) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("tasks/*/*/fold-*/task.json")}


def test_killed_driver_loses_nothing_on_resume(killer, tmp_path):
    make, clean = killer
    kill_file = make(after=1)  # fold 0 finishes, the driver dies fitting fold 1
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "lobsim", "run", str(kill_file), "--out", str(out), "--quiet"]
    died = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    finished = _task_stamps(out)

    assert run_cli(kill_file, "--out", out, "--resume") == 0

    assert (died.returncode, list(finished)) == (3, ["fold-0"])
    assert _task_stamps(out)["fold-0"] == finished["fold-0"]
    assert _episodes(out) == _episodes(clean)


def test_killed_pool_worker_fails_the_run_then_resume_completes_it(killer, tmp_path):
    make, clean = killer
    kill_file = make(after=0)  # the first fit in either worker kills that worker
    out = tmp_path / "run"

    first = run_cli(kill_file, "--out", out, "--workers", "2")
    second = run_cli(kill_file, "--out", out, "--resume")

    assert (first, second) == (1, 0)
    assert _episodes(out) == _episodes(clean)


@pytest.mark.slow
def test_dask_reschedules_the_task_of_a_killed_worker(killer, tmp_path):
    make, clean = killer
    out = tmp_path / "run"
    assert run_cli(make(after=0), "--out", out, "--backend", "dask", "--workers", "2") == 0
    assert _episodes(out) == _episodes(clean)


@pytest.mark.slow
def test_joining_a_running_scheduler_gives_the_same_bytes(clean_run, tiny_file, tmp_path):
    import logging

    from distributed import LocalCluster

    out = tmp_path / "joined"
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:  # fmt: skip
        code = run_cli(tiny_file, "--out", out, "--backend", "dask",
                       "--scheduler", cluster.scheduler_address)  # fmt: skip
    assert code == 0
    assert _episodes(out) == _episodes(clean_run)
