"""Running a scenario end to end: check, claim the directory, run the tasks, publish results."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from lobsim.errors import InputError
from lobsim.run import fits
from lobsim.run.assemble import assemble, headline, manifest, write_manifest
from lobsim.run.backends import BACKENDS, execute
from lobsim.run.outdir import check_out_dir, claimed, publish, staging_dir
from lobsim.run.plan import RunPlan, TaskSpec, available_cores, build_plan
from lobsim.run.task import is_done
from lobsim.rundir import EPISODES, MANIFEST, TASK_FILE
from lobsim.scenario import Scenario


@dataclass(frozen=True)
class CompletedRun:
    """What :func:`run_scenario` did.

    Attributes
    ----------
    out : Path
        The run directory.
    files : list of str
        Names of the result files and folders written into ``out`` (manifest last).
    manifest : dict
        The manifest as written.
    headline : pandas.DataFrame
        Mean daily cost per (variant, strategy), see :func:`lobsim.run.assemble.headline`.
    ran, reused : int
        Tasks computed by this run, and finished tasks of an earlier run that ``resume`` kept.
    """

    out: Path
    files: list[str]
    manifest: dict[str, Any]
    headline: pd.DataFrame
    ran: int
    reused: int


def default_out(scenario: Scenario) -> Path:
    """``runs/<run.name>``, relative to the current directory."""
    return Path("runs") / scenario.run.name


def run_scenario(
    scenario: Scenario,
    out: str | os.PathLike[str] | None = None,
    *,
    backend: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    device: str = "auto",
    resume: bool = False,
    threads: int | None = None,
    progress: bool = False,
) -> CompletedRun:
    """Run every (variant, fold) task of ``scenario`` and write the results under ``out``.

    Parameters
    ----------
    scenario : Scenario
        From :func:`lobsim.load_scenario` (with its overrides).
    out : path, optional
        The run directory; default ``runs/<run.name>``. See :mod:`lobsim.run.outdir` for what
        happens when it already holds something.
    backend : {"local", "dask"}
    workers : int
        Processes (``local``: 1 means this process) or LocalCluster workers (``dask``).
    scheduler : str, optional
        Address of a running Dask scheduler to join (``dask`` only).
    device : {"auto", "cpu", "cuda"}
        Accelerator for strategies that can use one (``TrainData.device``).
    resume : bool
        Keep the finished tasks of an earlier run of the same scenario in ``out``.
    threads : int, optional
        Numba threads per task; default: this machine's cores // workers (1 with a scheduler).
    progress : bool
        Progress bars on stderr: over tasks, and a strategy's own when tasks run here.

    Returns
    -------
    CompletedRun

    Raises
    ------
    InputError
        Bad input, before anything is written when it can be known up front (scenario,
        strategies and options, market file, folds, device, ``out``); or raised by a task,
        naming the variant, the fold and the strategy.
    lobsim.run.backends.RunError
        A worker died; the finished tasks are kept for ``resume``.
    """
    start = time.perf_counter()
    if backend not in BACKENDS:
        raise InputError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be an int >= 1, got {workers!r}")
    if scheduler is not None and backend != "dask":
        raise InputError("--scheduler joins a Dask cluster: it needs --backend dask")
    if threads is None:
        threads = 1 if scheduler is not None else max(1, available_cores() // workers)
    out = default_out(scenario) if out is None else Path(out)
    in_process = backend == "local" and workers == 1
    plan = build_plan(
        scenario, out, device=device, threads=threads, progress=progress and in_process
    )
    check_out_dir(out, scenario.content_hash)
    timings: dict[str, float] = {"prepare_s": time.perf_counter() - start}
    token = uuid.uuid4().hex
    with claimed(out, scenario.content_hash, token):
        infos: dict[Path, dict[str, Any]] = {}
        todo = []
        for spec in (dataclasses.replace(s, token=token) for s in plan.tasks):
            if resume and is_done(spec):
                infos[spec.out] = _reused(spec)
            else:
                todo.append(spec)
        reused = len(infos)
        fits.reset(plan.fit_root, keep=resume)
        bar = tqdm(
            total=len(plan.tasks),
            initial=reused,
            desc="tasks",
            unit="task",
            file=sys.stderr,
            disable=not progress,
        )

        def on_done(spec: TaskSpec, info: dict[str, Any]) -> None:
            infos[spec.out] = {**info, "status": "ran"}
            bar.update()

        t0 = time.perf_counter()
        try:
            execute(todo, on_done, backend=backend, workers=workers, scheduler=scheduler)
        finally:
            bar.close()
        fits.discard(plan.fit_root)  # every task is done: the fits have served
        timings["tasks_s"] = time.perf_counter() - t0
        doc, files, table = _publish(plan, infos, timings, start, backend, workers, device)
    return CompletedRun(
        out=out,
        files=files,
        manifest=doc,
        headline=table,
        ran=len(todo),
        reused=reused,
    )


def _reused(spec: TaskSpec) -> dict[str, Any]:
    info = json.loads((spec.out / TASK_FILE).read_text(encoding="utf-8"))
    return {**info, "status": "reused"}


def _publish(
    plan: RunPlan,
    infos: dict[Path, dict[str, Any]],
    timings: dict[str, float],
    start: float,
    backend: str,
    workers: int,
    device: str,
) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """Assemble, report and move the results into place; nothing is left half-written."""
    from lobsim.report import write_report

    tasks = [
        {"dir": spec.out.relative_to(plan.out).as_posix(), **infos[spec.out]}
        for spec in plan.tasks
    ]
    staging = staging_dir(plan.out)
    try:
        t0 = time.perf_counter()
        assemble(plan, staging)
        timings["assemble_s"] = time.perf_counter() - t0
        doc = manifest(plan, tasks, timings, backend=backend, workers=workers, device=device)
        write_manifest(doc, staging / MANIFEST)
        t0 = time.perf_counter()
        write_report(staging)
        timings["report_s"] = time.perf_counter() - t0
        timings["total_s"] = time.perf_counter() - start
        doc = manifest(plan, tasks, timings, backend=backend, workers=workers, device=device)
        write_manifest(doc, staging / MANIFEST)
        table = headline(pd.read_parquet(staging / EPISODES), plan.scenario.labels)
        files = publish(staging, plan.out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return doc, files, table
