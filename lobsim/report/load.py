"""Read and check a run directory: ``manifest.json``, ``episodes.parquet``, ``decisions.parquet``.

The run directory contract (DESIGN.md section 4 and the run executor's docstring) is all the
report relies on. Everything that does not fit it is refused with a :class:`ReportError` that
names the file, the key or column, and what was expected, so ``lobsim report DIR`` exits 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lobsim.errors import InputError
from lobsim.rundir import (
    DECISIONS,
    DECISIONS_SCHEMA,
    EPISODES,
    EPISODES_SCHEMA,
    HINDSIGHT,
    HINDSIGHT_SCHEMA,
    MANIFEST,
    may_be_nan,
)

# Columns the report reads (their types: the run contract's schemas); the files may hold more.
EPISODE_COLUMNS = (
    "variant",
    "variant_id",
    "fold",
    "strategy",
    "stock",
    "day",
    "shares",
    "unfilled",
    "arrival_price",
    "day_volume",
    "temporary_cost",
    "permanent_cost",
    "timing_cost",
    "shortfall",
    "cost",
)
# Read when present: runs written before unfilled shares were charged, or before limit orders,
# have none (zeros).
OPTIONAL_EPISODE_COLUMNS = ("opportunity_cost", "penalty_cost", "posted_shares", "passive_shares")
HINDSIGHT_COLUMNS = ("variant_id", "fold", "stock", "day", "hindsight_cost")
DECISION_COLUMNS = (
    "variant_id",
    "fold",
    "strategy",
    "stock",
    "decision",
    "minute",
    "inventory",
    "child_cost",
)


class ReportError(InputError):
    """A run directory that cannot be reported on (names the file and what is wrong)."""


@dataclass(frozen=True)
class VariantInfo:
    """One variant of the run, in the manifest's order.

    ``values`` maps each swept key path to this variant's value (parsed from the label), and is
    empty without a sweep or when the label cannot be parsed.
    """

    id: str
    label: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResults:
    """A checked run directory, ready for the tables and plots.

    Attributes
    ----------
    path : Path
    manifest : dict
    episodes : pandas.DataFrame
        The contract's columns that the report uses, plus ``value_traded`` (shares *
        arrival_price, $); ``fold`` int64, ``day`` datetime64, ``stock``/``strategy`` str.
    decisions : pandas.DataFrame
        The contract's columns of ``decisions.parquet``.
    strategies : tuple of str
        Strategy labels in the manifest's order.
    baselines : tuple of str
        The manifest's baselines (a subset of ``strategies``).
    variants : tuple of VariantInfo
        In the manifest's order.
    sweep_paths : tuple of str
        The swept key paths (``scenario.sweep`` of the manifest), in the file's order.
    hindsight : pandas.DataFrame or None
        ``hindsight.parquet``'s columns the report uses (the hindsight optimum per
        (variant, fold, stock, day), NaN where undefined); None for a run without it.
    """

    path: Path
    manifest: dict[str, Any]
    episodes: pd.DataFrame
    decisions: pd.DataFrame
    strategies: tuple[str, ...]
    baselines: tuple[str, ...]
    variants: tuple[VariantInfo, ...]
    sweep_paths: tuple[str, ...] = ()
    hindsight: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        """The run's name (``scenario.run.name``), else the directory's name."""
        run = self.manifest.get("scenario", {}).get("run", {})
        name = run.get("name") if isinstance(run, dict) else None
        return str(name) if name else self.path.name


def load_run(run_dir: str | Path) -> RunResults:
    """Read and check the run directory ``run_dir``.

    Parameters
    ----------
    run_dir : str or Path
        A directory written by ``lobsim run``.

    Returns
    -------
    RunResults

    Raises
    ------
    ReportError
        If ``run_dir`` is not a directory, a file is missing or unreadable, a column or
        manifest key is missing or of the wrong type, or the episodes are not one row per
        (variant, fold, stock, day) and strategy of the manifest.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ReportError(f"{path} is not a run directory (no such directory)")
    missing = [name for name in (MANIFEST, EPISODES, DECISIONS) if not (path / name).is_file()]
    if missing:
        raise ReportError(
            f"{path} is not a complete run directory: {', '.join(missing)} missing "
            f"(a run writes {MANIFEST}, {EPISODES} and {DECISIONS})"
        )
    manifest = _read_manifest(path / MANIFEST)
    strategies, baselines, variants, sweep_paths = _manifest_fields(manifest, path / MANIFEST)
    episodes = _read_parquet(
        path / EPISODES, EPISODES_SCHEMA, EPISODE_COLUMNS, OPTIONAL_EPISODE_COLUMNS
    )
    decisions = _read_parquet(path / DECISIONS, DECISIONS_SCHEMA, DECISION_COLUMNS)
    _check_episodes(episodes, strategies, variants, path / EPISODES)
    _check_decisions(decisions, episodes, path / DECISIONS)
    episodes["value_traded"] = episodes["shares"] * episodes["arrival_price"]
    hindsight = None
    if (path / HINDSIGHT).is_file():
        hindsight = _read_parquet(path / HINDSIGHT, HINDSIGHT_SCHEMA, HINDSIGHT_COLUMNS)
    return RunResults(
        path=path,
        manifest=manifest,
        episodes=episodes,
        decisions=decisions,
        strategies=strategies,
        baselines=baselines,
        variants=variants,
        sweep_paths=sweep_paths,
        hindsight=hindsight,
    )


def _read_manifest(file: Path) -> dict[str, Any]:
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{file}: cannot be read as JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ReportError(f"{file}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _labels(manifest: dict, key: str, file: Path) -> tuple[str, ...]:
    value = manifest.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ReportError(f"{file}: {key!r} must be a list of strategy labels, got {value!r}")
    if len(set(value)) != len(value):
        raise ReportError(f"{file}: {key!r} has duplicates: {value}")
    return tuple(value)


def _manifest_fields(manifest: dict, file: Path):
    strategies = _labels(manifest, "strategies", file)
    if not strategies:
        raise ReportError(f"{file}: 'strategies' is empty; expected at least one label")
    baselines = _labels(manifest, "baselines", file)
    unknown = [b for b in baselines if b not in strategies]
    if unknown:
        raise ReportError(
            f"{file}: baselines {unknown} are not among the strategies {list(strategies)}"
        )
    raw = manifest.get("variants")
    if not isinstance(raw, list) or not raw:
        raise ReportError(f"{file}: 'variants' must be a non-empty list, got {raw!r}")
    scenario = manifest.get("scenario")
    sweep = scenario.get("sweep") if isinstance(scenario, dict) else None
    sweep_paths = tuple(sweep) if isinstance(sweep, dict) else ()
    variants = []
    for i, entry in enumerate(raw):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("id"), str)
            and isinstance(entry.get("label"), str)
        ):
            raise ReportError(
                f"{file}: variants[{i}] must be an object with string 'id' and 'label', "
                f"got {entry!r}"
            )
        values = parse_label(entry["label"], sweep_paths)
        variants.append(VariantInfo(id=entry["id"], label=entry["label"], values=values))
    ids = [v.id for v in variants]
    if len(set(ids)) != len(ids):
        raise ReportError(f"{file}: variant ids are not unique: {ids}")
    return strategies, baselines, tuple(variants), sweep_paths


def parse_label(label: str, paths: tuple[str, ...]) -> dict[str, Any]:
    """The values of a variant label ``"a.b=0.1, c.d=2"`` for the swept ``paths``.

    Values that read as JSON (numbers, booleans, arrays) are returned as such, others as the
    text. An empty dict if the label does not have the shape the paths imply.
    """
    if not paths:
        return {}
    out: dict[str, Any] = {}
    rest = label
    for i, p in enumerate(paths):
        head = f"{p}="
        if not rest.startswith(head):
            return {}
        rest = rest[len(head) :]
        if i + 1 < len(paths):
            cut = rest.find(f", {paths[i + 1]}=")
            if cut < 0:
                return {}
            text, rest = rest[:cut], rest[cut + 2 :]
        else:
            text, rest = rest, ""
        try:
            out[p] = json.loads(text)
        except ValueError:
            out[p] = text
    return out


def _read_parquet(
    file: Path,
    schema: pa.Schema,
    columns: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The ``columns`` of ``file`` and those of ``optional`` it has (zeros if not), each checked
    and cast to its type in ``schema``."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(file).names
        absent = [c for c in columns if c not in names]
        if absent:
            raise ReportError(
                f"{file}: missing column(s) {', '.join(absent)}; "
                f"expected the run contract's columns {', '.join(columns)}"
            )
        present = [c for c in optional if c in names]
        table = pq.read_table(file, columns=[*columns, *present])
    except ReportError:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types on a corrupt file
        raise ReportError(f"{file}: cannot be read as Parquet ({exc})") from None
    arrays = {c: _conform(table.column(c), schema.field(c), file) for c in (*columns, *present)}
    for c in optional:
        if c not in arrays:
            arrays[c] = pa.nulls(table.num_rows, schema.field(c).type).fill_null(0)
    return pa.table(arrays).to_pandas()


def _conform(values: pa.ChunkedArray, want: pa.Field, file: Path) -> pa.ChunkedArray:
    """``values`` as the schema's type ``want.type``, refused with the row and the column where
    they cannot be: labels (text; numbers read as text) must be present, days timestamps,
    numbers finite (NaN where ``want`` allows it), whole where the type is an integer."""

    def bad(what: str, row: int = 0) -> ReportError:
        return ReportError(f"{file}: row {row}, column {want.name!r}: {what}")

    kind = values.type
    if pa.types.is_string(want.type) or pa.types.is_large_string(want.type):
        if values.null_count:
            raise bad("missing value", _first(values.is_null()))
        try:
            return values.cast(want.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise bad(f"expected text, got dtype {kind}") from None
    if pa.types.is_timestamp(want.type):
        if not pa.types.is_timestamp(kind):
            raise bad(f"expected dates, got dtype {kind}")
        try:
            return values.cast(want.type)
        except pa.ArrowInvalid as exc:
            raise bad(f"expected dates, to the {want.type.unit} at the finest ({exc})") from None
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise bad(f"expected numbers, got dtype {kind}")
    array = values.to_numpy().astype(np.float64)  # nulls read as NaN
    finite = np.isfinite(array) | (np.isnan(array) if may_be_nan(want) else False)
    if not finite.all():
        row = _first(~finite)
        raise bad(f"expected a finite number, got {array[row]}", row)
    if pa.types.is_floating(want.type):
        return values.cast(want.type, safe=False)  # integers past 2**53 round, as floats do
    wrong = (array != np.round(array)) | (np.abs(array) >= 2.0**63)
    if wrong.any():
        row = _first(wrong)
        raise bad(f"expected a whole number ({want.type}), got {array[row]}", row)
    return values.cast(want.type)


def _first(mask) -> int:
    """The first row where ``mask`` (a boolean NumPy or Arrow array) holds."""
    if not isinstance(mask, np.ndarray):
        mask = mask.to_numpy(zero_copy_only=False)
    return int(np.flatnonzero(mask)[0])


def _check_episodes(
    episodes: pd.DataFrame,
    strategies: tuple[str, ...],
    variants: tuple[VariantInfo, ...],
    file: Path,
) -> None:
    if episodes.empty:
        raise ReportError(f"{file}: no episodes (0 rows)")
    present = set(episodes["strategy"].unique())
    unknown = sorted(present - set(strategies))
    if unknown:
        raise ReportError(
            f"{file}: strategies {unknown} are not in the manifest's strategies {list(strategies)}"
        )
    absent = [s for s in strategies if s not in present]
    if absent:
        raise ReportError(f"{file}: no episodes of the manifest's strategies {absent}")
    labels = {v.id: v.label for v in variants}
    pairs = episodes[["variant_id", "variant"]].drop_duplicates()
    for vid, label in pairs.itertuples(index=False):
        if vid not in labels:
            raise ReportError(
                f"{file}: variant_id {vid!r} is not among the manifest's variants {list(labels)}"
            )
        if labels[vid] != label:
            raise ReportError(
                f"{file}: variant_id {vid!r} is labelled {label!r} but the manifest says "
                f"{labels[vid]!r}"
            )
    key = ["variant_id", "fold", "stock", "day"]
    dup = episodes.duplicated([*key, "strategy"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ReportError(
            f"{file}: row {row} repeats the episode {_describe(episodes.iloc[row], key)} of "
            f"strategy {episodes['strategy'].iloc[row]!r}; expected one row per (variant, fold, "
            "strategy, stock, day)"
        )
    # Savings compare strategies on the same days, so every episode needs every strategy.
    counts = episodes.groupby(key, sort=True, observed=True)["strategy"].size()
    short = counts[counts != len(strategies)]
    if len(short):
        where = dict(zip(key, short.index[0], strict=True))
        have = episodes.loc[(episodes[key] == pd.Series(where)).all(axis=1), "strategy"].tolist()
        raise ReportError(
            f"{file}: the episode {where} has rows for {sorted(have)} only; expected one per "
            f"strategy {list(strategies)}"
        )


def _check_decisions(decisions: pd.DataFrame, episodes: pd.DataFrame, file: Path) -> None:
    key = ["variant_id", "fold", "strategy", "stock"]
    want = set(episodes[key].drop_duplicates().itertuples(index=False, name=None))
    have = set(decisions[key].drop_duplicates().itertuples(index=False, name=None))
    if want - have:
        first = dict(zip(key, min(want - have), strict=True))
        raise ReportError(f"{file}: no decisions for {first}, which has episodes")
    if have - want:
        first = dict(zip(key, min(have - want), strict=True))
        raise ReportError(f"{file}: decisions for {first}, which has no episodes")
    dup = decisions.duplicated([*key, "decision"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise ReportError(
            f"{file}: row {row} repeats decision {decisions['decision'].iloc[row]} of "
            f"{_describe(decisions.iloc[row], key)}"
        )
    sizes = decisions.groupby(key, sort=False)["decision"].size()
    if sizes.nunique() != 1:
        raise ReportError(
            f"{file}: the number of decisions differs between series "
            f"({sizes.min()} to {sizes.max()}); expected the same schedule for every one"
        )


def _describe(row: pd.Series, key: list[str]) -> str:
    return "(" + ", ".join(f"{k}={row[k]}" for k in key) + ")"
