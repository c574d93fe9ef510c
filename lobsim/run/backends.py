"""Where tasks run: this process, a local process pool, or a Dask cluster.

Every backend calls the same :func:`lobsim.run.task.run_task` on the same pickled
:class:`~lobsim.run.plan.TaskSpec`, and each task writes its own output, so the results are the
same bytes whichever backend and however many workers ran them; only the order in which tasks
finish differs, and the assembly does not depend on it.

- ``local`` with one worker runs the tasks here, one after the other.
- ``local`` with N > 1 workers uses a process pool with the "spawn" start method (no fork of
  a process that may hold torch or numba threads).
- ``dask`` starts a ``LocalCluster`` of N single-threaded worker processes, or joins the
  cluster at ``--scheduler ADDRESS``; then DIR must be on a file system that the workers and
  this process share, as the workers write the task outputs there. Dask reschedules the task
  of a worker that died; a task that keeps killing workers fails the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from lobsim.errors import InputError, LobsimError
from lobsim.run.plan import TaskSpec
from lobsim.run.task import run_task

BACKENDS = ("local", "dask")
OnDone = Callable[[TaskSpec, dict[str, Any]], None]


class RunError(LobsimError):
    """A run that could not finish for a reason other than bad input (exit code 1)."""


def execute(
    tasks: Sequence[TaskSpec],
    on_done: OnDone,
    *,
    backend: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
) -> None:
    """Run ``tasks``, calling ``on_done(spec, info)`` in this process as each one finishes.

    Raises
    ------
    InputError
        Raised by a task (bad data, a strategy breaking its contract), as it was raised.
    RunError
        A worker process died (the finished tasks are on disk: resume the run).
    """
    if not tasks:
        return
    if backend == "dask":
        _dask(tasks, on_done, workers, scheduler)
    elif workers == 1:
        for spec in tasks:
            on_done(spec, run_task(spec))
    else:
        _pool(tasks, on_done, workers)


def _pool(tasks: Sequence[TaskSpec], on_done: OnDone, workers: int) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=context,
        initializer=follow_driver,
        initargs=(os.getpid(),),
    )
    pending = {pool.submit(run_task, spec): spec for spec in tasks}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                spec = pending.pop(future)
                on_done(spec, future.result())
    except BrokenProcessPool as exc:
        raise RunError(
            f"a worker process died while running tasks ({exc}); the tasks that finished "
            "are kept: run again with --resume to finish the others"
        ) from None
    finally:
        if pending:  # stopped early (an error, Ctrl-C, SIGTERM): stop the workers now
            _kill_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # The executor has no public way to stop running work before Python 3.14.
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(OSError):
            process.kill()


def follow_driver(driver: int, poll: float = 0.2, nanny: bool = False) -> None:
    """Make this worker process end as soon as the driver process ``driver`` does.

    A pool worker (``nanny=False``) is the driver's child: on Linux the kernel kills it with
    the driver (PR_SET_PDEATHSIG), and a daemon thread ends it when its parent is no longer
    the driver (a worker that starts after the driver died ends at once). A Dask worker
    (``nanny=True``) is the child of a nanny that would restart it: its thread ends the nanny
    and itself once the driver is dead (a zombie counts as dead). Tasks also check that their
    run still holds the directory before they write (:func:`lobsim.run.task.run_task`).
    """
    parent = os.getppid()
    if not nanny:
        if parent != driver:  # the driver died while this worker was starting
            os._exit(1)
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                libc = ctypes.CDLL(None, use_errno=True)
                libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != driver:  # it died before the kernel was asked
            os._exit(1)

    def watch() -> None:
        while True:
            if nanny:
                if not _process_alive(driver):
                    with contextlib.suppress(OSError):
                        os.kill(parent, signal.SIGKILL)  # the nanny, recorded at setup
                    os._exit(1)
            elif os.getppid() != driver:
                os._exit(1)
            time.sleep(poll)

    threading.Thread(target=watch, name="lobsim-follow-driver", daemon=True).start()


def _follow_driver_plugin(driver: int):
    """A Dask worker plugin that runs :func:`follow_driver` in every worker, present and
    future (a restarted worker too)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class FollowDriver(WorkerPlugin):
        name = "lobsim-follow-driver"

        def setup(self, worker) -> None:
            follow_driver(driver, nanny=True)

    return FollowDriver()


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` runs: not gone, and (where /proc says) not a zombie its parent has not
    reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _dask(tasks: Sequence[TaskSpec], on_done: OnDone, workers: int, scheduler: str | None) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise InputError(
            "--backend dask needs dask.distributed: pip install 'lobsim[dask]'"
        ) from None
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=min(workers, len(tasks)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
            client.register_plugin(_follow_driver_plugin(os.getpid()))
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc})"
                ) from None
        with client:
            futures = {
                client.submit(
                    run_task,
                    spec,
                    key=f"lobsim-{spec.out.parent.name}-{spec.out.name}-{spec.scenario_hash[:12]}",
                    pure=False,
                ): spec
                for spec in tasks
            }
            try:
                for future in as_completed(futures):
                    on_done(futures[future], future.result())
            except (KilledWorker, FutureCancelledError) as exc:
                raise RunError(
                    f"Dask gave up on a task whose workers died ({exc}); the tasks that "
                    "finished are kept: run again with --resume to finish the others"
                ) from None
            finally:
                client.cancel(list(futures))
    finally:
        if cluster is not None:
            cluster.close()
