"""The LSTM execution policy: architecture, schedule constraints, lag, determinism, training.

Small problems throughout (4 stocks x 30 days x 390 minutes, a few epochs), so the module runs
in seconds; the issue's result on 100 stocks is measured by ``lobsim bench lstm`` and the
evaluation script, not here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lobsim
from lobsim import InputError, Schedule, TrainData
from lobsim.sandbox import Sandbox
from lobsim.strategies.dp import DynamicProgramming
from lobsim.strategies.lstm import LSTM, resolve_device
from lobsim.strategies.lstm.features import (
    day_features,
    decision_rows_read,
    inventory_paths,
    pool_span,
    span_ends,
    stock_inputs,
    volume_floor,
)
from lobsim.strategies.lstm.inference import numpy_weights
from lobsim.strategies.lstm.model import (
    JointNet,
    PerStockNet,
    SharedNet,
    base_logits,
    child_fractions,
)
from lobsim.strategies.lstm.model import stock_inputs as torch_stock_inputs
from lobsim.strategies.lstm.train import mean_cost
from lobsim.strategies.vwap import VWAP, volume_weights

N_STOCKS, N_DAYS = 4, 30
SCHEDULE = Schedule()
FAST = {
    "epochs": 3,
    "lr": 0.01,
    "batch_days": N_DAYS,
    "validation_days": 0,
    "progress": False,
    "threads": 1,
}


@pytest.fixture(scope="module")
def market():
    return lobsim.synthesize_market(N_STOCKS, N_DAYS + 5, seed=11)


@pytest.fixture(scope="module")
def train_data(market):
    panel = market.days(0, N_DAYS)
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = lobsim.BookModel().calibrated(panel.volume, parent, SCHEDULE.decision_times)
    return TrainData(
        panel=panel,
        schedule=SCHEDULE,
        book=book,
        parent=parent,
        side=lobsim.SELL,
        seed=np.random.SeedSequence(5),
        device="cpu",
    )


@pytest.fixture(scope="module")
def held_out_panel(market):
    return market.days(N_DAYS, N_DAYS + 5)


@pytest.fixture(scope="module")
def trained(train_data):
    strategy = LSTM(**FAST)
    strategy.fit(train_data)
    return strategy


@pytest.fixture(scope="module")
def per_stock(train_data):
    strategy = LSTM(**{**FAST, "mode": "per_stock", "hidden": 16})
    strategy.fit(train_data)
    return strategy


def observations(panel, parent, adv, schedule=SCHEDULE):
    """Observations as the simulator builds them, one day at a time (a batch is the N stocks
    of one day), every decision of the day; remaining follows each target sent back exactly."""
    sandbox = Sandbox(panel, schedule, parent=np.asarray(parent), side=lobsim.SELL, adv=adv)
    for d in range(panel.n_days):
        remaining = np.array(sandbox.initial)
        for k in range(schedule.n_decisions):
            target = yield sandbox.observe(d, k, remaining)
            remaining = np.clip(np.rint(target), 0, remaining).astype(np.int64)


def decisions(strategy, panel, parent, adv, schedule=SCHEDULE) -> np.ndarray:
    """ndarray(float64, (K, D, N)): the raw targets ``decide`` returns at every decision."""
    out = []
    gen = observations(panel, parent, adv, schedule)
    obs = next(gen)
    while True:
        out.append(np.asarray(strategy.decide(obs), dtype=np.float64))
        try:
            obs = gen.send(out[-1])
        except StopIteration:
            break
    return np.array(out).reshape(panel.n_days, schedule.n_decisions, -1).transpose(1, 0, 2)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_joint_network_has_the_papers_116100_parameters():
    net = JointNet(100, hidden=50, layers=2, generator=torch.Generator().manual_seed(0))

    assert n_params(net) == 116_100


def test_per_stock_networks_are_one_lstm_and_one_output_each():
    net = PerStockNet(N_STOCKS, hidden=50, layers=2, generator=torch.Generator().manual_seed(0))
    one = torch.nn.Sequential(torch.nn.LSTM(1 + 4 * N_STOCKS, 50, 2), torch.nn.Linear(50, 1))

    assert n_params(net) == N_STOCKS * n_params(one)


def test_per_stock_network_computes_torchs_lstm():
    gen = torch.Generator().manual_seed(3)
    net = PerStockNet(3, hidden=8, layers=2, generator=gen)
    with torch.no_grad():
        net.head_w.uniform_(-1, 1, generator=gen)
        net.head_b.uniform_(-1, 1, generator=gen)
    x = torch.randn(12, 5, 13, generator=gen)
    j = 1
    ref = torch.nn.LSTM(13, 8, 2)
    with torch.no_grad():
        for layer in range(2):
            getattr(ref, f"weight_ih_l{layer}").copy_(net.w_ih[layer][j])
            getattr(ref, f"weight_hh_l{layer}").copy_(net.w_hh[layer][j])
            getattr(ref, f"bias_ih_l{layer}").copy_(net.b_ih[layer][j])
            getattr(ref, f"bias_hh_l{layer}").copy_(net.b_hh[layer][j])

    with torch.no_grad():
        z, _ = net(x)
        h, _ = ref(x)
        expected = h @ net.head_w[j] + net.head_b[j]

    torch.testing.assert_close(z[:, :, j], expected, rtol=1e-5, atol=1e-5)


def test_schedule_fractions_are_non_negative_and_sum_to_one():
    gen = torch.Generator().manual_seed(1)
    weights = np.random.default_rng(1).dirichlet(np.ones(78), size=N_STOCKS)
    base = torch.tensor(base_logits(weights), dtype=torch.float64)[:, None, :].expand(-1, 6, -1)
    z = 3 * torch.randn(77, 6, N_STOCKS, generator=gen, dtype=torch.float64)

    fractions = child_fractions(z, base)

    assert torch.all(fractions >= 0)
    torch.testing.assert_close(fractions.sum(dim=0), torch.ones(6, N_STOCKS, dtype=torch.float64))


def test_zero_output_is_the_vwap_schedule():
    weights = np.random.default_rng(2).dirichlet(np.ones(78), size=N_STOCKS)
    base = torch.tensor(base_logits(weights), dtype=torch.float64)[:, None, :]

    fractions = child_fractions(torch.zeros(77, 1, N_STOCKS, dtype=torch.float64), base)

    np.testing.assert_allclose(fractions[:, 0, :].numpy().T, weights, rtol=1e-9, atol=1e-15)


def test_untrained_joint_network_outputs_zero():
    net = JointNet(N_STOCKS, 50, 2, torch.Generator().manual_seed(0))
    x = torch.randn(20, 3, 1 + 4 * N_STOCKS)

    with torch.no_grad():
        z, _ = net(x)

    assert torch.count_nonzero(z) == 0


@pytest.mark.parametrize(
    ("options", "base"),
    [({}, VWAP), ({"mode": "joint", "hidden": 16}, VWAP), ({"base": "dp"}, DynamicProgramming)],
    ids=["shared", "joint", "shared-dp"],
)
def test_untrained_policy_trades_like_its_base(train_data, held_out_panel, options, base):
    strategy = LSTM(**FAST, **options)
    strategy.fit(train_data)
    with torch.no_grad():  # back to the initial state of the final layer
        strategy.net_.head.weight.zero_()
        strategy.net_.head.bias.zero_()
    strategy.weights_ = numpy_weights(strategy.net_)  # what decide runs
    reference = base()
    reference.fit(train_data)
    run = {"book": train_data.book, "parent": train_data.parent, "adv": train_data.panel.adv}

    ours = lobsim.simulate(held_out_panel, strategy, **run).inventory
    theirs = lobsim.simulate(held_out_panel, reference, **run).inventory

    if base is VWAP:
        np.testing.assert_array_equal(ours, theirs)
    else:  # the DP keeps a share of what it holds, the LSTM plans shares of the parent: the
        # two part by the rounding of each child order to whole shares, half a share a step
        k = SCHEDULE.n_decisions
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=k / 2)


def test_targets_never_rise_and_the_last_decision_liquidates(trained, train_data, held_out_panel):
    targets = decisions(trained, held_out_panel, train_data.parent, train_data.panel.adv)
    vwap = VWAP()
    vwap.fit(train_data)
    vwap_targets = decisions(vwap, held_out_panel, train_data.parent, train_data.panel.adv)

    assert not np.allclose(targets, vwap_targets, rtol=1e-3)  # training moved it off VWAP
    assert np.all(np.diff(targets, axis=0) <= 1e-9)
    assert np.all(targets[0] <= train_data.parent)
    assert np.all(targets >= 0)
    np.testing.assert_array_equal(targets[-1], 0.0)


def test_decisions_follow_the_schedule_the_network_was_trained_on(
    trained, train_data, held_out_panel
):
    data = trained.day_set(
        held_out_panel.price,
        held_out_panel.volume,
        train_data.book.epsilons(N_STOCKS),
        train_data.parent,
    )
    with torch.no_grad():
        z, _ = trained.net_(data.x)  # whole days at once, as in training
        sold = child_fractions(z[data.rows].double(), data.base.double()).numpy()
    held = 1.0 - np.cumsum(sold, axis=0)[:-1]  # (K - 1, D, N)

    targets = decisions(trained, held_out_panel, train_data.parent, train_data.panel.adv)

    np.testing.assert_allclose(targets[:-1] / train_data.parent, held, atol=1e-5)


def test_decisions_do_not_read_beyond_the_lag(trained, train_data, held_out_panel):
    cut = 200  # bars after this minute are perturbed
    rng = np.random.default_rng(0)
    price, volume = held_out_panel.price.copy(), held_out_panel.volume.copy()
    price[:, cut:] *= np.exp(0.02 * rng.standard_normal(price[:, cut:].shape))
    volume[:, cut:] *= np.exp(rng.standard_normal(volume[:, cut:].shape))
    perturbed = lobsim.MarketPanel(price, volume, held_out_panel.tickers, held_out_panel.dates)
    args = (train_data.parent, train_data.panel.adv)

    original = decisions(trained, held_out_panel, *args)
    changed = decisions(trained, perturbed, *args)

    blind = SCHEDULE.decision_times - SCHEDULE.lag <= cut
    np.testing.assert_array_equal(original[blind], changed[blind])
    assert not np.array_equal(original[~blind], changed[~blind])


def test_training_features_do_not_read_beyond_their_row(train_data):
    panel, cut = train_data.panel, 150
    weights = volume_weights(panel.volume, SCHEDULE.decision_times, SCHEDULE.interval)
    twap, vwap = inventory_paths(weights, SCHEDULE.decision_times, 390)
    norm = (panel.volume.mean(axis=0), volume_floor(panel.adv, 390), twap, vwap)
    price, volume = panel.price.copy(), panel.volume.copy()
    price[:, cut:] *= 1.1
    volume[:, cut:] *= 3.0

    original = day_features(panel.price, panel.volume, 384, *norm)
    changed = day_features(price, volume, 384, *norm)

    np.testing.assert_array_equal(original[:, : cut + 1], changed[:, : cut + 1])
    assert not np.array_equal(original[:, cut + 1 :], changed[:, cut + 1 :])


def test_inventory_features_hold_what_twap_and_vwap_hold_before_each_decision(train_data):
    weights = volume_weights(train_data.panel.volume, SCHEDULE.decision_times, 5)
    rows = SCHEDULE.decision_times - SCHEDULE.lag

    twap, vwap = inventory_paths(weights, SCHEDULE.decision_times, 390)

    k = np.arange(len(rows))
    np.testing.assert_allclose(twap[rows, 0], 1 - k / len(rows))
    before = 1 - np.concatenate([np.zeros((N_STOCKS, 1)), np.cumsum(weights, axis=1)], axis=1)
    np.testing.assert_allclose(vwap[rows], np.clip(before[:, :-1].T, 0, 1), atol=1e-12)


def test_same_seed_same_network_and_decisions(train_data, held_out_panel):
    first, second = LSTM(**FAST), LSTM(**FAST)
    first.fit(train_data)
    second.fit(train_data)
    args = (held_out_panel, train_data.parent, train_data.panel.adv)

    for key, value in first.net_.state_dict().items():
        assert torch.equal(value, second.net_.state_dict()[key]), key
    np.testing.assert_array_equal(decisions(first, *args), decisions(second, *args))


def test_seed_option_picks_another_stream(trained, train_data):
    other = LSTM(**FAST, seed=1)
    other.fit(train_data)

    weight = "lstm.weight_ih_l0"
    assert not torch.equal(trained.net_.state_dict()[weight], other.net_.state_dict()[weight])


def test_fit_leaves_torchs_global_state_alone(train_data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    threads = torch.get_num_threads()
    torch.manual_seed(123)

    LSTM(**FAST).fit(train_data)

    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_checkpoint_round_trip_gives_identical_decisions(train_data, held_out_panel, tmp_path):
    strategy = LSTM(**FAST, checkpoint_dir=str(tmp_path))
    strategy.fit(train_data)
    (path,) = tmp_path.glob("lstm-shared-*.pt")

    loaded = LSTM.load(path, device="cpu")

    args = (held_out_panel, train_data.parent, train_data.panel.adv)
    np.testing.assert_array_equal(decisions(loaded, *args), decisions(strategy, *args))


def test_training_lowers_the_training_cost(train_data):
    strategy = LSTM(**{**FAST, "epochs": 8})
    strategy.fit(train_data)
    panel = train_data.panel
    eps = train_data.book.epsilons(N_STOCKS)
    data = strategy.day_set(panel.price, panel.volume, eps, train_data.parent)
    untrained = strategy._new_net(N_STOCKS, [torch.Generator().manual_seed(0)])

    trained_cost = mean_cost(strategy.net_, data, 0.5, N_STOCKS)
    base_cost = mean_cost(untrained, data, 0.5, N_STOCKS)  # VWAP's schedule

    assert trained_cost < base_cost


def test_early_stopping_keeps_the_best_validation_weights(train_data):
    strategy = LSTM(**{**FAST, "epochs": 4, "lr": 0.5, "validation_days": 10, "patience": 2})
    panel = train_data.panel.days(N_DAYS - 10, N_DAYS)

    strategy.fit(train_data)
    valid = strategy.day_set(
        panel.price, panel.volume, train_data.book.epsilons(N_STOCKS), train_data.parent
    )
    final = mean_cost(strategy.net_, valid, 0.5, N_STOCKS)

    history = strategy.history_
    assert final == pytest.approx(min([history["base_valid_cost"], *history["valid_cost"]]))
    assert final <= history["base_valid_cost"]


def test_by_default_a_sixth_of_the_training_days_validates(train_data):
    strategy = LSTM(**{**FAST, "epochs": 1, "validation_days": None})

    strategy.fit(train_data)

    assert "base_valid_cost" in strategy.history_
    assert len(strategy.history_["valid_cost"]) == 1


def test_per_stock_mode_trains_one_network_per_stock(per_stock, train_data, held_out_panel):
    targets = decisions(per_stock, held_out_panel, train_data.parent, train_data.panel.adv)

    assert per_stock.net_.n_stocks == N_STOCKS
    assert torch.count_nonzero(per_stock.net_.head_w) > 0
    assert np.all(np.diff(targets, axis=0) <= 1e-9)
    np.testing.assert_array_equal(targets[-1], 0.0)


def test_per_stock_training_lowers_the_training_cost(per_stock, train_data):
    panel = train_data.panel
    data = per_stock.day_set(
        panel.price, panel.volume, train_data.book.epsilons(N_STOCKS), train_data.parent
    )
    untrained = PerStockNet(N_STOCKS, 16, 2, torch.Generator().manual_seed(0))

    trained_cost = mean_cost(per_stock.net_, data, 0.5, N_STOCKS)
    vwap_cost = mean_cost(untrained, data, 0.5, N_STOCKS)

    assert trained_cost < vwap_cost


def test_alpha_noise_training_runs_and_moves_off_vwap(train_data):
    strategy = LSTM(**{**FAST, "alpha_noise_train": 0.2})

    strategy.fit(train_data)

    assert torch.count_nonzero(strategy.net_.head.weight) > 0


def test_works_through_the_simulator_with_another_schedule(market):
    schedule = Schedule(minutes=390, interval=30, lag=30)  # first decision sees no bar
    panel = market.days(0, N_DAYS)
    parent = np.round(0.05 * panel.adv).astype(np.int64)
    book = lobsim.BookModel().calibrated(panel.volume, parent, schedule.decision_times)
    strategy = LSTM(**FAST)
    strategy.fit(
        TrainData(
            panel=panel,
            schedule=schedule,
            book=book,
            parent=parent,
            side=lobsim.SELL,
            seed=np.random.SeedSequence(1),
        )
    )

    result = lobsim.simulate(
        market.days(N_DAYS, N_DAYS + 5),
        strategy,
        book=book,
        parent=parent,
        schedule=schedule,
        adv=panel.adv,
    )

    assert np.all(result.episodes["unfilled"] == 0)
    assert np.all(np.isfinite(result.episodes["cost"]))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("mode", "both"),
        ("epochs", 0),
        ("lr", 0.0),
        ("validation_days", N_DAYS),
        ("alpha_noise_train", 1.5),
        ("loss", "pct"),
        ("threads", 0),
        ("seed", -1),
        ("rows", "hours"),
        ("base", "twap"),
        ("members", 0),
    ],
)
def test_bad_options_are_refused_naming_the_option(train_data, option, value):
    strategy = LSTM(**{**FAST, option: value})

    with pytest.raises(InputError, match=option):
        strategy.fit(train_data)


def test_permuting_stocks_is_refused_in_per_stock_mode(train_data):
    with pytest.raises(InputError, match="permute_stocks"):
        LSTM(**FAST, mode="per_stock", permute_stocks=True).fit(train_data)


def test_decide_before_fit_is_refused(train_data, held_out_panel):
    obs = next(observations(held_out_panel, train_data.parent, train_data.panel.adv))

    with pytest.raises(InputError, match="fit"):
        LSTM().decide(obs)


def test_decisions_out_of_order_are_refused(trained, train_data, held_out_panel):
    gen = observations(held_out_panel, train_data.parent, train_data.panel.adv)
    first = next(gen)
    trained.decide(first)
    gen.send(first.remaining.astype(float))
    third = gen.send(first.remaining.astype(float))

    with pytest.raises(InputError, match="in order"):
        trained.decide(third)


def test_another_universe_is_refused(trained, train_data, market):
    other = market.days(N_DAYS, N_DAYS + 5).select(list(market.tickers[:3]))
    obs = next(observations(other, train_data.parent[:3], train_data.panel.adv[:3]))

    with pytest.raises(InputError, match="universe"):
        trained.decide(obs)


def test_auto_device_is_cuda_when_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    assert resolve_device("auto").type == "cuda"
    assert resolve_device("auto", "cpu").type == "cpu"


def test_auto_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    assert resolve_device("auto").type == "cpu"
    with pytest.raises(InputError, match="CUDA"):
        resolve_device("cuda")


def test_registered_as_lstm():
    assert lobsim.load_strategy("lstm") is LSTM


def test_shared_network_is_one_small_network_whatever_the_universe():
    for n_stocks in (4, 100):
        net = SharedNet(n_stocks, hidden=32, layers=1, generator=torch.Generator().manual_seed(0))
        assert n_params(net) == 4 * 32 * (7 + 32 + 2) + 32 + 1 == 5_281


def test_shared_network_runs_the_same_network_on_every_stock():
    gen = torch.Generator().manual_seed(3)
    net = SharedNet(N_STOCKS, 8, 1, gen)
    with torch.no_grad():
        net.head.weight.uniform_(-1, 1, generator=gen)
    x = torch.randn(6, 2, 1 + 4 * N_STOCKS, generator=gen)
    perm = torch.tensor([2, 0, 3, 1])
    cols = torch.cat(
        [torch.zeros(1, dtype=torch.long)] + [1 + b * N_STOCKS + perm for b in range(4)]
    )

    with torch.no_grad():
        z, _ = net(x)
        z_perm, _ = net(x[:, :, cols])

    torch.testing.assert_close(z_perm, z[:, :, perm])  # relabelling stocks relabels outputs
    assert not torch.allclose(z[:, :, 0], z[:, :, 1])  # each stock runs on its own inputs


def test_shared_inputs_are_the_same_in_numpy_and_torch():
    x = np.random.default_rng(4).standard_normal((5, 3, 1 + 4 * N_STOCKS))
    ours = stock_inputs(x, N_STOCKS)
    theirs = torch_stock_inputs(torch.from_numpy(x), N_STOCKS).numpy()

    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_array_equal(ours[..., 2], x[..., 1 + N_STOCKS : 1 + 2 * N_STOCKS])
    np.testing.assert_allclose(ours[..., 0, 6], x[..., 1 + N_STOCKS : 1 + 2 * N_STOCKS].mean(-1))


def test_a_decision_row_pools_the_bars_since_the_previous_decision():
    rows = np.random.default_rng(5).standard_normal((2, 5, 1 + 4 * N_STOCKS)).astype(np.float32)
    pooled = pool_span(rows, N_STOCKS)
    volume = slice(1 + N_STOCKS, 1 + 2 * N_STOCKS)

    np.testing.assert_allclose(pooled[:, volume], rows[:, :, volume].mean(axis=1), rtol=1e-6)
    others = np.ones(1 + 4 * N_STOCKS, dtype=bool)
    others[volume] = False
    np.testing.assert_array_equal(pooled[:, others], rows[:, -1, others])  # the last bar's


def test_decision_rows_cover_each_decisions_bars_once():
    ends = span_ends(SCHEDULE.decision_times, SCHEDULE.lag)
    read = decision_rows_read(SCHEDULE.decision_times, SCHEDULE.lag)

    np.testing.assert_array_equal(ends, SCHEDULE.decision_times[:-1] - SCHEDULE.lag)
    np.testing.assert_array_equal(read, np.arange(1, SCHEDULE.n_decisions))  # 0: pre-open
    late = Schedule(390, 5, 5)  # the first decision sees no bar: it reads the pre-open row
    assert decision_rows_read(late.decision_times, late.lag)[0] == 0


def test_an_ensemble_averages_members_trained_apart(train_data, held_out_panel):
    strategy = LSTM(**FAST, members=2)
    strategy.fit(train_data)
    first, second = strategy.net_.members
    x = torch.randn(4, 2, 1 + 4 * N_STOCKS)

    with torch.no_grad():
        z, _ = strategy.net_(x)
        expected = (first(x)[0] + second(x)[0]) / 2
    torch.testing.assert_close(z, expected)
    assert not torch.equal(first.head.weight, second.head.weight)
    assert len(strategy.history_["members"]) == 2
    targets = decisions(strategy, held_out_panel, train_data.parent, train_data.panel.adv)
    assert np.all(np.diff(targets, axis=0) <= 1e-9)


def test_a_dp_based_policy_survives_a_checkpoint(train_data, held_out_panel, tmp_path):
    strategy = LSTM(**FAST, base="dp", checkpoint_dir=str(tmp_path))
    strategy.fit(train_data)
    (path,) = tmp_path.glob("lstm-shared-*.pt")

    loaded = LSTM.load(path, device="cpu")

    args = (held_out_panel, train_data.parent, train_data.panel.adv)
    np.testing.assert_array_equal(decisions(loaded, *args), decisions(strategy, *args))
