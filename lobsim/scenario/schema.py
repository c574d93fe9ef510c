"""The scenario schema: frozen, keyword-only dataclasses, one per table of a scenario file.

A scenario file (TOML) has these tables; every key is optional unless marked, and
:mod:`lobsim.scenario.load` refuses unknown keys, wrong types and out-of-range values with the
key's path::

    [run]            name, seed (root of every random number of the run), max_variants,
                     description (the question the scenario asks)
    [market]         source = "synthetic" | "file" | "lobster"; path (a bar file, or for
                     "lobster" a LOBSTER message file or a directory of pairs, relative to the
                     scenario file) and tickers (a subset); [market.synthetic] stocks, days,
                     seed, volume_mode, preset and [market.synthetic.params]
                     (lobsim.SynthParams) for "synthetic" (its minutes are schedule.minutes)
    [folds]          train_days, test_days, step_days, count (walk-forward, DESIGN.md section 1)
    [schedule]       minutes, interval, lag (lobsim.Schedule)
    [parent]         side = "sell" | "buy"; fraction_adv or shares (one of them)
    [book]           lobsim.BookModel's fields, same names and checks; epsilon or target_bps;
                     [[book.droughts]] first, last, multiplier
    [impact]         permanent (g of the linear permanent impact)
    [strategies.L]   (required, one table or more) a strategy labelled L in the results:
                     class (short name or "package.module:Class"; default: L) and the
                     constructor's keyword options
    [sweep]          key paths -> arrays of values: the grid of variants (Cartesian product)
    [report]         baselines (strategy labels that savings are reported against)

Two defaults are derived rather than fixed, and stay unset (None) in the schema so that a sweep
or an override of what they derive from carries through: the synthetic market's seed
(:attr:`Scenario.market_seed`) and the report's baselines (:attr:`Scenario.baselines`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lobsim._constants import SynthPreset, VolumeMode
from lobsim.books.model import BookModel
from lobsim.engine.records import MAX_QTY
from lobsim.errors import InputError, ScenarioError
from lobsim.market import SynthParams, walk_forward_folds
from lobsim.scenario import _toml
from lobsim.scenario._convert import EXCLUSIVE, keyed, suggest
from lobsim.strategy import Schedule

# Labels and short names end up in key paths, file names and table columns.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
IMPORT_PATH = re.compile(rf"{_IDENT}(\.{_IDENT})*:{_IDENT}(\.{_IDENT})*")
DEFAULT_BASELINES = ("vwap", "twap")


def _need(ok: bool, key: tuple[str | int, ...], detail: str) -> None:
    """Unless ``ok``, the error about the value at key path ``key`` (see :func:`keyed`)."""
    if not ok:
        raise keyed(key, detail)


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """``[run]``: what the run is called and the root of its random numbers."""

    name: str = "scenario"
    seed: int = 0
    max_variants: int = 256
    description: str = ""

    def __post_init__(self) -> None:
        _need(
            bool(_RUN_NAME.fullmatch(self.name)),
            ("run", "name"),
            f" must be letters, digits, '_', '-' or '.', not starting with a "
            f"punctuation mark, got {self.name!r}",
        )
        _need(self.seed >= 0, ("run", "seed"), f" must be an integer >= 0, got {self.seed}")
        _need(
            self.max_variants >= 1,
            ("run", "max_variants"),
            f" must be >= 1, got {self.max_variants}",
        )


@dataclass(frozen=True, kw_only=True)
class SyntheticMarketSpec:
    """``[market.synthetic]``: options of ``lobsim.synthesize_market``.

    ``seed`` None means the run's seed (see :attr:`Scenario.market_seed`). The table
    ``[market.synthetic.params]`` holds :class:`lobsim.market.SynthParams`, same names and
    checks, starting from ``preset`` (``lobsim.market.SYNTH_PRESETS``: "default", or "thin" for
    small caps with minutes without trades); what the table gives wins. The market has
    ``schedule.minutes`` minutes a day.
    """

    stocks: int = 100
    days: int = 600
    seed: int | None = None
    preset: SynthPreset = "default"
    volume_mode: VolumeMode = "stochastic"
    params: SynthParams = field(default_factory=SynthParams)

    def __post_init__(self) -> None:
        where = ("market", "synthetic")
        _need(self.stocks >= 1, (*where, "stocks"), f" must be >= 1, got {self.stocks}")
        _need(self.days >= 1, (*where, "days"), f" must be >= 1, got {self.days}")
        _need(
            self.seed is None or self.seed >= 0,
            (*where, "seed"),
            f" must be an integer >= 0, got {self.seed}",
        )


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """``[market.load]``: how ``lobsim.load_bars`` reads the bar file (its keyword arguments).

    ``ticker`` marks ``market.path`` as a headerless vendor file of that ticker; ``tz`` is the
    zone of timestamps written without an offset; ``session`` is [open, close] in exchange time.
    """

    ticker: str | None = None
    tz: str | None = None
    exchange_tz: str | None = None
    session: tuple[str, str] | None = None
    stamp: Literal["end", "start"] | None = None  # None: detected from the data
    sort: bool = False
    min_minutes: int | None = None

    def __post_init__(self) -> None:
        if self.min_minutes is not None:
            _need(
                self.min_minutes >= 1,
                ("market", "load", "min_minutes"),
                f" must be >= 1, got {self.min_minutes}",
            )

    def kwargs(self) -> dict[str, Any]:
        """The options as ``load_bars`` keyword arguments."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class MarketSpec:
    """``[market]``: the synthetic universe, a file of minute bars (DESIGN.md section 4), or
    LOBSTER stock-days replayed message by message (a message file or a directory of pairs,
    :mod:`lobsim.market.lobster_market`)."""

    source: Literal["synthetic", "file", "lobster"] = "synthetic"
    path: Path | None = None
    tickers: tuple[str, ...] | None = None
    synthetic: SyntheticMarketSpec | None = None
    load: LoadSpec | None = None

    def __post_init__(self) -> None:
        file_only = ' is only for market.source = "file"'
        if self.source == "synthetic":
            _need(self.path is None, ("market", "path"), file_only)
            _need(self.load is None, ("market", "load"), file_only)
            _need(self.tickers is None, ("market", "tickers"), file_only)
            if self.synthetic is None:
                object.__setattr__(self, "synthetic", SyntheticMarketSpec())
            return
        _need(
            self.synthetic is None,
            ("market", "synthetic"),
            ' is only for market.source = "synthetic"',
        )
        _need(
            self.path is not None,
            ("market", "path"),
            f' is required when market.source = "{self.source}"',
        )
        if self.source == "lobster":
            _need(self.load is None, ("market", "load"), file_only)
        elif self.load is None:
            object.__setattr__(self, "load", LoadSpec())
        if self.tickers is not None:
            _need(len(self.tickers) > 0, ("market", "tickers"), " must name at least one ticker")
            _need(
                len(set(self.tickers)) == len(self.tickers),
                ("market", "tickers"),
                f" has duplicates: {list(self.tickers)}",
            )


@dataclass(frozen=True, kw_only=True)
class FoldsSpec:
    """``[folds]``: walk-forward folds; ``count`` None means as many as the days allow."""

    train_days: int = 60
    test_days: int = 45
    step_days: int = 60
    count: int | None = None

    def __post_init__(self) -> None:
        for name in ("train_days", "test_days", "step_days"):
            value = getattr(self, name)
            _need(value >= 1, ("folds", name), f" must be >= 1, got {value}")
        _need(
            self.count is None or self.count >= 1,
            ("folds", "count"),
            f" must be >= 1, got {self.count}",
        )


@dataclass(frozen=True, kw_only=True)
class ParentSpec:
    """``[parent]``: the parent order per stock; a fraction of ADV (5% unless said) or shares."""

    side: Literal["sell", "buy"] = "sell"
    fraction_adv: float | None = None
    shares: int | None = None

    def __post_init__(self) -> None:
        if self.fraction_adv is not None and self.shares is not None:
            raise ScenarioError(
                "parent.fraction_adv and parent.shares exclude each other: give one of them"
            )
        if self.shares is None and self.fraction_adv is None:
            object.__setattr__(self, "fraction_adv", 0.05)
        if self.fraction_adv is not None:
            _need(
                0 < self.fraction_adv <= 1,
                ("parent", "fraction_adv"),
                f" must be in (0, 1], got {self.fraction_adv}",
            )
        if self.shares is not None:
            _need(
                1 <= self.shares <= MAX_QTY,
                ("parent", "shares"),
                f" must be in [1, {MAX_QTY:,}] (the engine's largest order), got {self.shares}",
            )


@dataclass(frozen=True, kw_only=True)
class ImpactSpec:
    """``[impact]``: g of the linear permanent impact S~ = S (1 - g X_before / ADV)."""

    permanent: float = 0.0

    def __post_init__(self) -> None:
        _need(self.permanent >= 0, ("impact", "permanent"), f" must be >= 0, got {self.permanent}")


@dataclass(frozen=True, kw_only=True)
class StrategySpec:
    """``[strategies.LABEL]``: a strategy as the scenario names it; not imported here.

    Attributes
    ----------
    label : str
        Its name in the results.
    cls : str
        The ``class`` key: a short name of the entry-point group ``lobsim.strategies`` or
        ``"package.module:Class"``; the label when the key is absent.
    options : dict
        Keyword arguments of the constructor, as read (checked by ``resolve_strategies``).
    """

    label: str
    cls: str
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = ("strategies", self.label)
        _need(
            bool(NAME.fullmatch(self.label)),
            where,
            ": a strategy label must be letters, digits, '_' or '-', starting with a letter or "
            "'_'",
        )
        _need(
            bool(NAME.fullmatch(self.cls) or IMPORT_PATH.fullmatch(self.cls)),
            (*where, "class"),
            f' must be a short name (like "twap") or "package.module:Class", got {self.cls!r}',
        )
        for name in self.options:
            _need(
                name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__"),
                (*where, name),
                ": an option name must be a Python identifier",
            )

    def kwargs(self) -> dict[str, Any]:
        """A fresh copy of the options, for the constructor."""
        return json.loads(json.dumps(self.options))


@dataclass(frozen=True, kw_only=True)
class SweepAxis:
    """One key of ``[sweep]``: a key path and the values it takes, in order."""

    path: str
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ScenarioError(f"sweep.{self.path!r} needs at least one value")


@dataclass(frozen=True, kw_only=True)
class ReportSpec:
    """``[report]``: savings are reported against ``baselines`` (strategy labels)."""

    baselines: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.baselines is not None:
            _need(
                len(set(self.baselines)) == len(self.baselines),
                ("report", "baselines"),
                f" has duplicates: {list(self.baselines)}",
            )


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A whole scenario, validated; see the module docstring for the tables."""

    run: RunSpec = field(default_factory=RunSpec)
    market: MarketSpec = field(default_factory=MarketSpec)
    folds: FoldsSpec = field(default_factory=FoldsSpec)
    schedule: Schedule = field(default_factory=Schedule)
    parent: ParentSpec = field(default_factory=ParentSpec)
    book: BookModel = field(default_factory=BookModel)
    impact: ImpactSpec = field(default_factory=ImpactSpec)
    strategies: tuple[StrategySpec, ...]
    sweep: tuple[SweepAxis, ...] = ()
    report: ReportSpec = field(default_factory=ReportSpec)

    def __post_init__(self) -> None:
        labels = self.labels
        _need(
            len(labels) > 0,
            ("strategies",),
            ": a scenario needs at least one [strategies.LABEL]",
        )
        _need(len(set(labels)) == len(labels), ("strategies",), f": duplicate labels in {labels}")
        for i, name in enumerate(self.report.baselines or ()):
            if name not in labels:
                guess = suggest(name, labels)
                hint = f"; did you mean {guess!r}?" if guess else ""
                raise keyed(
                    ("report", "baselines", i),
                    f" = {name!r} is not a strategy label{hint} (labels: {', '.join(labels)})",
                )
        if self.market.source == "lobster":
            _need(
                self.impact.permanent == 0,
                ("impact", "permanent"),
                ' must be 0 when market.source = "lobster": a replayed book keeps the mark our '
                "trades leave on it, which is the permanent impact there",
            )
        synthetic = self.market.synthetic
        if synthetic is not None:
            folds = self.folds
            try:
                walk_forward_folds(
                    synthetic.days,
                    train_days=folds.train_days,
                    test_days=folds.test_days,
                    step_days=folds.step_days,
                    count=folds.count,
                )
            except InputError as exc:
                raise keyed(("folds", *exc.key), f"{exc.detail} (market.synthetic.days)") from None
            if isinstance(self.book.epsilon, tuple):
                _need(
                    len(self.book.epsilon) == synthetic.stocks,
                    ("book", "epsilon"),
                    f" has {len(self.book.epsilon)} values but market.synthetic.stocks = "
                    f"{synthetic.stocks}",
                )
        for i, drought in enumerate(self.book.droughts):
            _need(
                drought.first <= self.schedule.minutes,
                ("book", "droughts", i, "first"),
                f" = {drought.first} is after the last minute of the day (schedule.minutes = "
                f"{self.schedule.minutes})",
            )

    @property
    def labels(self) -> tuple[str, ...]:
        """The strategy labels, in the file's order."""
        return tuple(s.label for s in self.strategies)

    def strategy(self, label: str) -> StrategySpec:
        """The strategy labelled ``label``."""
        for spec in self.strategies:
            if spec.label == label:
                return spec
        raise ScenarioError(f"no strategy labelled {label!r} (labels: {', '.join(self.labels)})")

    @property
    def baselines(self) -> tuple[str, ...]:
        """``report.baselines``, or by default the strategies of class vwap and twap."""
        if self.report.baselines is not None:
            return self.report.baselines
        return tuple(
            s.label for name in DEFAULT_BASELINES for s in self.strategies if s.cls == name
        )

    @property
    def market_seed(self) -> int | None:
        """Seed of the synthetic market: ``market.synthetic.seed``, else ``run.seed``."""
        synthetic = self.market.synthetic
        if synthetic is None:
            return None
        return self.run.seed if synthetic.seed is None else synthetic.seed

    def to_dict(self) -> dict[str, Any]:
        """The scenario as a TOML-shaped dict of plain values, every default written out.

        Reading it back (``lobsim.scenario.scenario_from_dict``) gives an equal scenario.
        Unset optional keys (None) are left out, as TOML has no null.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "strategies":
                out[f.name] = {s.label: {"class": s.cls, **s.kwargs()} for s in self.strategies}
            elif f.name == "sweep":
                out[f.name] = {a.path: _plain(list(a.values), ()) for a in self.sweep}
            else:
                out[f.name] = _plain(getattr(self, f.name), (f.name,))
        return out

    def to_toml(self) -> str:
        """The scenario as TOML text; loading it gives an equal scenario."""
        return _toml.dumps(self.to_dict())

    @property
    def content_hash(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`to_dict`: equal scenarios, equal hash."""
        return content_hash(self.to_dict())


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One point of a scenario's sweep grid (the only one when there is no sweep).

    Attributes
    ----------
    index : int
        Position in the grid (row-major over the ``[sweep]`` keys in the file's order).
    id : str
        ``"v"`` and 8 hex digits of the hash of ``overrides`` alone: the same values give the
        same id whatever else the grid holds.
    label : str
        ``"book.alpha_noise=0.1"`` (several keys joined by ``", "``); ``"base"`` without sweep.
    overrides : tuple of (str, value)
        The swept key paths and their values for this variant.
    scenario : Scenario
        The resolved scenario of the variant (without sweep).
    """

    index: int
    id: str
    label: str
    overrides: tuple[tuple[str, Any], ...]
    scenario: Scenario

    @property
    def content_hash(self) -> str:
        """The hash of the variant's resolved scenario (task keys of a run derive from it)."""
        return self.scenario.content_hash


def _plain(obj: Any, path: tuple[str, ...]) -> Any:
    """Dataclasses, tuples and paths as dicts, lists and strings; None values left out."""
    if dataclasses.is_dataclass(obj):
        table = {
            f.name: _plain(getattr(obj, f.name), (*path, f.name))
            for f in dataclasses.fields(obj)
            if f.init and getattr(obj, f.name) is not None
        }
        group = EXCLUSIVE.get(path)
        if group is not None:
            # Only the member that is in force: BookModel keeps target_bps set beside epsilon.
            first = next(k for k in group if k in table)
            table = {k: v for k, v in table.items() if k not in group or k == first}
        return table
    if isinstance(obj, (tuple, list)):
        return [_plain(v, path) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def canonical_json(doc: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the same document, the same bytes."""
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def content_hash(doc: Any) -> str:
    """sha256 (hex) of :func:`canonical_json` of ``doc``."""
    return hashlib.sha256(canonical_json(doc)).hexdigest()
