"""The fitted networks' forward pass in NumPy (float64), for decisions (no torch at decide time).

Training runs in torch, on the device; a decision does not. The simulator asks for one trading
day at a time, so a forward pass has a batch of one (joint mode: the batch axis is days) and
covers the few minutes since the previous decision: for the joint network of 100 stocks, a
product of 401 x 200 weights and one of 50 x 200 per minute and layer, about 0.55 M
multiply-adds for 5 minutes. At that size per-call overhead, not arithmetic, sets the time, and
NumPy's is the smaller: on one CPU thread the torch module took about 300 us for 5 minutes,
:func:`forward` takes about 230 us (55 of them the 401 x 200 product). So
:func:`numpy_weights` copies the fitted weights once into float64 arrays and :func:`forward`
computes what the torch modules compute, carrying the recurrent state between calls as they do.

The maths are torch's ``nn.LSTM``: gates in the order i, f, g, o of ``W_ih x + W_hh h + b_ih +
b_hh``; ``c' = sigmoid(f) c + sigmoid(i) tanh(g)``; ``h' = sigmoid(o) tanh(c')``; layer l + 1
reads layer l's h; then the linear head. Both networks are held as G stacked LSTMs ("groups"):
:class:`~lobsim.strategies.lstm.model.JointNet` is one group whose head has N outputs,
:class:`~lobsim.strategies.lstm.model.PerStockNet` is N groups with one output each.

The rows of the i, f and o gates are stored negated and those of g times -2 (exact in floating
point), so that ``exp`` alone gives the four activations: sigmoid(v) = 1 / (1 + exp(-v)) and
tanh(g) = 2 sigmoid(2g) - 1. The input projections are NumPy products over all rows at once;
the recurrence, minute by minute, is a compiled loop (:func:`_recurrence`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from numba import njit

from lobsim.strategies.lstm.features import stock_inputs
from lobsim.strategies.lstm.model import Ensemble, JointNet, PerStockNet, SharedNet

# One LSTM layer's recurrent state: (h, c), each ndarray(float64, (G, D, H)).
State = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Weights:
    """A fitted network as float64 arrays: G stacked LSTMs of L layers, H units, and a head.

    Attributes
    ----------
    w_input : ndarray(float64, (F, G * 4H))
        Layer 0's input weights of every group side by side (the input is shared), transposed,
        gate columns scaled (i, f, o by -1, g by -2; see the module).
    w_layer : tuple of ndarray(float64, (G, H, 4H))
        Input weights of layers 1 .. L - 1, transposed and scaled likewise.
    w_hh : tuple of ndarray(float64, (G, H, 4H))
        Recurrent weights of each layer, transposed and scaled likewise.
    bias : tuple of ndarray(float64, (G, 1, 4H))
        b_ih + b_hh of each layer, scaled likewise.
    head_w : ndarray(float64, (H, N) joint, (G, H) per stock)
    head_b : ndarray(float64, (N,) joint, (G,) per stock)
    joint : bool
        One group with N outputs (JointNet, SharedNet), or G groups with one output each
        (PerStockNet).
    shared : int
        SharedNet: the N stocks that each run the one network on their own inputs (0: not
        shared).
    """

    w_input: np.ndarray
    w_layer: tuple[np.ndarray, ...]
    w_hh: tuple[np.ndarray, ...]
    bias: tuple[np.ndarray, ...]
    head_w: np.ndarray
    head_b: np.ndarray
    joint: bool
    shared: int = 0

    @property
    def groups(self) -> int:
        return self.w_hh[0].shape[0]

    @property
    def hidden(self) -> int:
        return self.w_hh[0].shape[1]

    @property
    def layers(self) -> int:
        return len(self.w_hh)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy()


def _gate_scale(hidden: int) -> np.ndarray:
    """ndarray(float64, (4H,)): -1 on the i, f and o gates, -2 on g (see the module)."""
    scale = np.full(4 * hidden, -1.0)
    scale[2 * hidden : 3 * hidden] = -2.0
    return scale


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array)
    out.flags.writeable = False
    return out


def numpy_weights(net: JointNet | PerStockNet | SharedNet | Ensemble) -> Weights | tuple:
    """The weights of a torch network (on any device) as :class:`Weights`, copied once; of
    an :class:`~lobsim.strategies.lstm.model.Ensemble`, a tuple of its members'."""
    if isinstance(net, Ensemble):
        return tuple(numpy_weights(member) for member in net.members)
    if isinstance(net, JointNet | SharedNet):
        lstm = net.lstm

        def param(name: str, layer: int) -> np.ndarray:
            return _array(getattr(lstm, f"{name}_l{layer}"))[None]  # one group

        layers = range(lstm.num_layers)
        w_ih = [param("weight_ih", layer) for layer in layers]
        w_hh = [param("weight_hh", layer) for layer in layers]
        bias = [param("bias_ih", layer) + param("bias_hh", layer) for layer in layers]
        head_w, head_b = _array(net.head.weight).T, _array(net.head.bias)
    elif isinstance(net, PerStockNet):
        layers = range(len(net.w_ih))
        w_ih = [_array(net.w_ih[layer]) for layer in layers]
        w_hh = [_array(net.w_hh[layer]) for layer in layers]
        bias = [_array(net.b_ih[layer]) + _array(net.b_hh[layer]) for layer in layers]
        head_w, head_b = _array(net.head_w), _array(net.head_b)
    else:
        raise TypeError(
            f"numpy_weights: a JointNet, SharedNet or PerStockNet, got {type(net).__name__}"
        )
    groups, four_h, n_features = w_ih[0].shape
    scale = _gate_scale(four_h // 4)
    # torch's (G, 4H, F) -> (G, F, 4H), so that a row of inputs times it gives the gates
    w_ih = [w.transpose(0, 2, 1) * scale for w in w_ih]
    w_input = w_ih[0].transpose(1, 0, 2).reshape(n_features, groups * four_h)
    return Weights(
        w_input=_frozen(w_input),
        w_layer=tuple(_frozen(w) for w in w_ih[1:]),
        w_hh=tuple(_frozen(w.transpose(0, 2, 1) * scale) for w in w_hh),
        bias=tuple(_frozen((b * scale)[:, None, :]) for b in bias),
        head_w=_frozen(head_w),
        head_b=_frozen(head_b),
        joint=isinstance(net, JointNet | SharedNet),
        shared=net.n_stocks if isinstance(net, SharedNet) else 0,
    )


def forward(
    weights: Weights | tuple, x: np.ndarray, state: State | list | None = None
) -> tuple[np.ndarray, State | list]:
    """The network's outputs for input rows ``x`` from ``state``: what the torch module gives.

    Parameters
    ----------
    weights : Weights, or a tuple of them (an ensemble: its members' mean output)
    x : ndarray(float, (T, D, F))
        Input rows, time first (float32 features are read as float64).
    state : list of (h, c), optional
        Per layer, each ndarray(float64, (G, D, H)), as returned by the previous call (for
        an ensemble, one such list per member); None for zeros (the start of a day).

    Returns
    -------
    z : ndarray(float64, (T, D, N) joint or shared, (T, D, G) per stock)
    state : list of (h, c)
        The state after the last row, to pass to the next call.
    """
    if isinstance(weights, tuple):  # an ensemble: the mean of its members' outputs
        states = [None] * len(weights) if state is None else state
        outputs = [forward(w, x, s) for w, s in zip(weights, states, strict=True)]
        return np.mean([z for z, _ in outputs], axis=0), [s for _, s in outputs]
    if weights.shared:  # every stock of every day is a sequence of its own
        n_rows, n_days = x.shape[:2]
        inputs = stock_inputs(x, weights.shared).reshape(n_rows, n_days * weights.shared, -1)
        z, state = forward(replace(weights, shared=0), inputs, state)
        return z.reshape(n_rows, n_days, weights.shared), state
    n_rows, n_days, n_features = x.shape
    groups, hidden = weights.groups, weights.hidden
    # Layer 0 reads one input shared by every group: all rows in one product, (G, T*D, 4H).
    rows = np.asarray(x, dtype=np.float64).reshape(n_rows * n_days, n_features)
    gates_x = (rows @ weights.w_input).reshape(n_rows * n_days, groups, 4 * hidden)
    gates_x = gates_x.transpose(1, 0, 2)
    out = None
    new_state: State = []
    for layer in range(weights.layers):
        if layer > 0:  # the rows of the layer below, (G, T*D, H) @ (G, H, 4H)
            gates_x = out @ weights.w_layer[layer - 1]
        gates_x = (gates_x + weights.bias[layer]).reshape(groups, n_rows, n_days, 4 * hidden)
        if state is None:
            h = np.zeros((groups, n_days, hidden))
            c = np.zeros((groups, n_days, hidden))
        else:
            h, c = state[layer]
        out, h, c = _recurrence(gates_x, weights.w_hh[layer], h, c)
        new_state.append((h, c))
        out = out.reshape(groups, n_rows * n_days, hidden)
    out = out.reshape(groups, n_rows, n_days, hidden)
    if weights.joint:  # (T, D, H) @ (H, N)
        z = out[0] @ weights.head_w + weights.head_b
    else:  # network j's head on network j's h
        z = np.einsum("gtdh,gh->tdg", out, weights.head_w) + weights.head_b
    return z, new_state


@njit(cache=True)
def _recurrence(gates_x, w_hh, h, c):
    """One layer, minute by minute: (h of every row (G, T, D, H), last h, last c).

    ``gates_x`` (G, T, D, 4H) holds the input's share of the gates and the bias, and ``w_hh``
    (G, H, 4H) the recurrent weights, scaled as :func:`_gate_scale` says: -v for i, f and o,
    -2v for g. A compiled loop: at a batch of one, NumPy's per-call overhead on 50-unit
    vectors was most of a decision's time.
    """
    groups, n_rows, n_days, four_h = gates_x.shape
    hidden = four_h // 4
    out = np.empty((groups, n_rows, n_days, hidden))
    h = h.copy()
    c = c.copy()
    v = np.empty(four_h)
    for g in range(groups):
        for d in range(n_days):
            for t in range(n_rows):
                for k in range(four_h):
                    v[k] = gates_x[g, t, d, k]
                for j in range(hidden):
                    hj = h[g, d, j]
                    for k in range(four_h):
                        v[k] += hj * w_hh[g, j, k]
                for j in range(hidden):
                    # exp(-v) = inf is sigmoid(v) = 0, as it should be
                    i = 1.0 / (1.0 + np.exp(v[j]))
                    f = 1.0 / (1.0 + np.exp(v[hidden + j]))
                    tanh_g = 2.0 / (1.0 + np.exp(v[2 * hidden + j])) - 1.0
                    o = 1.0 / (1.0 + np.exp(v[3 * hidden + j]))
                    c[g, d, j] = f * c[g, d, j] + i * tanh_g
                    h[g, d, j] = o * np.tanh(c[g, d, j])
                    out[g, t, d, j] = h[g, d, j]
    return out, h, c
