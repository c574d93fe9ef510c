"""``lobsim data check`` on vendor files: assumptions printed, gaps named, refusals exit 2."""

from __future__ import annotations

import pytest

from lobsim.cli import main
from tests.market.vendor_bars import bars, firstrate, long_csv, naive_utc_long, ninjatrader


def test_check_prints_each_assumption_on_its_own_line(tmp_path, capsys):
    path = firstrate(tmp_path / "AAPL_1min.txt", bars())

    code = main(["data", "check", str(path), "--ticker", "AAPL"])

    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "  format: headerless vendor file (comma, FirstRate style)" in out
    assert (
        "  time zone: timestamps without offset read as America/New_York, exchange time "
        "(assumed; --tz or market.load.tz to change)"
    ) in out
    assert (
        "  bars stamped by the start of their minute (detected: the opening volume lands on "
        "the 09:30 bar)"
    ) in out


def test_check_names_long_gaps_half_days_and_filled_minutes(tmp_path, capsys):
    frame = bars(days=("2024-02-01", "2024-02-02", "2024-02-26", "2024-02-27"), extended=False)
    half_day = frame["end"].dt.strftime("%Y-%m-%d").eq("2024-02-27") & (frame["end"].dt.hour >= 13)
    frame = frame[~half_day].drop(index=[5, 6])
    path = long_csv(tmp_path / "bars.csv", frame)

    code = main(["data", "check", str(path)])

    out = capsys.readouterr().out
    assert code == 0
    assert "  no data 2024-02-05..2024-02-23 (15 business days)\n" in out
    assert "days dropped (too short, e.g. half days): 1: 2024-02-27" in out
    assert "missing minutes filled: 2 of 1,170 (0.17%" in out


def test_explicit_options_are_reported_as_given(tmp_path, capsys):
    path = naive_utc_long(tmp_path / "utc.csv", bars())

    code = main(["data", "check", str(path), "--tz", "UTC", "--stamp", "end"])

    out = capsys.readouterr().out
    assert code == 0
    assert "time zone: timestamps without offset read as UTC (given)" in out
    assert "bars stamped by the end of their minute (given)" in out


@pytest.mark.parametrize(
    ("name", "write", "args", "seen"),
    [
        ("utc.csv", naive_utc_long, [], "these look like UTC: pass --tz UTC"),
        ("AAPL.txt", ninjatrader, [], "no header row (first line '20240102 092100;"),
        ("AAPL.tsv", None, ["--ticker", "AAPL"], "has fields separated by tabs"),
        ("AAPL.csv", "header", ["--ticker", "AAPL"], "a header row in a vendor file"),
        ("middle.csv", "middle", ["--min-minutes", "1"], "pass --stamp start|end"),
    ],
)
def test_files_that_cannot_be_read_right_exit_2(name, write, args, seen, tmp_path, capsys):
    path = tmp_path / name
    frame = bars()
    if write is None:
        firstrate(path, frame)
        path.write_text(path.read_text().replace(",", "\t"))
    elif write == "header":
        firstrate(path, frame, header="when,o,h,l,c,v")
    elif write == "middle":
        long_csv(path, frame[(frame["end"].dt.hour >= 10) & (frame["end"].dt.hour < 15)])
    else:
        write(path, frame)

    code = main(["data", "check", str(path), *args])

    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err
    assert seen in err


def test_check_help_lists_tz_and_stamp(capsys):
    with pytest.raises(SystemExit):
        main(["data", "check", "--help"])

    out = capsys.readouterr().out
    assert "--tz" in out and "--stamp" in out and "detected" in out
