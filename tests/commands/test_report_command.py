"""``lobsim report DIR``: re-renders a run's report; exit 2 on a directory it cannot use."""

from __future__ import annotations

from lobsim.cli import main
from tests.report.runs import random_frames, write_run_dir


def test_report_renders_the_run_and_says_where(tmp_path, capsys):
    run_dir = write_run_dir(tmp_path / "run", *random_frames(stocks=3))

    code = main(["report", str(run_dir)])

    assert code == 0
    assert (run_dir / "summary.md").is_file()
    assert (run_dir / "plots" / "cost_by_fold.png").is_file()
    assert str(run_dir / "summary.md") in capsys.readouterr().out


def test_report_of_a_directory_that_is_not_a_run_exits_2(tmp_path, capsys):
    code = main(["report", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == 2
    assert "manifest.json" in err and "episodes.parquet" in err
    assert list(tmp_path.iterdir()) == []


def test_report_of_a_corrupt_file_exits_2_and_names_it(tmp_path, capsys):
    run_dir = write_run_dir(tmp_path / "run", *random_frames(stocks=3))
    (run_dir / "manifest.json").write_text("[1, 2", encoding="utf-8")

    code = main(["report", str(run_dir)])

    assert code == 2
    assert "manifest.json" in capsys.readouterr().err
    assert not (run_dir / "summary.csv").exists()
