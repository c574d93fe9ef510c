"""Training: the fold's days as tensors, Adam on the schedule's power-law cost, early stopping.

The objective is the closed-form walk cost of the schedule (DESIGN.md section 1) over the K
decisions, each child order at its bar's mid S and volume V, eps per stock from the run's book
model; it is averaged over days and over the stocks with a parent order. ``loss="bps"`` (the
default) measures each episode in basis points of its order's value Q S0 (S0 the arrival
price, as the simulator's ``cost_bps``), so every stock weighs the same; ``loss="dollars"``
sums currency, which lets the expensive stocks dominate.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from lobsim.strategies.lstm.features import day_features
from lobsim.strategies.lstm.model import child_fractions, powerlaw_cost

LOSSES = ("bps", "dollars")


@dataclass
class DaySet:
    """Tensors of D days, on the training device.

    Attributes
    ----------
    x : Tensor(float32, (T, D, 1 + 4N))
        Input rows 0 .. t_{K-2} - lag.
    rows : Tensor(int64, (K - 1,))
        The row read by each decision but the last.
    base : Tensor(float32, (K - 1, D, N))
        VWAP's keep logits (the same every day until the stocks are permuted).
    scale : Tensor(float32, (K, D, N))
        eps S Q of each traded bar in the loss's unit.
    log_qv : Tensor(float32, (K, D, N))
        log(Q / V) of each traded bar.
    """

    x: torch.Tensor
    rows: torch.Tensor
    base: torch.Tensor
    scale: torch.Tensor
    log_qv: torch.Tensor

    @property
    def n_days(self) -> int:
        return self.x.shape[1]

    def days(self, index: torch.Tensor) -> DaySet:
        return DaySet(
            self.x[:, index],
            self.rows,
            self.base[:, index],
            self.scale[:, index],
            self.log_qv[:, index],
        )

    def permuted(self, perm: torch.Tensor) -> DaySet:
        """The same days with the stocks of day d put in the order ``perm[d]`` (D, N).

        Inputs, VWAP logits and costs move together, so each day is the same market with its
        stocks relabelled.
        """
        n_days, n_stocks = perm.shape
        day = torch.arange(n_days, device=perm.device)[:, None]
        cols = torch.cat(
            [perm.new_zeros(n_days, 1)] + [1 + block * n_stocks + perm for block in range(4)],
            dim=1,
        )
        return DaySet(
            self.x[:, day, cols],
            self.rows,
            self.base[:, day, perm],
            self.scale[:, day, perm],
            self.log_qv[:, day, perm],
        )


def day_set(
    price: np.ndarray,
    volume: np.ndarray,
    schedule,
    eps: np.ndarray,
    parent: np.ndarray,
    normaliser: dict,
    base: np.ndarray,
    loss: str,
    device: torch.device,
) -> DaySet:
    """The tensors of whole days (price, volume: float64 (D, M, N)) for training or validation.

    ``normaliser`` holds the arrays of :mod:`lobsim.strategies.lstm.features` (profile, floor,
    twap, vwap); ``base`` is VWAP's keep logits (K - 1, N).
    """
    times = schedule.decision_times
    rows = times[:-1] - schedule.lag
    last_row = int(rows[-1]) if len(rows) else 0
    x = day_features(
        price,
        volume,
        last_row,
        normaliser["profile"],
        normaliser["floor"],
        normaliser["twap"],
        normaliser["vwap"],
    )
    s_trade = price[:, times - 1, :].transpose(1, 0, 2)  # (K, D, N)
    v_trade = np.maximum(volume[:, times - 1, :], 1.0).transpose(1, 0, 2)
    s0 = price[:, max(int(times[0]) - 1, 1) - 1, :]  # the simulator's arrival price
    q = np.maximum(parent.astype(np.float64), 1.0)
    if loss == "bps":
        scale = 1e4 * eps * s_trade / s0[None]
    else:
        scale = eps * s_trade * q
    scale = np.where(parent > 0, scale, 0.0)  # stocks without an order cost nothing
    log_qv = np.log(q / v_trade)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

    return DaySet(
        x=tensor(x.transpose(1, 0, 2)),
        rows=torch.as_tensor(rows, dtype=torch.long, device=device),
        base=tensor(np.broadcast_to(base[:, None, :], (len(rows), price.shape[0], base.shape[1]))),
        scale=tensor(scale),
        log_qv=tensor(log_qv),
    )


def schedule_cost(net, data: DaySet, alpha, stocks: slice = slice(None)) -> torch.Tensor:
    """Tensor (D, G): each day's cost of the networks' schedules for the stocks ``stocks``."""
    if stocks == slice(None):
        z, _ = net(data.x)
    else:
        z, _ = net(data.x, stocks=stocks)
    fractions = child_fractions(z[data.rows], data.base[:, :, stocks])
    alpha = alpha if isinstance(alpha, float) else alpha[:, :, stocks]
    return powerlaw_cost(fractions, data.scale[:, :, stocks], data.log_qv[:, :, stocks], alpha)


@dataclass
class Settings:
    """What the training loop needs from the strategy's options."""

    epochs: int
    lr: float
    batch_days: int
    patience: int
    alpha: float
    alpha_noise: float
    permute_stocks: bool
    stock_chunk: int | None
    progress: bool
    description: str = "lstm"


def _chunks(n_stocks: int, chunk: int | None) -> list[slice]:
    """Stocks in groups of ``chunk`` (per-stock networks, to bound memory), or all at once."""
    if chunk is None or chunk >= n_stocks:
        return [slice(None)]
    return [slice(s, min(s + chunk, n_stocks)) for s in range(0, n_stocks, chunk)]


def mean_cost(net, data: DaySet, alpha: float, n_active: int, chunk: int | None = None) -> float:
    """Mean over days and active stocks of the schedules' cost, without gradients."""
    with torch.no_grad():
        total = 0.0
        for stocks in _chunks(data.scale.shape[2], chunk):
            total += float(schedule_cost(net, data, alpha, stocks).sum())
    return total / (data.n_days * n_active)


def train_network(
    net,
    train: DaySet,
    valid: DaySet | None,
    n_active: int,
    settings: Settings,
    generator: torch.Generator,
) -> dict:
    """Adam on the mean daily cost; keeps the weights with the best validation cost.

    The untrained network (VWAP's schedule) is the first candidate, so the result never costs
    more than VWAP on the validation days. Without validation days, the last weights are kept.
    With ``permute_stocks`` every day of every minibatch has its stocks relabelled by a fresh
    random permutation (inputs, VWAP logits and costs together): data augmentation that
    makes the network learn from the cross-section what holds for any stock, not which
    stock sits in which column of these few days.

    Parameters
    ----------
    net : JointNet or PerStockNet
    train, valid : DaySet
    n_active : int
        Stocks with a parent order (the mean is over them).
    settings : Settings
    generator : torch.Generator
        CPU generator: minibatch order, permutations and alpha noise.

    Returns
    -------
    dict
        ``epochs`` run, ``best_epoch`` (0: the untrained start), ``train_loss``,
        ``valid_cost`` and ``seconds`` (wall time) per epoch (lists), ``vwap_valid_cost``
        (with validation days).
    """
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.lr)
    n_days, n_stocks = train.n_days, train.scale.shape[2]
    chunks = _chunks(n_stocks, settings.stock_chunk)
    batch = max(1, min(settings.batch_days, n_days))
    history: dict = {
        "train_loss": [],
        "valid_cost": [],
        "seconds": [],
        "best_epoch": 0,
        "epochs": 0,
    }
    best = math.inf
    if valid is not None:
        best = mean_cost(net, valid, settings.alpha, n_active, settings.stock_chunk)
        history["vwap_valid_cost"] = best
    best_state = copy.deepcopy(net.state_dict())
    since_best = 0
    bar = tqdm(
        range(1, settings.epochs + 1),
        desc=settings.description,
        file=sys.stderr,
        disable=not settings.progress,
        leave=False,
    )
    for epoch in bar:
        start_time = time.perf_counter()
        order = torch.randperm(n_days, generator=generator)
        epoch_loss = 0.0
        for start in range(0, n_days, batch):
            idx = order[start : start + batch]
            data = train.days(idx.to(train.x.device))
            if settings.permute_stocks:
                perm = torch.argsort(torch.rand(len(idx), n_stocks, generator=generator), dim=1)
                data = data.permuted(perm.to(train.x.device))
            alpha = _alpha_draws(settings, data, generator)
            optimiser.zero_grad(set_to_none=True)
            for stocks in chunks:
                loss = schedule_cost(net, data, alpha, stocks).sum() / (len(idx) * n_active)
                loss.backward()
                epoch_loss += float(loss.detach()) * len(idx)
            optimiser.step()
        history["train_loss"].append(epoch_loss / n_days)
        history["epochs"] = epoch
        postfix = {"loss": f"{epoch_loss / n_days:.5g}"}
        if valid is not None:
            cost = mean_cost(net, valid, settings.alpha, n_active, settings.stock_chunk)
            history["valid_cost"].append(cost)
            if cost < best:
                best, since_best = cost, 0
                best_state = copy.deepcopy(net.state_dict())
                history["best_epoch"] = epoch
            else:
                since_best += 1
            postfix["valid"] = f"{cost:.5g}"
            postfix["best"] = f"{best:.5g}@{history['best_epoch']}"
        bar.set_postfix(postfix)
        history["seconds"].append(time.perf_counter() - start_time)
        if valid is not None and since_best >= settings.patience:
            break
    bar.close()
    if valid is not None:
        net.load_state_dict(best_state)
    return history


def _alpha_draws(settings: Settings, data: DaySet, generator: torch.Generator):
    """The book shape of each traded bar: a float, or a = alpha + U[-w, w] per bar and stock."""
    if settings.alpha_noise <= 0:
        return settings.alpha
    u = torch.rand(data.scale.shape, generator=generator)
    draws = settings.alpha + settings.alpha_noise * (2.0 * u - 1.0)
    return draws.to(data.scale.device)
