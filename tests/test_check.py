"""``check_strategy`` catches each kind of broken plug-in and passes a correct one."""

from __future__ import annotations

import numpy as np
import pytest

from lobsim import (
    CheckReport,
    InputError,
    Schedule,
    StrategyError,
    TrainData,
    check_strategy,
    sandbox,
    simulate,
    synthesize_market,
)
from lobsim.cli import main
from lobsim.sandbox import call_fit, sandboxed_train

# A run of one plug-in, labelled 'suspect', on 3 stocks over 8 + 2 days of 30 minutes, with
# a lag of two minutes (so that a plug-in assuming a lag of one reads past it).
BAD_RUN = """
[run]
name = "bad"
seed = 3

[market.synthetic]
stocks = 3
days = 10

[schedule]
minutes = 30
interval = 5
lag = 2

[folds]
train_days = 8
test_days = 2
step_days = 2
count = 1

[report]
baselines = []

[strategies.suspect]
"""


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
    """Reads the whole day through the base of the observation's array."""

    def decide(self, obs):
        full = obs.volume.base[-obs.volume.shape[0] :]
        day_total = full[obs.day, :, obs.stock].sum(axis=1)
        seen = obs.volume[obs.day, :, obs.stock].sum(axis=1)
        return super().decide(obs) * np.clip(seen / day_total + 0.5, 0.0, 1.0)


class PeeksThroughBaseInTwoSteps(Straight):
    """Takes the base on one line and reads it on the next."""

    def decide(self, obs):
        full = obs.volume.base
        return super().decide(obs) * (full[0, -1] > 0)


class KeepsTheMarketFromFit(Straight):
    """Keeps the training panel and looks for the test days behind it."""

    def fit(self, train):
        super().fit(train)
        self.panel_ = train.panel

    def decide(self, obs):
        test = self.panel_.volume.base[-obs.volume.shape[0] :]
        close = test[obs.day, -1, obs.stock] / test[obs.day, :, obs.stock].sum(axis=1)
        return super().decide(obs) * np.clip(1.0 - close, 0.5, 1.0)


class ReadsLaterDays(Straight):
    """Compares each stock with the same stock on the next day of the batch."""

    def decide(self, obs):
        if obs.volume.shape[1] == 0:
            return super().decide(obs)
        own = obs.volume[obs.day, :, obs.stock].mean(axis=1)
        tomorrow = obs.volume[obs.day + 1, :, obs.stock].mean(axis=1)
        return super().decide(obs) * np.where(own > tomorrow, 0.9, 1.0)


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


class UnlocksTheObservation(Straight):
    """Makes obs.initial writable to halve the order behind the simulator's back."""

    def decide(self, obs):
        obs.initial.flags.writeable = True
        obs.initial[:] //= 2
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


# Each kind of misbehaving plug-in, the words its refusal must contain, and the kind of
# StrategyError the sandbox raises for it.
MISBEHAVING = [
    (WrongShape, "returned shape", sandbox.SHAPE),
    (WrongDtype, "dtype bool", sandbox.DTYPE),
    (NotAnArray, "returned list", sandbox.TYPE),
    (ReturnsNaN, "returned nan", sandbox.NOT_FINITE),
    (RaisesInDecide, "KeyError: 'missing'", sandbox.RAISED),
    (RaisesInFit, "fit(train) raised RuntimeError: no training today", sandbox.RAISED),
    (AssumesLagOne, "beyond the lag", sandbox.READS_OUTSIDE),
    (PeeksThroughBase, "read through .base", sandbox.READS_BASE),
    (PeeksThroughBaseInTwoSteps, "read through .base", sandbox.READS_BASE),
    (KeepsTheMarketFromFit, "read through .base", sandbox.READS_BASE),
    (ReadsLaterDays, "later days are not there", sandbox.READS_OUTSIDE),
    (GlobalRandom, "numpy's global random generator", sandbox.GLOBAL_RANDOM),
    (ForgetsToReset, "state kept across batches", sandbox.BATCH_STATE),
    (WritesIntoTheObservation, "wrote into a read-only array", sandbox.WRITES_OBSERVATION),
    (UnlocksTheObservation, "made obs.initial writable", sandbox.WRITES_OBSERVATION),
    (WritesIntoTheTrainingPanel, "wrote into the training data", sandbox.WRITES_TRAINING),
]
IDS = [plugin.__name__ for plugin, _, _ in MISBEHAVING]


@pytest.mark.parametrize(("plugin", "words", "kind"), MISBEHAVING, ids=IDS)
def test_check_strategy_refuses_a_misbehaving_plugin_in_plain_words(plugin, words, kind):
    report = check_strategy(plugin)

    assert not report.ok
    assert any(words in problem for problem in report.problems), str(report)


@pytest.mark.parametrize(("plugin", "words", "kind"), MISBEHAVING, ids=IDS)
def test_the_run_refuses_a_misbehaving_plugin_naming_it(plugin, words, kind, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(BAD_RUN + f'class = "{__name__}:{plugin.__name__}"\n', encoding="utf-8")

    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"])

    err = capsys.readouterr().err
    assert code == 2
    assert "strategy 'suspect'" in err and words in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "episodes.parquet").exists()


@pytest.mark.parametrize(("plugin", "words", "kind"), MISBEHAVING, ids=IDS)
def test_simulate_raises_the_kind_of_misdeed(plugin, words, kind):
    fold = _small_fold()
    strategy = plugin()

    with pytest.raises(StrategyError) as caught:
        call_fit(strategy, fold.data, "suspect")
        simulate(
            fold.test, strategy, book=fold.data.book, parent=fold.data.parent,
            schedule=fold.data.schedule, adv=fold.data.panel.adv,
        )  # fmt: skip

    assert caught.value.kind == kind
    assert words in str(caught.value)


def test_building_a_plugin_that_needs_an_option_is_a_problem():
    report = check_strategy(NeedsAnOption)

    assert not report.ok
    assert "building the strategy raised TypeError" in report.problems[0]


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
    assert "problem: strategy 'tests.test_check:WrongShape' at decision 0" in text
    assert "returned shape (2,), expected (3,)" in text


def test_command_line_check_exits_2_on_a_broken_plugin(capsys):
    code = main(["strategies", "--check", f"{__name__}:ReturnsNaN"])

    assert code == 2
    assert "returned nan for episode 0" in capsys.readouterr().out


def test_command_line_check_passes_options(capsys):
    code = main(["strategies", "--check", f"{__name__}:NeedsAnOption", "--option", "speed=2"])

    assert code == 0
    assert "passes" in capsys.readouterr().out


class _SmallFold:
    def __init__(self) -> None:
        market = synthesize_market(3, 10, minutes=30, seed=3)
        schedule = Schedule(minutes=30, interval=5, lag=2)
        self.data = sandboxed_train(
            TrainData.for_training_days(market.days(0, 8), schedule, seed=1, device="cpu")
        )
        self.test = market.days(8, 10)


def _small_fold() -> _SmallFold:
    return _SmallFold()
