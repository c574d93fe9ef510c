"""LOBSTER files: read as LOBSTER documents them, refused with the file, row and column."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim.market.lobster import (
    EMPTY_ASK,
    EMPTY_BID,
    LobsterFileError,
    read_lobster,
    synthesize_lobster,
    write_lobster,
)

# Two levels: the book after each of three messages (a submission, a partial cancel, a hidden
# execution, which repeats the row before).
MESSAGES = """34200.000000001,1,11,100,1000100,-1
34200.5,2,11,40,1000100,-1
34201.25,5,0,300,1000000,1
"""
BOOK = f"""1000100,100,999900,200,{EMPTY_ASK},0,{EMPTY_BID},0
1000100,60,999900,200,{EMPTY_ASK},0,{EMPTY_BID},0
1000100,60,999900,200,{EMPTY_ASK},0,{EMPTY_BID},0
"""


def write(tmp_path, messages=MESSAGES, book=BOOK):
    m, o = tmp_path / "m.csv", tmp_path / "o.csv"
    m.write_text(messages)
    o.write_text(book)
    return m, o


def test_a_pair_of_files_is_read_as_documented(tmp_path):
    day = read_lobster(*write(tmp_path))

    assert len(day) == 3 and day.levels == 2
    assert day.type.tolist() == [1, 2, 5]
    assert day.time[0] == pytest.approx(34200.000000001, abs=1e-9)
    assert day.side(1, "ask") == [(1000100, 60)] and day.side(1, "bid") == [(999900, 200)]


def test_a_written_day_reads_back_the_same(tmp_path):
    day = synthesize_lobster(600, levels=5, seed=4)
    write_lobster(day, tmp_path / "m.csv", tmp_path / "o.csv")

    back = read_lobster(tmp_path / "m.csv", tmp_path / "o.csv")

    for field in ("type", "order_id", "size", "price", "direction", "book"):
        np.testing.assert_array_equal(getattr(back, field), getattr(day, field))
    np.testing.assert_allclose(back.time, day.time, atol=1e-9)
    # Row-major, as the replay kernel is compiled for (a Fortran-ordered book recompiled it).
    assert all(getattr(back, f).flags.c_contiguous for f in ("type", "book"))


@pytest.mark.parametrize(
    ("row", "cell", "value", "message"),
    [
        (2, 1, "8", "row 2, column 'type': must be an event type 1 to 7"),
        (1, 5, "0", "row 1, column 'direction': must be -1 or 1"),
        (2, 3, "x1", "row 2, column 'size': 'x1' is not a number"),
        (2, 4, "1000100.5", "row 2, column 'price': 1000100.5 is not a whole number"),
        (3, 0, "34199", "row 3, column 'time': goes back in time"),
        (1, 3, "0", "row 1, column 'size': must be > 0 shares"),
    ],
)
def test_a_bad_message_cell_is_refused_naming_it(tmp_path, row, cell, value, message):
    lines = MESSAGES.splitlines()
    cells = lines[row - 1].split(",")
    cells[cell] = value
    lines[row - 1] = ",".join(cells)

    with pytest.raises(LobsterFileError, match=message):
        read_lobster(*write(tmp_path, messages="\n".join(lines) + "\n"))


@pytest.mark.parametrize(
    ("row", "cell", "value", "message"),
    [
        (1, 3, "0", "row 1, column 'bid price 1': an empty level is written as price"),
        (2, 0, "999800", "crossed book"),
        (1, 4, "1000000", "column 'ask price 2': asks must rise"),
        (3, 1, "61", "row 3, column 'ask price 1': the book changed beside a message"),
    ],
)
def test_a_bad_book_is_refused_naming_the_cell(tmp_path, row, cell, value, message):
    lines = BOOK.splitlines()
    cells = lines[row - 1].split(",")
    cells[cell] = value
    if cell == 4:
        cells[5] = "10"  # a filled second level below the first
    lines[row - 1] = ",".join(cells)

    with pytest.raises(LobsterFileError, match=message):
        read_lobster(*write(tmp_path, book="\n".join(lines) + "\n"))


def test_files_that_do_not_pair_up_are_refused(tmp_path):
    with pytest.raises(LobsterFileError, match="3 messages but 2 rows"):
        read_lobster(*write(tmp_path, book="\n".join(BOOK.splitlines()[:2]) + "\n"))
    with pytest.raises(LobsterFileError, match="5 columns where a message file has 6"):
        short = "\n".join(line.rsplit(",", 1)[0] for line in MESSAGES.splitlines())
        read_lobster(*write(tmp_path, messages=short + "\n"))
    with pytest.raises(LobsterFileError, match="4 per level"):
        read_lobster(*write(tmp_path, book="1,2,3\n1,2,3\n1,2,3\n"))
    with pytest.raises(LobsterFileError, match="no such file"):
        read_lobster(tmp_path / "missing.csv", tmp_path / "o.csv")
