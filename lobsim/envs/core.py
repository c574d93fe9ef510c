"""N execution episodes stepped together through the batched simulator (no gymnasium here).

An episode is one parent order on one (stock, day) of a market panel, traded at the decisions
of a :class:`lobsim.Schedule`, with the book model, parent orders, noise keys and permanent
impact of :func:`lobsim.simulate`: the same orders give the same fills and costs, to the last
bit, as a run. At decision k an action is the fraction of the remaining inventory to trade
in this interval (the last decision trades all of it); the step's reward is minus what the
step cost (temporary + permanent impact, and at the last step the penalty on shares left at
the close) in bps of the parent order's arrival value, so an episode's return is minus its
``cost_bps``.

The observation (``FEATURES``, float32) uses data up to t - lag only, and the training days'
profile (``Reference``), never the traded day's future:

- ``time_left``: (K - k) / K;
- ``inventory_left``: remaining / parent;
- ``recent_volume``: the volume of the last visible interval against the training mean of the
  same bars (1: a usual interval), clipped to [0, 20];
- ``day_volume``: the same from the open;
- ``recent_return``: the mid's change over the last visible interval in standard deviations
  of the stock's one-minute changes over that many minutes, clipped to [-10, 10];
- ``return_since_arrival``: the same from the arrival price;
- ``volume_ahead``: the training profile's share of the day's volume still to come from this
  decision's bar (VWAP's schedule reads it).

The power-law book has no state a strategy could observe beyond these (its spread is a fixed
number of ticks and its depth follows the bar's volume), so no spread or depth feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lobsim.errors import InputError
from lobsim.simulation.kernels import PERMANENT, TEMPORARY, Episodes
from lobsim.simulation.simulate import _Engine, _prepare, _Run, _unfilled_costs
from lobsim.strategy import Schedule

FEATURES = (
    "time_left",
    "inventory_left",
    "recent_volume",
    "day_volume",
    "recent_return",
    "return_since_arrival",
    "volume_ahead",
)
LOW = np.array([0.0, 0.0, 0.0, 0.0, -10.0, -10.0, 0.0], dtype=np.float32)
HIGH = np.array([1.0, 1.0, 20.0, 20.0, 10.0, 10.0, 1.0], dtype=np.float32)


@dataclass(frozen=True)
class Reference:
    """What the features hold the traded day against, from the training days only.

    Attributes
    ----------
    profile : ndarray(float64, (M, N))
        Mean volume of each minute, per stock.
    minute_sd : ndarray(float64, (N,))
        Standard deviation of one-minute relative mid changes, per stock.
    """

    profile: np.ndarray
    minute_sd: np.ndarray
    cumulative: np.ndarray = field(init=False, repr=False)  # (M + 1, N): volume before minute

    def __post_init__(self) -> None:
        cumulative = np.zeros((self.profile.shape[0] + 1, self.profile.shape[1]))
        np.cumsum(self.profile, axis=0, out=cumulative[1:])
        object.__setattr__(self, "cumulative", cumulative)

    @classmethod
    def of(cls, train_panel) -> Reference:
        price = np.asarray(train_panel.price, dtype=np.float64)
        changes = np.diff(price, axis=1) / price[:, :-1]
        sd = np.sqrt(np.mean(changes**2, axis=(0, 1)))
        return cls(np.asarray(train_panel.volume, dtype=np.float64).mean(axis=0),
                   np.maximum(sd, 1e-12))  # fmt: skip


def features(schedule: Schedule, k: int, reference: Reference, price, volume, stock, remaining,
             initial) -> np.ndarray:  # fmt: skip
    """The observation at decision k (see the module docstring), float32 (E, 7).

    ``price`` and ``volume`` are (E, t - lag): each episode's day up to the last visible
    minute; ``stock`` (E,) indexes the reference; ``remaining`` and ``initial`` (E,) shares.
    The arrival price is the run's (the mid of minute t_0 - 1) once it is visible, the last
    visible mid before. The policy plug-in computes them so; the environments from running
    sums (:class:`ExecutionBatch`), through the same :func:`_assemble`.
    """
    seen = price.shape[1]
    lo, first = _window(schedule, seen)
    cumulative = np.zeros((len(stock), seen + 1))
    np.cumsum(volume, axis=1, out=cumulative[:, 1:])
    picks = _picks(price, seen, lo, first)
    return _assemble(schedule, k, reference, stock, seen, cumulative[:, seen] - cumulative[:, lo],
                     cumulative[:, seen], *picks, remaining, initial)  # fmt: skip


def _window(schedule: Schedule, seen: int) -> tuple[int, int]:
    """(first minute of the last visible interval, 0-based; the arrival price's minute)."""
    return max(seen - schedule.interval, 0), max(int(schedule.decision_times[0]) - 1, 1)


def _picks(price, seen: int, lo: int, first: int):
    """(last visible mid, the mid before the last interval, the arrival mid), (E,) each."""
    if not seen:
        return None, None, None
    last = price[:, seen - 1]
    back = price[:, lo - 1] if lo >= 1 else price[:, 0]
    arrival = price[:, first - 1] if seen >= first else last
    return last, back, arrival


def _assemble(schedule, k, reference, stock, seen, recent_volume, day_volume, last, back,
              arrival, remaining, initial) -> np.ndarray:  # fmt: skip
    n_decisions = schedule.n_decisions
    n = len(stock)
    lo, first = _window(schedule, seen)
    cum = reference.cumulative
    total = cum[-1, stock]
    t = int(schedule.decision_times[min(k, n_decisions - 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        recent = recent_volume / (cum[seen, stock] - cum[lo, stock])
        day = day_volume / cum[seen, stock]
        ahead = (total - cum[t - 1, stock]) / total
        if seen:
            sd = reference.minute_sd[stock]
            move = (last - back) / (back * sd * np.sqrt(max(seen - lo, 1)))
            since = (last - arrival) / (arrival * sd * np.sqrt(max(seen - first, 1)))
        else:
            move = since = np.zeros(n)
    out = np.empty((n, len(FEATURES)), dtype=np.float32)
    out[:, 0] = (n_decisions - k) / n_decisions
    out[:, 1] = np.divide(remaining, initial, out=np.zeros(n), where=initial > 0)
    for j, value in ((2, recent), (3, day), (4, move), (5, since), (6, ahead)):
        out[:, j] = np.nan_to_num(value, nan=1.0 if j < 4 else 0.0, posinf=20.0, neginf=-10.0)
    return np.clip(out, LOW, HIGH, out=out)


class ExecutionBatch:
    """N episodes of one panel, stepped decision by decision in lockstep.

    Parameters
    ----------
    panel : MarketPanel
        The days episodes are drawn from (a fold's training or test days).
    reference : Reference
        The training days' profile, for the features.
    book : BookModel
        Calibrated (``BookModel.calibrated``), as a run's.
    parent : array_like of int, (N_stocks,)
        Parent order per stock, shares.
    side, schedule, adv, permanent_impact, seed
        As in :func:`lobsim.simulate` (``adv`` the training window's; ``seed`` the run's book
        noise root, so that an episode meets the book it meets in a run).
    """

    def __init__(self, panel, reference: Reference, *, book, parent, side, schedule, adv,
                 permanent_impact=0.0, seed=0) -> None:  # fmt: skip
        self.panel = panel
        self.reference = reference
        self.schedule = schedule
        self.side = side
        # Every episode of the panel, day-major (e = day * N + stock), as a run lays them out.
        self.all = _prepare(panel, book, parent, side, schedule, adv, permanent_impact, seed)
        self.run: _Run | None = None
        self.engine: _Engine | None = None
        self.k = 0

    def close(self) -> None:
        """Let the engine's threads go (a new ``start`` makes new ones)."""
        if self.engine is not None:
            self.engine.__exit__(None, None, None)
            self.engine = None

    @property
    def n_episodes(self) -> int:
        """Episodes the panel holds (days x stocks)."""
        return len(self.all.initial)

    def start(self, episodes) -> np.ndarray:
        """Begin the episodes ``episodes`` (indices into the panel's, repeats allowed: each
        slot is its own episode); returns the first observation, (N, 7)."""
        idx = np.asarray(episodes, dtype=np.int64)
        if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= self.n_episodes:
            raise InputError(f"episodes must be indices in [0, {self.n_episodes}), got {idx!r}")
        base = self.all
        ep = base.ep
        slots = Episodes(ep.stock[idx], ep.day[idx], ep.price, ep.volume, ep.eps, ep.adv,
                         ep.tick[idx], ep.keys[idx], ep.s0[idx])  # fmt: skip
        live = type(base.live)(*(np.zeros_like(a[idx]) for a in base.live))
        k = self.schedule.n_decisions
        inventory = np.zeros((k + 1, idx.size), dtype=np.int64)
        inventory[0] = base.initial[idx]
        self.run = _Run(
            schedule=self.schedule, book=base.book, tickers=base.tickers, dates=base.dates,
            side=base.side, parent=base.initial[idx], adv=base.adv, mult=base.mult, ep=slots,
            sh=base.sh, live=live, initial=base.initial[idx], inventory=inventory,
            orders=np.zeros((k, idx.size), dtype=np.int64),
            child_cost=np.zeros((k, idx.size), dtype=np.float64),
        )  # fmt: skip
        self.close()
        self.engine = _Engine(self.run, record_fills=False).__enter__()  # its thread pool
        self.episodes = idx
        self.k = 0
        self._spent = np.zeros(idx.size)
        self.notional = self.run.initial * slots.s0
        # Each slot's day: its mids, and its volume before each minute (running sums, so that
        # a step's features cost O(N), not O(N t)).
        self._price = ep.price[slots.day, :, slots.stock]  # (N, M)
        self._volume = np.zeros((idx.size, ep.volume.shape[1] + 1))
        np.cumsum(ep.volume[slots.day, :, slots.stock], axis=1, out=self._volume[:, 1:])
        return self.observe()

    def observe(self) -> np.ndarray:
        """The observation before decision k (after the last: time left 0)."""
        run = self.run
        k = min(self.k, self.schedule.n_decisions - 1)
        seen = max(int(self.schedule.decision_times[k]) - self.schedule.lag, 0)
        lo, first = _window(self.schedule, seen)
        ep = run.ep
        rows = np.arange(len(ep.day))
        picks = (None, None, None)
        if seen:
            cols = np.array([seen - 1, max(lo - 1, 0), (first if seen >= first else seen) - 1])
            gathered = self._price[:, cols]  # (E, 3): just the three mids the features read
            picks = (gathered[:, 0], gathered[:, 1], gathered[:, 2])
        cum = self._volume
        return _assemble(self.schedule, self.k, self.reference, ep.stock, seen,
                         cum[rows, seen] - cum[rows, lo], cum[rows, seen], *picks,
                         run.inventory[self.k], run.initial)  # fmt: skip

    def step(self, fractions) -> tuple[np.ndarray, np.ndarray, bool]:
        """Trade decision k: ``fractions`` (N,) of each remaining inventory, clipped to
        [0, 1] (the last decision trades everything). Returns (observation, reward in bps,
        whether the episodes ended)."""
        run, k = self.run, self.k
        n_decisions = self.schedule.n_decisions
        if run is None or k >= n_decisions:
            raise InputError("the episodes have ended: start new ones first")
        a = np.clip(np.nan_to_num(np.asarray(fractions, dtype=np.float64), nan=0.0), 0.0, 1.0)
        remaining = run.inventory[k]
        last = k == n_decisions - 1
        orders = remaining.copy() if last else np.rint(a * remaining).astype(np.int64)
        self.engine.execute(0, k, orders)
        run.record(0, k)
        spent = run.live.acc[:, TEMPORARY] + run.live.acc[:, PERMANENT]
        if last:
            spent = spent + _unfilled_costs(run, run.inventory[-1])[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            reward = np.where(self.notional > 0, -1e4 * (spent - self._spent) / self.notional,
                              0.0)  # fmt: skip
        self._spent = spent
        self.k = k + 1
        return self.observe(), reward, self.k == n_decisions

    def info(self) -> dict[str, np.ndarray]:
        """Shares and ids of the current episodes: ``episode_id`` (index into the panel's),
        ``remaining`` and ``initial`` shares, ``decision`` k."""
        run = self.run
        return {
            "episode_id": self.episodes.copy(),
            "remaining": run.inventory[self.k].copy(),
            "initial": run.initial.copy(),
            "decision": np.full(len(self.episodes), self.k),
        }


# The market of gymnasium.make("lobsim/Execution-v0") without a scenario: the quickstart's.
DEFAULT_SCENARIO = """
[run]
name = "execution_env"
seed = 7
[market.synthetic]
stocks = 10
days = 40
[folds]
train_days = 30
test_days = 10
step_days = 10
count = 1
[parent]
side = "sell"
fraction_adv = 0.05
[book]
alpha = 0.5
target_bps = 1.5
[strategies.twap]
"""

SPLITS = ("train", "test")


def batch_from_scenario(scenario=None, *, fold: int = 0, split: str = "test", variant: int = 0,
                        overrides=()) -> ExecutionBatch:  # fmt: skip
    """The episodes of one split of one fold of a scenario, set up as its run sets them up:
    the same market days, book model calibrated on the training days, parent orders, noise
    seed and permanent impact (so the same orders cost what they cost in ``lobsim run``).

    ``scenario``: a path, a :class:`lobsim.Scenario`, or None for a quickstart-sized synthetic
    market; ``overrides`` as ``lobsim run --set``. Replayed LOBSTER markets are refused (their
    days have no book model to step).
    """
    from lobsim.run.plan import build_plan
    from lobsim.run.task import book_seed, fold_market, parent_orders
    from lobsim.scenario import Scenario, load_scenario, parse_scenario
    from lobsim.strategy import BUY, SELL, TrainData

    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    if scenario is None:
        sc = parse_scenario(DEFAULT_SCENARIO)
    elif isinstance(scenario, Scenario):
        sc = scenario
    else:
        sc = load_scenario(scenario, overrides=list(overrides))
    if sc.market.source == "lobster":
        raise InputError("the execution environment steps the power-law book: a LOBSTER market "
                         "(market.source = 'lobster') has none")  # fmt: skip
    plan = build_plan(sc, "lobsim-env-plan-only")  # writes nothing
    tasks = [t for t in plan.tasks if t.variant_index == variant and t.fold.index == fold]
    if not tasks:
        folds = sorted({t.fold.index for t in plan.tasks})
        raise InputError(f"no fold {fold} of variant {variant} in the scenario (folds {folds}, "
                         f"{len(plan.variants)} variant(s))")  # fmt: skip
    spec = tasks[0]
    sc = spec.scenario
    panel = fold_market(spec)
    n_train = spec.fold.n_train
    train = panel.days(0, n_train)
    days = train if split == "train" else panel.days(n_train, n_train + spec.fold.n_test)
    parent = parent_orders(sc, train.adv, train.tickers)
    side = SELL if sc.parent.side == "sell" else BUY
    book = TrainData.for_training_days(
        train, sc.schedule, book=sc.book, parent=parent, side=side,
        permanent_impact=sc.impact.permanent,
    ).book  # fmt: skip
    return ExecutionBatch(
        days, Reference.of(train), book=book, parent=parent, side=side, schedule=sc.schedule,
        adv=train.adv, permanent_impact=sc.impact.permanent, seed=book_seed(sc.run.seed),
    )  # fmt: skip
