"""Fault injection: runs killed at random instants, then resumed, give the bytes of a clean run.

Each case starts ``lobsim run`` in its own process group, kills it after a random delay (seeded,
so a failure can be replayed), checks that no process of the run is left and that nothing is
written into the run directory afterwards, then resumes and compares ``episodes.parquet`` with
the clean run's byte for byte. The default suite covers every signal and both local backends
once; ``-m slow`` adds Dask and more instants.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.run.conftest import REPO

WAIT_GONE_S = 5.0


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listing(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return sorted((p.relative_to(path).as_posix(), p.stat().st_size) for p in path.rglob("*"))


def _start(scenario: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lobsim",
            "run",
            str(scenario),
            "--out",
            str(out),
            "--quiet",
            "--threads",
            "1",
            *extra,
        ],
        cwd=REPO,
        start_new_session=True,  # its own process group: a "power loss" kills the group
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(run: subprocess.Popen, how: str, delay: float) -> tuple[int, set[int]]:
    """Kill ``run`` after ``delay`` seconds; returns its exit code and the processes it had."""
    time.sleep(delay)
    family = _children(run.pid)
    if run.poll() is None:
        if how == "group":
            os.killpg(run.pid, signal.SIGKILL)
        else:
            os.kill(run.pid, getattr(signal, how))
    try:
        run.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"after {how}, processes of the run still hold its output open")
    return run.returncode, family


def _kill_and_resume(scenario, reference, tmp_path, how, delay, *extra):
    out = tmp_path / "run"
    code, family = _kill(_start(scenario, out, *extra), how, delay)

    deadline = time.monotonic() + WAIT_GONE_S
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in family if _alive(p)], "processes outlived the driver"
    after_kill = _listing(out)
    time.sleep(1.0)
    assert _listing(out) == after_kill, "written into the run directory after the kill"
    if how in ("SIGTERM", "SIGINT"):
        if code < 0:  # the signal's default action: it came before lobsim was running
            assert not out.exists()
        elif code != 0:
            assert code == 130  # handled as Ctrl-C
            assert not (out / ".lock").exists()

    resumed = _start(scenario, out, "--resume", *extra)
    _stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert (out / "episodes.parquet").read_bytes() == reference.read_bytes()
    return code


@pytest.fixture(scope="module")
def tiny(clean_run, tiny_file):
    return tiny_file, clean_run / "episodes.parquet"


CASES = [  # (signal, delay in seconds, extra arguments)
    ("group", 0.3, ()),  # while it is starting: before anything is written
    ("SIGKILL", 6.0, ()),
    ("SIGTERM", 5.0, ()),
    ("SIGKILL", 5.0, ("--workers", "2")),  # the driver alone: its workers must follow
    ("SIGINT", 6.0, ("--workers", "2")),
]


@pytest.mark.parametrize(
    ("how", "delay", "extra"), CASES, ids=[f"{c[0]}-{c[1]}s-{len(c[2])}" for c in CASES]
)
def test_a_killed_run_resumes_to_the_bytes_of_a_clean_run(tiny, tmp_path, how, delay, extra):
    scenario, reference = tiny

    _kill_and_resume(scenario, reference, tmp_path, how, delay, *extra)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("backend", ["local", "pool", "dask"])
def test_random_kills_of_every_backend(tiny, tmp_path, seed, backend):
    if backend == "dask":
        pytest.importorskip("distributed")
    scenario, reference = tiny
    rng = np.random.default_rng([seed, ["local", "pool", "dask"].index(backend)])
    how = str(rng.choice(["group", "SIGKILL", "SIGTERM", "SIGINT"]))
    delay = float(rng.uniform(0.2, 9.0))
    extra = {
        "local": (),
        "pool": ("--workers", "2"),
        "dask": ("--backend", "dask", "--workers", "2"),
    }[backend]

    _kill_and_resume(scenario, reference, tmp_path, how, delay, *extra)


def test_a_pool_worker_that_starts_after_its_driver_died_ends_at_once():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    code = (
        "import time\n"
        "from lobsim.run.backends import follow_driver\n"
        f"follow_driver({int(dead.stdout)})\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()

    worker = subprocess.run([sys.executable, "-c", code], timeout=60)

    assert worker.returncode == 1 and time.monotonic() - started < 20
