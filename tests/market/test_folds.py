"""Walk-forward folds: the paper's Table 1 layout and the too-short error."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lobsim import Fold, InputError, walk_forward_folds


def test_defaults_on_600_days_give_the_papers_nine_folds():
    folds = walk_forward_folds(600)

    assert len(folds) == 9
    assert [f.index for f in folds] == list(range(9))


def test_each_fold_tests_on_the_days_right_after_its_training_days():
    folds = walk_forward_folds(600, train_days=60, test_days=45, step_days=60)

    for fold in folds:
        assert (fold.n_train, fold.n_test) == (60, 45)
        assert fold.test.start == fold.train.stop
        assert fold.train.start == 60 * fold.index


def test_count_limits_the_number_of_folds():
    folds = walk_forward_folds(600, count=3)

    assert [f.train for f in folds] == [slice(0, 60), slice(60, 120), slice(120, 180)]


def test_too_few_days_for_the_count_asked_names_the_days_needed():
    with pytest.raises(InputError) as caught:
        walk_forward_folds(600, count=10)

    message = str(caught.value)
    assert "645" in message and "600" in message  # 9 steps of 60 + 60 + 45


def test_too_few_days_for_a_single_fold_is_an_error():
    with pytest.raises(InputError, match="need 105 days; the data has 104"):
        walk_forward_folds(104)


def test_too_few_days_is_an_error_about_the_folds_as_a_whole():
    with pytest.raises(InputError) as caught:
        walk_forward_folds(104)

    assert caught.value.key == ()
    assert str(caught.value) == "walk_forward_folds" + caught.value.detail


def test_a_bad_size_is_an_error_about_that_argument():
    with pytest.raises(InputError) as caught:
        walk_forward_folds(600, step_days=0)

    assert caught.value.key == ("step_days",)
    assert caught.value.detail == " must be an int >= 1, got 0"


@pytest.mark.parametrize(
    "kwargs",
    [{"train_days": 0}, {"test_days": -1}, {"step_days": 0}, {"count": 0}, {"train_days": 1.5}],
)
def test_bad_sizes_are_refused(kwargs):
    with pytest.raises(InputError):
        walk_forward_folds(600, **kwargs)


def test_fold_is_frozen():
    fold = walk_forward_folds(200)[0]

    with pytest.raises(dataclasses.FrozenInstanceError):
        fold.index = 3  # type: ignore[misc]


@given(
    n_days=st.integers(1, 400),
    train=st.integers(1, 80),
    test=st.integers(1, 80),
    step=st.integers(1, 80),
)
def test_as_many_folds_as_fit_and_all_inside_the_data(n_days, train, test, step):
    try:
        folds = walk_forward_folds(n_days, train, test, step)
    except InputError:
        assert n_days < train + test
        return

    assert all(isinstance(f, Fold) for f in folds)
    assert folds[-1].test.stop <= n_days
    assert folds[-1].test.stop + step > n_days  # one more fold would not fit
