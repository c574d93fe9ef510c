"""Bad input of every kind: exit 2 and a sentence naming what is wrong, nothing written."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from lobsim import load_bars
from lobsim.cli import main
from tests.run.conftest import TINY, run_cli, write_scenario

TOO_MUCH = [
    ("market.synthetic.stocks=1000000000", r"a task of 1000000000 stocks .* needs .* of memory"),
    ("strategies.dp.risk_aversion=-1", r"strategy 'dp': dp: risk_aversion must be >= 0"),
    ("strategies.lstm.epochs=0", r"strategy 'lstm': lstm: epochs must be an int >= 1"),
    ("strategies.lstm.lr=5", r"strategy 'lstm': lstm: lr must be a number in \(0, 1\)"),
    ("parent.shares=9223372036854775807", r"--set parent.shares=.*parent.shares must be in \[1,"),
    ("book.target_bps=1e300", r"book.target_bps must be in \(0, 10000\)"),
    ("book.levels_per_eps=100000000", r"book.levels_per_eps = 100000000 is more than"),
    ("book.max_levels=1000000000", r"book.max_levels = 1000000000 .* needs .* of memory"),
    ("book.epsilon=2.0", r"book.epsilon must be in \(0, 1\)"),
]


@pytest.mark.parametrize(("override", "message"), TOO_MUCH, ids=[o for o, _ in TOO_MUCH])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_what_run_would_refuse_validate_refuses_first(
    tiny_file, tmp_path, capsys, command, override, message
):
    out = tmp_path / "run"
    extra = ["--out", str(out), "--quiet"] if command == "run" else []

    code = main([command, str(tiny_file), "--set", override, *extra])

    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


@pytest.mark.parametrize(
    ("plugin", "call"),
    [
        ("RaisesInInit", r"RaisesInInit\(\*\*\{\}\) raised RuntimeError: no licence file "
                         r"\(in __init__, .*plugins.py:\d+\)"),
        ("RaisesInFit", r"fit\(train\) raised KeyError: 'weights' \(in fit, .*plugins.py:\d+\)$"),
        ("RaisesInDecide", r"decide\(obs\) raised NameError: .*undefined_scale.* "
                           r"\(in decide, .*plugins.py:\d+\)"),
    ],
)  # fmt: skip
def test_a_plugin_that_raises_is_named_with_its_method_and_line(tmp_path, capsys, plugin, call):
    text = TINY + f'\n[strategies.mine]\nclass = "tests.run.plugins:{plugin}"\n'
    out = tmp_path / "run"

    code = run_cli(write_scenario(tmp_path, text), "--out", out)

    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "strategy 'mine'" in err and re.search(call, err)
    assert "Traceback" not in err and not out.exists()


def test_a_scenario_saved_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.encode())

    assert main(["validate", str(path), "--no-data"]) == 0


def test_a_bad_set_value_names_the_set_not_the_file(tiny_file, capsys):
    assert main(["validate", str(tiny_file), "--set", "book.alpha=abc"]) == 2
    err = capsys.readouterr().err
    assert "error: --set book.alpha=abc: book.alpha: expected a number" in err
    assert str(tiny_file) not in err


def test_a_bug_exits_1_with_the_traceback_and_a_request_to_report_it(monkeypatch, capsys):
    import lobsim.commands.validate as validate

    def broken(args):
        raise RuntimeError("an internal inconsistency")

    monkeypatch.setattr(validate, "main", broken)

    assert main(["validate", "x.toml"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: an internal inconsistency" in err
    assert "this is a bug in lobsim" in err and "please report it" in err


def _long_csv(path, volume=1000.0):
    minutes = pd.date_range("2024-01-02 09:31", periods=390, freq="min", tz="America/New_York")
    frame = pd.DataFrame(
        {"timestamp": minutes.strftime("%Y-%m-%dT%H:%M:%S%z"), "ticker": "ABC",
         "close": 10.0 + np.arange(390) * 0.001, "volume": volume}
    )  # fmt: skip
    frame.to_csv(path, index=False)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("bars.csv.gz", gzip.compress),
        ("bars.csv.bz2", bz2.compress),
        ("bars.csv.xz", lzma.compress),
        ("bars.zip", None),
    ],
)
def test_compressed_bar_files_load_as_the_plain_file(tmp_path, name, pack):
    raw = _long_csv(tmp_path / "bars.csv")
    path = tmp_path / name
    if pack is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("bars.csv", raw)
    else:
        path.write_bytes(pack(raw))

    assert load_bars(path) == load_bars(tmp_path / "bars.csv")


def test_a_volume_too_large_for_an_order_names_the_stock(tmp_path, capsys):
    days = [f"2024-01-{d:02d}" for d in (2, 3, 4, 5, 8, 9, 10, 11, 12, 16, 17, 18)]
    rows = []
    for day in days:
        minutes = pd.date_range(f"{day} 09:31", periods=30, freq="min", tz="America/New_York")
        for ticker, volume in (("HUGE", 1e300), ("FINE", 1e4)):
            stamps = minutes.strftime("%Y-%m-%dT%H:%M:%S%z")
            rows.append(
                pd.DataFrame(
                    {"timestamp": stamps, "ticker": ticker, "close": 10.0, "volume": volume}
                )
            )
    pd.concat(rows).to_csv(tmp_path / "bars.csv", index=False)
    text = TINY.replace(
        "[market.synthetic]\nstocks = 3\ndays = 12\n",
        '[market]\nsource = "file"\npath = "bars.csv"\n\n'
        '[market.load]\nsession = ["09:30", "10:00"]\n',
    )

    code = run_cli(write_scenario(tmp_path, text), "--out", tmp_path / "run")

    err = capsys.readouterr().err
    assert code == 2
    assert "the training ADV of HUGE" in err and "more than the engine's largest" in err
