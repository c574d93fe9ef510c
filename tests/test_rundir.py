"""The run directory's contract: a writer's table must fit its schema."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from lobsim.rundir import (
    DECISIONS,
    EPISODES,
    HINDSIGHT,
    SCHEMAS,
    ContractError,
    check_table,
    may_be_nan,
)


def _hindsight_frame() -> pd.DataFrame:
    """A hindsight table as a task builds it (days in seconds, as pandas makes them)."""
    return pd.DataFrame(
        {
            "variant": ["base"] * 2,
            "variant_id": ["v0"] * 2,
            "fold": [0, 0],
            "stock": ["A", "B"],
            "day": pd.to_datetime(["2021-01-04", "2021-01-04"]).as_unit("s"),
            "hindsight_cost": [1.5, float("nan")],
            "hindsight_bps": [0.1, float("nan")],
            "hindsight_shares": [100, 0],
        }
    )


def test_a_table_that_fits_is_passed_through():
    table = pa.Table.from_pandas(_hindsight_frame(), preserve_index=False)

    assert check_table(table, HINDSIGHT) is table


def test_extra_columns_after_the_contracts_are_allowed():
    table = pa.Table.from_pandas(_hindsight_frame().assign(extra=1), preserve_index=False)

    assert check_table(table, HINDSIGHT) is table


def test_a_missing_or_moved_column_is_refused():
    frame = _hindsight_frame()
    moved = frame[["variant_id", "variant", *frame.columns[2:]]]

    with pytest.raises(ContractError, match="do not start with"):
        check_table(pa.Table.from_pandas(moved, preserve_index=False), HINDSIGHT)


def test_a_column_of_another_type_is_refused():
    frame = _hindsight_frame().astype({"hindsight_shares": "float64"})

    with pytest.raises(ContractError, match="'hindsight_shares' is double"):
        check_table(pa.Table.from_pandas(frame, preserve_index=False), HINDSIGHT)


def test_only_undefined_figures_may_be_nan():
    nan = {name: [f.name for f in schema if may_be_nan(f)] for name, schema in SCHEMAS.items()}

    assert nan == {
        EPISODES: ["avg_price"],
        DECISIONS: [],
        HINDSIGHT: ["hindsight_cost", "hindsight_bps"],
    }
