"""Walk-forward folds over trading days (Papanicolaou et al. 2023, Table 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lobsim.errors import InputError


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: strategies fit on ``train`` days and are scored on ``test`` days.

    ``train`` and ``test`` are slices of day indices (step 1), ready for ``panel.days(...)``.
    """

    index: int
    train: slice
    test: slice

    @property
    def n_train(self) -> int:
        return self.train.stop - self.train.start

    @property
    def n_test(self) -> int:
        return self.test.stop - self.test.start


def walk_forward_folds(
    n_days: int,
    train_days: int = 60,
    test_days: int = 45,
    step_days: int = 60,
    count: int | None = None,
) -> list[Fold]:
    """Walk-forward folds: train on ``train_days``, test on the next ``test_days``, step on.

    Fold k (0-based) trains on days [k * step_days, k * step_days + train_days) and tests on
    the ``test_days`` days right after. With the defaults, 600 days give the paper's nine folds.

    Parameters
    ----------
    n_days : int
        Days available.
    train_days, test_days, step_days : int
        Sizes in days, each >= 1.
    count : int, optional
        Number of folds; None means as many as fit.

    Returns
    -------
    list[Fold]

    Raises
    ------
    InputError
        If the data is too short for the folds asked for (the message says how many days they
        need; ``key`` is () and ``detail`` the message after ``walk_forward_folds``), or an
        argument is not a positive int (``key`` is the argument's name).
    """
    for name, value in (
        ("n_days", n_days),
        ("train_days", train_days),
        ("test_days", test_days),
        ("step_days", step_days),
    ):
        _check_positive(name, value, minimum=0 if name == "n_days" else 1)
    if count is not None:
        _check_positive("count", count, minimum=1)
    span = train_days + test_days
    fits = 0 if n_days < span else (n_days - span) // step_days + 1
    wanted = fits if count is None else count
    needed = (max(wanted, 1) - 1) * step_days + span
    if wanted == 0 or wanted > fits:
        detail = (
            f": {max(wanted, 1)} fold(s) of {train_days} train + {test_days} test days, "
            f"stepping {step_days}, need {needed} days; the data has {n_days}"
        )
        raise InputError("walk_forward_folds" + detail, detail=detail)
    return [
        Fold(
            index=k,
            train=slice(k * step_days, k * step_days + train_days),
            test=slice(k * step_days + train_days, k * step_days + span),
        )
        for k in range(wanted)
    ]


def _check_positive(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        detail = f" must be an int >= {minimum}, got {value!r}"
        raise InputError(f"walk_forward_folds: {name}{detail}", key=(name,), detail=detail)
