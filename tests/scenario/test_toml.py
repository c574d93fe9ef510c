"""The minimal TOML writer: what it writes reads back the same with tomllib."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lobsim.scenario import _toml

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_scalar = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=3)
    ),
    max_leaves=12,
)
_document = st.dictionaries(_text, _value, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_document)
def test_written_documents_read_back_equal(doc):
    # Arrange: doc is any document of TOML values, tables and arrays of tables nested in it.
    # Act
    text = _toml.dumps(doc)
    # Assert
    assert tomllib.loads(text) == doc


def test_control_characters_and_quotes_are_escaped():
    doc = {"s": 'a"b\\c\x00\x7f\n\té'}
    assert tomllib.loads(_toml.dumps(doc)) == doc


def test_dotted_key_is_quoted_not_nested():
    text = _toml.dumps({"sweep": {"book.alpha": [0.0, 0.1]}})
    assert tomllib.loads(text) == {"sweep": {"book.alpha": [0.0, 0.1]}}


def test_empty_table_keeps_its_header():
    text = _toml.dumps({"strategies": {"twap": {}}})
    assert "[strategies.twap]" in text


def test_array_of_tables_is_written_as_double_brackets():
    text = _toml.dumps({"book": {"droughts": [{"first": 1, "last": 2, "multiplier": 0.5}]}})
    assert "[[book.droughts]]" in text


def test_non_finite_float_is_refused():
    with pytest.raises(ValueError, match="non-finite"):
        _toml.value(float("nan"))
