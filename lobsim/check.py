"""``check_strategy``: run a strategy plug-in through a small synthetic fold and say what is wrong.

The check trades the strategy exactly as the simulator does, through the same sandbox
(:func:`lobsim.sandbox.trade`): the same observations, the same validation of targets, the same
refusals (an exception in ``decide`` or ``fit``, reading through ``.base`` or outside the
observation, writing into it or into the training data, drawing from a global random
generator, state kept across batches, a wrong type, dtype, shape or a non-finite target). Child
orders are assumed to fill in full (the check is about the contract, not costs). It then runs
the strategy again, each time freshly built and fitted with the same seed:

- on the same data: the targets must be identical (no clock, no process-dependent state);
- on data whose later minutes are perturbed: decisions that cannot see those minutes must not
  change (look-ahead is impossible by construction; this is its test);
- on data whose last test day is perturbed: the other days' decisions must not change.

The schedule has a lag of two minutes, so a strategy that assumes the default lag of one reads
past the end of the arrays and is caught too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lobsim.books import BookModel
from lobsim.errors import InputError, StrategyError
from lobsim.market import MarketPanel, synthesize_market
from lobsim.plugins import load_strategy
from lobsim.sandbox import GlobalRandomGuard, Sandbox, call_fit, sandboxed_train, trade
from lobsim.sandbox import last_line as _last
from lobsim.strategy import SELL, Schedule, TrainData

CHECK_SCHEDULE = Schedule(minutes=120, interval=5, lag=2)
_PARENT_SHARE_OF_ADV = 0.05


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
        runs = f"{self.runs} run{'s' if self.runs != 1 else ''} of a synthetic fold"
        lines = [f"strategy {self.strategy!r} {verdict} ({runs})"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class _Run:
    """One fit-and-trade run: its targets per (day, decision), or the problem that stopped it."""

    targets: list[np.ndarray] = field(default_factory=list)
    problem: StrategyError | None = None
    warnings: dict[str, list] = field(default_factory=dict)  # kind -> [message, count]

    def warn(self, kind: str, message: str) -> None:
        """Count a warning; the first occurrence of each kind keeps its message."""
        if kind in self.warnings:
            self.warnings[kind][1] += 1
        else:
            self.warnings[kind] = [message, 1]


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
    if first.problem is not None:
        return report
    again = fold.run(factory, market)
    late = fold.run(factory, _perturbed(market, fold, minutes_after=fold.cut))
    other = fold.run(factory, _perturbed(market, fold, last_day=True))
    report.runs = 4
    checks = (
        (again, fold.every_decision,
         "two runs with the same seed gave different targets{where}: draw random numbers from "
         "train.seed, never from a global generator, the clock or the process"),
        (late, fold.blind_to_cut,
         f"changing only minutes after {fold.cut} of the test days changed a decision made "
         "before they could be seen{where}: the strategy reads data beyond the lag"),
        (other, fold.before_last_day,
         "changing only the last test day changed a decision on an earlier day{where}: an "
         "episode must use its own day and earlier ones only"),
    )  # fmt: skip
    for run, decisions, message in checks:
        _compare(first, run, decisions, report, message)
    return report


class _Fold:
    """The synthetic fold of a check: train on the first days, trade the rest."""

    def __init__(self, market: MarketPanel, train_days: int, seed: int) -> None:
        self.schedule = CHECK_SCHEDULE
        self.train_days = train_days
        self.seed = seed
        self.n_test = market.n_days - train_days
        train = market.days(0, train_days)
        self.adv = train.adv.copy()
        self.parent = np.maximum(np.round(_PARENT_SHARE_OF_ADV * train.adv), 1).astype(np.int64)
        self.book = BookModel().calibrated(train.volume, self.parent, self.schedule.decision_times)
        self.cut = self.schedule.minutes // 2
        asked = self.schedule.decision_times[:-1]  # the last decision is not asked
        blind = asked - self.schedule.lag <= self.cut  # decisions that cannot see past the cut
        # Which of a run's targets (day-major: day 0's decisions, then day 1's, ...) to compare.
        self.every_decision = np.ones(self.n_test * len(asked), dtype=bool)
        self.blind_to_cut = np.tile(blind, self.n_test)
        self.before_last_day = np.repeat(np.arange(self.n_test) < self.n_test - 1, len(asked))

    def run(self, factory, market: MarketPanel) -> _Run:
        """Build, fit and trade the test days, each child order filled in full."""
        run = _Run()
        try:
            strategy = factory()
        except Exception as exc:  # a plug-in may raise anything: report it, do not crash
            run.problem = StrategyError(f"building the strategy raised {_last(exc)}")
            return run
        name = _label(strategy)
        train = market.days(0, self.train_days)
        data = sandboxed_train(
            TrainData(
                panel=train,
                schedule=self.schedule,
                book=self.book,
                parent=self.parent,
                side=SELL,
                seed=np.random.SeedSequence(self.seed),
                device="cpu",
            )
        )
        test = market.days(self.train_days, None)
        sandbox = Sandbox(test, self.schedule, parent=self.parent, side=SELL, adv=self.adv)

        held = sandbox.initial

        def execute(d: int, k: int, decision, orders: np.ndarray) -> np.ndarray:
            nonlocal held
            if k == 0:
                held = sandbox.initial
            if decision is not None:
                targets = decision.targets
                run.targets.append(targets)
                outside = (targets < -0.5) | (np.rint(targets) > held)
                if outside.any():
                    e = int(np.flatnonzero(outside)[0])
                    run.warn(
                        "range",
                        f"targets outside [0, remaining] at decision {k} (stock {e}: "
                        f"{targets[e]:g} with {held[e]} remaining); the simulator clips them: "
                        "a program never trades against its own side",
                    )
            held = held - orders  # filled in full
            return held

        try:
            with GlobalRandomGuard(f"strategy {name!r} in fit(train)"):
                call_fit(strategy, data, name)
            trade(strategy, sandbox, name, execute)
        except StrategyError as exc:
            run.problem = exc
        return run


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


def _label(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


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
    if run.problem is not None and str(run.problem) not in report.problems:
        report.problems.append(str(run.problem))
    for message, count in run.warnings.values():
        more = f" (and at {count - 1} later decision(s))" if count > 1 else ""
        if message + more not in report.warnings:
            report.warnings.append(message + more)


def _compare(a: _Run, b: _Run, decisions: np.ndarray, report: CheckReport, message: str) -> None:
    """Note ``message`` if ``b``'s targets differ from ``a``'s at ``decisions``."""
    if b.problem is not None:
        _collect(b, report)
        return
    for i in np.flatnonzero(decisions):
        x, y = a.targets[i], b.targets[i]
        differ = np.flatnonzero(x != y)
        if differ.size:
            e = int(differ[0])
            where = f" (decision {i}, stock {e}: {x[e]:g} vs {y[e]:g})"
            report.problems.append(message.format(where=where))
            return
