"""Reinforcement-learning environments for optimal execution (Gymnasium; ``pip install
lobsim[gym]``).

- :class:`ExecutionEnv`: one parent order on one stock-day of a scenario's market, decided at
  its schedule's times; registered as ``lobsim/Execution-v0`` (``gymnasium.make``).
- :class:`ExecutionVectorEnv`: N of them stepped together by the batched simulator
  (``gymnasium.make_vec("lobsim/Execution-v0", num_envs=N)``).

Observations, actions and rewards: :mod:`lobsim.envs.core`. Importing this package imports
gymnasium; ``import lobsim`` does not.
"""

from __future__ import annotations

try:
    import gymnasium
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lobsim.envs needs gymnasium: pip install 'lobsim[gym]' (or pip install gymnasium)"
    ) from exc

from lobsim.envs.core import FEATURES, ExecutionBatch, Reference, batch_from_scenario, features
from lobsim.envs.execution import ExecutionEnv, ExecutionVectorEnv

ENV_ID = "lobsim/Execution-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID,
        entry_point="lobsim.envs.execution:ExecutionEnv",
        vector_entry_point="lobsim.envs.execution:ExecutionVectorEnv",
        disable_env_checker=False,
    )

__all__ = [
    "ENV_ID",
    "FEATURES",
    "ExecutionBatch",
    "ExecutionEnv",
    "ExecutionVectorEnv",
    "Reference",
    "batch_from_scenario",
    "features",
]
