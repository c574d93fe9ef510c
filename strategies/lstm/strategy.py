"""The LSTM execution policy as a strategy plug-in (Papanicolaou et al. 2023, section 3).

Training runs in torch, on the run's device (:mod:`~lobsim.strategies.lstm.train`). Decisions
run in NumPy, float64, on the host (:mod:`~lobsim.strategies.lstm.inference`): the simulator
asks for one trading day at a time, so a forward pass has a batch of one and covers the few
minutes since the previous decision, a size at which torch's per-call overhead (and moving
tensors to a device and back) costs more than the arithmetic; see :class:`LSTM` for figures.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

import numpy as np
import torch

from lobsim import InputError, Observation, Schedule, TrainData, atomic_file, fit_digest
from lobsim.strategies.dp import DynamicProgramming
from lobsim.strategies.lstm.features import (
    inventory_paths,
    minute_features,
    pool_span,
    preopen_row,
    volume_floor,
)
from lobsim.strategies.lstm.inference import forward, numpy_weights
from lobsim.strategies.lstm.model import (
    Ensemble,
    JointNet,
    PerStockNet,
    SharedNet,
    base_logits,
    keep_logits,
)
from lobsim.strategies.lstm.train import LOSSES, DaySet, Settings, day_set, train_network
from lobsim.strategies.vwap import volume_weights

MODES = ("shared", "joint", "per_stock")
ROWS = ("minutes", "decisions")
BASES = ("vwap", "dp")
CHECKPOINT_FORMAT = 2
# Per-stock networks are trained a few at a time: (stocks x days) sequences per backward pass.
_PER_STOCK_SEQUENCES = 500


def resolve_device(requested: str, run_device: str = "auto") -> torch.device:
    """The torch device for an option ("auto", "cpu", "cuda", "cuda:1"...) and the run's.

    "auto" defers to the run's device; an "auto" run means CUDA when available, else CPU.
    """
    name = run_device if requested == "auto" else requested
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if not isinstance(name, str) or not (name == "cpu" or name.startswith("cuda")):
        raise InputError(f"lstm: device must be 'auto', 'cpu' or 'cuda', got {requested!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"lstm: device {name!r} was asked for but CUDA is not available")
    return torch.device(name)


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op threads set to ``n`` for the block, then restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LSTM:
    """LSTM execution policy: VWAP adjusted, decision by decision, by a trained network.

    By default (``mode="shared"``) one small network runs on every stock: at each decision
    it reads, for its stock, the minute, the price, the volume and the TWAP and VWAP
    inventories, beside the cross-section's mean price and volume (7 inputs, see
    :func:`strategies.lstm.features.stock_inputs`), pooled over the bars since the previous
    decision (``rows="decisions"``), through one LSTM layer of 32 units and a linear head
    with a sigmoid: the share of its remaining inventory that the stock keeps at the
    decision, around VWAP's (:mod:`strategies.lstm.model`). The inventory never rises, the
    last decision sells the rest, and the untrained network is exactly VWAP (``base="dp"``:
    the DP policy's schedule instead). ``fit`` trains on the fold's training days with Adam
    on the closed-form power-law cost, early-stopping on the last days of the window
    (:mod:`strategies.lstm.train`). The paper's networks, which read every stock's inputs
    each minute (1 + 4N inputs, two layers of 50 units), are ``mode="joint"`` (one network
    with N outputs) and ``mode="per_stock"`` (one network per stock).

    Why shared: a joint network must track N stocks' volume in its H units (50 units for 100
    stocks), and a per-stock network learns from its own stock's 50 training days alone; the
    shared one learns from all N x D stock-days what holds for any stock. On the paper
    scenario it closes about twice the share of the VWAP-to-hindsight gap that the joint
    network did, in a fraction of the time (one step per decision, 5,281 parameters).

    Training runs in torch on ``device``. ``decide`` does not use torch: ``fit`` and
    :meth:`load` copy the network's weights once into float64 NumPy arrays (``weights_``) and
    every decision runs the forward pass on the host (:mod:`strategies.lstm.inference`). A
    batch is one day, so a pass covers the rows since the previous decision (the shared
    network: one row for each of the N stocks; the paper's: 5 minute rows at 5-minute
    decisions, about 0.55 M multiply-adds for the joint network of 100 stocks): per-call
    overhead, not arithmetic, sets its time. Measured on one CPU thread (joint, 100 stocks,
    50 units, 2 layers): the torch pass took about 300-350 us and a ``decide`` about 500 us;
    the NumPy pass takes about 230-260 us and a ``decide`` about 320 us (a 45-day
    simulation of 100 stocks: 2.8 s before, 2.1 s after). Per-stock networks of 100 stocks
    are another matter: 11 M weights read at every decision bound the time, and float64
    NumPy (about 14 ms a ``decide``) is slower than float32 torch was (about 11 ms). If you
    change ``net_`` by hand, refresh the copy: ``weights_ = inference.numpy_weights(net_)``.

    Parameters
    ----------
    mode : {"shared", "joint", "per_stock"}
        "shared": one network that every stock runs on its own and the market's inputs
        (5,281 parameters for 32 units and one layer, whatever N). "joint": one network with
        N outputs for the whole universe (116,100 parameters for N = 100, 50 units, 2
        layers). "per_stock": one network per stock with one output, as in the paper
        (111,051 parameters each for N = 100).
    epochs : int
        Most passes over the training days.
    lr : float
        Adam's learning rate.
    seed : int, optional
        None: the fold's seed (``train.seed``) as is; an int picks another stream of it.
    hidden, layers : int
        LSTM units per layer and layers (the paper's networks: 50 and 2).
    batch_days : int
        Training days per Adam step.
    patience : int
        Epochs without a better validation cost before training stops.
    validation_days : int, optional
        The last days of the training window held out for early stopping (0: none, train
        ``epochs`` epochs on all days). None: a sixth of the window (10 of the paper's 60).
    alpha_noise_train : float
        w of a noisy book shape a + U[-w, w] per bar in the training cost (0: the run's a).
    permute_stocks : bool, optional
        Joint mode: relabel the stocks of every training day by a random permutation (inputs,
        VWAP base and costs together). The default None means True in joint mode and False in
        per-stock mode, where each network learns its own stock.
    rows : {"minutes", "decisions"}, optional
        The input's time step: one row per minute, or one per decision pooling the bars
        since the previous one (the span's last row, its volume feature averaged:
        :func:`strategies.lstm.features.pool_span`), five times fewer recurrent steps at
        5-minute decisions. None: "decisions" in shared mode, "minutes" (the paper's) in
        the others.
    members : int
        Networks trained apart (own initial weights and minibatches) whose logits are
        averaged; 1: one network.
    base : {"vwap", "dp"}
        The schedule the network adjusts, and the untrained network's: VWAP's keep fractions
        (the same every day), or those of a :class:`~lobsim.strategies.dp.DynamicProgramming`
        policy fitted on the same days (each day's own, as the DP would trade it).
    loss : {"bps", "dollars"}
        Unit of the training cost: bps of each order's value (every stock weighs the same) or
        currency (expensive stocks dominate).
    device : str
        Where training runs: "auto" (the run's device; CUDA when available), "cpu" or "cuda".
        Decisions always run in NumPy on the host.
    threads : int, optional
        torch CPU threads during ``fit`` (restored after). None means what the run gives
        (``TrainData.threads``, one in a run): the recurrence steps minute by minute through
        matrices of 50 units, too small for threads to pay, and on a shared machine more
        threads cost several times more (``lobsim bench lstm`` measures both).
    checkpoint_dir : str, optional
        Where ``fit`` writes the trained fold, ``lstm-<mode>-<first>-<last>.pt`` after the
        first and last training date; :meth:`load` reads it back, on any device.
    progress : bool, optional
        A progress bar on stderr while training: epoch, training loss, validation cost. None
        means what the run says (``TrainData.progress``: shown when the run shows bars).
    """

    def __init__(
        self,
        mode: str = "shared",
        epochs: int = 100,
        lr: float = 3e-3,
        seed: int | None = None,
        hidden: int = 32,
        layers: int = 1,
        batch_days: int = 10,
        patience: int = 20,
        validation_days: int | None = None,
        alpha_noise_train: float = 0.0,
        permute_stocks: bool | None = None,
        rows: str | None = None,
        members: int = 1,
        base: str = "vwap",
        loss: str = "bps",
        device: str = "auto",
        threads: int | None = None,
        checkpoint_dir: str | None = None,
        progress: bool | None = None,
    ) -> None:
        self.mode = mode
        self.epochs = epochs
        self.lr = lr
        self.seed = seed
        self.hidden = hidden
        self.layers = layers
        self.batch_days = batch_days
        self.patience = patience
        self.validation_days = validation_days
        self.alpha_noise_train = alpha_noise_train
        self.permute_stocks = permute_stocks
        self.rows = rows
        self.members = members
        self.base = base
        self.loss = loss
        self.device = device
        self.threads = threads
        self.checkpoint_dir = checkpoint_dir
        self.progress = progress

    # -- options -------------------------------------------------------------------------

    def check_options(self, n_days: int | None = None, alpha: float | None = None) -> None:
        """Refuse options out of range; with the fold's training days and the book's shape,
        also those that depend on them (lobsim calls it without them before any work)."""

        def fail(name: str, expected: str) -> None:
            raise InputError(f"lstm: {name} must be {expected}, got {getattr(self, name)!r}")

        def is_int(value) -> bool:
            return isinstance(value, int | np.integer) and not isinstance(value, bool)

        if self.mode not in MODES:
            fail("mode", f"one of {MODES}")
        if self.loss not in LOSSES:
            fail("loss", f"one of {LOSSES}")
        if self.rows is not None and self.rows not in ROWS:
            fail("rows", f"None or one of {ROWS}")
        if self.base not in BASES:
            fail("base", f"one of {BASES}")
        for name in ("epochs", "hidden", "layers", "batch_days", "patience", "members"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                fail(name, "an int >= 1")
        if not (isinstance(self.lr, float | int) and 0 < self.lr < 1):
            fail("lr", "a number in (0, 1)")
        if self.seed is not None and not (is_int(self.seed) and self.seed >= 0):
            fail("seed", "None or an int >= 0")
        held_out = self.validation_days
        if held_out is not None and not (is_int(held_out) and held_out >= 0):
            fail("validation_days", "None or an int >= 0")
        if n_days is not None and held_out is not None and held_out >= n_days:
            fail(
                "validation_days",
                f"None or an int in [0, {n_days}) (the fold has {n_days} training days)",
            )
        w = self.alpha_noise_train
        if not (isinstance(w, float | int) and math.isfinite(w) and w >= 0):
            fail("alpha_noise_train", "a number >= 0")
        if alpha is not None and not w < 1 + alpha:
            fail("alpha_noise_train", f"in [0, 1 + alpha) = [0, {1 + alpha:g})")
        if self.permute_stocks not in (None, True, False):
            fail("permute_stocks", "None, True or False")
        if self.permute_stocks and self.mode == "per_stock":
            fail(
                "permute_stocks",
                "None or False in per_stock mode (each network learns its own stock)",
            )
        if self.threads is not None and not (is_int(self.threads) and self.threads >= 1):
            fail("threads", "None or an int >= 1")
        if not (
            self.device in ("auto", "cpu", "cuda")
            or (isinstance(self.device, str) and self.device.startswith("cuda:"))
        ):
            fail("device", "'auto', 'cpu', 'cuda' or 'cuda:N'")

    @property
    def rows_(self) -> str:
        """The input rows in use: the option, or its default for the mode."""
        if self.rows is not None:
            return self.rows
        return "decisions" if self.mode == "shared" else "minutes"

    def _threads(self) -> int:
        if self.threads is not None:
            return int(self.threads)
        return getattr(self, "threads_", 1)

    def _generator(self, seed, member: int = 0) -> torch.Generator:
        """The torch generator of ensemble member ``member`` (0: the only one, or the first,
        whose stream is the one a single network always had)."""
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(seed)
        if self.seed is not None:
            seed = np.random.SeedSequence(
                seed.entropy, spawn_key=(*seed.spawn_key, 0x15, int(self.seed))
            )
        if member:
            seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0x16, member))
        value = int(seed.generate_state(1, np.uint64)[0])
        return torch.Generator().manual_seed(value)

    # -- training ------------------------------------------------------------------------

    def fit(self, train: TrainData) -> None:
        """Train on the fold's training days (see the class docstring)."""
        panel, schedule = train.panel, train.schedule
        n_days, minutes, n_stocks = panel.price.shape
        alpha = float(train.book.alpha)
        self.check_options(n_days, alpha)
        parent = np.asarray(train.parent)
        if parent.shape != (n_stocks,):
            raise InputError(
                f"lstm: train.parent has shape {parent.shape}, expected ({n_stocks},)"
            )
        device = resolve_device(self.device, train.device)
        self.threads_ = int(train.threads)
        generator = self._generator(train.seed)
        weights = volume_weights(panel.volume, schedule.decision_times, schedule.interval)
        twap, vwap = inventory_paths(weights, schedule.decision_times, minutes)
        self.normaliser_ = {
            "profile": panel.volume.mean(axis=0),
            "floor": volume_floor(panel.adv, minutes),
            "twap": twap,
            "vwap": vwap,
        }
        self.base_ = base_logits(weights)
        if self.base == "dp":
            self.dp_ = DynamicProgramming()
            self.dp_.fit(train)
        self.schedule_ = schedule
        self.tickers_ = tuple(panel.tickers)
        self.alpha_ = alpha
        generators = [generator] + [
            self._generator(train.seed, member) for member in range(1, self.members)
        ]
        self.net_ = self._new_net(n_stocks, generators)
        self.history_ = {
            "epochs": 0,
            "best_epoch": 0,
            "train_loss": [],
            "valid_cost": [],
            "seconds": [],
        }
        with torch_threads(self._threads()):
            self.net_.to(device)
            if schedule.n_decisions > 1 and np.any(parent > 0):
                self.history_ = self._train(train, parent, device, generators)
            self.net_.eval()
        self.device_ = device
        self.weights_ = numpy_weights(self.net_)
        if self.checkpoint_dir is not None:
            first, last = panel.dates[0], panel.dates[-1]
            self.save(Path(self.checkpoint_dir) / f"lstm-{self.mode}-{first}-{last}.pt")

    def fit_key(self, train: TrainData) -> str:
        """A digest of what ``fit`` reads (lobsim shares fits with equal keys across a sweep's
        variants): the options, the training panel, schedule, the book's alpha and calibrated
        eps (not its noise options, which training ignores), parent orders, seed, device and
        threads."""
        options = {
            k: v
            for k, v in vars(self).items()
            if not k.endswith("_") and not k.startswith("_") and k != "progress"
        }
        return fit_digest(
            "lobsim.strategies.lstm",
            CHECKPOINT_FORMAT,
            options,
            train.panel,
            train.schedule,
            float(train.book.alpha),
            train.book.epsilons(train.panel.n_stocks),
            train.parent,
            train.seed,
            str(resolve_device(self.device, train.device)),
            train.threads if self.threads is None else self.threads,
        )

    @property
    def n_parameters(self) -> int:
        """Trainable parameters of the fitted network(s)."""
        if not hasattr(self, "net_"):
            raise InputError("lstm: fit() (or LSTM.load) must run before n_parameters")
        return sum(p.numel() for p in self.net_.parameters())

    def _new_net(self, n_stocks: int, generators: list[torch.Generator]):
        cls = {"shared": SharedNet, "joint": JointNet, "per_stock": PerStockNet}[self.mode]
        nets = [cls(n_stocks, self.hidden, self.layers, g) for g in generators]
        return nets[0] if len(nets) == 1 else Ensemble(nets)

    def day_set(
        self,
        price: np.ndarray,
        volume: np.ndarray,
        eps: np.ndarray,
        parent: np.ndarray,
        device: torch.device | str = "cpu",
    ) -> DaySet:
        """Days (price, volume: (D, M, N)) as the fit trains on them: the inputs, the base
        policy's logits and the cost's terms (:func:`~lobsim.strategies.lstm.train.day_set`).

        With ``base="dp"`` the base is the fitted DP's keep fraction on each of these days;
        ``eps`` is the book's per-stock scale and ``parent`` the parent order per stock.
        """
        if self.base == "dp":
            base = keep_logits(self.dp_.keep_fractions(volume)[:, :-1]).transpose(1, 0, 2)
        else:
            base = self.base_
        return day_set(
            price,
            volume,
            self.schedule_,
            eps,
            parent,
            self.normaliser_,
            base,
            self.loss,
            torch.device(device),
            alpha=self.alpha_,
            rows=self.rows_,
        )

    def _train(
        self,
        train: TrainData,
        parent: np.ndarray,
        device: torch.device,
        generators: list[torch.Generator],
    ) -> dict:
        panel = train.panel
        eps = train.book.epsilons(panel.n_stocks)
        held_out = panel.n_days // 6 if self.validation_days is None else self.validation_days
        split = panel.n_days - held_out

        def days(part: slice):
            return self.day_set(panel.price[part], panel.volume[part], eps, parent, device)

        fit_days = days(slice(0, split))
        valid_days = days(slice(split, None)) if held_out else None
        permute = self.mode == "joint" if self.permute_stocks is None else self.permute_stocks
        chunk = None
        if self.mode == "per_stock":
            chunk = max(1, _PER_STOCK_SEQUENCES // min(self.batch_days, split))
        settings = Settings(
            epochs=self.epochs,
            lr=float(self.lr),
            batch_days=self.batch_days,
            patience=self.patience,
            alpha=self.alpha_,
            alpha_noise=float(self.alpha_noise_train),
            permute_stocks=permute,
            stock_chunk=chunk,
            progress=bool(train.progress if self.progress is None else self.progress),
            description=f"lstm {self.mode}",
        )
        self.net_.train()
        members = self.net_.members if isinstance(self.net_, Ensemble) else [self.net_]
        histories = [
            train_network(member, fit_days, valid_days, int(np.sum(parent > 0)), settings, g)
            for member, g in zip(members, generators, strict=True)
        ]
        if len(histories) == 1:
            return histories[0]
        # The first member's curves, as for one network, and every member's beside them.
        return {**histories[0], "members": histories}

    # -- inference -----------------------------------------------------------------------

    def decide(self, obs: Observation) -> np.ndarray:
        """Target remaining inventory per episode (the N stocks of the batch's day).

        Runs the network, in NumPy, over the input rows since the previous decision of the
        day, carrying the recurrent state from one decision to the next (reset at k = 0).
        """
        if not hasattr(self, "weights_"):
            raise InputError("lstm: fit() (or LSTM.load) must run before decide()")
        if obs.k == 0:
            self._start_batch(obs)
        elif obs.k != self._next_k:
            raise InputError(
                f"lstm: decide() must be called for k = 0, 1, 2, ... in order; "
                f"expected k={self._next_k}, got k={obs.k}"
            )
        self._next_k = obs.k + 1
        if obs.is_last:
            return np.zeros(obs.n_episodes)
        visible = obs.price.shape[1]  # bars 1 .. t - lag
        rows = np.arange(self._row + 1, visible + 1)
        parts = [preopen_row(obs.price.shape[0], len(self.tickers_))] if obs.k == 0 else []
        if len(rows):
            if self._first_price is None:
                self._first_price = np.array(obs.price[:, 0, :])
            norm = self.normaliser_
            minute = minute_features(
                obs.price[:, rows - 1, :],
                obs.volume[:, rows - 1, :],
                self._first_price,
                rows,
                norm["profile"],
                norm["floor"],
                norm["twap"],
                norm["vwap"],
                self.schedule_.minutes,
            )
            if self.rows_ == "decisions":  # one row for the bars since the last decision
                minute = pool_span(minute, len(self.tickers_))[:, None, :]
            parts.append(minute)
        self._row = visible
        if parts:
            x = np.concatenate(parts, axis=1).transpose(1, 0, 2)
            z, self._state = forward(self.weights_, x, self._state)
            self._z = z[-1]  # (D, N): the output at the last row
        if self.base == "dp":
            base = np.zeros_like(self._z)
            base[obs.day, obs.stock] = keep_logits(self.dp_.keep_fraction(obs))
        else:
            base = self.base_[obs.k][None, :]
        keep = 1.0 / (1.0 + np.exp(-(base + self._z)))
        self._held = self._held * keep
        return obs.initial * self._held[obs.day, obs.stock]

    def _start_batch(self, obs: Observation) -> None:
        if tuple(obs.tickers) != self.tickers_:
            raise InputError(
                f"lstm: trained on {len(self.tickers_)} stocks "
                f"{self.tickers_[:3]}..., asked to trade {len(obs.tickers)} stocks "
                f"{tuple(obs.tickers)[:3]}...; the universe must be the same"
            )
        if obs.schedule != self.schedule_:
            raise InputError(f"lstm: trained for {self.schedule_}, asked to trade {obs.schedule}")
        n_days = obs.price.shape[0]
        self._state = None
        self._row = 0
        self._first_price = None
        self._z = np.zeros((n_days, len(self.tickers_)))
        self._held = np.ones((n_days, len(self.tickers_)))

    # -- checkpoints ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted policy (CPU tensors, loadable without a GPU); returns the path."""
        if not hasattr(self, "net_"):
            raise InputError("lstm: fit() must run before save()")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        s = self.schedule_
        blob = {
            "format": CHECKPOINT_FORMAT,
            "options": {
                k: str(v) if isinstance(v, os.PathLike) else v
                for k, v in vars(self).items()
                if not k.endswith("_") and not k.startswith("_")
            },
            "tickers": list(self.tickers_),
            "schedule": [s.minutes, s.interval, s.lag],
            "alpha": self.alpha_,
            "state_dict": {k: v.detach().cpu() for k, v in self.net_.state_dict().items()},
            "base": torch.from_numpy(self.base_),
            "normaliser": {
                k: torch.from_numpy(np.asarray(v, dtype=np.float64))
                for k, v in self.normaliser_.items()
            },
            "history": self.history_,
        }
        if self.base == "dp":
            blob["dp"] = {
                k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                for k, v in self.dp_.fitted_state().items()
            }
        with atomic_file(path) as tmp:  # never a half-written checkpoint
            torch.save(blob, tmp)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> LSTM:
        """A fitted policy from :meth:`save`.

        ``device`` ("auto": CUDA when available) is where the torch network ``net_`` is put;
        decisions run in NumPy on the host whatever it is.
        """
        try:
            blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise InputError(f"lstm: no checkpoint at {path}") from None
        if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
            raise InputError(
                f"lstm: {path} is not an lstm checkpoint of format {CHECKPOINT_FORMAT}"
            )
        options = dict(blob["options"])
        options["device"] = device
        strategy = cls(**options)
        strategy.tickers_ = tuple(blob["tickers"])
        strategy.schedule_ = Schedule(*blob["schedule"])
        strategy.alpha_ = float(blob["alpha"])
        strategy.base_ = blob["base"].numpy()
        strategy.normaliser_ = {k: v.numpy() for k, v in blob["normaliser"].items()}
        strategy.history_ = blob["history"]
        if strategy.base == "dp":
            dp = {
                k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in blob["dp"].items()
            }
            strategy.dp_ = DynamicProgramming.from_fitted_state(dp)
        strategy.device_ = resolve_device(device)
        generators = [torch.Generator().manual_seed(0) for _ in range(strategy.members)]
        net = strategy._new_net(len(strategy.tickers_), generators)
        net.load_state_dict(blob["state_dict"])
        strategy.net_ = net.to(strategy.device_).eval()
        strategy.weights_ = numpy_weights(strategy.net_)
        return strategy
