"""``check_strategy`` catches each kind of broken plug-in and passes a correct one."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import CheckReport, InputError, check_strategy
from lobsim.cli import main


class Straight:
    """A correct plug-in: the straight line, with a seeded random tilt to exercise the seed."""

    def __init__(self, tilt: float = 0.0) -> None:
        self.tilt = tilt

    def fit(self, train) -> None:
        rng = np.random.default_rng(train.seed)
        self.shift_ = self.tilt * rng.uniform(size=train.panel.n_stocks)

    def decide(self, obs):
        done = (obs.k + 1) / obs.schedule.n_decisions
        return obs.initial * np.clip(1.0 - done - self.shift_[obs.stock], 0.0, 1.0)


class WrongShape(Straight):
    def decide(self, obs):
        return super().decide(obs)[:-1]


class WrongDtype(Straight):
    def decide(self, obs):
        return super().decide(obs) > 0


class NotAnArray(Straight):
    def decide(self, obs):
        return list(super().decide(obs))


class ReturnsNaN(Straight):
    def decide(self, obs):
        out = super().decide(obs)
        out[0] = np.nan
        return out


class RaisesInDecide(Straight):
    def decide(self, obs):
        return {}["missing"]


class RaisesInFit(Straight):
    def fit(self, train):
        raise RuntimeError("no training today")


class NeedsAnOption:
    def __init__(self, speed: float) -> None:
        self.speed = speed

    def decide(self, obs):
        return obs.remaining * 0.5


class AssumesLagOne(Straight):
    """Reads minute t - 1, visible only when lag = 1."""

    def decide(self, obs):
        last = obs.volume[obs.day, obs.t - 2, obs.stock]
        return super().decide(obs) * (last > -1)


class PeeksThroughBase(Straight):
    """Reads the whole day through the base of the read-only view."""

    def decide(self, obs):
        full = obs.volume.base[-obs.volume.shape[0] :]
        day_total = full[obs.day, :, obs.stock].sum(axis=1)
        seen = obs.volume[obs.day, :, obs.stock].sum(axis=1)
        return super().decide(obs) * np.clip(seen / day_total + 0.5, 0.0, 1.0)


class KeepsTheMarketFromFit(Straight):
    """Keeps the memory behind the training panel, which holds the test days too."""

    def fit(self, train):
        super().fit(train)
        self.market_ = train.panel.volume.base

    def decide(self, obs):
        test = self.market_[-obs.volume.shape[0] :]
        close = test[obs.day, -1, obs.stock] / test[obs.day, :, obs.stock].sum(axis=1)
        return super().decide(obs) * np.clip(1.0 - close, 0.5, 1.0)


class ReadsLaterDays(Straight):
    """Compares each episode with the mean over every day of the batch."""

    def decide(self, obs):
        if obs.volume.shape[1] == 0:
            return super().decide(obs)
        mean = obs.volume.mean(axis=(0, 1))[obs.stock]
        own = obs.volume[obs.day, :, obs.stock].mean(axis=1)
        return super().decide(obs) * np.where(own > mean, 0.9, 1.0)


class GlobalRandom(Straight):
    def decide(self, obs):
        return super().decide(obs) * np.random.uniform(0.9, 1.0, obs.n_episodes)  # noqa: NPY002


class ForgetsToReset(Straight):
    """Counts its calls instead of reading obs.k."""

    def decide(self, obs):
        self.calls_ = getattr(self, "calls_", 0) + 1
        done = min(self.calls_ / obs.schedule.n_decisions, 1.0)
        return obs.initial * (1.0 - done)


class WritesIntoTheObservation(Straight):
    def decide(self, obs):
        obs.volume[..., 0] = 0.0
        return super().decide(obs)


class WritesIntoTheTrainingPanel(Straight):
    def fit(self, train):
        super().fit(train)
        train.panel.volume /= train.panel.volume.mean()  # normalised in place: a bug


class BuysBack(Straight):
    def decide(self, obs):
        return obs.initial * 1.5


def test_a_correct_plugin_passes():
    report = check_strategy(Straight, options={"tilt": 0.1})

    assert report.ok, str(report)
    assert report.problems == [] and report.warnings == []


def test_an_instance_is_checked_without_being_changed():
    strategy = Straight(tilt=0.1)

    report = check_strategy(strategy)

    assert report.ok, str(report)
    assert not hasattr(strategy, "shift_")


@pytest.mark.parametrize(
    ("plugin", "words"),
    [
        (WrongShape, "shape"),
        (WrongDtype, "dtype bool"),
        (NotAnArray, "returned list"),
        (ReturnsNaN, "nan"),
        (RaisesInDecide, "KeyError: 'missing'"),
        (RaisesInFit, "fit(train) raised RuntimeError: no training today"),
        (NeedsAnOption, "building the strategy raised TypeError"),
        (AssumesLagOne, "beyond the lag"),
        (PeeksThroughBase, "beyond the lag"),
        (KeepsTheMarketFromFit, "beyond the lag"),
        (ReadsLaterDays, "last test day"),
        (GlobalRandom, "same seed"),
        (ForgetsToReset, "obs.k == 0"),
        (WritesIntoTheObservation, "read-only"),
        (WritesIntoTheTrainingPanel, "changed the training panel"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_a_broken_plugin_is_caught_in_plain_words(plugin, words):
    report = check_strategy(plugin)

    assert not report.ok
    assert any(words in problem for problem in report.problems), str(report)


def test_an_exception_names_the_line_that_raised():
    report = check_strategy(RaisesInDecide)

    assert f"{__file__}:" in report.problems[0]


def test_targets_outside_the_inventory_are_a_warning_not_an_error():
    report = check_strategy(BuysBack)

    assert report.ok
    assert any("outside [0, remaining]" in w for w in report.warnings)


def test_an_unknown_name_is_a_problem():
    report = check_strategy("no_such_strategy")

    assert not report.ok
    assert "unknown strategy 'no_such_strategy'" in report.problems[0]


def test_a_class_without_decide_is_a_problem():
    report = check_strategy(CheckReport)

    assert not report.ok
    assert "no decide(obs) method" in report.problems[0]


def test_options_for_an_instance_are_refused():
    with pytest.raises(InputError, match="options"):
        check_strategy(Straight(), options={"tilt": 0.2})


def test_the_report_reads_as_a_summary():
    report = check_strategy(WrongShape)

    text = str(report)

    assert text.startswith(f"strategy {report.strategy!r} fails: 1 problem(s)")
    assert "problem: decide returned shape" in text


def test_command_line_check_exits_2_on_a_broken_plugin(capsys):
    code = main(["strategies", "--check", f"{__name__}:ReturnsNaN"])

    assert code == 2
    assert "problem: decide returned nan" in capsys.readouterr().out


def test_command_line_check_passes_options(capsys):
    code = main(["strategies", "--check", f"{__name__}:NeedsAnOption", "--option", "speed=2"])

    assert code == 0
    assert "passes" in capsys.readouterr().out
