"""From finished tasks to a run's results: the Parquet tables, the manifest, the headline.

Rows are concatenated in the plan's fixed task order (variant index, fold), and within a task
by strategy in the scenario's order, then in ``simulate``'s episode order (day-major); so the
bytes of ``episodes.parquet`` do not depend on which task finished first or where it ran.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lobsim._version import __version__
from lobsim.run.plan import RunPlan, TaskSpec
from lobsim.rundir import EPISODES, TABLES, check_table


def assemble(plan: RunPlan, staging: Path) -> int:
    """Write ``episodes.parquet``, ``decisions.parquet`` and ``hindsight.parquet`` of all tasks
    into ``staging``, each checked against its schema.

    Returns the number of episode rows.
    """
    rows = 0
    for name in TABLES:
        tables = [_read(spec, name) for spec in plan.tasks]
        table = check_table(pa.concat_tables(tables), name)
        pq.write_table(table, staging / name)
        if name == EPISODES:
            rows = table.num_rows
    return rows


def _read(spec: TaskSpec, name: str) -> pa.Table:
    path = spec.out / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the output of {spec.name} is missing; with --scheduler the workers must "
            "write to a file system this process can read"
        )
    return pq.read_table(path)


def versions() -> dict[str, str]:
    """Versions of what produced the numbers (torch only if this process imported it)."""
    out = {
        "lobsim": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = torch.__version__
    return out


def manifest(
    plan: RunPlan,
    tasks: list[dict[str, Any]],
    timings: dict[str, float],
    *,
    backend: str,
    workers: int,
    device: str,
) -> dict[str, Any]:
    """The run's manifest (the run directory contract in :mod:`lobsim.run`)."""
    sc = plan.scenario
    return {
        "scenario": sc.to_dict(),
        "scenario_hash": sc.content_hash,
        "variants": [
            {"id": v.id, "label": v.label, "hash": v.content_hash} for v in plan.variants
        ],
        "seed": sc.run.seed,
        "baselines": list(sc.baselines),
        "strategies": list(sc.labels),
        "versions": versions(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "tasks": tasks,
        "backend": backend,
        "workers": workers,
        "device": device,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_manifest(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def headline(episodes: pd.DataFrame, labels: tuple[str, ...]) -> pd.DataFrame:
    """Mean daily cost per (variant, strategy): $ and bps of the parent's value, per stock-day.

    Returns
    -------
    pandas.DataFrame
        Columns variant, strategy, cost (mean of ``cost`` over every stock and test day, $),
        episodes, cost_bps (total cost over total value traded, as in the report),
        unfilled (shares left at the close, in all), unfilled_days (stock-days that left some),
        unfilled_pct (of the parent orders' shares); variants in run order, strategies in the
        scenario's order.
    """
    order = {label: i for i, label in enumerate(labels)}
    value = episodes["shares"] * episodes["arrival_price"]
    table = (
        episodes.assign(_value=value, _left=episodes["unfilled"] > 0)
        .groupby(["variant", "strategy"], sort=False)
        .agg(
            cost=("cost", "mean"),
            _cost=("cost", "sum"),
            _value=("_value", "sum"),
            episodes=("cost", "size"),
            unfilled=("unfilled", "sum"),
            unfilled_days=("_left", "sum"),
            _shares=("shares", "sum"),
        )
        .reset_index()
    )
    # Value-weighted, as the report and the paper's tables: total cost over total value traded.
    table["cost_bps"] = 1e4 * table.pop("_cost") / table.pop("_value")
    shares = table.pop("_shares").to_numpy(dtype=np.float64)
    table["unfilled_pct"] = 100.0 * table["unfilled"] / np.maximum(shares, 1.0)
    table["_order"] = table["strategy"].map(order)
    variants = {v: i for i, v in enumerate(pd.unique(episodes["variant"]))}
    table["_variant"] = table["variant"].map(variants)
    return table.sort_values(["_variant", "_order"]).drop(columns=["_order", "_variant"])


def format_headline(table: pd.DataFrame) -> str:
    """The headline table as aligned text (with the unfilled share when some was left)."""
    show_variant = table["variant"].nunique() > 1
    show_unfilled = bool((table["unfilled"] > 0).any())
    head = (["variant"] if show_variant else []) + ["strategy", "mean daily cost $", "bps"]
    head += ["unfilled %"] if show_unfilled else []
    rows = [
        ([str(r.variant)] if show_variant else [])
        + [str(r.strategy), f"{r.cost:,.2f}", f"{r.cost_bps:.3f}"]
        + ([f"{r.unfilled_pct:.3f}"] if show_unfilled else [])
        for r in table.itertuples()
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    numeric = head.index("mean daily cost $")

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i >= numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def unfilled_warnings(table: pd.DataFrame) -> list[str]:
    """One warning per (variant,) strategy that left shares unfilled at the close."""
    show_variant = table["variant"].nunique() > 1
    return [
        f"warning: {r.strategy}{f' ({r.variant})' if show_variant else ''} left "
        f"{int(r.unfilled):,} shares ({r.unfilled_pct:.3g}% of its orders) unfilled at the close "
        f"on {int(r.unfilled_days)} of {int(r.episodes)} stock-days (minutes without volume); "
        "they are charged a penalty in cost and an opportunity cost in shortfall"
        for r in table.itertuples()
        if r.unfilled > 0
    ]
