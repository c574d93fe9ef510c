"""The engine's walk of a freshly built power-law book against the closed form."""

import numpy as np
import pytest

from lobsim import (
    BookModel,
    InputError,
    book_walk_cost,
    cost_exponent,
    powerlaw_cost,
    walk_costs_in_minute,
)
from lobsim.books.kernels import BID, build_levels


def walk_levels(n, v, s, a, eps, tick):
    """Levels a walk of n shares spans."""
    prices = np.zeros(1 << 16, dtype=np.int64)
    qtys = np.zeros(1 << 16, dtype=np.int64)
    nlev, _ = build_levels(BID, s, v, a, eps, tick, 0, 0.0, n, 0.0, 0.0, 0, 0, prices, qtys)
    return nlev


# Tolerance stated by the issue: under 0.5% once a walk spans 30 levels or more.
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.5])
@pytest.mark.parametrize(("n", "v"), [(2_000, 1e5), (25_000, 1e5), (300_000, 2e5)])
def test_walk_cost_is_within_half_a_percent_of_the_closed_form_at_30_levels(alpha, n, v):
    s, eps = 101.37, 1e-3
    x_n = eps * (n / v) ** (1 / (1 + alpha))
    tick = s * x_n / 30  # the walk spans about 30 levels

    walked = book_walk_cost(n, v, s, alpha, eps, tick)

    assert walk_levels(n, v, s, alpha, eps, tick) >= 30
    assert walked == pytest.approx(powerlaw_cost(n, v, s, alpha, eps), rel=5e-3)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 2.0])
def test_walk_cost_converges_to_the_closed_form_as_the_tick_shrinks(alpha):
    n, v, s, eps = 40_000, 1.5e5, 57.91, 2e-3
    exact = powerlaw_cost(n, v, s, alpha, eps)
    ticks = s * eps * np.array([1 / 10, 1 / 40, 1 / 160, 1 / 640])

    errors = [abs(book_walk_cost(n, v, s, alpha, eps, t) / exact - 1) for t in ticks]

    assert errors[-1] < 2e-4
    assert errors[-1] < errors[0] / 10


def test_buys_mirror_sells():
    args = (25_000, 1e5, 100.003, 0.5, 1e-3, 100 * 1e-3 / 77)

    sell = book_walk_cost(*args, side="sell")
    buy = book_walk_cost(*args, side="buy")

    assert buy == pytest.approx(sell, rel=2e-3)
    assert buy == pytest.approx(powerlaw_cost(*args[:5]), rel=2e-3)


def test_doubling_identity_holds_through_the_engine_at_fine_resolution():
    s, v, a, eps, tick = 64.5, 1e5, 0.5, 1e-3, 64.5 * 1e-3 / 400

    ratio = book_walk_cost(20_000, v, s, a, eps, tick) / book_walk_cost(10_000, v, s, a, eps, tick)

    assert ratio == pytest.approx(2.0 ** cost_exponent(a), rel=1e-3)


def test_two_orders_in_one_minute_pay_more_than_either_alone():
    book = (1e5, 100.0, 0.5, 1e-3, 100.0 * 1e-3 / 100)
    alone = walk_costs_in_minute([10_000], *book)[0]

    first, second = walk_costs_in_minute([10_000, 10_000], *book)

    assert first == pytest.approx(alone)
    assert second > alone
    # Together they are one order of 20,000 shares.
    assert first + second == pytest.approx(walk_costs_in_minute([20_000], *book)[0])


def test_rounding_to_whole_shares_conserves_the_depth():
    s, v, a, eps = 33.3, 12_345.0, 0.5, 1e-3
    tick = s * eps / 37
    prices = np.zeros(4096, dtype=np.int64)
    qtys = np.zeros(4096, dtype=np.int64)

    nlev, total = build_levels(
        BID, s, v, a, eps, tick, 0, 0.0, 50_000, 0.0, 0.0, 0, 0, prices, qtys
    )

    depth_ticks = (s / tick - prices[nlev - 1]) + 0.5
    exact = v * (depth_ticks * tick / (s * eps)) ** (1 + a)
    assert total == qtys[:nlev].sum() == int(np.floor(exact + 0.5))
    assert np.all(np.diff(prices[:nlev]) == -1)


def test_book_model_refuses_alpha_noise_that_would_push_the_shape_below_minus_one():
    with pytest.raises(InputError, match="alpha_noise"):
        BookModel(alpha=0.5, alpha_noise=1.5)


def test_walk_refuses_fractional_shares():
    with pytest.raises(InputError, match="whole shares"):
        book_walk_cost(10.5, 1e5, 10.0, 0.5, 1e-3, 1e-4)


@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize("depth_sd, empty_prob", [(0.0, 0.0), (0.3, 0.2)])
@pytest.mark.parametrize("alpha, half_spread", [(0.5, 0), (1.3, 2), (0.0, 1)])
def test_level_at_gives_the_depth_build_levels_puts_at_each_price(
    side, depth_sd, empty_prob, alpha, half_spread
):
    from lobsim.books.kernels import level_at

    prices, qtys = np.zeros(400, np.int64), np.zeros(400, np.int64)
    args = (101.37, 5e4, alpha, 2e-3, 0.01, half_spread, 7.0)
    n, _ = build_levels(side, *args, 10**9, depth_sd, empty_prob, 99, 17, prices, qtys)
    noise = (depth_sd, empty_prob, 99, 17)

    assert n == 400
    got = [level_at(side, int(p), *args, *noise) for p in prices[:n]]
    assert got == qtys[:n].tolist()
    # Between the mid and the first level: nothing.
    inside = prices[0] + (1 if side == 0 else -1)
    assert level_at(side, int(inside), *args, *noise) == 0


def _engine_walk(book, side, args, qty, noise, capacity):
    """What the simulator used to do per child order: lay the levels out, bulk-load them into
    an engine book, send the market order, sum over its fills. Returns (filled, levels built,
    fills, loss, notional)."""
    from lobsim.engine.kernels import load_side, submit_market
    from lobsim.engine.records import BUY, FILL_DTYPE, SELL

    mid, tick = args[0], args[4]
    prices, qtys = np.zeros(capacity, np.int64), np.zeros(capacity, np.int64)
    nlev, _ = build_levels(side, *args, qty, *noise, prices, qtys)
    book.reset()
    load_side(book.state, 0, side, prices, qtys, nlev)
    direction = SELL if side == BID else BUY
    fills = np.zeros(capacity + 1, FILL_DTYPE)
    filled, nf = submit_market(book.state, 0, direction, qty, 0, fills, 0)
    book.check(0, "the reference walk")
    loss = notional = 0.0
    for f in fills[:nf]:
        p = int(f["price"]) * tick
        loss += direction * int(f["qty"]) * (p - mid)
        notional += int(f["qty"]) * p
    return filled, nlev, fills[:nf][["price", "qty"]].tolist(), loss, notional


def _random_book(rng):
    """Random arguments of build_levels: (args, qty, noise, capacity)."""
    alpha = rng.choice([0.0, 0.5, 1.0, 2.5, rng.uniform(-0.6, 3.0)])
    mid = rng.uniform(0.5, 500.0)
    eps = 10 ** rng.uniform(-4, -2)
    tick = mid * eps / rng.choice([3, 40, 100, 400]) if rng.random() < 0.8 else 0.01
    volume = 10 ** rng.uniform(0, 6)
    deficit = 0.0 if rng.random() < 0.5 else rng.uniform(0, 0.5) * volume
    args = (mid, volume, alpha, eps, tick, int(rng.integers(0, 3)), deficit)
    qty = int(max(1, round(volume * 10 ** rng.uniform(-3, 0.7))))
    noisy = rng.random() < 0.3
    noise = (rng.uniform(0, 0.5), rng.uniform(0, 0.3)) if noisy else (0.0, 0.0)
    key = (int(rng.integers(0, 2**63)), int(rng.integers(1, 391)))
    capacity = int(rng.choice([2, 64, 4096, 4096]))
    return args, qty, (*noise, *key), capacity


@pytest.mark.parametrize("seed", range(4))
def test_sweep_levels_fills_and_costs_exactly_what_the_engine_walk_does(seed):
    from lobsim.books.kernels import sweep_levels
    from lobsim.engine.batch import BookBatch

    rng = np.random.default_rng(seed)
    book = BookBatch(1, max_levels=4096, max_orders=4097)
    cumulative = np.zeros(4096)
    for _ in range(500):
        args, qty, noise, capacity = _random_book(rng)
        for side in (BID, 1):
            out_prices, out_qtys = np.zeros(capacity, np.int64), np.zeros(capacity, np.int64)
            # Scratch for every level, none, or too little: levels computed as taken after it.
            scratch = cumulative[: rng.choice([4096, 4096, 0, 3])]

            filled, nlev, nf, loss, notional = sweep_levels(
                side, *args, qty, *noise[:2], *noise[2:], capacity, scratch, out_prices, out_qtys
            )

            expected = _engine_walk(book, side, args, qty, noise, capacity)
            fills = list(zip(out_prices[:nf].tolist(), out_qtys[:nf].tolist(), strict=True))
            # Bit for bit: the same fills, and the same sums in the same order.
            assert (filled, nlev, fills, loss, notional) == expected, (side, args, qty, noise)
