"""The Gymnasium environments: the checker, determinism, splits kept apart, the vector
environment's autoreset, and costs equal to lobsim run's for the same orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from lobsim import parse_scenario, run_scenario  # noqa: E402
from lobsim.envs import (  # noqa: E402
    ENV_ID,
    ExecutionEnv,
    ExecutionVectorEnv,
    batch_from_scenario,
)
from lobsim.strategies.vwap import VWAP  # noqa: E402
from lobsim.strategy import TrainData  # noqa: E402

SMALL = """
[run]
name = "env"
seed = 4
[market.synthetic]
stocks = 4
days = 14
[schedule]
minutes = 90
interval = 5
[folds]
train_days = 10
test_days = 4
count = 1
[parent]
fraction_adv = 0.08
[impact]
permanent = 0.1
[strategies.twap]
[strategies.vwap]
"""


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(SMALL)


@pytest.fixture(scope="module")
def run_episodes(scenario, tmp_path_factory):
    out = tmp_path_factory.mktemp("env") / "run"
    run_scenario(scenario, out)
    return pd.read_parquet(out / "episodes.parquet")


@pytest.mark.parametrize("discrete", [None, 11])
def test_the_environment_passes_the_gymnasium_checker(scenario, discrete):
    env = gym.make(ENV_ID, scenario=scenario, discrete=discrete)
    check_env(env.unwrapped)
    env.close()


def test_it_is_registered_and_makes_its_vector_twin():
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs) and info["decision"] == 0
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    obs, info = vec.reset(seed=0)
    assert obs.shape == (3, 7) and info["remaining"].shape == (3,)
    env.close(), vec.close()


def test_reset_with_a_seed_is_deterministic_and_splits_are_never_mixed(scenario):
    env = ExecutionEnv(scenario)
    first = [env.reset(seed=s)[1]["episode_id"] for s in range(6)]
    again = [env.reset(seed=s)[1]["episode_id"] for s in range(6)]
    assert first == again and len(set(first)) > 1
    train = batch_from_scenario(scenario, split="train")
    test = batch_from_scenario(scenario, split="test")
    assert set(train.panel.dates).isdisjoint(test.panel.dates)
    assert test.n_episodes == 4 * 4 and train.n_episodes == 10 * 4
    with pytest.raises(Exception, match="split must be one of"):
        batch_from_scenario(scenario, split="validation")


def _twap(info, k_total):
    k, rem, initial = info["decision"], info["remaining"], info["initial"]
    target = np.rint(initial * (1.0 - (k + 1) / k_total))
    child = rem - np.minimum(np.maximum(target, 0), rem)
    return np.divide(child, rem, out=np.zeros(len(rem)), where=rem > 0)


def _vwap(done):
    def act(info, k_total):
        k, rem, initial = info["decision"], info["remaining"], info["initial"]
        stock = info["stock"]
        target = np.rint(initial * np.clip(1.0 - done[stock, k], 0.0, 1.0))
        child = rem - np.minimum(np.maximum(target, 0), rem)
        return np.divide(child, rem, out=np.zeros(len(rem)), where=rem > 0)

    return act


def _returns(vec, policy):
    """Each slot's return over one batch of episodes."""
    k_total = vec.batch.schedule.n_decisions
    _, info = vec.reset(seed=0)
    total = np.zeros(vec.num_envs)
    for _ in range(k_total):
        info = {**info, "stock": vec.batch.run.ep.stock}
        _obs, reward, terminated, truncated, info = vec.step(policy(info, k_total)[:, None])
        total += reward
    assert terminated.all() and not truncated.any()
    return total, vec.batch.episodes


def test_twap_and_vwap_through_the_environment_cost_what_lobsim_run_says(scenario, run_episodes):
    batch = batch_from_scenario(scenario)
    vec = ExecutionVectorEnv(batch.n_episodes, batch=batch, sequential=True)
    train = batch_from_scenario(scenario, split="train").panel
    vwap = VWAP()
    vwap.fit(TrainData.for_training_days(train, scenario.schedule, parent=batch.all.parent))
    for name, policy in (("twap", _twap), ("vwap", _vwap(vwap.done_))):
        total, episodes = _returns(vec, policy)
        mine = run_episodes[run_episodes["strategy"] == name].reset_index(drop=True)
        # Both lay episodes out day-major (day * stocks + stock).
        np.testing.assert_allclose(total, -mine["cost_bps"].to_numpy()[episodes], rtol=1e-10,
                                   atol=1e-12)  # fmt: skip
    vec.close()


def test_the_vector_environment_autoresets_on_the_step_after_the_end(scenario):
    vec = ExecutionVectorEnv(5, scenario)
    vec.reset(seed=1)
    for _ in range(vec.batch.schedule.n_decisions):
        _, _, terminated, truncated, _ = vec.step(np.full((5, 1), 0.3))
    assert terminated.all() and not truncated.any()
    obs, reward, terminated, truncated, info = vec.step(np.full((5, 1), 0.3))
    assert (reward == 0).all() and not terminated.any() and not truncated.any()
    assert (info["decision"] == 0).all()
    assert (obs[:, 0] == 1.0).all() and (obs[:, 1] == 1.0).all()
    vec.close()


def test_the_observation_never_reads_past_the_lag(scenario):
    """Perturbing minutes from t - lag + 1 on leaves decision k's observation unchanged."""
    batch = batch_from_scenario(scenario)
    first = batch.start([3])
    t = int(batch.schedule.decision_times[0])
    batch.all.ep.price[:, t - batch.schedule.lag :, :] *= 1.5
    batch.all.ep.volume[:, t - batch.schedule.lag :, :] *= 3.0
    again = batch.start([3])
    np.testing.assert_array_equal(first, again)


POLICY_RUN = (
    SMALL
    + """
[strategies.agent]
class = "policy"
policy = "{policy}"
"""
)


def _policy_returns(scenario, act):
    batch = batch_from_scenario(scenario)
    vec = ExecutionVectorEnv(batch.n_episodes, batch=batch, sequential=True)
    obs, _ = vec.reset(seed=0)
    total = np.zeros(vec.num_envs)
    for _ in range(batch.schedule.n_decisions):
        obs, reward, _terminated, _, _ = vec.step(act(obs)[:, None])
        total += reward
    vec.close()
    return total


def test_a_policy_scores_in_a_run_what_it_scored_in_the_environment(tmp_path):
    from tests.envs.policies import front_loaded

    scenario = parse_scenario(POLICY_RUN.format(policy="tests.envs.policies:front_loaded"))
    run_scenario(scenario, tmp_path / "run")
    e = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    agent = e[e["strategy"] == "agent"].reset_index(drop=True)
    expected = _policy_returns(scenario, front_loaded)
    np.testing.assert_allclose(-agent["cost_bps"].to_numpy(), expected, rtol=1e-10, atol=1e-12)
    twap = e[e["strategy"] == "twap"]["cost_bps"].to_numpy()
    assert not np.allclose(agent["cost_bps"], twap)  # it is not TWAP under another name


@pytest.mark.parametrize("how", ["export", "torchscript"])
def test_a_saved_torch_policy_runs_as_a_strategy(tmp_path, how):
    torch = pytest.importorskip("torch")

    class Late(torch.nn.Module):
        def forward(self, x):
            return 0.5 * (x[:, 0] < 0.2).to(torch.float32) + 0.05

    path = tmp_path / "late.pt2"
    if how == "export":
        batch = torch.export.Dim("batch")
        program = torch.export.export(Late(), (torch.zeros(4, 7),),
                                      dynamic_shapes={"x": {0: batch}})  # fmt: skip
        torch.export.save(program, str(path))
    else:
        with pytest.warns(DeprecationWarning):
            torch.jit.save(torch.jit.script(Late()), str(path))
    scenario = parse_scenario(POLICY_RUN.format(policy=path))
    run_scenario(scenario, tmp_path / "run")
    e = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    agent = e[e["strategy"] == "agent"].reset_index(drop=True)

    def act(obs):  # in float32, as the network computes it: 0.55 would round shares apart
        late = (obs[:, 0] < 0.2).astype(np.float32)
        return (np.float32(0.5) * late + np.float32(0.05)).astype(np.float64)

    np.testing.assert_allclose(-agent["cost_bps"].to_numpy(), _policy_returns(scenario, act),
                               rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "message"),
    [("tests.envs.policies:nothing", "cannot load"), ("no/such/file.pt", "neither")],
)
def test_a_policy_that_cannot_be_loaded_is_refused_by_name(tmp_path, policy, message):
    from lobsim import InputError

    with pytest.raises(InputError, match=message):
        run_scenario(parse_scenario(POLICY_RUN.format(policy=policy)), tmp_path / "run")
