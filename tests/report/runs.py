"""Small run directories that follow the run contract, for the report tests.

``make_run_dir`` runs ``lobsim.simulate`` on a tiny synthetic market, fold by fold and
strategy by strategy, and writes what ``lobsim run`` writes (episodes.parquet,
decisions.parquet, manifest.json) the way the contract describes it.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from lobsim import BookModel, Schedule, TrainData, simulate, synthesize_market
from lobsim.strategies.twap import TWAP
from lobsim.strategies.vwap import VWAP


class FrontLoaded:
    """Sells ``speed`` times faster than TWAP until done: cheaper or dearer than TWAP."""

    def __init__(self, speed: float = 1.5) -> None:
        self.speed = speed

    def decide(self, obs):
        done = self.speed * (obs.k + 1) / obs.schedule.n_decisions
        return obs.initial * max(0.0, 1.0 - done)


STRATEGIES = {"twap": TWAP, "vwap": VWAP, "front": FrontLoaded}


def write_run_dir(
    path: Path, episodes: pd.DataFrame, decisions: pd.DataFrame, manifest: dict
) -> Path:
    """Write the three contract files under ``path`` (created)."""
    path.mkdir(parents=True, exist_ok=True)
    episodes.to_parquet(path / "episodes.parquet", index=False)
    decisions.to_parquet(path / "decisions.parquet", index=False)
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return path


def simulated_frames(
    *,
    stocks: int = 4,
    folds: int = 2,
    train_days: int = 10,
    test_days: int = 3,
    noises: tuple[float, ...] = (0.0,),
    strategies: tuple[str, ...] = ("twap", "vwap", "front"),
    interval: int = 30,
    seed: int = 7,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Episodes, decisions and manifest of a small run; one variant per alpha noise width.

    ``strategies`` are keys of :data:`STRATEGIES`; vwap and twap are the baselines.
    """
    schedule = Schedule(minutes=390, interval=interval, lag=1)
    days = train_days + folds * test_days
    market = synthesize_market(stocks, days, minutes=schedule.minutes, seed=seed)
    swept = len(noises) > 1
    variants = [
        {
            "id": f"v{i:08x}",
            "label": f"book.alpha_noise={w!r}" if swept else "base",
            "hash": f"{i:064x}",
        }
        for i, w in enumerate(noises)
    ]
    episode_frames, decision_frames = [], []
    for variant, noise in zip(variants, noises, strict=True):
        for fold in range(folds):
            start = fold * test_days
            train = market.days(start, start + train_days)
            test = market.days(start + train_days, start + train_days + test_days)
            data = TrainData.for_training_days(
                train,
                schedule,
                book=BookModel(alpha_noise=noise),
                side=-1,
                seed=seed,
                device="cpu",
            )
            parent, book = data.parent, data.book
            for label in strategies:
                strategy = STRATEGIES[label]()
                if hasattr(strategy, "fit"):
                    strategy.fit(data)
                result = simulate(
                    test,
                    strategy,
                    book=book,
                    parent=parent,
                    schedule=schedule,
                    adv=train.adv,
                    seed=seed,
                )
                head = {
                    "variant": variant["label"],
                    "variant_id": variant["id"],
                    "fold": fold,
                    "strategy": label,
                }
                ep = result.episodes.drop(columns="strategy")
                episode_frames.append(pd.concat([pd.DataFrame(head, index=ep.index), ep], axis=1))
                decision_frames.append(_decisions(result, parent, test.tickers, schedule, head))
    manifest = {
        "scenario": {
            "run": {"name": "tiny", "seed": seed},
            "sweep": {"book.alpha_noise": list(noises)} if swept else {},
        },
        "scenario_hash": "0" * 64,
        "variants": variants,
        "seed": seed,
        "baselines": [s for s in ("vwap", "twap") if s in strategies],
        "strategies": list(strategies),
        "versions": {},
        "timings": {},
        "tasks": [],
        "backend": "local",
        "workers": 1,
        "created": "2024-01-01T00:00:00Z",
    }
    return (
        pd.concat(episode_frames, ignore_index=True),
        pd.concat(decision_frames, ignore_index=True),
        manifest,
    )


def _decisions(result, parent, tickers, schedule, head) -> pd.DataFrame:
    """The contract's decisions rows: means over days, episodes day-major (e = d * N + i)."""
    n = len(parent)
    k = schedule.n_decisions
    inventory = result.inventory[:, :k].reshape(-1, n, k) / parent[None, :, None]
    child = result.child_cost.reshape(-1, n, k)
    return pd.DataFrame(
        {
            **head,
            "stock": np.repeat(np.asarray(tickers, dtype=object), k),
            "decision": np.tile(np.arange(k), n),
            "minute": np.tile(schedule.decision_times, n),
            "inventory": inventory.mean(axis=0).reshape(-1),
            "child_cost": child.mean(axis=0).reshape(-1),
        }
    )


def make_run_dir(path: Path, **kwargs) -> Path:
    """A run directory under ``path`` from :func:`simulated_frames` (same keyword arguments)."""
    return write_run_dir(path, *simulated_frames(**kwargs))


def random_frames(
    *,
    sweep: dict[str, list] | None = None,
    folds: int = 2,
    stocks: int = 5,
    days: int = 4,
    strategies: tuple[str, ...] = ("twap", "vwap", "lstm"),
    decisions: int = 6,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Contract-shaped episodes, decisions and manifest with random figures (no simulation).

    Costs are positive and strategy-dependent; every (variant, fold, stock, day) has one row
    per strategy, decisions are consistent in shape. ``sweep`` (key path -> values) gives
    one variant per combination, labelled as ``lobsim.expand_sweep`` labels them.
    """
    rng = np.random.default_rng(seed)
    tickers = np.array([f"S{i:03d}" for i in range(stocks)], dtype=object)
    combos = list(itertools.product(*sweep.values())) if sweep else [()]
    info = [
        {
            "id": f"v{i:08x}",
            "label": ", ".join(f"{p}={_text(x)}" for p, x in zip(sweep, combo, strict=True))
            if sweep
            else "base",
            "hash": f"{i:064x}",
        }
        for i, combo in enumerate(combos)
    ]
    variants = len(info)
    v, f, s, d, k = np.meshgrid(
        np.arange(variants),
        np.arange(folds),
        np.arange(len(strategies)),
        np.arange(days),
        np.arange(stocks),
        indexing="ij",
    )
    v, f, s, d, k = (a.reshape(-1) for a in (v, f, s, d, k))
    n = len(v)
    shares = (1000 + 100 * k).astype(np.int64)
    price = 10.0 + k + 0.5 * f
    temporary = rng.uniform(1.0, 2.0, n) * (1.0 + 0.1 * s) * shares * price * 1e-4
    timing = rng.normal(0.0, 1.0, n) * shares * price * 1e-3
    episodes = pd.DataFrame(
        {
            "variant": np.array([x["label"] for x in info], dtype=object)[v],
            "variant_id": np.array([x["id"] for x in info], dtype=object)[v],
            "fold": f.astype(np.int64),
            "strategy": np.array(strategies, dtype=object)[s],
            "stock": tickers[k],
            "day": pd.Timestamp("2021-01-04") + pd.to_timedelta(f * days + d, unit="D"),
            "side": "sell",
            "shares": shares,
            "shares_filled": shares,
            "unfilled": np.zeros(n, dtype=np.int64),
            "arrival_price": price,
            "avg_price": price * 0.999,
            "day_volume": 1e5 * (1 + k) + 1e3 * d,
            "temporary_cost": temporary,
            "permanent_cost": np.zeros(n),
            "timing_cost": timing,
            "shortfall": temporary + timing,
            "cost": temporary,
        }
    )
    notional = shares * price
    for col in ("temporary_cost", "permanent_cost", "timing_cost", "shortfall", "cost"):
        episodes[col.replace("_cost", "") + "_bps"] = 1e4 * episodes[col] / notional
    v, f, s, k, j = np.meshgrid(
        np.arange(variants),
        np.arange(folds),
        np.arange(len(strategies)),
        np.arange(stocks),
        np.arange(decisions),
        indexing="ij",
    )
    v, f, s, k, j = (a.reshape(-1) for a in (v, f, s, k, j))
    decisions_frame = pd.DataFrame(
        {
            "variant": np.array([x["label"] for x in info], dtype=object)[v],
            "variant_id": np.array([x["id"] for x in info], dtype=object)[v],
            "fold": f.astype(np.int64),
            "strategy": np.array(strategies, dtype=object)[s],
            "stock": tickers[k],
            "decision": j.astype(np.int64),
            "minute": (390 // decisions) * (j + 1),
            "inventory": 1.0 - j / decisions,
            "child_cost": rng.uniform(0.0, 1.0, len(v)),
        }
    )
    manifest = {
        "scenario": {
            "run": {"name": "random", "seed": seed},
            "sweep": dict(sweep or {}),
        },
        "scenario_hash": "f" * 64,
        "variants": info,
        "seed": seed,
        "baselines": [b for b in ("vwap", "twap") if b in strategies],
        "strategies": list(strategies),
        "versions": {},
        "timings": {},
        "tasks": [],
        "backend": "local",
        "workers": 1,
        "created": "2024-01-01T00:00:00Z",
    }
    return episodes, decisions_frame, manifest


def _text(value) -> str:
    """A swept value as a variant label writes it: strings bare, the rest as TOML/JSON."""
    return value if isinstance(value, str) else json.dumps(value)
