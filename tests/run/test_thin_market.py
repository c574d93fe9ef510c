"""The bundled thin market end to end: shares left at the close are said everywhere, and the
adaptive strategies, which learn under the simulator's rules, cost no more than VWAP."""

from __future__ import annotations

import pandas as pd

from lobsim.cli import main
from tests.run.conftest import REPO

THIN = REPO / "scenarios" / "thin_market.toml"


def test_the_thin_market_runs_and_says_what_was_left(tmp_path, capsys):
    out = tmp_path / "run"

    code = main(["run", str(THIN), "--out", str(out), "--threads", "2"])

    assert code == 0
    printed = capsys.readouterr()
    summary = pd.read_csv(out / "summary.csv")
    overall = summary[(summary.scope == "universe") & (summary.fold == "all")]
    overall = overall.set_index("strategy")
    # Orders kept working into the following minutes: little is left, but some is, by all.
    assert (overall.unfilled_pct > 0).all() and (overall.unfilled_pct < 2).all()
    for strategy in overall.index:
        assert f"lobsim run: warning: {strategy} left " in printed.err
    assert "unfilled %" in printed.out
    assert "## Unfilled at the close" in (out / "summary.md").read_text()
    # Penalties included, no adaptive strategy costs more than VWAP.
    assert overall.loc["dp", "cost"] <= overall.loc["vwap", "cost"]
    assert overall.loc["lstm", "cost"] <= overall.loc["vwap", "cost"]
