"""From finished tasks to a run's results: the two Parquet files, the manifest, the headline.

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
from lobsim.run.task import DECISIONS, EPISODES

MANIFEST_NAME = "manifest.json"


def assemble(plan: RunPlan, staging: Path) -> int:
    """Write ``episodes.parquet`` and ``decisions.parquet`` of all tasks into ``staging``.

    Returns the number of episode rows.
    """
    rows = 0
    for name in (EPISODES, DECISIONS):
        tables = [_read(spec, name) for spec in plan.tasks]
        table = pa.concat_tables(tables)
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
        episodes, cost_bps (total cost over total value traded, as in the report); variants in
        run order, strategies in the scenario's order.
    """
    order = {label: i for i, label in enumerate(labels)}
    value = episodes["shares"] * episodes["arrival_price"]
    table = (
        episodes.assign(_value=value)
        .groupby(["variant", "strategy"], sort=False)
        .agg(
            cost=("cost", "mean"),
            _cost=("cost", "sum"),
            _value=("_value", "sum"),
            episodes=("cost", "size"),
        )
        .reset_index()
    )
    # Value-weighted, as the report and the paper's tables: total cost over total value traded.
    table["cost_bps"] = 1e4 * table.pop("_cost") / table.pop("_value")
    table["_order"] = table["strategy"].map(order)
    variants = {v: i for i, v in enumerate(pd.unique(episodes["variant"]))}
    table["_variant"] = table["variant"].map(variants)
    return table.sort_values(["_variant", "_order"]).drop(columns=["_order", "_variant"])


def format_headline(table: pd.DataFrame) -> str:
    """The headline table as aligned text."""
    show_variant = table["variant"].nunique() > 1
    head = (["variant"] if show_variant else []) + ["strategy", "mean daily cost $", "bps"]
    rows = [
        ([str(r.variant)] if show_variant else [])
        + [str(r.strategy), f"{r.cost:,.2f}", f"{r.cost_bps:.3f}"]
        for r in table.itertuples()
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    numeric = len(head) - 2

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i >= numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])
