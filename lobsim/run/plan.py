"""Building a run from a scenario: its variants, folds and tasks, checked before any work.

:func:`build_plan` does every check that can be done without running a strategy (the scenario,
its sweep, the strategy classes and their options, the market file, the folds, the device), so
that bad input is refused before the run writes anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lobsim._memory import check_fits
from lobsim.engine.batch import BookBatch
from lobsim.errors import DataError, InputError, ScenarioError, StrategyError
from lobsim.market import Fold, MarketPanel, load_bars, walk_forward_folds
from lobsim.market.lobster_market import LobsterMarket, load_lobster_market
from lobsim.rundir import fit_root, task_dir, task_root
from lobsim.scenario import Scenario, Variant, expand_sweep, resolve_strategies

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TaskSpec:
    """One unit of work: one variant of the scenario on one walk-forward fold.

    Everything a worker needs travels in the spec (it pickles), so a task gives the same
    result in this process, in a process pool or on a Dask worker.

    Attributes
    ----------
    scenario_hash : str
        Hash of the whole scenario (sweep included): the run's identity.
    variant_index, variant_id, variant_label : int, str, str
        The variant (see :class:`lobsim.Variant`).
    scenario : Scenario
        The variant's resolved scenario (no sweep).
    fold : Fold
        Day slices into the variant's full market.
    market : MarketPanel, LobsterMarket or None
        A file market's days ``fold.train.start .. fold.test.stop - 1`` (for LOBSTER files,
        their minute bars and the file pairs the test days replay); None for a synthetic
        market, which the task generates itself (only the days it needs).
    device : str
        ``--device``, handed to ``fit`` in ``TrainData.device``.
    threads : int
        Numba threads of the task.
    progress : bool
        Whether strategies may show their own progress bars.
    out : Path
        The task's output directory, ``DIR/tasks/<hash[:12]>/<variant-id>/fold-<k>``.
    run_dir : Path
        DIR.
    token : str or None
        The lock token of the run that holds DIR: the task writes only while that run does
        (:func:`lobsim.run.outdir.still_held`); None writes without asking.
    fits : Path or None
        Where the tasks of a sweep share their fits, ``DIR/tasks/<hash[:12]>/fits``
        (:mod:`lobsim.run.fits`); None (a scenario of one variant): every fit is the task's own.
    """

    scenario_hash: str
    variant_index: int
    variant_id: str
    variant_label: str
    scenario: Scenario
    fold: Fold
    market: MarketPanel | LobsterMarket | None
    device: str
    threads: int
    progress: bool
    out: Path
    run_dir: Path
    token: str | None = None
    fits: Path | None = None

    @property
    def name(self) -> str:
        """``"<variant label>, fold <k>"``, for messages."""
        return f"variant {self.variant_label}, fold {self.fold.index}"


@dataclass(frozen=True)
class RunPlan:
    """A checked run: the scenario, its variants and the tasks, in their fixed order.

    Tasks are ordered by (variant index, fold); outputs are assembled in this order whatever
    order the tasks finish in.
    """

    scenario: Scenario
    variants: tuple[Variant, ...]
    tasks: tuple[TaskSpec, ...]
    out: Path

    @property
    def task_root(self) -> Path:
        return task_root(self.out, self.scenario.content_hash)

    @property
    def fit_root(self) -> Path:
        """Where the tasks share their fits (:mod:`lobsim.run.fits`)."""
        return fit_root(self.task_root)


# Arrays of (days x minutes x stocks) float64 a task holds at its peak: the fold's price and
# volume, the simulator's copies and the sandbox's history, a strategy's training copy.
_TASK_PANELS = 8


def _check_task_memory(sc, n_stocks: int, folds, threads: int) -> None:
    """Refuse a scenario whose tasks cannot fit in this machine's memory, naming the keys."""
    if not folds:
        return
    days = max(f.n_train + f.n_test for f in folds)
    bars = days * sc.schedule.minutes * n_stocks
    what = (
        f"a task of {n_stocks} stocks x {days} days x {sc.schedule.minutes} minutes "
        "(market.synthetic.stocks, folds.train_days + folds.test_days, schedule.minutes)"
    )
    check_fits(8 * _TASK_PANELS * bars, what)
    levels = sc.book.max_levels
    check_fits(
        BookBatch.state_bytes(threads, levels, levels + 1),  # as the simulator makes them
        f"book.max_levels = {levels} with {threads} threads (the simulator's books)",
    )


def with_context(exc: InputError, prefix: str) -> InputError:
    """``exc``'s message after ``prefix``, as the most specific of lobsim's own error types.

    Subclasses of those (a loader's ``BarDataError``) may take other constructor arguments.
    """
    for cls in (DataError, ScenarioError, StrategyError, InputError):
        if isinstance(exc, cls):
            return cls(f"{prefix}{exc}")
    return InputError(f"{prefix}{exc}")


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def build_plan(
    scenario: Scenario,
    out: str | os.PathLike[str],
    *,
    device: str = "auto",
    threads: int = 1,
    progress: bool = False,
) -> RunPlan:
    """Check ``scenario`` end to end and split it into tasks, one per (variant, fold).

    Parameters
    ----------
    scenario : Scenario
        As loaded by :func:`lobsim.load_scenario` (overrides applied).
    out : path
        The run directory (nothing is written here).
    device : {"auto", "cpu", "cuda"}
        Accelerator for strategies that can use one.
    threads : int
        Numba threads per task.
    progress : bool
        Let strategies show their own progress bars (only sensible in this process).

    Raises
    ------
    ScenarioError
        A strategy that cannot be imported or takes other options (naming
        ``strategies.LABEL...``), folds that do not fit a market file, book.epsilon of the
        wrong length, a device that is not there.
    DataError
        A market file that cannot be read (naming the file, row and column).
    """
    if device not in DEVICES:
        raise InputError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"--threads must be an int >= 1, got {threads!r}")
    if device == "cuda":
        _require_cuda()
    out = Path(out)
    variants = expand_sweep(scenario)
    files: dict[tuple, MarketPanel] = {}
    tasks: list[TaskSpec] = []
    root = task_root(out, scenario.content_hash)
    # Fits are shared between the variants of a fold: only a sweep has several.
    fits = fit_root(root) if len(variants) > 1 else None
    for variant in variants:
        where = f"sweep variant {variant.label}: " if scenario.sweep else ""
        try:
            tasks.extend(
                _variant_tasks(
                    variant, scenario.content_hash, files, device, threads, progress, root, fits
                )
            )
        except InputError as exc:
            if not where:
                raise
            raise with_context(exc, where) from None
    return RunPlan(scenario=scenario, variants=variants, tasks=tuple(tasks), out=out)


def _variant_tasks(
    variant: Variant,
    scenario_hash: str,
    files: dict[tuple, MarketPanel],
    device: str,
    threads: int,
    progress: bool,
    root: Path,
    fits: Path | None,
) -> list[TaskSpec]:
    sc = variant.scenario
    for resolved in resolve_strategies(sc).values():
        resolved.build()  # refuses what the constructor or check_options refuses, naming it
    panel = None
    if sc.market.source in ("file", "lobster"):
        panel = _file_market(sc, files)
        bars = panel.panel if isinstance(panel, LobsterMarket) else panel
        n_days = bars.n_days
        n_stocks = bars.n_stocks
    else:
        n_days = sc.market.synthetic.days
        n_stocks = sc.market.synthetic.stocks
    folds = sc.folds
    try:
        fold_list = walk_forward_folds(
            n_days,
            train_days=folds.train_days,
            test_days=folds.test_days,
            step_days=folds.step_days,
            count=folds.count,
        )
    except InputError as exc:
        detail = f"{exc.detail} (market.path)"
        raise ScenarioError(f"folds{detail}", key=("folds",), detail=detail) from None
    _check_task_memory(sc, n_stocks, fold_list, threads)
    if isinstance(sc.book.epsilon, tuple) and len(sc.book.epsilon) != n_stocks:
        raise ScenarioError(
            f"book.epsilon has {len(sc.book.epsilon)} values but the market has {n_stocks} stocks"
        )
    return [
        TaskSpec(
            scenario_hash=scenario_hash,
            variant_index=variant.index,
            variant_id=variant.id,
            variant_label=variant.label,
            scenario=sc,
            fold=fold,
            market=None if panel is None else panel.days(fold.train.start, fold.test.stop),
            device=device,
            threads=threads,
            progress=progress,
            out=task_dir(root, variant.id, fold.index),
            run_dir=root.parent.parent,
            fits=fits,
        )
        for fold in fold_list
    ]


def _file_market(
    sc: Scenario, files: dict[tuple, MarketPanel | LobsterMarket]
) -> MarketPanel | LobsterMarket:
    """The scenario's bar file as a panel (its LOBSTER files as a LobsterMarket), read once
    per (source, path, tickers) for all variants."""
    key = (sc.market.source, str(sc.market.path), sc.market.tickers)
    if sc.market.source == "lobster":
        if key not in files:
            files[key] = load_lobster_market(sc.market.path, tickers=sc.market.tickers)
        market = files[key]
        if market.panel.n_minutes != sc.schedule.minutes:
            raise ScenarioError(
                f"schedule.minutes = {sc.schedule.minutes} but the LOBSTER files of "
                f"{sc.market.path} cover {market.panel.n_minutes} minutes a day"
            )
        return market
    if key not in files:
        panel = load_bars(sc.market.path, **sc.market.load.kwargs())
        if sc.market.tickers is not None:
            missing = [t for t in sc.market.tickers if t not in panel.tickers]
            if missing:
                raise DataError(
                    f"market.tickers: {missing} not in {sc.market.path} (it has "
                    f"{len(panel.tickers)} tickers: {', '.join(panel.tickers[:10])}...)"
                )
            panel = panel.select(sc.market.tickers)
        files[key] = panel
    panel = files[key]
    if panel.n_minutes != sc.schedule.minutes:
        raise ScenarioError(
            f"schedule.minutes = {sc.schedule.minutes} but {sc.market.path} has "
            f"{panel.n_minutes} minutes a day"
        )
    return panel


def _require_cuda() -> None:
    try:
        import torch
    except ImportError:
        raise InputError("--device cuda: torch is not installed") from None
    if not torch.cuda.is_available():
        raise InputError("--device cuda: CUDA is not available on this machine (use auto or cpu)")
