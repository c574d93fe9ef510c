"""Training: the fold's days as tensors, Adam on the schedule's power-law cost, early stopping.

The objective is the closed-form walk cost of the schedule (DESIGN.md section 1) over the K
decisions, each child order at its bar's mid S and volume V, eps per stock from the run's book
model; it is averaged over days and over the stocks with a parent order. It follows the
simulator's execution rules (:meth:`lobsim.Schedule.fill_bars`): an order fills in the first bar
of its window with volume; where no bar of the window has any, nothing fills and the shares
stay in the inventory, which the next decision's target then covers; what is left after the
last decision is charged the simulator's penalty (:func:`lobsim.simulate`). ``loss="bps"`` (the
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

from lobsim.strategies.lstm.features import (
    day_features,
    decision_rows_read,
    pooled_rows,
    span_ends,
)
from lobsim.strategies.lstm.model import child_fractions, holdings_path, powerlaw_cost

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
        The base policy's keep logits: VWAP's (the same every day until the stocks are
        permuted) or the DP's (each day's own).
    scale : Tensor(float32, (K, D, N))
        eps S Q of each traded bar in the loss's unit.
    log_qv : Tensor(float32, (K, D, N))
        log(Q / V) of each traded bar.
    carry : Carry or None
        Where some window has no volume (None: every order fills in its own bar).
    """

    x: torch.Tensor
    rows: torch.Tensor
    base: torch.Tensor
    scale: torch.Tensor
    log_qv: torch.Tensor
    carry: Carry | None = None

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
            None if self.carry is None else self.carry.select(index, slice(None)),
        )

    def permuted(self, perm: torch.Tensor) -> DaySet:
        """The same days with the stocks of day d put in the order ``perm[d]`` (D, N).

        Inputs, base logits and costs move together, so each day is the same market with its
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
            None if self.carry is None else self.carry.select(day, perm),
        )


@dataclass
class Carry:
    """What the loss needs on days where some order does not fill in its window.

    Attributes
    ----------
    source : Tensor(int64, (K + 1, D, N))
        Row of the holdings path [1, H_0, ..., H_{K-2}, 0] that decision k (k = K: the close)
        still holds: one past the last earlier decision whose order filled (0 if none did).
    filled : Tensor(float32, (K, D, N))
        1 where decision k's order fills, else 0.
    penalty_scale, cap : Tensor(float32, (D, N))
        The penalty on a fraction u of the order left at the close is
        min(penalty_scale (1+a)/(2+a) exp((p-1) log_qv_min) u**p, cap u), in the loss's unit.
    log_qv_min : Tensor(float32, (D, N))
        log(Q / V_min), V_min the day's thinnest traded minute (large without one).
    alpha : float
        The book shape of the penalty.
    """

    source: torch.Tensor
    filled: torch.Tensor
    penalty_scale: torch.Tensor
    cap: torch.Tensor
    log_qv_min: torch.Tensor
    alpha: float

    def select(self, days, stocks) -> Carry:
        """The same at [days, stocks]: day indices and a slice, or (D, 1) days and a (D, N)
        permutation of the stocks."""
        return Carry(
            self.source[:, days, stocks],
            self.filled[:, days, stocks],
            self.penalty_scale[days, stocks],
            self.cap[days, stocks],
            self.log_qv_min[days, stocks],
            self.alpha,
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
    alpha: float = 0.5,
    rows: str = "minutes",
) -> DaySet:
    """The tensors of whole days (price, volume: float64 (D, M, N)) for training or validation.

    ``normaliser`` holds the arrays of :mod:`lobsim.strategies.lstm.features` (profile, floor,
    twap, vwap); ``base`` is VWAP's keep logits (K - 1, N); ``alpha`` the book's shape, for the
    penalty on what is left at the close (``base`` may also be (K - 1, D, N), a base per day);
    ``rows`` "minutes" (one input row per minute) or
    "decisions" (one per decision, pooling the minutes since the previous one:
    :func:`~lobsim.strategies.lstm.features.pooled_rows`).
    """
    times = schedule.decision_times
    last_row = max(int(times[-2]) - schedule.lag, 0) if len(times) > 1 else 0
    x = day_features(
        price,
        volume,
        last_row,
        normaliser["profile"],
        normaliser["floor"],
        normaliser["twap"],
        normaliser["vwap"],
    )
    if rows == "decisions":
        x = pooled_rows(x, span_ends(times, schedule.lag), price.shape[2])
        read = decision_rows_read(times, schedule.lag)
    else:
        read = times[:-1] - schedule.lag
    fill_bar = schedule.fill_bars(volume)  # (D, K, N)
    filled = fill_bar > 0
    # The bar each order trades in (its own where it does not fill: it then costs nothing).
    bar = np.where(filled, fill_bar, times[None, :, None]) - 1
    s_trade = np.take_along_axis(price, bar, axis=1).transpose(1, 0, 2)  # (K, D, N)
    v_trade = np.maximum(np.take_along_axis(volume, bar, axis=1), 1.0).transpose(1, 0, 2)
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

    shape = (len(read), price.shape[0], price.shape[2])
    carry = None
    if not filled.all():
        # The close's penalty in the loss's unit: 1e4 eps u**p ... for bps, eps S0 Q ... for $.
        value = np.where(parent > 0, 1e4 if loss == "bps" else s0 * q, 0.0) * np.ones_like(s0)
        thinnest = np.where(volume > 0, volume, np.inf).min(axis=1)  # (D, N)
        log_qv_min = np.where(np.isfinite(thinnest), np.log(q / np.maximum(thinnest, 1.0)), 80.0)
        carry = Carry(
            source=torch.as_tensor(_sources(filled), dtype=torch.long, device=device),
            filled=tensor(filled.transpose(1, 0, 2)),
            penalty_scale=tensor(value * eps),
            cap=tensor(value),
            log_qv_min=tensor(log_qv_min),
            alpha=float(alpha),
        )
    return DaySet(
        x=tensor(x.transpose(1, 0, 2)),
        rows=torch.as_tensor(read, dtype=torch.long, device=device),
        base=tensor(base if base.ndim == 3 else np.broadcast_to(base[:, None], shape)),
        scale=tensor(scale),
        log_qv=tensor(log_qv),
        carry=carry,
    )


def _sources(filled: np.ndarray) -> np.ndarray:
    """(K + 1, D, N): for each decision k (and the close, k = K), one past the last earlier
    decision whose order filled, 0 if none did (see :class:`Carry`)."""
    n_days, n_dec, n_stocks = filled.shape
    out = np.zeros((n_dec + 1, n_days, n_stocks), dtype=np.int64)
    last = np.zeros((n_days, n_stocks), dtype=np.int64)
    for k in range(n_dec):
        out[k] = last
        last = np.where(filled[:, k, :], k + 1, last)
    out[n_dec] = last
    return out


def schedule_cost(net, data: DaySet, alpha, stocks: slice = slice(None)) -> torch.Tensor:
    """Tensor (D, G): each day's cost of the networks' schedules for the stocks ``stocks``."""
    if stocks == slice(None):
        z, _ = net(data.x)
    else:
        z, _ = net(data.x, stocks=stocks)
    logits = z[data.rows]
    base = data.base[:, :, stocks]
    fractions = child_fractions(logits, base)
    alpha = alpha if isinstance(alpha, float) else alpha[:, :, stocks]
    scale, log_qv = data.scale[:, :, stocks], data.log_qv[:, :, stocks]
    if data.carry is None:
        return powerlaw_cost(fractions, scale, log_qv, alpha)
    carry = data.carry.select(slice(None), stocks)
    path = holdings_path(logits, base)  # (K + 1, D, G)
    k = torch.arange(fractions.shape[0], device=fractions.device)[:, None, None]
    source = carry.source[:-1]
    # What decision k sells: the plan's step where every earlier order filled (exact for tiny
    # sales), else everything the plan meant to sell since the last order that filled.
    behind = (path.gather(0, source) - path[1:]).clamp_min(0.0)
    child = torch.where(source == k, fractions, behind) * carry.filled
    walk = powerlaw_cost(child, scale, log_qv, alpha)
    left = path.gather(0, carry.source[-1:])[0] * (1.0 - carry.filled[-1])
    a = carry.alpha
    p = (2.0 + a) / (1.0 + a)
    charge = carry.penalty_scale * (1.0 + a) / (2.0 + a) * torch.exp((p - 1.0) * carry.log_qv_min)
    return walk + torch.minimum(charge * left.pow(p), carry.cap * left)


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

    The untrained network (the base policy: VWAP or the DP) is the first candidate, so the
    result never costs more than the base on the validation days. Without validation days,
    the last weights are kept. With ``permute_stocks`` every day of every minibatch has its
    stocks relabelled by a fresh random permutation (inputs, base logits and costs
    together): data augmentation that makes the network learn from the cross-section what
    holds for any stock, not which stock sits in which column of these few days.

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
        ``valid_cost`` and ``seconds`` (wall time) per epoch (lists), ``base_valid_cost``
        (the untrained network's, with validation days).
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
        history["base_valid_cost"] = best
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
