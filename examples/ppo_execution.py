"""Train a PPO agent (stable-baselines3) in lobsim's execution environment and hold it
against TWAP on the test days it never saw.

    pip install -c constraints.txt -e ".[rl]"
    python examples/ppo_execution.py [--steps 200000] [--scenario scenarios/quickstart.toml]
                                     [--save agent.pt2]

The agent trains on the scenario's first fold's training days (episodes drawn at random), and
is scored on its test days, every (stock, day) once, by its deterministic action, against
TWAP on the same episodes through the same environment. The agent acts on TWAP's pace: its
action a in [-1, 1] trades 3**a / (decisions left) of the inventory (a = 0 is TWAP), an
easier thing to learn than the raw fraction, which the environment takes. ``--save`` writes the
policy as a torch exported program, which the ``policy`` strategy runs in any scenario
(``[strategies.agent] class = "policy", policy = "agent.pt2"``).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

from lobsim.envs import ExecutionEnv, ExecutionVectorEnv, batch_from_scenario

TILT = 3.0  # how far from TWAP's pace one action may go, either way


class Pace(gym.ActionWrapper):
    """Actions on TWAP's pace: a in [-1, 1] trades TILT**a / (decisions left)."""

    def __init__(self, env) -> None:
        super().__init__(env)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.decisions = env.unwrapped.batch.schedule.n_decisions

    def action(self, action):
        left = self.decisions - self.env.unwrapped.batch.k
        pace = TILT ** float(np.clip(action[0], -1.0, 1.0)) / max(left, 1)
        return np.array([min(pace, 1.0)], dtype=np.float32)


class Actor(torch.nn.Module):
    """The trained policy's deterministic fraction from raw observations: the observation
    normalisation PPO trained with, the actor's mean, then the pace (:class:`Pace`) from the
    decisions left (time_left x K)."""

    def __init__(self, policy, mean: np.ndarray, var: np.ndarray, clip: float,
                 decisions: int) -> None:  # fmt: skip
        super().__init__()
        self.policy = policy
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(np.sqrt(var + 1e-8), dtype=torch.float32))
        self.clip = clip
        self.decisions = decisions

    def forward(self, x):
        z = torch.clamp((x - self.mean) / self.scale, -self.clip, self.clip)
        features = self.policy.extract_features(z, self.policy.pi_features_extractor)
        latent = self.policy.mlp_extractor.forward_actor(features)
        a = torch.clamp(self.policy.action_net(latent)[:, 0], -1.0, 1.0)
        left = torch.clamp(torch.round(x[:, 0] * self.decisions), min=1.0)
        return torch.clamp(TILT**a / left, 0.0, 1.0)


def score(batch, act) -> np.ndarray:
    """Cost in bps of each test episode (every one once) under the policy ``act``."""
    vec = ExecutionVectorEnv(batch.n_episodes, batch=batch, sequential=True)
    obs, info = vec.reset(seed=0)
    total = np.zeros(vec.num_envs)
    for _ in range(batch.schedule.n_decisions):
        obs, reward, _, _, info = vec.step(np.asarray(act(obs, info)).reshape(-1, 1))
        total += reward
    vec.close()
    return -total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--scenario", default=None, help="default: a quickstart-sized market")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="write the policy here (torch.export)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    start = time.perf_counter()

    env = make_vec_env(lambda: Pace(ExecutionEnv(args.scenario, split="train")), n_envs=8,
                       seed=args.seed)  # fmt: skip
    env = VecNormalize(env, norm_obs=True, norm_reward=True, gamma=1.0)
    model = PPO("MlpPolicy", env, n_steps=312, batch_size=624, gamma=1.0, gae_lambda=0.95,
                learning_rate=3e-4, ent_coef=0.0, seed=args.seed, verbose=0,
                policy_kwargs={"net_arch": [64, 64], "log_std_init": -1.0})  # fmt: skip
    model.learn(total_timesteps=args.steps)
    trained = time.perf_counter() - start

    test = batch_from_scenario(args.scenario, split="test")
    actor = Actor(model.policy, env.obs_rms.mean, env.obs_rms.var, env.clip_obs,
                  test.schedule.n_decisions).eval()  # fmt: skip

    def agent(obs, info):
        with torch.no_grad():
            return actor(torch.as_tensor(obs)).numpy()

    def twap(obs, info):
        k = info["decision"][0]
        rem, initial = info["remaining"], info["initial"]
        kept = np.minimum(np.rint(initial * (1.0 - (k + 1) / test.schedule.n_decisions)), rem)
        return np.divide(rem - kept, rem, out=np.zeros(len(rem)), where=rem > 0)

    costs = {"agent": score(test, agent), "twap": score(test, twap)}
    saving = 100.0 * (1.0 - costs["agent"].mean() / costs["twap"].mean())
    print(f"trained {args.steps:,} steps in {trained:.0f} s; test days, {test.n_episodes} "
          f"episodes: agent {costs['agent'].mean():.4f} bps, TWAP {costs['twap'].mean():.4f} "
          f"bps ({saving:+.1f}% against TWAP); beats TWAP on "
          f"{(costs['agent'] < costs['twap']).mean():.0%} of episodes")  # fmt: skip
    if args.save:
        batch = torch.export.Dim("batch")
        program = torch.export.export(actor, (torch.zeros(4, 7),),
                                      dynamic_shapes={"x": {0: batch}})  # fmt: skip
        torch.export.save(program, args.save)
        print(f"saved the policy to {args.save}")


if __name__ == "__main__":
    main()
