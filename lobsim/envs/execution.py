"""The Gymnasium environments over :class:`lobsim.envs.core.ExecutionBatch` (imports gymnasium).

:class:`ExecutionEnv` is one episode at a time; :class:`ExecutionVectorEnv` steps N episodes
in one call of the batched simulator, with Gymnasium's next-step autoreset: every episode has
the same K decisions, so the N slots run in lockstep and, when they end together, the next
``step`` starts N new ones (its actions are ignored, its rewards 0).

Episodes are drawn, on each reset, from the days of one split of one walk-forward fold of a
scenario (``split="train"``: its training days, ``"test"``: its test days; never mixed), with
the generator :meth:`reset` seeds, or in order (``sequential=True``: slot j of the r-th batch
holds episode r N + j, wrapping round), which is how the tests hold an environment against
``lobsim run``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from gymnasium import Env, spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from lobsim.envs.core import FEATURES, HIGH, LOW, ExecutionBatch, batch_from_scenario
from lobsim.errors import InputError


def _spaces(discrete: int | None):
    observation = spaces.Box(LOW, HIGH, dtype=np.float32)
    if discrete is None:
        return observation, spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float32)
    if isinstance(discrete, bool) or not isinstance(discrete, int) or discrete < 2:
        raise InputError(f"discrete must be an int >= 2 (actions 0 .. 1 in that many steps), "
                         f"got {discrete!r}")  # fmt: skip
    return observation, spaces.Discrete(discrete)


def _fractions(actions, discrete: int | None, n: int) -> np.ndarray:
    a = np.asarray(actions, dtype=np.float64).reshape(n)
    return a / (discrete - 1) if discrete is not None else a


class ExecutionEnv(Env):
    """One execution episode: one parent order on one stock-day (module docstring).

    Parameters
    ----------
    scenario : str, path or lobsim.Scenario, optional
        Where the market, book model, parent orders and schedule come from (default the
        bundled quickstart).
    fold, split, variant : int, {"train", "test"}, int
        Which days episodes are drawn from.
    discrete : int, optional
        A Discrete(n) action space instead of Box([0, 1]): action i trades i / (n - 1) of the
        remaining inventory.
    overrides : sequence of str
        ``KEY=VALUE`` changes to the scenario, as ``lobsim run --set``.
    batch : ExecutionBatch, optional
        Built already (for tests and the vector environment's siblings).
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, scenario=None, *, fold: int = 0, split: str = "test", variant: int = 0,
                 discrete: int | None = None, overrides=(), batch: ExecutionBatch | None = None,
                 sequential: bool = False) -> None:  # fmt: skip
        self.batch = batch or batch_from_scenario(
            scenario, fold=fold, split=split, variant=variant, overrides=overrides
        )
        self.observation_space, self.action_space = _spaces(discrete)
        self.discrete = discrete
        self.sequential = sequential
        self._next = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and "episode" in options:
            episode = int(options["episode"])
        elif self.sequential:
            episode, self._next = self._next % self.batch.n_episodes, self._next + 1
        else:
            episode = int(self.np_random.integers(self.batch.n_episodes))
        obs = self.batch.start([episode])
        return obs[0], _one(self.batch.info())

    def step(self, action):
        obs, reward, done = self.batch.step(_fractions(action, self.discrete, 1))
        return obs[0], float(reward[0]), bool(done), False, _one(self.batch.info())

    def close(self) -> None:
        self.batch.close()


def _one(info: dict[str, np.ndarray]) -> dict[str, int]:
    return {key: int(value[0]) for key, value in info.items()}


class ExecutionVectorEnv(VectorEnv):
    """N execution episodes stepped together (module docstring); arguments as
    :class:`ExecutionEnv`, plus ``num_envs``."""

    metadata: ClassVar[dict] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        scenario=None,
        *,
        fold: int = 0,
        split: str = "test",
        variant: int = 0,
        discrete: int | None = None,
        overrides=(),
        batch: ExecutionBatch | None = None,
        sequential: bool = False,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise InputError(f"num_envs must be an int >= 1, got {num_envs!r}")
        self.batch = batch or batch_from_scenario(
            scenario, fold=fold, split=split, variant=variant, overrides=overrides
        )
        self.num_envs = num_envs
        self.discrete = discrete
        self.sequential = sequential
        self.single_observation_space, self.single_action_space = _spaces(discrete)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._np_random, _ = seeding.np_random(None)
        self._drawn = 0
        self._ended = False

    def _draw(self) -> np.ndarray:
        n = self.batch.n_episodes
        if self.sequential:
            out = (self._drawn + np.arange(self.num_envs)) % n
            self._drawn += self.num_envs
            return out
        return self._np_random.integers(n, size=self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._np_random, _ = seeding.np_random(seed)
            self._drawn = 0
        episodes = None if not options else options.get("episodes")
        obs = self.batch.start(self._draw() if episodes is None else episodes)
        self._ended = False
        return obs, self.batch.info()

    def step(self, actions):
        n = self.num_envs
        if self._ended:  # next-step autoreset: the slots ended together, they start together
            obs = self.batch.start(self._draw())
            self._ended = False
            zeros = np.zeros(n, dtype=bool)
            return obs, np.zeros(n), zeros, zeros.copy(), self.batch.info()
        obs, reward, done = self.batch.step(_fractions(actions, self.discrete, n))
        self._ended = done
        return obs, reward, np.full(n, done), np.zeros(n, dtype=bool), self.batch.info()

    def close_extras(self, **kwargs) -> None:
        self.batch.close()


__all__ = ["FEATURES", "ExecutionEnv", "ExecutionVectorEnv"]
