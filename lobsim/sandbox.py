"""The strategy sandbox: the one place observations are built and strategy output is judged.

A strategy is third-party code run inside the simulator, so the contract of DESIGN.md section 3
is kept by construction, not by convention:

- **A batch is one trading day.** ``decide`` is called for the N stocks of one day at a time,
  days in order, so nothing a decision is given can hold a later day.
- **Today's arrays own their memory.** ``obs.price`` and ``obs.volume`` are fresh copies of
  minutes 1 .. t - lag of the batch's day (``.base`` is None): there is nothing behind them.
- **History is what a trader has.** ``obs.past_price`` / ``past_volume`` / ``past_dates`` are
  views of a buffer into which a day is written only once it is over, before the next one
  starts; the rest of the buffer is NaN (NaT), so neither the views nor their ``.base`` hold
  the batch's day or a later one.
- **Everything is read-only.** A write into any array handed to a strategy raises at once; the
  simulator keeps its own inventory, so a strategy cannot change ``initial`` or make inventory
  negative.

:class:`Sandbox` builds every observation (the simulator, ``check_strategy`` and the benchmarks
call it); :func:`ask` calls ``decide`` and turns what the strategy did wrong into a
:class:`~lobsim.errors.StrategyError` naming the strategy and the misdeed; :func:`validate_targets`
is the one judge of what ``decide`` returned. The checks that need the whole run (global random
state, state kept across batches) are here too, as :class:`GlobalRandomGuard` and
:func:`replay_day`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from lobsim.errors import InputError, StrategyError
from lobsim.strategy import RESTING_DTYPE, Decision, Limits, Observation, Schedule, TrainData

_NO_RESTING = np.zeros(0, RESTING_DTYPE)
_NO_RESTING.flags.writeable = False

# Kinds of StrategyError, so check_strategy can group what it finds.
RAISED = "raised"
READS_BASE = "reads-base"
READS_OUTSIDE = "reads-outside"
WRITES_OBSERVATION = "writes-observation"
WRITES_TRAINING = "writes-training"
GLOBAL_RANDOM = "global-random"
BATCH_STATE = "batch-state"
TYPE = "type"
DTYPE = "dtype"
SHAPE = "shape"
NOT_FINITE = "not-finite"


def strategy_name(strategy: Any) -> str:
    """The name a strategy is reported under: its ``name`` attribute or its class name."""
    return getattr(strategy, "name", None) or type(strategy).__name__


def frozen(array: np.ndarray) -> np.ndarray:
    """An owned, read-only copy of ``array`` (``.base`` is None)."""
    out = array.copy()
    out.flags.writeable = False
    return out


class Sandbox:
    """Observations of one panel for one parent order per stock, one trading day at a time.

    Parameters
    ----------
    panel : MarketPanel
        The days the strategy trades; kept private, never handed out.
    schedule : Schedule
    parent : ndarray(int64, (N,))
        Parent order per stock (shares).
    side : int
        SELL (-1) or BUY (+1).
    adv : ndarray(float64, (N,))
        Average daily volume per stock, as the strategy is to see it.

    Notes
    -----
    Days must be observed in order: observing day d writes days before d into the history
    buffer, and once a day is there no earlier day can be observed again (its later days
    would be reachable through ``.base``). Re-observing the latest day is allowed.
    """

    def __init__(
        self, panel, schedule: Schedule, *, parent: np.ndarray, side: int, adv: np.ndarray
    ) -> None:
        n_days, n_minutes, n_stocks = panel.price.shape
        self.schedule = schedule
        self._times = [int(t) for t in schedule.decision_times]
        self.n_days = n_days
        self.n_stocks = n_stocks
        self.tickers = tuple(panel.tickers)
        self._price = panel.price
        self._volume = panel.volume
        self._dates = np.asarray(panel.dates, dtype="datetime64[D]")
        self._stock = frozen(np.arange(n_stocks, dtype=np.int64))
        self._day = frozen(np.zeros(n_stocks, dtype=np.int64))
        self._side = frozen(np.full(n_stocks, side, dtype=np.int8))
        self._initial = frozen(np.asarray(parent, dtype=np.int64))
        self._adv = frozen(np.asarray(adv, dtype=np.float64))
        self._shared = (self._stock, self._day, self._side, self._initial, self._adv)
        # The history buffer: a day is written once it is over; the rest is NaN / NaT.
        self._past_price = np.full((n_days, n_minutes, n_stocks), np.nan)
        self._past_volume = np.full((n_days, n_minutes, n_stocks), np.nan)
        self._past_dates = np.full(n_days, np.datetime64("NaT"), dtype="datetime64[D]")
        for buffer in self._buffers:
            buffer.flags.writeable = False
        self._written = 0  # days in the history buffer
        self._today = -1
        self._today_dates: np.ndarray | None = None

    @property
    def initial(self) -> np.ndarray:
        """ndarray(int64, (N,)), read-only: the parent order per stock."""
        return self._initial

    def date(self, d: int) -> np.datetime64:
        """The date of day d."""
        return self._dates[d]

    @property
    def _buffers(self) -> tuple[np.ndarray, ...]:
        return (self._past_price, self._past_volume, self._past_dates)

    def _start_day(self, d: int) -> None:
        if not 0 <= d < self.n_days:
            raise IndexError(f"day {d} of a panel of {self.n_days} days")
        if d < self._written:
            raise RuntimeError(
                f"day {d} cannot be observed once day {self._written - 1} is history"
            )
        for buffer in self._buffers:
            buffer.flags.writeable = True
        try:
            past = slice(self._written, d)
            self._past_price[past] = self._price[past]
            self._past_volume[past] = self._volume[past]
            self._past_dates[past] = self._dates[past]
        finally:
            for buffer in self._buffers:
                buffer.flags.writeable = False
        self._written = d
        self._today = d
        self._today_dates = frozen(self._dates[d : d + 1])

    def observe(
        self, d: int, k: int, remaining: np.ndarray, resting: np.ndarray | None = None
    ) -> Observation:
        """The observation of decision ``k`` of day ``d``.

        Parameters
        ----------
        d : int
            Day (row of the panel); days are observed in order.
        k : int
            Decision index, 0 .. K-1.
        remaining : ndarray(int64, (N,))
            Shares each stock still has to trade before this decision (copied).
        resting : ndarray(RESTING_DTYPE), optional
            The batch's own resting limit orders (copied).
        """
        if d != self._today:
            self._start_day(d)
        t = self._times[k]
        visible = t - self.schedule.lag
        today = slice(d, d + 1)
        return Observation(
            k=k,
            t=t,
            schedule=self.schedule,
            stock=self._stock,
            day=self._day,
            side=self._side,
            initial=self._initial,
            remaining=frozen(remaining),
            price=frozen(self._price[today, :visible]),
            volume=frozen(self._volume[today, :visible]),
            adv=self._adv,
            tickers=self.tickers,
            dates=self._today_dates,
            past_price=self._past_price[:d],
            past_volume=self._past_volume[:d],
            past_dates=self._past_dates[:d],
            resting=_NO_RESTING if resting is None or not resting.size else frozen(resting),
        )

    def check_untouched(self, who: str) -> None:
        """A StrategyError if a strategy made writable an array the sandbox hands out on
        every decision (its own copies, such as ``obs.remaining``, are its business)."""
        names = (
            "stock",
            "day",
            "side",
            "initial",
            "adv",
            "past_price",
            "past_volume",
            "past_dates",
        )
        for name, array in zip(names, (*self._shared, *self._buffers), strict=True):
            if array.flags.writeable:
                raise StrategyError(
                    f"{who} made obs.{name} writable: the observation is read-only; copy "
                    "what you change (np.array(obs.remaining))",
                    kind=WRITES_OBSERVATION,
                )


def ask(strategy: Any, obs: Observation, name: str) -> Decision:
    """``strategy.decide(obs)``, validated: a :class:`Decision` of float64 (E,) targets and,
    if the strategy gave them, int64/float64 limit orders and cancels; or a StrategyError.

    The error names the strategy, the decision and what the strategy did: raised, read
    through ``.base``, read outside the observation, wrote into it, returned a bad array.
    """
    where = f"strategy {name!r} at decision {obs.k} (minute {obs.t}) of {obs.dates[0]}"
    try:
        out = strategy.decide(obs)
    except InputError as exc:  # the strategy's own message for the user
        raise StrategyError(f"{where}: {exc}") from exc
    except Exception as exc:  # third-party code may raise anything: name it, keep the cause
        kind = _kind(exc)
        raise StrategyError(_misdeed(exc, where, "decide(obs)", kind), kind=kind) from exc
    if isinstance(out, Decision):
        return _validate_decision(out, obs, where)
    return Decision(validate_targets(out, obs.n_episodes, where))


def _validate_decision(decision: Decision, obs: Observation, where: str) -> Decision:
    """A Decision with checked, owned arrays (see :class:`lobsim.strategy.Decision`)."""
    targets = validate_targets(decision.targets, obs.n_episodes, f"{where}: Decision.targets")
    limits = decision.limits
    if limits is not None:
        if not isinstance(limits, Limits):
            raise StrategyError(f"{where}: Decision.limits must be a lobsim.Limits", kind=TYPE)
        if (limits.ticks is None) == (limits.depth is None):
            raise StrategyError(f"{where}: Limits needs ticks or depth (one of them)", kind=TYPE)
        episode = _integers(limits.episode, f"{where}: Limits.episode")
        size = _integers(limits.size, f"{where}: Limits.size")
        name = "ticks" if limits.ticks is not None else "depth"
        distance = np.asarray(limits.ticks if limits.ticks is not None else limits.depth)
        if distance.dtype.kind not in "iuf":
            raise StrategyError(f"{where}: Limits.{name} must be numbers", kind=DTYPE)
        distance = distance.astype(np.float64)
        if not episode.shape == size.shape == distance.shape or episode.ndim != 1:
            raise StrategyError(
                f"{where}: Limits.episode, size and {name} must be 1-D of one length, got "
                f"shapes {episode.shape}, {size.shape} and {distance.shape}",
                kind=SHAPE,
            )
        bad = (episode < 0) | (episode >= obs.n_episodes) | (size < 1)
        bad |= ~np.isfinite(distance) | (distance < 0)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise StrategyError(
                f"{where}: limit order {j} (episode {episode[j]}, size {size[j]}, {name} "
                f"{distance[j]}) is out of range: episodes 0..{obs.n_episodes - 1}, sizes >= 1, "
                f"{name} finite and >= 0 (away from the mid)",
                kind=NOT_FINITE,
            )
        limits = Limits(
            episode,
            size,
            ticks=distance if name == "ticks" else None,
            depth=distance if name == "depth" else None,
        )
    cancel = decision.cancel
    if cancel is not None:
        cancel = _integers(cancel, f"{where}: Decision.cancel")
        unknown = np.setdiff1d(cancel, obs.resting["id"])
        if unknown.size:
            raise StrategyError(
                f"{where}: Decision.cancel names order {int(unknown[0])}, which is not resting "
                "(obs.resting lists the orders that are)",
                kind=NOT_FINITE,
            )
    return Decision(targets, limits, cancel)


def _integers(values: Any, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu" or array.ndim != 1:
        raise StrategyError(f"{what} must be a 1-D array of integers, got {array!r}", kind=DTYPE)
    return array.astype(np.int64)


def validate_targets(targets: Any, n_episodes: int, where: str) -> np.ndarray:
    """What ``decide`` returned as float64 (E,), or a StrategyError saying what is wrong.

    Targets outside [0, remaining] are legal (the simulator clips them); the dtype must be
    real, the shape (E,) and every value finite.
    """
    if not isinstance(targets, np.ndarray):
        raise StrategyError(
            f"{where} returned {type(targets).__name__}, expected a numpy array of target "
            "remaining inventories",
            kind=TYPE,
        )
    if targets.dtype.kind not in "iuf":
        raise StrategyError(
            f"{where} returned dtype {targets.dtype}, expected real numbers (float or int)",
            kind=DTYPE,
        )
    if targets.shape != (n_episodes,):
        raise StrategyError(
            f"{where} returned shape {targets.shape}, expected ({n_episodes},): one target "
            "remaining inventory per episode (stock) of the batch",
            kind=SHAPE,
        )
    out = targets.astype(np.float64)
    if not np.isfinite(out).all():
        bad = ~np.isfinite(out)
        e = int(np.flatnonzero(bad)[0])
        raise StrategyError(
            f"{where} returned {out[e]} for episode {e} ({int(bad.sum())} of {n_episodes}): "
            "targets must be finite",
            kind=NOT_FINITE,
        )
    return out


def call_fit(strategy: Any, train: TrainData, name: str) -> None:
    """``strategy.fit(train)`` if it has one, with what goes wrong named as in :func:`ask`."""
    fit = getattr(strategy, "fit", None)
    if not callable(fit):
        return
    try:
        fit(train)
    except InputError as exc:  # the strategy's own message for the user
        raise StrategyError(f"strategy {name!r}: {exc}") from exc
    except Exception as exc:  # third-party code may raise anything: name it, keep the cause
        kind = _kind(exc)
        if kind == WRITES_OBSERVATION:
            kind = WRITES_TRAINING
        elif kind == READS_OUTSIDE:  # fit sees no observation: an IndexError is its own
            kind = RAISED
        message = _misdeed(exc, f"strategy {name!r}", "fit(train)", kind)
        raise StrategyError(message, kind=kind) from exc


def sandboxed_train(train: TrainData) -> TrainData:
    """``train`` with owned, read-only copies of its panel and parent orders.

    A run gives every strategy its own: ``.base`` of the panel reaches no test day, and a
    write raises at once instead of spoiling the next strategy's data.
    """
    panel = train.panel
    own = type(panel)(
        frozen(panel.price),
        frozen(panel.volume),
        panel.tickers,
        panel.dates.copy(),
        session_open=panel.session[0],
        timezone=panel.timezone,
        validate=False,
    )
    return dataclasses.replace(train, panel=own, parent=frozen(train.parent))


class GlobalRandomGuard:
    """Refuses a strategy that drew from numpy's global random state (``np.random.*``).

    Such draws differ with whatever else ran before in the process, so the same seed would
    not give the same run. Use as ``with GlobalRandomGuard(where): ...``. (Python's own
    ``random`` is not watched: Dask's threads draw from it while a task runs; a strategy
    drawing from it is caught by the replay of :func:`trade` instead.)
    """

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> GlobalRandomGuard:
        self._before = _global_random_state()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and _global_random_state() != self._before:
            raise StrategyError(
                f"{self.where} drew from numpy's global random generator (np.random.*): "
                "draw every random number from np.random.default_rng(train.seed), so that the "
                "same seed gives the same run",
                kind=GLOBAL_RANDOM,
            )


def _global_random_state() -> tuple:
    state = np.random.get_state(legacy=False)  # noqa: NPY002 - watching it, not drawing
    return (
        bytes(state["state"]["key"].data),
        state["state"]["pos"],
        state["has_gauss"],
        state["gauss"],
    )


def snapshot(strategy: Any) -> Any:
    """A deep copy of the fitted strategy, for :func:`replay_day`; the strategy itself if it
    cannot be copied (the replay then only catches state that is not reset per batch)."""
    try:
        return copy.deepcopy(strategy)
    except Exception:  # a plug-in may hold anything (a lock, a file): replay on itself then
        return strategy


def child_orders(
    targets: np.ndarray, remaining: np.ndarray, committed: np.ndarray | None = None
) -> np.ndarray:
    """ndarray(int64): the market orders that take ``remaining`` to the validated ``targets``.

    Shares ``committed`` to resting limit orders are neither sold nor counted. Targets are
    rounded to whole shares and clipped to [0, free]: a program never trades against its own
    side and never holds more than it had.
    """
    free = remaining if committed is None else remaining - committed
    kept = np.minimum(np.maximum(np.rint(targets), 0.0), free)
    return free - kept.astype(np.int64)


def trade(
    strategy: Any,
    sandbox: Sandbox,
    name: str,
    execute: Callable[..., np.ndarray],
    resting: Callable[[int], np.ndarray] | None = None,
) -> None:
    """Drive ``strategy`` through every decision of every day of ``sandbox``, days in order.

    At decision k of day d the strategy is asked for its decision (:func:`ask`), its targets
    become market orders (:func:`child_orders`; shares resting in limit orders stay out), and
    ``execute(d, k, decision, orders)`` trades them (and posts and cancels the limit orders)
    and returns the shares each stock still holds. ``resting(d)`` says which own limit orders
    rest (:attr:`Observation.resting`); none without it. The last decision of a day sells what
    is left without asking (``decision`` is None then). Around each day,
    :class:`GlobalRandomGuard` and :meth:`Sandbox.check_untouched`; at the end, the last day is
    replayed on a copy of the strategy made before the first (see :func:`replay_day`). The
    simulator and ``check_strategy`` both trade through here.
    """
    fresh = snapshot(strategy)
    n_decisions = sandbox.schedule.n_decisions
    held = np.zeros((n_decisions - 1, sandbox.n_stocks), dtype=np.int64)
    placed = np.zeros_like(held)
    seen = [_NO_RESTING] * (n_decisions - 1)
    for d in range(sandbox.n_days):
        remaining = sandbox.initial
        who = f"strategy {name!r} on {sandbox.date(d)}"
        with GlobalRandomGuard(who):
            for k in range(n_decisions):
                if k < n_decisions - 1:
                    own = _NO_RESTING if resting is None else resting(d)
                    obs = sandbox.observe(d, k, remaining, own)
                    decision = ask(strategy, obs, name)
                    orders = child_orders(
                        decision.targets, remaining, _committed(own, decision, remaining)
                    )
                    held[k], placed[k], seen[k] = remaining, orders, own
                else:
                    decision, orders = None, remaining
                remaining = execute(d, k, decision, orders)
        sandbox.check_untouched(who)
    replay_day(fresh, sandbox, name, sandbox.n_days - 1, held, placed, seen)


def _committed(own: np.ndarray, decision: Decision, remaining: np.ndarray) -> np.ndarray | None:
    """Shares per episode resting in limit orders that the decision does not cancel."""
    if own.size == 0:
        return None
    keep = own if decision.cancel is None else own[~np.isin(own["id"], decision.cancel)]
    return np.bincount(keep["episode"], weights=keep["size"], minlength=len(remaining)).astype(
        np.int64
    )


def replay_day(
    fresh: Any,
    sandbox: Sandbox,
    name: str,
    d: int,
    remaining: np.ndarray,
    orders: np.ndarray,
    resting: list[np.ndarray] | None = None,
) -> None:
    """Replay day ``d`` on ``fresh`` (a copy of the strategy from before the first batch).

    A strategy's decisions may depend on its fit and on what the observation shows (history
    included), nothing else; so the orders of day d, replayed with the same inventories on a
    strategy that has seen no other day, must be the same. ``remaining`` (K - 1, N) holds the
    inventories before each decision the strategy was asked for and ``orders`` (K - 1, N) the
    orders it placed.
    """
    for k in range(orders.shape[0]):
        own = _NO_RESTING if resting is None else resting[k]
        obs = sandbox.observe(d, k, remaining[k], own)
        decision = ask(fresh, obs, name)
        again = child_orders(
            decision.targets, remaining[k], _committed(own, decision, remaining[k])
        )
        differ = np.flatnonzero(again != orders[k])
        if differ.size:
            i = int(differ[0])
            raise StrategyError(
                f"strategy {name!r}: day {obs.dates[0]} replayed on a copy of the fitted "
                f"strategy gave other orders (decision {k}, {sandbox.tickers[i]}: "
                f"{int(again[i])} shares instead of {int(orders[k, i])}): its decisions depend "
                "on state kept across batches (reset it when obs.k == 0; earlier days are in "
                "obs.past_*) or on randomness not drawn from train.seed",
                kind=BATCH_STATE,
            )


_BASE = re.compile(r"\.base\b")


def _kind(exc: BaseException) -> str:
    if _reads_base(exc):
        return READS_BASE
    if isinstance(exc, ValueError) and "read-only" in str(exc):
        return WRITES_OBSERVATION
    if isinstance(exc, IndexError):
        return READS_OUTSIDE
    return RAISED


_HINTS = {
    READS_BASE: "it read through .base: the arrays lobsim hands a strategy (observation and "
    "training data) own their memory, so there is nothing behind them (obs.past_* are views "
    "of a buffer that holds earlier days only)",
    READS_OUTSIDE: "it read outside the observation (beyond the lag, or another day): "
    "obs.price and obs.volume hold minutes 1 .. t - lag of the batch's day only, shape "
    "(1, t - lag, N); later minutes and later days are not there (earlier days are in "
    "obs.past_*)",
    WRITES_OBSERVATION: "it wrote into a read-only array lobsim gave it; copy what you change "
    "(np.array(obs.remaining))",
    WRITES_TRAINING: "it wrote into the training data, which is read-only: copy before "
    "modifying (np.array(train.panel.volume))",
}


def _misdeed(exc: BaseException, who: str, call: str, kind: str) -> str:
    message = f"{who}: {call} raised {last_line(exc)}"
    hint = _HINTS.get(kind)
    return f"{message}; {hint}" if hint else message


def _reads_base(exc: BaseException) -> bool:
    """Whether the failure comes from reading through ``.base``: on the line that raised, or
    a None (what ``.base`` is) used in a function that reads an attribute named base."""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and _BASE.search(frames[-1].line or ""):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (
        tb is not None
        and isinstance(exc, TypeError | AttributeError)
        and "NoneType" in str(exc)
        and "base" in tb.tb_frame.f_code.co_names
    )


def last_line(exc: BaseException) -> str:
    """The exception's last line and the innermost frame: 'KeyError: 3 (in f, file.py:12)'."""
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = frames[-1]
        line += f" (in {where.name}, {where.filename}:{where.lineno})"
    return line
