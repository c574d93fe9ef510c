"""The NumPy forward pass that ``LSTM.decide`` runs computes what the torch networks compute.

Small networks throughout (a few stocks, 8-16 units), so the module runs in seconds.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import lobsim
from lobsim import Schedule, TrainData
from lobsim.sandbox import Sandbox
from lobsim.strategies.lstm import LSTM
from lobsim.strategies.lstm.inference import forward, numpy_weights
from lobsim.strategies.lstm.model import Ensemble, JointNet, PerStockNet, SharedNet

N_STOCKS = 3
NETS = {
    "joint": JointNet,
    "per_stock": PerStockNet,
    "shared": SharedNet,
    "ensemble": lambda n, hidden, layers, gen: Ensemble(
        [SharedNet(n, hidden, layers, gen), SharedNet(n, hidden, layers, gen)]
    ),
}


def random_net(mode: str, hidden: int = 8, layers: int = 2, scale: float = 0.5, seed: int = 0):
    """A network with every parameter drawn from U[-scale, scale], the head included (a fresh
    network's head is zero, which would hide everything below it)."""
    gen = torch.Generator().manual_seed(seed)
    net = NETS[mode](N_STOCKS, hidden, layers, gen)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-scale, scale, generator=gen)
    return net.eval()


def inputs(rows: int, days: int, seed: int = 1) -> np.ndarray:
    """ndarray(float32, (T, D, 1 + 4N)): input rows, time first, as decide builds them."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, days, 1 + 4 * N_STOCKS)).astype(np.float32)


def torch_forward(net, x: np.ndarray, state=None):
    with torch.no_grad():
        return net(torch.from_numpy(x), state)


def torch_state(mode: str, state) -> list[tuple[np.ndarray, np.ndarray]]:
    """torch's state in :func:`forward`'s layout: (h, c) per layer, each (G, D, H)."""
    if mode == "ensemble":
        return [torch_state("shared", member) for member in state]
    if mode in ("joint", "shared"):
        h, c = state  # (L, D, H) each (shared: D x N sequences); one group
        return [(h[layer, None].numpy(), c[layer, None].numpy()) for layer in range(len(h))]
    return [(h.numpy(), c.numpy()) for h, c in state]


@pytest.mark.parametrize("mode", NETS)
@pytest.mark.parametrize(("layers", "days"), [(2, 1), (3, 4)])
def test_numpy_forward_matches_torch_in_float32(mode, layers, days):
    net = random_net(mode, layers=layers)
    x = inputs(7, days)

    z, state = forward(numpy_weights(net), x)
    expected, expected_state = torch_forward(net, x)

    assert z.dtype == np.float64
    assert z.shape == (7, days, N_STOCKS)
    np.testing.assert_allclose(z, expected.numpy(), rtol=1e-5, atol=1e-6)
    expected_state = torch_state(mode, expected_state)
    if mode == "ensemble":  # one state per member
        state = [layer for member in state for layer in member]
        expected_state = [layer for member in expected_state for layer in member]
    for (h, c), (h_ref, c_ref) in zip(state, expected_state, strict=True):
        np.testing.assert_allclose(h, h_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c, c_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", NETS)
def test_numpy_forward_is_torchs_maths_exactly_in_float64(mode):
    net = random_net(mode, layers=3, scale=1.0)
    x = inputs(6, 2)

    z, _ = forward(numpy_weights(net), x)
    expected, _ = torch_forward(copy.deepcopy(net).double(), x.astype(np.float64))

    np.testing.assert_allclose(z, expected.numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mode", NETS)
def test_state_carries_over_between_calls(mode):
    net = random_net(mode)
    weights = numpy_weights(net)
    x = inputs(7, 2)

    first, state = forward(weights, x[:3])
    second, state = forward(weights, x[3:], state)
    whole, whole_state = forward(weights, x)
    expected, _ = torch_forward(net, x)

    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(np.concatenate([first, second]), expected, rtol=1e-5, atol=1e-6)
    for (h, c), (h_whole, c_whole) in zip(state, whole_state, strict=True):
        np.testing.assert_allclose(h, h_whole, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(c, c_whole, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("mode", NETS)
def test_saturated_gates_neither_overflow_nor_differ(mode):
    net = random_net(mode, scale=30.0)  # gate pre-activations in the thousands
    x = 10 * inputs(5, 1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z, _ = forward(numpy_weights(net), x)
    expected, _ = torch_forward(net, x)

    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(z, expected.numpy(), rtol=1e-5, atol=1e-4)


def test_weights_are_float64_read_only_copies():
    net = random_net("joint")
    weights = numpy_weights(net)
    before = weights.w_input.copy()

    with torch.no_grad():
        net.lstm.weight_ih_l0.add_(1.0)

    np.testing.assert_array_equal(weights.w_input, before)
    assert weights.w_input.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        weights.w_input[0, 0] = 0.0


def test_other_modules_are_refused():
    with pytest.raises(TypeError, match="JointNet, SharedNet or PerStockNet"):
        numpy_weights(torch.nn.LSTM(3, 4))


# -- the fitted policy -----------------------------------------------------------------


@pytest.fixture(scope="module")
def market():
    return lobsim.synthesize_market(N_STOCKS, 12, seed=4)


@pytest.fixture(scope="module", params=list(NETS))
def fitted(request, market):
    data = TrainData.for_training_days(market.days(0, 10), Schedule(), seed=2, device="cpu")
    ensemble = request.param == "ensemble"
    strategy = LSTM(
        mode="shared" if ensemble else request.param,
        members=2 if ensemble else 1,
        epochs=2,
        lr=0.05,
        hidden=8,
        batch_days=10,
        validation_days=0,
        progress=False,
        threads=1,
    )
    strategy.fit(data)
    return strategy, data


def test_fitted_network_forward_matches_torch(fitted):
    strategy, _ = fitted
    x = inputs(9, 3, seed=5)

    z, _ = forward(strategy.weights_, x)
    expected, _ = torch_forward(strategy.net_, x)

    assert np.abs(expected.numpy()).max() > 1e-3  # trained: the head is not zero
    np.testing.assert_allclose(z, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_decide_runs_no_torch_forward(fitted, market, monkeypatch):
    strategy, data = fitted

    def refuse(*args, **kwargs):
        raise AssertionError("decide ran the torch network")

    monkeypatch.setattr(strategy.net_, "forward", refuse)
    sandbox = Sandbox(
        market.days(10, 12), Schedule(), parent=data.parent, side=lobsim.SELL, adv=data.panel.adv
    )
    for d in range(2):
        held = []
        for k in range(Schedule().n_decisions - 1):
            held.append(strategy.decide(sandbox.observe(d, k, np.array(data.parent))))
        held = np.array(held)
        assert held.shape == (Schedule().n_decisions - 1, N_STOCKS)
        assert np.all(np.diff(held, axis=0) <= 1e-9)


def test_loaded_policy_has_the_same_numpy_weights(fitted, tmp_path):
    strategy, _ = fitted

    loaded = LSTM.load(strategy.save(tmp_path / "lstm.pt"), device="cpu")

    members = (
        zip(loaded.weights_, strategy.weights_, strict=True)
        if isinstance(strategy.weights_, tuple)
        else [(loaded.weights_, strategy.weights_)]
    )
    for mine, theirs_all in members:
        for name in ("w_input", "head_w", "head_b"):
            np.testing.assert_array_equal(getattr(mine, name), getattr(theirs_all, name))
        for name in ("w_layer", "w_hh", "bias"):
            for ours, theirs in zip(getattr(mine, name), getattr(theirs_all, name), strict=True):
                np.testing.assert_array_equal(ours, theirs)
