"""``lobsim validate``: a good file prints its resolved form; every malformed file exits 2."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from lobsim.cli import main
from lobsim.scenario import expand_sweep, load_scenario

MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.toml"))


def _expected_fragment(path: Path) -> str:
    """The key path the file's second line promises the error will name."""
    second = path.read_text(encoding="utf-8").splitlines()[1]
    assert second.startswith("# key: "), f"{path.name}: line 2 must be '# key: KEY.PATH'"
    return second.removeprefix("# key: ")


def test_corpus_has_at_least_twenty_files():
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_malformed_file_exits_2_naming_the_key(path, capsys):
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert _expected_fragment(path) in err


@pytest.fixture
def good_file(tmp_path, minimal_text) -> Path:
    path = tmp_path / "good.toml"
    path.write_text(minimal_text + '\n[sweep]\n"book.alpha_noise" = [0.0, 0.1]\n')
    return path


def test_good_file_exits_0(good_file, capsys):
    assert main(["validate", str(good_file)]) == 0


def test_output_is_the_resolved_scenario_as_toml(good_file, capsys):
    main(["validate", str(good_file)])
    out = capsys.readouterr().out
    assert tomllib.loads(out) == load_scenario(good_file).to_dict()


def test_output_lists_every_variant_with_its_id(good_file, capsys):
    main(["validate", str(good_file)])
    out = capsys.readouterr().out
    variants = expand_sweep(load_scenario(good_file))
    assert all(f"{v.id}  {v.content_hash[:12]}  {v.label}" in out for v in variants)


def test_set_overrides_reach_the_output(good_file, capsys):
    main(["validate", str(good_file), "--set", "book.alpha=0.3", "--set", "run.seed=9"])
    doc = tomllib.loads(capsys.readouterr().out)
    assert (doc["book"]["alpha"], doc["run"]["seed"]) == (0.3, 9)


def test_bad_override_exits_2_naming_it(good_file, capsys):
    code = main(["validate", str(good_file), "--set", "book.alpah=0.3"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "") and "--set book.alpah=0.3" in err


def test_json_output_carries_hashes_and_variants(good_file, capsys):
    main(["validate", str(good_file), "--json"])
    doc = json.loads(capsys.readouterr().out)
    scenario = load_scenario(good_file)
    assert doc["hash"] == scenario.content_hash
    assert [v["hash"] for v in doc["variants"]] == [v.content_hash for v in expand_sweep(scenario)]


def test_missing_file_exits_2(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "absent.toml")])
    assert (code, capsys.readouterr().out) == (2, "")


FILE_SCENARIO = """
[run]
name = "bars"

[market]
source = "file"
path = "bars.csv"

[folds]
train_days = 3
test_days = 1
step_days = 1
count = 1

[strategies.twap]
"""


def _bars_csv(folder: Path, days: int) -> None:
    from lobsim import synthesize_market

    market = synthesize_market(2, days, seed=1)
    market.to_frame().to_csv(folder / "bars.csv", index=False)


def test_validate_loads_the_market_file_and_says_what_it_assumed(tmp_path, capsys):
    _bars_csv(tmp_path, 4)
    (tmp_path / "bars.toml").write_text(FILE_SCENARIO, encoding="utf-8")

    code = main(["validate", str(tmp_path / "bars.toml")])

    out = capsys.readouterr().out
    assert code == 0
    assert "# checked as a run: 1 tasks (variant x fold)" in out
    assert "bars.csv: 2 stocks" in out
    assert "# bars stamped by the end of their minute" in out


def test_validate_refuses_data_that_run_would_refuse(tmp_path, capsys):
    _bars_csv(tmp_path, 3)  # one day short of train_days + test_days
    (tmp_path / "bars.toml").write_text(FILE_SCENARIO, encoding="utf-8")

    code = main(["validate", str(tmp_path / "bars.toml")])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert "folds" in err


def test_no_data_checks_the_scenario_file_alone(tmp_path, capsys):
    (tmp_path / "bars.csv").write_text("timestamp,ticker,close\n2024-01-02T09:31:00-05:00,A,1\n")
    (tmp_path / "bars.toml").write_text(FILE_SCENARIO, encoding="utf-8")

    assert main(["validate", str(tmp_path / "bars.toml")]) == 2
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "bars.toml"), "--no-data"]) == 0
    assert "checked as a run" not in capsys.readouterr().out
