"""The networks, the schedule they define and its differentiable power-law cost (torch).

Every network reads the same input, a sequence of rows (T, D, 1 + 4N) (time first: minute
rows, or decision rows that pool the minutes between decisions), and returns one
pre-activation per stock and row (:class:`SharedNet` runs one small network on each stock's
own and the market's features; :class:`JointNet` and :class:`PerStockNet` are the paper's).
The policy at decision k reads the last row it may see (minute t_k - lag):

    keep_k = sigmoid(base_k + z_k),    held_k = keep_0 * ... * keep_k,

where ``held_k`` is the fraction of the parent order remaining after decision k, and
``base_k = logit(R_k / R_{k-1})`` is the fixed (not trained) logit of the share of its
remaining inventory that VWAP keeps at decision k (R_k = 1 - VWAP's cumulative weight), or
that a base policy (the DP) keeps that day (:func:`keep_logits`). The inventory never rises
(keep_k in (0, 1)), the last decision sells what is left, and with the final layer at zero
(its initialisation) the schedule is exactly the base's.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

# Logits of VWAP's keep fractions are clipped here: a decision bar VWAP never trades in keeps
# exp(-30) of nothing, which is VWAP to float precision.
BASE_LOGIT_CLIP = 30.0


def base_logits(vwap_weights: np.ndarray) -> np.ndarray:
    """logit of the fraction of its remaining inventory VWAP keeps at decisions 0..K-2.

    Parameters
    ----------
    vwap_weights : ndarray(float64, (N, K))
        VWAP's share of the parent order per decision, rows summing to one.

    Returns
    -------
    ndarray(float64, (K - 1, N))
    """
    held_after = np.clip(1.0 - np.cumsum(vwap_weights, axis=1), 0.0, 1.0)[:, :-1]  # R_k
    with np.errstate(divide="ignore"):
        logit = np.log(held_after) - np.log(vwap_weights[:, :-1])
    return np.clip(np.nan_to_num(logit, nan=BASE_LOGIT_CLIP), -BASE_LOGIT_CLIP, BASE_LOGIT_CLIP).T


def keep_logits(keep: np.ndarray) -> np.ndarray:
    """logit of keep fractions in [0, 1], clipped as :func:`base_logits` clips VWAP's."""
    keep = np.clip(keep, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logit = np.log(keep) - np.log1p(-keep)
    return np.clip(logit, -BASE_LOGIT_CLIP, BASE_LOGIT_CLIP)


def child_fractions(z: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """The schedule as fractions of the parent order sold at each of the K decisions.

    Parameters
    ----------
    z : Tensor(float, (K - 1, D, N))
        The networks' outputs at the decision rows.
    base : Tensor(float, (K - 1, D, N))
        From :func:`base_logits`, for each day.

    Returns
    -------
    Tensor(float, (K, D, N))
        Non-negative, summing to one over decisions; the last sells what is left.
    """
    logit = base + z
    held = torch.cumprod(torch.sigmoid(logit), dim=0)
    before = torch.cat([torch.ones_like(held[:1]), held[:-1]], dim=0)
    # before * sigmoid(-logit) rather than before - held: no cancellation for tiny sales.
    return torch.cat([before * torch.sigmoid(-logit), held[-1:]], dim=0)


def holdings_path(z: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """The planned holdings [1, H_0, ..., H_{K-2}, 0], fractions of the parent order before
    each decision and after the last: Tensor (K + 1, D, N) from the inputs of
    :func:`child_fractions`."""
    held = torch.cumprod(torch.sigmoid(base + z), dim=0)
    return torch.cat([torch.ones_like(held[:1]), held, torch.zeros_like(held[:1])], dim=0)


def powerlaw_cost(
    fractions: torch.Tensor, scale: torch.Tensor, log_qv: torch.Tensor, alpha: float | torch.Tensor
) -> torch.Tensor:
    """Power-law walk cost of a schedule, summed over decisions (DESIGN.md section 1).

    With n = Q * f shares sold into a bar of volume V at mid S,
    L = eps (1+a)/(2+a) S n**p V**(1-p) = [eps S Q] (1+a)/(2+a) (Q/V)**(p-1) f**p,
    p = (2+a)/(1+a); the bracket and any normalisation are in ``scale``.

    Parameters
    ----------
    fractions : Tensor(float, (K, D, N))
    scale : Tensor(float, (K, D, N))
        eps S Q in the loss's unit (e.g. 1e4 eps S / S0 for bps of the order's value).
    log_qv : Tensor(float, (K, D, N))
        log(Q / V) of the traded bars.
    alpha : float or Tensor(float, (K, D, N))
        Book shape a of each traded bar (a constant, or noisy draws).

    Returns
    -------
    Tensor(float, (D, N))
    """
    p = (2.0 + alpha) / (1.0 + alpha)
    shape = (1.0 + alpha) / (2.0 + alpha) * torch.exp((p - 1.0) * log_qv)
    return (scale * shape * fractions.pow(p)).sum(dim=0)


def _uniform_(tensor: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    with torch.no_grad():
        tensor.uniform_(-bound, bound, generator=generator)


class JointNet(nn.Module):
    """One network for the whole universe: LSTM layers and a linear head with N outputs.

    For 1 + 4N inputs, H units and L layers it has 4H(1 + 4N + H + 2) + 4H(2H + 2)(L - 1)
    + (H + 1)N parameters: 116,100 for N = 100, H = 50, L = 2 (Papanicolaou et al. 2023,
    section 3).
    """

    def __init__(
        self, n_stocks: int, hidden: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG
            self.lstm = nn.LSTM(1 + 4 * n_stocks, hidden, layers)
            self.head = nn.Linear(hidden, n_stocks)
        for p in self.lstm.parameters():  # PyTorch's default law, from our own generator
            _uniform_(p, 1.0 / math.sqrt(hidden), generator)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, state=None):
        """x (T, D, F) -> (z (T, D, N), state); ``state`` carries over between calls."""
        h, state = self.lstm(x, state)
        return self.head(h), state


SHARED_FEATURES = 7


def stock_inputs(x: torch.Tensor, n_stocks: int) -> torch.Tensor:
    """What the shared network reads for each stock: (T, D, 1 + 4N) -> (T, D, N, 7).

    Per stock: the minute, its own price, volume, TWAP and VWAP inventory features, and the
    cross-section's mean price and volume features (the market: see
    :func:`lobsim.strategies.lstm.features.stock_inputs`, the same in NumPy).
    """
    n = n_stocks
    price, volume = x[..., 1 : 1 + n], x[..., 1 + n : 1 + 2 * n]
    own = [x[..., :1].expand_as(price), price, volume, x[..., 1 + 2 * n : 1 + 3 * n]]
    own.append(x[..., 1 + 3 * n :])
    market = [price.mean(dim=-1, keepdim=True), volume.mean(dim=-1, keepdim=True)]
    return torch.stack(own + [m.expand_as(price) for m in market], dim=-1)


class SharedNet(nn.Module):
    """One small network that every stock runs on its own inputs and the market's.

    Each stock's sequence is its own price, volume and inventories beside the cross-section's
    mean price and volume (:func:`stock_inputs`, 7 features), through LSTM layers of H units
    and a linear head with one output; the weights are the same for every stock. Where the
    joint network must track N stocks' volume in its H units, and a per-stock network learns
    from its stock's few training days alone, this one learns from all N x D sequences what
    holds for any stock (a universal model, as Sirignano and Cont 2019 find for price
    formation). 4H(7 + H + 2) + 4H(2H + 2)(L - 1) + H + 1 parameters: 5,281 for H = 32, L = 1.
    """

    def __init__(
        self, n_stocks: int, hidden: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.n_stocks = n_stocks
        with torch.random.fork_rng(devices=[]):
            self.lstm = nn.LSTM(SHARED_FEATURES, hidden, layers)
            self.head = nn.Linear(hidden, 1)
        for p in self.lstm.parameters():
            _uniform_(p, 1.0 / math.sqrt(hidden), generator)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, state=None):
        """x (T, D, 1 + 4N) -> (z (T, D, N), state); the state is per (day, stock)."""
        n_rows, n_days = x.shape[:2]
        inputs = stock_inputs(x, self.n_stocks).reshape(n_rows, n_days * self.n_stocks, -1)
        h, state = self.lstm(inputs, state)
        return self.head(h).reshape(n_rows, n_days, self.n_stocks), state


class Ensemble(nn.Module):
    """Networks trained apart, from their own initial weights and minibatches, whose outputs
    are averaged: the policy's logits are the mean of theirs. Averaging independent fits
    cancels much of what each learned from the noise of the few training days."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    @property
    def n_stocks(self) -> int:
        return self.members[0].n_stocks

    def forward(self, x: torch.Tensor, state=None):
        """x (T, D, F) -> (mean z, list of each member's state)."""
        states = [None] * len(self.members) if state is None else state
        outputs = [member(x, s) for member, s in zip(self.members, states, strict=True)]
        z = torch.stack([z for z, _ in outputs]).mean(dim=0)
        return z, [s for _, s in outputs]


class PerStockNet(nn.Module):
    """N independent networks, one per stock, as in the paper, evaluated side by side.

    Network j has the same LSTM layers as :class:`JointNet` and a head with one output, its
    stock's; the weights of all N are stacked along a leading dimension, so a forward pass over
    any subset of stocks is a handful of batched matrix products per minute.
    """

    def __init__(
        self, n_stocks: int, hidden: int, layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        g, h = n_stocks, hidden
        sizes = [1 + 4 * n_stocks] + [hidden] * (layers - 1)
        self.w_ih = nn.ParameterList([nn.Parameter(torch.empty(g, 4 * h, f)) for f in sizes])
        self.w_hh = nn.ParameterList([nn.Parameter(torch.empty(g, 4 * h, h)) for _ in sizes])
        self.b_ih = nn.ParameterList([nn.Parameter(torch.empty(g, 4 * h)) for _ in sizes])
        self.b_hh = nn.ParameterList([nn.Parameter(torch.empty(g, 4 * h)) for _ in sizes])
        self.head_w = nn.Parameter(torch.zeros(g, h))
        self.head_b = nn.Parameter(torch.zeros(g))
        for plist in (self.w_ih, self.w_hh, self.b_ih, self.b_hh):
            for p in plist:
                _uniform_(p, 1.0 / math.sqrt(hidden), generator)

    @property
    def n_stocks(self) -> int:
        return self.head_b.shape[0]

    def forward(self, x: torch.Tensor, state=None, stocks: slice = slice(None)):
        """x (T, D, F) -> (z (T, D, G), state) for the networks of ``stocks`` (G of them).

        ``state`` is a list of (h, c) per layer, each (G, D, H), or None for zeros.
        """
        n_days = x.shape[1]
        out = x
        new_state = []
        for layer in range(len(self.w_ih)):
            w_ih, w_hh = self.w_ih[layer][stocks], self.w_hh[layer][stocks]
            bias = (self.b_ih[layer][stocks] + self.b_hh[layer][stocks])[:, None, :]
            if layer == 0:  # one input shared by every network: (T, D, F) x (G, 4H, F)
                gates_x = torch.einsum("tdf,gkf->tgdk", out, w_ih)
            else:  # out is (T, G, D, H)
                gates_x = torch.einsum("tgdh,gkh->tgdk", out, w_ih)
            gates_x = gates_x + bias
            groups, hid = w_hh.shape[0], w_hh.shape[2]
            if state is None:
                h = x.new_zeros(groups, n_days, hid)
                c = x.new_zeros(groups, n_days, hid)
            else:
                h, c = state[layer]
            w_hh_t = w_hh.transpose(1, 2)
            steps = []
            # unbind, not gates_x[t]: indexing's backward would write a full-size zero tensor
            # per minute.
            for gx in gates_x.unbind(0):
                gates = gx + torch.bmm(h, w_hh_t)
                i, f, g, o = gates.chunk(4, dim=2)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                steps.append(h)
            out = torch.stack(steps)  # (T, G, D, H)
            new_state.append((h, c))
        z = torch.einsum("tgdh,gh->tdg", out, self.head_w[stocks]) + self.head_b[stocks]
        return z, new_state
