"""The strategy contract (DESIGN.md section 3): what a strategy is given and what it returns.

A strategy is a class whose constructor stores its scenario options and does nothing else::

    class Halfway:
        '''Sell half at the first decision, the rest at the last.'''

        def __init__(self, fraction: float = 0.5):
            self.fraction = fraction

        def fit(self, train: TrainData) -> None:      # optional
            pass

        def decide(self, obs: Observation) -> np.ndarray:
            return np.where(obs.k == 0, obs.initial * (1 - self.fraction), obs.remaining)

A batch is one trading day: the N stocks of that day, an episode each. ``decide`` is called
once per decision time for the whole batch, in order k = 0, 1, ..., K-2, days in order (the
last decision sells what is left without asking). It returns the target *remaining* inventory
per episode, shape (E,), any real dtype; the simulator rounds to whole shares and clips to
[0, remaining]. A strategy may keep state between the calls of one batch and must reset it
when ``obs.k == 0``: its decisions may depend on its fit and on what the observations show
(earlier days included), nothing else; a run replays a day on a copy of the fitted strategy
to make sure. Since a batch holds every stock of the day, a strategy may decide for the
basket as a whole (the portfolio mode of Almgren-Chriss does).

Optional, after ``fit``: ``model_frontier()`` returns the basket's efficient frontier in the
strategy's own model, a dict of equal-length lists ``risk_aversion``, ``own`` (true at the
strategy's own), ``joint_cost``, ``joint_variance``, ``alone_cost`` and ``alone_variance``
($ and $^2 a day: the basket solved jointly, and stock by stock), or None; a run records it
per fold (``frontiers`` in the manifest's tasks) and the report draws it against the realised
basket costs.

Optional, before ``fit``: ``fit_key(train) -> str | bytes | None`` lets a run fit once and reuse
the fit. A sweep runs every variant on every fold, and variants that differ only in what a
strategy's fit does not read (the book noise, for a strategy that trains on the noiseless
model) would fit the same strategy again and again. ``fit_key`` is called on a strategy as
built from its options, with the ``TrainData`` that ``fit`` would get; it returns a digest of
everything ``fit`` reads, its options included (:func:`fit_digest` makes one), or None for "do
not share this fit". A run fits once per (fold, strategy label, key) and gives the other
variants of that fold a copy of the fitted strategy (pickled), so two fits with equal keys must
be interchangeable: the same decisions, bit for bit. Leave something out of the key and a run
silently reuses a fit made on other data; put in too much and it only fits more often than it
needs. A strategy without ``fit_key`` is fitted in every task (:mod:`lobsim.run.fits`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from lobsim._constants import BUY as BUY
from lobsim._constants import SELL as SELL
from lobsim.errors import InputError

if TYPE_CHECKING:
    from lobsim.market import MarketPanel


def _schedule_error(key: str, detail: str) -> InputError:
    """An error about field ``key`` of a Schedule: ``schedule: KEY`` followed by ``detail``."""
    return InputError(f"schedule: {key}{detail}", key=(key,), detail=detail)


@dataclass(frozen=True)
class Schedule:
    """When child orders are decided.

    Minutes of a day are numbered t = 1..``minutes``; bar t covers minute (t-1, t]. Decisions are
    made at t = ``interval``, 2 ``interval``, ..., up to ``minutes``; the child order decided at t
    trades in bar t, and the decision sees data up to and including minute t - ``lag``. What
    bar t cannot fill (a minute without volume) keeps working in the bars of its
    :meth:`window`; what is left at the next decision returns to the inventory.
    """

    minutes: int = 390
    interval: int = 5
    lag: int = 1

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise _schedule_error("minutes", f" must be >= 1, got {self.minutes}")
        if not 1 <= self.interval <= self.minutes:
            raise _schedule_error(
                "interval", f" must be in [1, minutes={self.minutes}], got {self.interval}"
            )
        if self.minutes % self.interval:
            raise _schedule_error(
                "interval", f"={self.interval} does not divide minutes={self.minutes}"
            )
        if not 1 <= self.lag <= self.interval:
            raise _schedule_error(
                "lag", f" must be in [1, interval={self.interval}], got {self.lag}"
            )

    @property
    def n_decisions(self) -> int:
        return self.minutes // self.interval

    @property
    def decision_times(self) -> np.ndarray:
        """ndarray(int64, (K,)): the decision minutes t_k = interval * (k + 1)."""
        return np.arange(self.interval, self.minutes + 1, self.interval, dtype=np.int64)

    def window(self, k: int) -> range:
        """The bars the child order of decision k works in: its own, up to the next decision's
        (excluded) or, for the last decision, to the close."""
        start = self.interval * (k + 1)
        return range(start, min(start + self.interval, self.minutes + 1))

    def fill_bars(self, volume: np.ndarray) -> np.ndarray:
        """The bar in which each decision's child order fills, given the minute volumes.

        Under the book model a minute with volume V > 0 can fill any order (its depth grows
        without bound away from the mid), so an order fills entirely in the first bar of its
        :meth:`window` that has volume; strategies that learn their costs use this to train
        under the rules the simulator scores them by.

        Parameters
        ----------
        volume : ndarray(float, (D, minutes, N))

        Returns
        -------
        ndarray(int64, (D, K, N))
            The 1-based bar, or 0 where no bar of the window has volume (the order does not
            fill; its shares return to the inventory at the next decision, or are left at the
            close after the last).
        """
        volume = np.asarray(volume)
        if volume.ndim != 3 or volume.shape[1] != self.minutes:
            raise InputError(f"volume must be (days, {self.minutes}, stocks), got {volume.shape}")
        n_days, _, n_stocks = volume.shape
        out = np.zeros((n_days, self.n_decisions, n_stocks), dtype=np.int64)
        for k in range(self.n_decisions):
            bars = self.window(k)
            traded = volume[:, bars.start - 1 : bars.stop - 1, :] > 0  # (D, W, N)
            first = traded.argmax(axis=1)
            out[:, k, :] = np.where(traded.any(axis=1), bars.start + first, 0)
        return out


RESTING_DTYPE = np.dtype(
    [
        ("id", np.int64),
        ("episode", np.int64),
        ("price", np.float64),
        ("size", np.int64),
        ("ahead", np.int64),
    ]
)


@dataclass(frozen=True)
class Limits:
    """Passive child orders: limit orders on the program's side (a sell program posts sells),
    one per row, resting in the queue until the market trades through them.

    Attributes
    ----------
    episode : array_like of int, (L,)
        The episode of the batch each order is for (0 .. E-1).
    size : array_like of int, (L,)
        Shares, >= 1; the simulator trims what the episode's inventory cannot cover.
    ticks : array_like of float, (L,)
        Distance from the mid at the decision's minute, in ticks of the episode's grid, away
        from the mid on the order's side (>= 0: a sell at mid + ticks); the price rounds away
        from the mid. ``depth`` instead gives it as a fraction of the mid.
    depth : array_like of float, (L,)
        Relative distance from the mid, >= 0 (give ``ticks`` or ``depth``).
    """

    episode: np.ndarray
    size: np.ndarray
    ticks: np.ndarray | None = None
    depth: np.ndarray | None = None


@dataclass(frozen=True)
class Decision:
    """What ``decide`` may return instead of an array of targets.

    Attributes
    ----------
    targets : ndarray(float, (E,))
        As an array return: the target remaining inventory after this decision's market child
        order, not counting shares resting in limit orders (they stay committed).
    limits : Limits, optional
        Limit orders to post after the market order.
    cancel : array_like of int, optional
        Ids (``obs.resting["id"]``) of own resting orders to withdraw first; their shares
        return to the inventory the targets apply to.
    """

    targets: np.ndarray
    limits: Limits | None = None
    cancel: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What a strategy sees at decision k of one batch: the N stocks of one trading day.

    Built by :class:`lobsim.sandbox.Sandbox` only. Every array is read-only (a write raises),
    and nothing reachable from an observation, ``.base`` included, holds a minute after
    t - lag of the batch's day or any minute of a later day: reading later data is
    impossible, not merely discouraged. Earlier days of the panel are in ``past_*``.

    Attributes
    ----------
    k : int
        Decision index, 0 .. K-1.
    t : int
        Decision minute (1-based); the child order trades in bar t.
    schedule : Schedule
    stock : ndarray(int64, (E,))
        Column of each episode's stock in ``price``/``volume``/``adv``/``tickers``
        (0 .. N-1: a batch holds every stock of the day, E = N).
    day : ndarray(int64, (E,))
        Row of each episode's day along the first axis of ``price``/``volume``/``dates``:
        0, the batch's day.
    side : ndarray(int8, (E,))
        -1 for a sell program, +1 for a buy program.
    initial : ndarray(int64, (E,))
        The parent order, in shares (positive).
    remaining : ndarray(int64, (E,))
        Shares still to trade before this decision's child order.
    price : ndarray(float64, (1, t - lag, N))
        Mid prices of minutes 1 .. t - lag of the batch's day, all N stocks (an owned copy:
        ``.base`` is None).
    volume : ndarray(float64, (1, t - lag, N))
        Traded volume (shares) of the same minutes.
    adv : ndarray(float64, (N,))
        Average daily volume of each stock over the fold's training days.
    tickers : tuple[str, ...]
    dates : ndarray(datetime64[D], (1,))
        The batch's day.
    past_price : ndarray(float64, (H, M, N))
        Every minute of the H earlier days of the panel the strategy trades (a run's earlier
        test days; the training days are in ``fit``'s :class:`TrainData`). H = 0 on the first.
    past_volume : ndarray(float64, (H, M, N))
    past_dates : ndarray(datetime64[D], (H,))
    resting : ndarray(RESTING_DTYPE, (R,))
        The batch's own limit orders still resting, as of the end of the previous minute (as
        execution reports would say): ``id``, ``episode``, ``price`` (currency), ``size``
        (shares left) and ``ahead`` (shares queued ahead of it at its price). Empty for a
        strategy that posts none.
    """

    k: int
    t: int
    schedule: Schedule
    stock: np.ndarray
    day: np.ndarray
    side: np.ndarray
    initial: np.ndarray
    remaining: np.ndarray
    price: np.ndarray
    volume: np.ndarray
    adv: np.ndarray
    tickers: tuple[str, ...]
    dates: np.ndarray
    past_price: np.ndarray
    past_volume: np.ndarray
    past_dates: np.ndarray
    resting: np.ndarray = field(default_factory=lambda: np.zeros(0, RESTING_DTYPE))

    @property
    def n_episodes(self) -> int:
        return len(self.stock)

    @property
    def is_last(self) -> bool:
        return self.k == self.schedule.n_decisions - 1


@dataclass(frozen=True)
class TrainData:
    """What ``fit`` sees: the fold's training days only.

    Attributes
    ----------
    panel : MarketPanel
        The training days, every stock of the universe.
    schedule : Schedule
    book : Any
        The book model of the run (``lobsim.BookModel``): alpha, epsilon per stock, noise.
    parent : ndarray(int64, (N,))
        Parent order size per stock for this fold, in shares.
    side : int
        -1 sell, +1 buy.
    seed : numpy.random.SeedSequence
        The strategy's own seed for this fold; draw every random number from it.
    device : str
        "auto", "cpu" or "cuda", for strategies that can use an accelerator.
    permanent_impact : float
        g of the run's linear permanent impact (DESIGN.md section 1).
    threads : int
        CPU threads the strategy may use in ``fit`` and ``decide`` (a run gives each task's
        strategies one, so that tasks side by side do not fight over cores).
    progress : bool
        Whether the strategy may show progress (bars on stderr) while it fits.
    """

    panel: MarketPanel
    schedule: Schedule
    book: Any
    parent: np.ndarray
    side: int
    seed: np.random.SeedSequence
    device: str = "auto"
    permanent_impact: float = 0.0
    threads: int = 1
    progress: bool = False

    @classmethod
    def for_training_days(
        cls,
        panel: MarketPanel,
        schedule: Schedule,
        *,
        book: Any = None,
        parent: np.ndarray | None = None,
        fraction_adv: float = 0.05,
        side: int = SELL,
        seed: int | np.random.SeedSequence = 0,
        device: str = "auto",
        permanent_impact: float = 0.0,
        threads: int = 1,
        progress: bool = False,
    ) -> TrainData:
        """Training data as a run builds it from a fold's training days.

        The parent order defaults to ``fraction_adv`` of each stock's ADV over ``panel``, in
        whole shares; ``book`` (default ``BookModel()``) is calibrated on these days' volumes.
        """
        from lobsim.books.model import BookModel

        if parent is None:
            parent = np.rint(fraction_adv * panel.adv).astype(np.int64)
        book = (book if book is not None else BookModel()).calibrated(
            panel.volume, parent, schedule.decision_times, panel.tickers
        )
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(seed)
        return cls(
            panel=panel,
            schedule=schedule,
            book=book,
            parent=parent,
            side=side,
            seed=seed,
            device=device,
            permanent_impact=permanent_impact,
            threads=threads,
            progress=progress,
        )


@runtime_checkable
class Strategy(Protocol):
    """Anything with ``decide(obs) -> ndarray``; ``fit(train)`` is optional."""

    def decide(self, obs: Observation) -> np.ndarray: ...


def fit_digest(*parts: Any) -> str:
    """A digest of ``parts`` (64 hex digits of SHA-256), for a strategy's ``fit_key``.

    Equal parts give the same digest in every process and on every machine; parts that differ
    in value, type, dtype, shape or order give different ones. Accepted, nested as deep as
    needed:

    - None, bool, int, float (by its exact bits: -0.0 and 0.0 differ), str, bytes;
    - numpy arrays and scalars (dtype, shape and every byte; not object arrays);
    - tuples and lists (in order), dicts with str keys (in any order);
    - paths (``os.PathLike``), by their string;
    - ``numpy.random.SeedSequence`` (entropy, spawn key, pool size, children spawned);
    - ``MarketPanel`` (prices, volumes, tickers, dates, session, time zone);
    - dataclasses, by their class name and every field: ``Schedule``, ``BookModel`` (its
      noise options too: pass ``book.alpha`` and ``book.epsilons(n)`` instead when the fit
      reads only those), ``TrainData`` (everything a fit could read).

    Raises
    ------
    TypeError
        For any other type, naming it: an object's ``repr`` may hide what a fit reads, so it is
        never guessed at. Pass the attributes that matter instead.

    Examples
    --------
    >>> def fit_key(self, train):  # doctest: +SKIP
    ...     return fit_digest(vars(self), train.panel, train.schedule, train.parent, train.seed)
    """
    digest = hashlib.sha256(b"lobsim.fit_digest/1")
    _feed(digest, parts)
    return digest.hexdigest()


def _put(digest: Any, tag: bytes, payload: bytes | memoryview) -> None:
    digest.update(tag)
    digest.update(len(payload).to_bytes(8, "little"))
    digest.update(payload)


def _feed(digest: Any, value: Any) -> None:
    from lobsim.market import MarketPanel

    if value is None:
        _put(digest, b"N", b"")
    elif isinstance(value, bool):
        _put(digest, b"B", b"1" if value else b"0")
    elif isinstance(value, int):
        _put(digest, b"I", str(value).encode())
    elif isinstance(value, float):
        _put(digest, b"F", value.hex().encode())
    elif isinstance(value, str):
        _put(digest, b"S", value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, bytes | bytearray | memoryview):
        _put(digest, b"Y", bytes(value))
    elif isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        if array.dtype.hasobject:
            raise TypeError(
                f"fit_digest: arrays of Python objects are not accepted ({array.dtype})"
            )
        head = f"{np.lib.format.dtype_to_descr(array.dtype)!r}{array.shape}"
        _put(digest, b"A", head.encode())
        _put(digest, b"a", memoryview(array.reshape(-1).view(np.uint8)))
    elif isinstance(value, tuple | list):
        _put(digest, b"L" if isinstance(value, list) else b"T", str(len(value)).encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("fit_digest: dict keys must be str")
        _put(digest, b"D", str(len(value)).encode())
        for k in sorted(value):
            _feed(digest, k)
            _feed(digest, value[k])
    elif isinstance(value, os.PathLike):
        _put(digest, b"P", os.fsencode(value))
    elif isinstance(value, np.random.SeedSequence):
        _put(digest, b"Q", b"")
        _feed(digest, (value.entropy, tuple(value.spawn_key), value.pool_size))
        _feed(digest, value.n_children_spawned)
    elif isinstance(value, MarketPanel):
        _put(digest, b"M", b"")
        _feed(digest, (value.price, value.volume, value.tickers, value.dates))
        _feed(digest, (value.session_open, value.timezone))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        _put(digest, b"C", f"{kind.__module__}.{kind.__qualname__}".encode())
        for f in dataclasses.fields(value):
            _feed(digest, f.name)
            _feed(digest, getattr(value, f.name))
    else:
        raise TypeError(
            f"fit_digest: cannot digest a {type(value).__module__}.{type(value).__qualname__}; "
            "pass the numbers, arrays and strings it holds"
        )
