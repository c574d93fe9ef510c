"""write_report: the documented files, deterministic bytes, all-or-nothing writing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lobsim.report import ReportError, load_run, summary_table, write_report
from lobsim.report import plots as draw
from lobsim.report.write import MAX_VARIANT_PLOTS
from tests.report.runs import random_frames, write_run_dir

SINGLE = {
    "summary.csv",
    "summary.md",
    "plots/cost_by_fold.png",
    "plots/savings_by_stock.png",
    "plots/cost_by_time.png",
    "plots/inventory.png",
}


def _outputs(run_dir) -> dict[str, bytes]:
    names = ["summary.csv", "summary.md", *(p for p in (run_dir / "plots").rglob("*"))]
    files = [run_dir / n for n in names if (run_dir / n).is_file()]
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, simulated):
    """(run directory, files written): the simulated run, reported once for the module."""
    run_dir = write_run_dir(tmp_path_factory.mktemp("rendered") / "run", *simulated)
    return run_dir, write_report(run_dir)


def test_a_run_of_one_variant_gets_the_documented_files(rendered):
    run_dir, written = rendered

    assert {p.relative_to(run_dir).as_posix() for p in written} == SINGLE


def test_a_sweep_gets_plots_per_variant_and_against_the_swept_key(tmp_path):
    frames = random_frames(sweep={"book.alpha_noise": [0.0, 0.2]}, stocks=3)
    run_dir = write_run_dir(tmp_path / "sweep", *frames)

    written = {p.relative_to(run_dir).as_posix() for p in write_report(run_dir)}

    ids = [v["id"] for v in frames[2]["variants"]]
    per_variant = {f"plots/{i}/{p.split('/')[1]}" for i in ids for p in SINGLE if "/" in p}
    assert written == {"summary.csv", "summary.md", "plots/sweep_book.alpha_noise.png"} | (
        per_variant
    )


def test_summary_csv_loads_back_as_the_summary_table(rendered):
    run_dir, _ = rendered

    loaded = pd.read_csv(run_dir / "summary.csv", dtype={"fold": str})

    expected = summary_table(load_run(run_dir))
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False, check_exact=False)


def test_summary_md_embeds_every_plot(rendered):
    run_dir, _ = rendered

    text = (run_dir / "summary.md").read_text(encoding="utf-8")

    for name in SINGLE - {"summary.csv", "summary.md"}:
        assert f"]({name})" in text


def test_rendering_again_gives_the_same_bytes(rendered, simulated, tmp_path):
    again = write_run_dir(tmp_path / "again", *simulated)

    write_report(again)

    assert _outputs(again) == _outputs(rendered[0])


def test_rerendering_drops_stale_plots(rendered, tmp_path):
    run_dir = Path(shutil.copytree(rendered[0], tmp_path / "copy"))
    stale = run_dir / "plots" / "old_variant.png"
    stale.write_bytes(b"stale")

    write_report(run_dir)

    assert not stale.exists()


def test_a_failure_while_drawing_leaves_the_previous_report(run_dir, monkeypatch):
    write_report(run_dir)
    before = _outputs(run_dir)

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(draw, "plot_inventory", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        write_report(run_dir)

    assert _outputs(run_dir) == before
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        [
            "decisions.parquet",
            "episodes.parquet",
            "manifest.json",
            "plots",
            "summary.csv",
            "summary.md",
        ]
    )


def test_a_corrupt_run_writes_nothing(run_dir):
    (run_dir / "decisions.parquet").write_bytes(b"garbage")

    with pytest.raises(ReportError, match=r"decisions\.parquet"):
        write_report(run_dir)

    assert sorted(p.name for p in run_dir.iterdir()) == [
        "decisions.parquet",
        "episodes.parquet",
        "manifest.json",
    ]


@pytest.mark.slow
def test_a_paper_scale_run_is_reported(tmp_path):
    # 9 folds x 100 stocks x 45 days x 5 strategies: ~200k episodes, ~350k decisions
    frames = random_frames(
        folds=9,
        stocks=100,
        days=45,
        strategies=("twap", "vwap", "lstm", "dp", "ac"),
        decisions=78,
    )
    run_dir = write_run_dir(tmp_path / "paper", *frames)

    written = write_report(run_dir)

    summary = pd.read_csv(run_dir / "summary.csv", dtype={"fold": str})
    assert len(summary) == 10 * 101 * 5
    assert {p.relative_to(run_dir).as_posix() for p in written} == SINGLE


def test_a_large_sweep_gets_the_sweep_plot_only(tmp_path):
    values = [round(0.05 * i, 2) for i in range(MAX_VARIANT_PLOTS + 1)]
    frames = random_frames(sweep={"book.alpha_noise": values}, stocks=2, folds=1, days=2)
    run_dir = write_run_dir(tmp_path / "sweep", *frames)

    written = {p.relative_to(run_dir).as_posix() for p in write_report(run_dir)}

    assert written == {"summary.csv", "summary.md", "plots/sweep_book.alpha_noise.png"}
