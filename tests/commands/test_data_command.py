"""``lobsim data synth`` and ``lobsim data check``: outputs and exit codes."""

from __future__ import annotations

import pytest

from lobsim import load_bars, load_panel
from lobsim.cli import main

SYNTH = ["data", "synth", "--stocks", "3", "--days", "4", "--minutes", "30", "--seed", "5"]
SESSION = ["--session", "09:30-10:00"]


@pytest.mark.parametrize("name", ["bars.parquet", "bars.csv", "panel"])
def test_synth_writes_the_format_of_the_out_path(name, tmp_path, capsys):
    out = tmp_path / name

    code = main([*SYNTH, "--out", str(out)])

    loaded = load_bars(out, session=("09:30", "10:00"))
    assert code == 0
    assert (loaded.n_stocks, loaded.n_days, loaded.n_minutes) == (3, 4, 30)
    assert "3 stocks x 4 days x 30 minutes" in capsys.readouterr().out


def test_synth_output_does_not_depend_on_workers(tmp_path):
    main([*SYNTH, "--out", str(tmp_path / "one"), "--workers", "1"])
    main([*SYNTH, "--out", str(tmp_path / "two"), "--workers", "2"])

    assert load_panel(tmp_path / "one") == load_panel(tmp_path / "two")


def test_synth_with_an_unknown_suffix_exits_2(tmp_path, capsys):
    code = main([*SYNTH, "--out", str(tmp_path / "bars.xlsx")])

    assert code == 2
    assert ".xlsx" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_synth_with_zero_stocks_exits_2(tmp_path, capsys):
    code = main(["data", "synth", "--stocks", "0", "--out", str(tmp_path / "x.parquet")])

    assert code == 2
    assert "n_stocks" in capsys.readouterr().err


def test_check_summarises_a_good_file_and_exits_0(tmp_path, capsys):
    main([*SYNTH, "--out", str(tmp_path / "bars.csv")])
    capsys.readouterr()

    code = main(["data", "check", str(tmp_path / "bars.csv"), *SESSION])

    out = capsys.readouterr().out
    assert code == 0
    assert "3 stocks x 4 days x 30 minutes" in out
    assert "2020-01-02 .. 2020-01-07" in out
    assert "missing minutes filled: 0 of 360" in out


def test_check_counts_filled_minutes(tmp_path, capsys):
    main([*SYNTH, "--out", str(tmp_path / "bars.csv")])
    lines = (tmp_path / "bars.csv").read_text().splitlines()
    (tmp_path / "gaps.csv").write_text("\n".join(lines[:5] + lines[7:]) + "\n")
    capsys.readouterr()

    code = main(["data", "check", str(tmp_path / "gaps.csv"), *SESSION])

    assert code == 0
    assert "missing minutes filled: 2 of 360" in capsys.readouterr().out


def test_check_of_bad_data_exits_2_naming_file_row_and_column(tmp_path, capsys):
    main([*SYNTH, "--out", str(tmp_path / "bars.csv")])
    lines = (tmp_path / "bars.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",-10"
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    capsys.readouterr()

    code = main(["data", "check", str(tmp_path / "bad.csv"), *SESSION])

    err = capsys.readouterr().err
    assert code == 2
    assert f"{tmp_path / 'bad.csv'}, row 3, column 'volume'" in err
    assert "must be >= 0" in err


def test_check_of_a_missing_file_exits_2(tmp_path, capsys):
    code = main(["data", "check", str(tmp_path / "absent.csv")])

    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_check_with_a_malformed_session_option_exits_2(tmp_path, capsys):
    main([*SYNTH, "--out", str(tmp_path / "bars.csv")])

    code = main(["data", "check", str(tmp_path / "bars.csv"), "--session", "09:30"])

    assert code == 2
    assert "--session" in capsys.readouterr().err


def test_data_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])

    assert "data" in capsys.readouterr().out


def test_synth_thin_preset_writes_minutes_without_volume_and_check_counts_them(tmp_path, capsys):
    out = tmp_path / "thin.parquet"

    code = main(["data", "synth", "--stocks", "3", "--days", "4", "--preset", "thin",
                 "--out", str(out)])  # fmt: skip

    assert code == 0
    assert "thin preset" in capsys.readouterr().out
    panel = load_bars(out)
    quiet = int((panel.volume == 0).sum())
    assert 0.5 < quiet / panel.volume.size < 0.9
    assert main(["data", "check", str(out)]) == 0
    assert f"minutes without volume: {quiet:,} of {panel.volume.size:,}" in capsys.readouterr().out
