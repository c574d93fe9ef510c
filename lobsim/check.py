"""``check_strategy``: run a strategy plug-in through a small synthetic fold and say what is wrong.

The check drives the strategy the way the simulator does (DESIGN.md section 3): it builds the
strategy from its options, fits it on the training days and asks it for target inventories at
every decision of the test days, with observations whose market arrays are read-only and end at
the lag. Child orders are assumed to fill in full (the check is about the contract, not costs).
It then runs the strategy again, each time freshly built and fitted with the same seed:

- on the same data, twice in a row: the targets must be identical (no global random state, no
  clock), and a second batch must repeat the first (per-batch state is reset at ``k == 0``);
- on data whose later minutes are perturbed: decisions that cannot see those minutes must not
  change (this catches reading past the lag through ``obs.volume.base``, a panel kept from
  ``fit`` or any other back door);
- on data whose last test day is perturbed: the other days' decisions must not change (an
  episode must not look at later days of its batch).

The schedule has a lag of two minutes, so a strategy that assumes the default lag of one reads
past the end of the arrays and is caught too.
"""

from __future__ import annotations

import copy
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lobsim.books import BookModel
from lobsim.errors import InputError
from lobsim.market import MarketPanel, synthesize_market
from lobsim.plugins import load_strategy
from lobsim.strategy import SELL, Observation, Schedule, TrainData

CHECK_SCHEDULE = Schedule(minutes=120, interval=5, lag=2)
_PARENT_SHARE_OF_ADV = 0.05
_HINTS = {
    IndexError: "obs.price and obs.volume have shape (D, t - lag, N): a later minute is out of "
    "bounds, so the strategy probably reads beyond the lag (or assumes lag = 1)",
    ValueError: "the observation's arrays are read-only and end at minute t - lag",
}


@dataclass
class CheckReport:
    """What :func:`check_strategy` found.

    Attributes
    ----------
    strategy : str
        The strategy as named to the check.
    problems : list of str
        Contract violations, in plain words; empty when the strategy passes.
    warnings : list of str
        Legal but suspicious behaviour (targets the simulator has to clip).
    runs : int
        Fit-and-decide runs made.
    """

    strategy: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    runs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        verdict = "passes" if self.ok else f"fails: {len(self.problems)} problem(s)"
        lines = [f"strategy {self.strategy!r} {verdict} ({self.runs} runs of a synthetic fold)"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class _Run:
    """One fit-and-decide run: its targets per decision, or why it stopped."""

    targets: list[np.ndarray | None] = field(default_factory=list)
    problems: dict[str, list] = field(default_factory=dict)  # kind -> [message, count]
    warnings: dict[str, list] = field(default_factory=dict)
    stopped: bool = False

    def note(self, book: dict, kind: str, message: str, hint: str = "") -> None:
        """Count a finding; the first occurrence of each kind keeps its message."""
        if kind in book:
            book[kind][1] += 1
        else:
            book[kind] = [message, 1, hint]


def check_strategy(
    strategy_or_spec: Any,
    *,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    n_stocks: int = 3,
    train_days: int = 10,
    test_days: int = 3,
) -> CheckReport:
    """Run a strategy through a small synthetic fold and report every contract violation.

    Parameters
    ----------
    strategy_or_spec : str, class or instance
        A short name or ``"package.module:Class"``, a strategy class, or an instance (copied
        for every run, never changed).
    options : dict, optional
        Constructor options for a name or a class.
    seed : int
        Seed of the synthetic market and of the strategy (``TrainData.seed``).
    n_stocks, train_days, test_days : int
        Size of the fold (the schedule is :data:`CHECK_SCHEDULE`: 120 minutes, decisions every
        5, lag 2).

    Returns
    -------
    CheckReport
        ``.ok``, ``.problems``, ``.warnings``; ``str(report)`` reads as a summary.
    """
    for arg, value, least in (("n_stocks", n_stocks, 1), ("train_days", train_days, 1),
                              ("test_days", test_days, 2)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise InputError(f"check_strategy: {arg} must be an int >= {least}, got {value!r}")
    name = strategy_or_spec if isinstance(strategy_or_spec, str) else _label(strategy_or_spec)
    report = CheckReport(name)
    factory = _factory(strategy_or_spec, options, report)
    if factory is None:
        return report
    market = synthesize_market(
        n_stocks, train_days + test_days, minutes=CHECK_SCHEDULE.minutes, seed=seed
    )
    fold = _Fold(market, train_days, seed)

    first = fold.run(factory, market)
    report.runs = 1
    _collect(first, report)
    if first.stopped:
        return report
    second, again = fold.run(factory, market, passes=2)
    late = fold.run(factory, _perturbed(market, fold, minutes_after=fold.cut))
    other = fold.run(factory, _perturbed(market, fold, last_day=True))
    report.runs = 4
    everyone = np.ones(fold.n_episodes, dtype=bool)
    earlier_days = fold.day < fold.n_test - 1
    checks = (
        (first, second, everyone, None,
         "two runs with the same seed gave different targets{where}: draw random numbers from "
         "train.seed, never from a global generator, the clock or the process"),
        (second, again, everyone, None,
         "a second batch on a fitted strategy gave different targets from the first{where}: "
         "reset per-batch state when obs.k == 0"),
        (first, late, everyone, fold.blind_to_cut,
         f"changing only minutes after {fold.cut} of the test days changed a decision made "
         "before they could be seen{where}: the strategy reads data beyond the lag (e.g. "
         "through an array's .base or a panel kept from fit)"),
        (first, other, earlier_days, None,
         "changing only the last test day changed a decision on an earlier day{where}: an "
         "episode must use its own day (obs.day) and earlier ones only"),
    )  # fmt: skip
    for a, b, episodes, decisions, message in checks:
        _compare(a, b, episodes, decisions, report, message)
    return report


class _Fold:
    """The synthetic fold of a check: train on the first days, decide on the rest."""

    def __init__(self, market: MarketPanel, train_days: int, seed: int) -> None:
        self.schedule = CHECK_SCHEDULE
        self.train_days = train_days
        self.seed = seed
        self.n_test = market.n_days - train_days
        n_stocks = market.n_stocks
        train = market.days(0, train_days)
        self.adv = _frozen(train.adv.copy())
        self.parent = np.maximum(np.round(_PARENT_SHARE_OF_ADV * train.adv), 1).astype(np.int64)
        self.book = BookModel().calibrated(train.volume, self.parent, self.schedule.decision_times)
        # Read-only, like the market arrays: a strategy that writes into them is caught.
        self.stock = _frozen(np.tile(np.arange(n_stocks, dtype=np.int64), self.n_test))
        self.day = _frozen(np.repeat(np.arange(self.n_test, dtype=np.int64), n_stocks))
        self.n_episodes = len(self.stock)
        self.cut = self.schedule.minutes // 2
        visible = self.schedule.decision_times - self.schedule.lag
        self.blind_to_cut = int(np.sum(visible <= self.cut))  # decisions that cannot see past it

    def run(self, factory, market: MarketPanel, passes: int = 1):
        """Build, fit and decide ``passes`` times on the test days; one _Run per pass."""
        runs = [_Run() for _ in range(passes)]
        try:
            strategy = factory()
        except Exception as exc:  # a plug-in may raise anything: report it, do not crash
            runs[0].note(runs[0].problems, "init", f"building the strategy raised {_last(exc)}")
            runs[0].stopped = True
            return runs if passes > 1 else runs[0]
        # A fresh copy per run: a strategy that writes into its data spoils no other run.
        market = MarketPanel(
            market.price.copy(), market.volume.copy(), market.tickers, market.dates, validate=False
        )
        train = market.days(0, self.train_days)
        before = (train.price.copy(), train.volume.copy())
        data = TrainData(
            panel=train,
            schedule=self.schedule,
            book=self.book,
            parent=self.parent.copy(),
            side=SELL,
            seed=np.random.SeedSequence(self.seed),
            device="cpu",
        )
        fit = getattr(strategy, "fit", None)
        if fit is not None:
            try:
                fit(data)
            except Exception as exc:
                runs[0].note(runs[0].problems, "fit", f"fit(train) raised {_last(exc)}")
                runs[0].stopped = True
                return runs if passes > 1 else runs[0]
            if not (
                np.array_equal(before[0], train.price) and np.array_equal(before[1], train.volume)
            ):
                runs[0].note(
                    runs[0].problems,
                    "fit-writes",
                    "fit(train) changed the training panel in place; copy before "
                    "modifying (other strategies share it)",
                )
        test = market.days(self.train_days, None)
        for one in runs:
            self._decide_all(strategy, test, one)
        return runs if passes > 1 else runs[0]

    def _decide_all(self, strategy, test: MarketPanel, run: _Run) -> None:
        schedule = self.schedule
        price, volume = test.price.view(), test.volume.view()
        price.flags.writeable = False
        volume.flags.writeable = False
        initial = self.parent[self.stock]
        remaining = initial.copy()
        side = _frozen(np.full(self.n_episodes, SELL, dtype=np.int8))
        for k, t in enumerate(schedule.decision_times[:-1]):  # the last one sells the rest
            t = int(t)
            obs = Observation(
                k=k,
                t=t,
                schedule=schedule,
                stock=self.stock,
                day=self.day,
                side=side,
                initial=initial.copy(),
                remaining=remaining.copy(),
                price=price[:, : t - schedule.lag, :],
                volume=volume[:, : t - schedule.lag, :],
                adv=self.adv,
                tickers=test.tickers,
                dates=test.dates,
            )
            try:
                out = strategy.decide(obs)
            except Exception as exc:
                hint = next((h for cls, h in _HINTS.items() if isinstance(exc, cls)), "")
                run.note(
                    run.problems,
                    f"raise-{type(exc).__name__}",
                    f"decide(obs) raised {_last(exc)} at decision {k} (minute {t})",
                    hint,
                )
                run.targets.append(None)
                continue
            target = self._validate(out, k, remaining, run)
            run.targets.append(None if target is None else np.array(out, copy=True))
            if target is not None:
                remaining = np.clip(np.rint(target), 0, remaining).astype(np.int64)

    def _validate(self, out, k: int, remaining: np.ndarray, run: _Run) -> np.ndarray | None:
        """The targets as float64 (E,), or None after noting what is wrong with them."""
        where = f"at decision {k}"
        if not isinstance(out, np.ndarray):
            run.note(
                run.problems,
                "type",
                f"decide returned {type(out).__name__} {where}",
                "expected a numpy array of target remaining inventories",
            )
            return None
        if out.dtype.kind not in "iuf":
            run.note(
                run.problems,
                "dtype",
                f"decide returned dtype {out.dtype} {where}",
                "expected real numbers (float or int)",
            )
            return None
        if out.shape != (self.n_episodes,):
            run.note(
                run.problems,
                "shape",
                f"decide returned shape {out.shape} {where}",
                f"expected ({self.n_episodes},), one target per episode of the batch",
            )
            return None
        target = out.astype(np.float64)
        bad = ~np.isfinite(target)
        if bad.any():
            e = int(np.flatnonzero(bad)[0])
            run.note(
                run.problems,
                "nan",
                f"decide returned {target[e]} {where} for episode {e} "
                f"({int(bad.sum())} of {self.n_episodes})",
                "targets must be finite",
            )
            return None
        low = target < -0.5
        high = np.rint(target) > remaining
        if low.any() or high.any():
            e = int(np.flatnonzero(low | high)[0])
            run.note(
                run.warnings,
                "range",
                f"targets outside [0, remaining] {where} (episode {e}: {target[e]:g} with "
                f"{remaining[e]} remaining)",
                "the simulator clips them: a program never trades against its own side",
            )
        return target


def _factory(strategy_or_spec: Any, options: dict[str, Any] | None, report: CheckReport):
    """A function building a fresh strategy, or None after noting why there is none."""
    if isinstance(strategy_or_spec, str):
        try:
            cls = load_strategy(strategy_or_spec)
        except InputError as exc:
            report.problems.append(str(exc))
            return None
    elif isinstance(strategy_or_spec, type):
        cls = strategy_or_spec
    else:
        if options:
            raise InputError(
                "check_strategy: options are for a strategy name or class, not for an instance"
            )
        if not callable(getattr(strategy_or_spec, "decide", None)):
            report.problems.append(f"{_label(strategy_or_spec)} has no decide(obs) method")
            return None
        return lambda: copy.deepcopy(strategy_or_spec)
    if not callable(getattr(cls, "decide", None)):
        report.problems.append(f"{_label(cls)} has no decide(obs) method")
        return None
    kwargs = dict(options or {})
    return lambda: cls(**copy.deepcopy(kwargs))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _label(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _last(exc: BaseException) -> str:
    """The traceback's last line and the innermost frame: 'KeyError: 3 (in f, file.py:12)'."""
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = frames[-1]
        line += f" (in {where.name}, {where.filename}:{where.lineno})"
    return line


def _perturbed(
    market: MarketPanel, fold: _Fold, *, minutes_after: int | None = None, last_day: bool = False
) -> MarketPanel:
    """A copy of the market with part of the test days' data changed."""
    rng = np.random.default_rng(np.random.SeedSequence([fold.seed, 0xC4EC, int(last_day)]))
    price, volume = market.price.copy(), market.volume.copy()
    days = slice(market.n_days - 1, None) if last_day else slice(fold.train_days, None)
    minutes = slice(None) if last_day else slice(minutes_after, None)
    block = price[days, minutes, :]
    price[days, minutes, :] = block * np.exp(rng.normal(0.0, 0.01, block.shape))
    volume[days, minutes, :] *= np.exp(rng.normal(0.0, 0.5, block.shape))
    return MarketPanel(price, volume, market.tickers, market.dates, validate=False)


def _collect(run: _Run, report: CheckReport) -> None:
    for book, out in ((run.problems, report.problems), (run.warnings, report.warnings)):
        for message, count, hint in book.values():
            more = f" and at {count - 1} later decision(s)" if count > 1 else ""
            text = message + more + (f"; {hint}" if hint else "")
            if text not in out:
                out.append(text)


def _compare(
    a: _Run,
    b: _Run,
    episodes: np.ndarray,
    decisions: int | None,
    report: CheckReport,
    message: str,
) -> None:
    """Note ``message`` if the runs' targets differ on ``episodes`` in the first ``decisions``."""
    if b.problems and not a.problems:
        _collect(b, report)
        return
    count = len(a.targets) if decisions is None else decisions
    for k in range(count):
        x, y = a.targets[k], b.targets[k]
        if x is None or y is None:
            if (x is None) != (y is None):
                report.problems.append(message.format(where=f" (decision {k} failed in one run)"))
                return
            continue
        differ = np.flatnonzero(episodes & (x != y))
        if differ.size:
            e = int(differ[0])
            report.problems.append(
                message.format(where=f" (decision {k}, episode {e}: {x[e]:g} vs {y[e]:g})")
            )
            return
