"""``lobsim data stats``: the stylised facts, on panels whose facts are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import MarketPanel, save_panel, synthesize_market
from lobsim.cli import main
from lobsim.market.stats import stylised_facts, vwap_saving

MINUTES = 390


def panel(volume, price=None):
    d, _, n = volume.shape
    if price is None:
        price = np.full(volume.shape, 50.0)
    dates = np.datetime64("2024-01-02") + np.arange(d)
    return MarketPanel(price, volume, [f"S{i}" for i in range(n)], dates)


def u_profile():
    t = np.arange(MINUTES)
    return 1.0 + 3.0 * np.exp(-t / 20.0) + 4.0 * np.exp(-(MINUTES - 1 - t) / 15.0)


def test_a_profile_identical_every_day_has_no_variation_and_the_closed_form_saving():
    shape = u_profile()
    volume = np.repeat((1000.0 * shape)[None, :, None], 8, axis=0).repeat(3, axis=2)
    facts = stylised_facts(panel(volume))
    assert facts["profile_variation"] == pytest.approx(0.0, abs=1e-12)
    assert facts["open_share"] == pytest.approx(shape[:30].sum() / shape.sum())
    assert facts["close_share"] == pytest.approx(shape[-30:].sum() / shape.sum())
    bars = shape[4::5]
    p = 2.5 / 1.5
    w = bars / bars.sum()
    expected = 100 * (
        1 - (w**p * bars ** (1 - p)).sum() / ((1 / len(bars)) ** p * bars ** (1 - p)).sum()
    )
    assert facts["vwap_saving"] == pytest.approx(expected, rel=1e-9)
    assert 0 < expected < 100


def test_flat_volume_saves_nothing():
    assert vwap_saving(np.full((5, MINUTES, 2), 300.0)) == pytest.approx(0.0, abs=1e-9)


def test_clustered_volume_and_a_volume_volatility_link_are_measured():
    rng = np.random.default_rng(1)
    d, n, phi = 20, 4, 0.8
    dev = np.zeros((d, MINUTES, n))
    for t in range(1, MINUTES):
        dev[:, t] = phi * dev[:, t - 1] + rng.normal(0, 0.3, (d, n))
    volume = 1000.0 * np.exp(dev) * u_profile()[None, :, None]
    returns = rng.normal(0, 1e-4, (d, MINUTES, n)) * np.exp(dev)  # bigger moves when busier
    price = 50.0 * np.exp(np.cumsum(returns, axis=1))
    facts = stylised_facts(panel(volume, price))
    assert facts["volume_autocorrelation"] == pytest.approx(phi, abs=0.05)
    assert facts["volume_volatility_correlation"] > 0.2
    flat = stylised_facts(panel(volume, 50.0 * np.exp(np.cumsum(
        rng.normal(0, 1e-4, (d, MINUTES, n)), axis=1))))  # fmt: skip
    assert abs(flat["volume_volatility_correlation"]) < 0.05


def test_the_command_prints_the_facts_of_a_file_and_of_the_synthetic_market(tmp_path, capsys):
    path = tmp_path / "bars.parquet"
    save_panel(synthesize_market(3, 6, seed=2), path)
    assert main(["data", "stats", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 stocks x 6 days" in out and "VWAP saving against TWAP" in out
    assert main(["data", "stats", "--synthetic", "--stocks", "3", "--days", "6"]) == 0
    assert "synthetic market (default, seed 0)" in capsys.readouterr().out
    assert main(["data", "stats"]) == 2
    assert "give FILE or --synthetic" in capsys.readouterr().err
