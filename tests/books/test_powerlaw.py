"""The closed form of the power-law book and its calibration."""

import numpy as np
import pytest

from lobsim import InputError, calibrate_epsilon, cost_exponent, powerlaw_cost


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0])
def test_doubling_the_order_multiplies_the_cost_by_two_to_the_p(alpha):
    ratio = powerlaw_cost(2e4, 1e5, 50.0, alpha, 1e-3) / powerlaw_cost(1e4, 1e5, 50.0, alpha, 1e-3)

    assert ratio == pytest.approx(2.0 ** cost_exponent(alpha), rel=1e-12)


@pytest.mark.parametrize("c", [0.1, 3.0, 17.0])
def test_scaling_order_and_volume_together_scales_the_cost(c):
    base = powerlaw_cost(1e4, 1e5, 50.0, 0.5, 1e-3)

    assert powerlaw_cost(c * 1e4, c * 1e5, 50.0, 0.5, 1e-3) == pytest.approx(c * base, rel=1e-12)


def test_closed_form_matches_the_integral_of_the_density():
    s, v, a, eps, n = 80.0, 2e5, 0.5, 2e-3, 3e4
    x_n = eps * (n / v) ** (1 / (1 + a))
    x = np.linspace(0.0, x_n, 200_001)
    density = (1 + a) * v * x**a / eps ** (1 + a)
    integrand = s * x * density
    integral = np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(x))

    assert powerlaw_cost(n, v, s, a, eps) == pytest.approx(integral, rel=1e-6)


def test_linear_book_gives_quadratic_cost():
    # a = 0: flat density, price impact linear in n, cost eps/2 * S * n^2 / V.
    assert powerlaw_cost(1e4, 1e5, 20.0, 0.0, 1e-3) == pytest.approx(1e-3 / 2 * 20 * 1e8 / 1e5)


def test_zero_order_costs_nothing_even_without_volume():
    assert powerlaw_cost(0.0, 0.0, 10.0, 0.5, 1e-3) == 0.0


def test_order_without_volume_costs_infinity():
    assert powerlaw_cost(10.0, 0.0, 10.0, 0.5, 1e-3) == np.inf


def test_vectorised_over_orders_and_volumes():
    n = np.array([[1e3], [2e3]])
    v = np.array([1e4, 2e4, 4e4])

    out = powerlaw_cost(n, v, 10.0, 0.5, 1e-3)

    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(powerlaw_cost(2e3, 4e4, 10.0, 0.5, 1e-3))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"alpha": -1.0}, "alpha"), ({"n": -1.0}, "n"), ({"volume": -5.0}, "volume")],
)
def test_bad_arguments_are_refused_by_name(kwargs, word):
    args = {"n": 1.0, "volume": 1.0, "price": 1.0, "alpha": 0.5, "epsilon": 1e-3} | kwargs

    with pytest.raises(InputError, match=word):
        powerlaw_cost(**args)


def test_calibrated_epsilon_gives_the_target_cost_for_twap_on_the_profile():
    profile = np.array([[3e4, 1e4], [1e4, 1e4], [2e4, 5e3], [5e4, 2e4]])  # (M=4, N=2)
    shares = np.array([4e4, 8e3])
    minutes = np.array([2, 4])

    eps = calibrate_epsilon(profile, shares, minutes, 0.5, target_bps=2.0)

    for i in range(2):
        cost = powerlaw_cost(shares[i] / 2, profile[minutes - 1, i], 1.0, 0.5, eps[i]).sum()
        assert 1e4 * cost / shares[i] == pytest.approx(2.0, rel=1e-12)


def test_calibration_refuses_a_stock_without_volume_and_names_its_column():
    profile = np.array([[1e4, 0.0], [1e4, 0.0]])

    with pytest.raises(InputError, match="column 1"):
        calibrate_epsilon(profile, np.array([1e3, 1e3]), np.array([1, 2]), 0.5, 1.0)
