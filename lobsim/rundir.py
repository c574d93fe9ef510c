"""The run directory's contract: the names of its files and the schema of each table.

Everything that writes a run directory (:mod:`lobsim.run.task`, :mod:`lobsim.run.assemble`,
:mod:`lobsim.run.outdir`, :mod:`lobsim.report.write`) and everything that reads one
(:mod:`lobsim.report.load`) takes the names and the column types from here; what the files
hold is described in :mod:`lobsim.run` (and DESIGN.md section 4).

Layout of a run directory ``DIR``::

    DIR/.lobsim-run                 the marker (the scenario's hash), written first
    DIR/.lock                       the live run's lock
    DIR/episodes.parquet            EPISODES_SCHEMA
    DIR/decisions.parquet           DECISIONS_SCHEMA
    DIR/hindsight.parquet           HINDSIGHT_SCHEMA
    DIR/summary.csv, summary.md     the report
    DIR/plots/*.png
    DIR/manifest.json               written last
    DIR/tasks/<hash[:12]>/<variant id>/fold-<k>/   one task's episodes, decisions and
                                                   hindsight tables, and task.json
    DIR/tasks/<hash[:12]>/fits/fold-<k>/           fits shared by the variants of a sweep
                                                   while the run is not complete
                                                   (:mod:`lobsim.run.fits`)

A table's schema lists its contract columns in file order. A writer's table must hold them
first, in that order, of those types (:func:`check_table`); it may hold more after them (a
replayed market's episodes add ``replay_adjusted`` and ``replay_inconsistent``). A reader may
read any subset. Float columns hold finite numbers, except those marked ``nan`` in their
field metadata (:func:`may_be_nan`), which are NaN where the figure is undefined.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from lobsim.errors import LobsimError

MARKER = ".lobsim-run"
LOCK = ".lock"
EPISODES = "episodes.parquet"
DECISIONS = "decisions.parquet"
HINDSIGHT = "hindsight.parquet"  # runs written before the hindsight yardstick have none
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
PLOTS = "plots"
MANIFEST = "manifest.json"
TASKS = "tasks"
TASK_FILE = "task.json"
FOLD_PREFIX = "fold-"
FITS = "fits"  # no variant id has this name (they are "v" and hex digits)
# The tables of a run and of each task, in the order they are written.
TABLES = (EPISODES, DECISIONS, HINDSIGHT)

_LABEL = pa.large_string()
# Parquet stores timestamps in milliseconds at the coarsest: a table's seconds are read back
# as milliseconds.
_DAY = pa.timestamp("ms")
_NAN = {"nan": "undefined"}


def _fields(*spec: tuple) -> list[pa.Field]:
    return [pa.field(name, kind, metadata=meta[0] if meta else None) for name, kind, *meta in spec]


_KEYS = (("variant", _LABEL), ("variant_id", _LABEL), ("fold", pa.int64()))
_COSTS = ("temporary", "permanent", "timing", "opportunity", "penalty")

EPISODES_SCHEMA = pa.schema(
    _fields(
        *_KEYS,
        ("strategy", _LABEL),
        ("stock", _LABEL),
        ("day", _DAY),
        ("side", _LABEL),
        ("shares", pa.int64()),
        ("shares_filled", pa.int64()),
        ("unfilled", pa.int64()),
        ("posted_shares", pa.int64()),
        ("passive_shares", pa.int64()),
        ("arrival_price", pa.float64()),
        ("avg_price", pa.float64(), _NAN),  # NaN when nothing was filled
        ("day_volume", pa.float64()),
        *((f"{c}_cost", pa.float64()) for c in _COSTS),
        ("shortfall", pa.float64()),
        ("cost", pa.float64()),
        *((f"{c}_bps", pa.float64()) for c in (*_COSTS, "shortfall", "cost")),
    )
)
DECISIONS_SCHEMA = pa.schema(
    _fields(
        *_KEYS,
        ("strategy", _LABEL),
        ("stock", _LABEL),
        ("decision", pa.int64()),
        ("minute", pa.int64()),
        ("inventory", pa.float64()),
        ("child_cost", pa.float64()),
    )
)
HINDSIGHT_SCHEMA = pa.schema(
    _fields(
        *_KEYS,
        ("stock", _LABEL),
        ("day", _DAY),
        ("hindsight_cost", pa.float64(), _NAN),  # NaN where the optimum is not defined
        ("hindsight_bps", pa.float64(), _NAN),
        ("hindsight_shares", pa.int64()),
    )
)
SCHEMAS = {EPISODES: EPISODES_SCHEMA, DECISIONS: DECISIONS_SCHEMA, HINDSIGHT: HINDSIGHT_SCHEMA}


class ContractError(LobsimError, TypeError):
    """A table lobsim is about to write does not fit its schema: a bug of lobsim's own."""


def may_be_nan(field: pa.Field) -> bool:
    """Whether a float column of the contract may hold NaN (where its figure is undefined)."""
    return bool(field.metadata) and b"nan" in field.metadata


def stored_type(kind: pa.DataType) -> pa.DataType:
    """The type Parquet keeps for ``kind``, which a reader gets back (seconds: milliseconds)."""
    if pa.types.is_timestamp(kind) and kind.unit == "s":
        return pa.timestamp("ms", tz=kind.tz)
    return kind


def check_table(table: pa.Table, name: str) -> pa.Table:
    """``table``, checked against the schema of the run file ``name`` before it is written.

    Raises
    ------
    ContractError
        When the contract's columns are not the table's first ones, in order, or one of them
        is stored as another type than the schema's.
    """
    schema = SCHEMAS[name]
    head = table.column_names[: len(schema)]
    if head != schema.names:
        raise ContractError(
            f"{name}: columns {head} do not start with the run contract's {schema.names} "
            "(lobsim/rundir.py)"
        )
    for field in schema:
        kind = stored_type(table.schema.field(field.name).type)
        if kind != field.type:
            raise ContractError(
                f"{name}: column {field.name!r} is {kind}, the run contract says {field.type} "
                "(lobsim/rundir.py)"
            )
    return table


def task_root(out: Path, scenario_hash: str) -> Path:
    """``DIR/tasks/<scenario-hash[:12]>``: where the tasks of one scenario keep their outputs."""
    return Path(out) / TASKS / scenario_hash[:12]


def task_dir(root: Path, variant_id: str, fold: int) -> Path:
    """``<task root>/<variant id>/fold-<k>``: one task's outputs."""
    return root / variant_id / f"{FOLD_PREFIX}{fold}"


def fit_root(root: Path) -> Path:
    """``<task root>/fits``: the fits the tasks of a sweep share (:mod:`lobsim.run.fits`)."""
    return root / FITS


def fit_dir(fits: Path, fold: int) -> Path:
    """``<task root>/fits/fold-<k>``: the shared fits of fold k."""
    return fits / f"{FOLD_PREFIX}{fold}"
