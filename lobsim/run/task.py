"""One task of a run: one variant on one fold, every strategy fitted and simulated.

Reproducibility rules (STYLE.md, "No hidden global state"):

- A strategy's seed is a child of the run's root ``SeedSequence(run.seed)`` by the stable key
  (fold, strategy label); never by worker, task order or variant.
- The book noise of ``simulate`` comes from ``SeedSequence(run.seed)`` by a fixed key: the same
  episode (date, stock) meets the same book in every strategy, variant and fold (common random
  numbers).
- Threads are pinned inside the task: numba to ``spec.threads`` (the simulation kernels work
  per episode, so their results do not depend on it), torch to one thread (its reductions may
  depend on the thread count, and one thread per task keeps tasks side by side from fighting
  over cores). Strategies learn both from ``TrainData.threads`` (1) and ``TrainData.progress``
  (whether the run shows bars); nothing is slipped into their constructors.
- Every strategy fits on its own read-only copy of the training days (``sandboxed_train``), so
  neither a write nor ``.base`` reaches another strategy's data or the test days.
- The seeds above do not depend on the variant, so the variants of a sweep give a strategy the
  same training data on a fold unless the sweep changes what it reads; a strategy that says
  what its fit reads (``fit_key``) is fitted once per fold and key and its fit shared
  (:mod:`lobsim.run.fits`). A task's ``fit_s`` is then the seconds it took to get the fit
  (waiting for it and loading it), with ``fit_reused`` and ``fit_variant`` saying whose it is.

The task writes its outputs into a temporary directory and renames it into place, so a task
directory exists only once it is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lobsim._atomic import atomic_dir
from lobsim.engine.records import MAX_QTY
from lobsim.errors import DataError, InputError, LobsimError, StrategyError
from lobsim.market import MarketPanel, synthesize_market
from lobsim.market.lobster_market import LobsterMarket
from lobsim.run.fits import fit_shared
from lobsim.run.outdir import still_held
from lobsim.run.plan import TaskSpec, with_context
from lobsim.rundir import DECISIONS, EPISODES, HINDSIGHT, TABLES, TASK_FILE, check_table
from lobsim.sandbox import sandboxed_train
from lobsim.scenario import ResolvedStrategy, Scenario, resolve_strategies
from lobsim.simulation import simulate
from lobsim.simulation.hindsight import check_above, hindsight
from lobsim.simulation.replay_trade import simulate_replay
from lobsim.simulation.simulate import _prepare
from lobsim.strategy import BUY, SELL, TrainData

TORCH_THREADS = 1
# Keys of the run's SeedSequence tree: strategies' fits and the book noise.
_FIT_KEY = 0x5EED
_BOOK_KEY = 0xB00C
# Numba's default threading layer and torch's thread pool are per process: one task at a time.
_LOCK = threading.Lock()


def strategy_seed(run_seed: int, fold: int, label: str) -> np.random.SeedSequence:
    """The seed of strategy ``label`` on fold ``fold``: a child of the run's root, stable keys."""
    label_key = int.from_bytes(label.encode("utf-8"), "big")
    return np.random.SeedSequence(run_seed, spawn_key=(_FIT_KEY, fold, label_key))


def book_seed(run_seed: int) -> np.random.SeedSequence:
    """The seed of the book noise: the run's seed only (common random numbers)."""
    return np.random.SeedSequence(run_seed, spawn_key=(_BOOK_KEY,))


def parent_orders(
    scenario: Scenario, train_adv: np.ndarray, tickers: tuple[str, ...] | None = None
) -> np.ndarray:
    """ndarray(int64, (N,)): the parent order per stock, from the training window's ADV.

    Raises DataError (naming the stock) when an ADV makes an order beyond the engine's largest.
    """
    spec = scenario.parent
    if spec.shares is not None:
        return np.full(len(train_adv), spec.shares, dtype=np.int64)
    shares = np.rint(spec.fraction_adv * np.asarray(train_adv, dtype=np.float64))
    bad = ~(np.isfinite(shares) & (shares <= MAX_QTY))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        name = tickers[i] if tickers is not None else f"stock column {i}"
        raise DataError(
            f"the training ADV of {name} is {train_adv[i]:.6g} shares: parent.fraction_adv = "
            f"{spec.fraction_adv} makes an order of {shares[i]:.6g} shares, more than the "
            f"engine's largest ({MAX_QTY:,}); check the volume column of the data"
        )
    return shares.astype(np.int64)


def fold_market(spec: TaskSpec) -> MarketPanel | LobsterMarket:
    """The days of the task's fold (train then test) of the variant's market."""
    if spec.market is not None:
        return spec.market
    synthetic = spec.scenario.market.synthetic
    return synthesize_market(
        synthetic.stocks,
        synthetic.days,
        minutes=spec.scenario.schedule.minutes,
        seed=spec.scenario.market_seed,
        params=synthetic.params,
        volume_mode=synthetic.volume_mode,
        days=slice(spec.fold.train.start, spec.fold.test.stop),
    )


def is_done(spec: TaskSpec) -> bool:
    """Whether the task's complete output is already on disk (``--resume`` skips it)."""
    try:
        info = json.loads((spec.out / TASK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        info.get("scenario_hash") == spec.scenario_hash
        and info.get("variant_id") == spec.variant_id
        and info.get("fold") == spec.fold.index
        and all((spec.out / name).is_file() for name in TABLES)
    )


def run_task(spec: TaskSpec) -> dict[str, Any]:
    """Fit and simulate every strategy of the task's variant on its fold; write the outputs.

    Returns
    -------
    dict
        What ``task.json`` holds: the task's identity, its timings, its row counts.

    Raises
    ------
    InputError
        (or a subclass) prefixed with the variant, the fold and the strategy.
    """
    with _LOCK:
        start = time.perf_counter()
        try:
            # Import the strategies (and torch with them) before the threads are pinned.
            strategies = resolve_strategies(spec.scenario)
            with _pinned_threads(spec.threads):
                episodes, decisions, hindsight, info = _compute(spec, strategies)
        except InputError as exc:
            raise with_context(exc, f"{spec.name}: ") from None
        info = {
            "scenario_hash": spec.scenario_hash,
            "variant_id": spec.variant_id,
            "variant": spec.variant_label,
            "fold": spec.fold.index,
            **info,
            "episodes": len(episodes),
            "seconds": round(time.perf_counter() - start, 3),
        }
        _write_atomically(spec, episodes, decisions, hindsight, info)
    return info


def _compute(
    spec: TaskSpec, strategies: dict[str, ResolvedStrategy]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    sc = spec.scenario
    schedule = sc.schedule
    panel = fold_market(spec)
    replayed = panel if isinstance(panel, LobsterMarket) else None
    if replayed is not None:
        panel = replayed.panel
    n_train = spec.fold.n_train
    train = panel.days(0, n_train)
    test = panel.days(n_train, n_train + spec.fold.n_test)
    parent = parent_orders(sc, train.adv, train.tickers)
    if np.any(parent <= 0) or np.any(train.adv <= 0):
        i = int(np.flatnonzero((parent <= 0) | (train.adv <= 0))[0])
        raise DataError(
            f"the parent order of {train.tickers[i]} is {parent[i]} shares (training ADV "
            f"{train.adv[i]:.6g} shares over {train.dates[0]}..{train.dates[-1]}); every stock "
            "needs volume in the training window and a parent order of at least one share"
        )
    side = SELL if sc.parent.side == "sell" else BUY
    base = TrainData.for_training_days(
        train,
        schedule,
        book=sc.book,
        parent=parent,
        side=side,
        device=spec.device,
        permanent_impact=sc.impact.permanent,
        threads=TORCH_THREADS,
        progress=spec.progress,
    )
    book = base.book
    noise = book_seed(sc.run.seed)
    bound = _hindsight_costs(spec, test, book, parent, side, train.adv, noise, replayed)
    episode_frames, decision_frames, timings, frontiers = [], [], {}, {}
    for label, resolved in strategies.items():
        t0 = time.perf_counter()
        try:
            seed = strategy_seed(sc.run.seed, spec.fold.index, label)
            data = sandboxed_train(dataclasses.replace(base, seed=seed))
            strategy, shared = fit_shared(
                resolved.build(),
                data,
                label,
                root=spec.fits,
                fold=spec.fold.index,
                variant_id=spec.variant_id,
                token=spec.token,
                run_dir=spec.run_dir,
                check=lambda: _check_held(spec),
            )
            t1 = time.perf_counter()
            if replayed is not None:
                result = simulate_replay(
                    replayed.days(n_train, n_train + spec.fold.n_test),
                    strategy,
                    parent=parent,
                    side=side,
                    schedule=schedule,
                    adv=train.adv,
                    name=label,
                )
            else:
                result = simulate(
                    test,
                    strategy,
                    book=book,
                    parent=parent,
                    side=side,
                    schedule=schedule,
                    adv=train.adv,
                    permanent_impact=sc.impact.permanent,
                    seed=noise,
                    name=label,
                )
        except StrategyError:
            raise  # it names the strategy already
        except InputError as exc:
            raise with_context(exc, f"strategy {label}: ") from None
        t2 = time.perf_counter()
        check_above(label, result.episodes, bound["hindsight_cost"].to_numpy())
        frontier = getattr(strategy, "model_frontier", None)
        frontier = frontier() if callable(frontier) else None
        if frontier is not None:
            frontiers[label] = frontier
        episode_frames.append(_episodes(spec, label, result.episodes))
        decision_frames.append(_decisions(spec, label, test, parent, result))
        timings[label] = {
            "fit_s": round(t1 - t0, 3),
            "simulate_s": round(t2 - t1, 3),
            **shared,
        }
    episodes = pd.concat(episode_frames, ignore_index=True)
    decisions = pd.concat(decision_frames, ignore_index=True)
    info = {
        "train": [str(train.dates[0]), str(train.dates[-1])],
        "test": [str(test.dates[0]), str(test.dates[-1])],
        "strategies": timings,
    }
    if frontiers:  # the plug-ins' own model frontiers (Strategy.model_frontier), for the report
        info["frontiers"] = frontiers
    keys = _key_columns(spec, "", len(bound))
    del keys["strategy"]
    hindsight = pd.concat([pd.DataFrame(keys), bound], axis=1)
    return episodes, decisions, hindsight, info


def _hindsight_costs(spec, test, book, parent, side, adv, noise, replayed) -> pd.DataFrame:
    """The hindsight optimum of each test episode (:mod:`lobsim.simulation.hindsight`; NaN
    where it is not defined: replayed LOBSTER days, permanent impact, resilience)."""
    sc = spec.scenario
    stock = np.tile(np.asarray(test.tickers, dtype=object), test.n_days)
    day = np.repeat(pd.to_datetime(test.dates), test.n_stocks)
    if replayed is not None:
        cost = np.full(len(stock), np.nan)
        shares = np.zeros(len(stock), dtype=np.int64)
        value = np.full(len(stock), np.nan)
    else:
        run = _prepare(test, book, parent, side, sc.schedule, adv, sc.impact.permanent, noise)
        cost, shares, _ = hindsight(run)
        value = run.initial * run.ep.s0
    with np.errstate(divide="ignore", invalid="ignore"):
        bps = np.where(value > 0, 1e4 * cost / value, np.nan)
    return pd.DataFrame({"stock": stock, "day": day, "hindsight_cost": cost,
                         "hindsight_bps": bps, "hindsight_shares": shares})  # fmt: skip


def _key_columns(spec: TaskSpec, label: str, n: int) -> dict[str, Any]:
    return {
        "variant": np.full(n, spec.variant_label, dtype=object),
        "variant_id": np.full(n, spec.variant_id, dtype=object),
        "fold": np.full(n, spec.fold.index, dtype=np.int64),
        "strategy": np.full(n, label, dtype=object),
    }


def _episodes(spec: TaskSpec, label: str, frame: pd.DataFrame) -> pd.DataFrame:
    body = frame.drop(columns=["strategy"])
    keys = pd.DataFrame(_key_columns(spec, label, len(body)))
    return pd.concat([keys, body.reset_index(drop=True)], axis=1)


def _decisions(
    spec: TaskSpec, label: str, test: MarketPanel, parent: np.ndarray, result
) -> pd.DataFrame:
    """Per stock and decision: mean inventory fraction before it and mean child cost ($)."""
    n_days, n_stocks = test.n_days, test.n_stocks
    times = spec.scenario.schedule.decision_times
    k = len(times)
    # Episodes are day-major (e = d * N + i).
    held = result.inventory[:, :k].reshape(n_days, n_stocks, k) / parent[None, :, None]
    cost = result.child_cost.reshape(n_days, n_stocks, k)
    n = n_stocks * k
    return pd.DataFrame(
        {
            **_key_columns(spec, label, n),
            "stock": np.repeat(np.asarray(test.tickers, dtype=object), k),
            "decision": np.tile(np.arange(k, dtype=np.int64), n_stocks),
            "minute": np.tile(times, n_stocks),
            "inventory": held.mean(axis=0).reshape(-1),
            "child_cost": cost.mean(axis=0).reshape(-1),
        }
    )


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """The run table ``path.name`` (checked against its schema), as Parquet without the pandas
    index, so tables of several tasks concatenate."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(check_table(table, path.name), path)


def _write_atomically(
    spec: TaskSpec,
    episodes: pd.DataFrame,
    decisions: pd.DataFrame,
    hindsight: pd.DataFrame,
    info,
) -> None:
    """Write the task's files into a temporary folder, then rename it into place; nothing at
    all once the run that asked for the task has lost its directory (its process died)."""
    _check_held(spec)
    spec.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(spec.out) as tmp:
        write_table(episodes, tmp / EPISODES)
        write_table(decisions, tmp / DECISIONS)
        write_table(hindsight, tmp / HINDSIGHT)
        (tmp / TASK_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _check_held(spec)


class Abandoned(LobsimError):
    """The run that asked for a task no longer holds its directory: the task writes nothing."""


def _check_held(spec: TaskSpec) -> None:
    if spec.token is not None and not still_held(spec.run_dir, spec.token):
        raise Abandoned(f"{spec.name}: the run that started it is gone; nothing written")


@contextlib.contextmanager
def _pinned_threads(threads: int):
    """Numba to ``threads`` and (if loaded) torch to one thread for the block, then restored."""
    import numba

    numba_before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(TORCH_THREADS)
    try:
        yield
    finally:
        numba.set_num_threads(numba_before)
        if torch is not None:
            torch.set_num_threads(torch_before)
