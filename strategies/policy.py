"""A policy trained in :mod:`lobsim.envs` as a lobsim strategy, ranked beside the others.

The plug-in computes, at each decision, the observation the environment gives for the same
episode (:func:`lobsim.envs.core.features`, against the training days' profile), hands it to
the policy, and trades the fraction of the remaining inventory it returns, rounded as the
environment rounds it: an agent scores in a run what it scored in the environment.

``policy`` names it:

- ``"package.module:function"``: a callable taking the observations, float32 (E, 7), and
  returning the fractions (E,) (or (E, 1)) in [0, 1], values outside clipped;
- a path to a saved torch module doing the same on a tensor, run on the CPU without
  gradients: an exported program (``torch.export.save``, with the batch dimension dynamic)
  or TorchScript (``torch.jit.save``, which torch has deprecated).

Names: ``lobsim.strategies.policy:Policy`` (short name ``policy``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from lobsim import InputError, Observation, TrainData


class Policy:
    """Trade what an environment-trained policy says (module docstring).

    Parameters
    ----------
    policy : str
        ``"package.module:function"`` or a saved torch module.
    """

    def __init__(self, policy: str = "") -> None:
        self.policy = policy

    def check_options(self) -> None:
        if not isinstance(self.policy, str) or not self.policy:
            raise InputError(
                "policy: policy must name a callable ('package.module:function') or a saved "
                "torch module"
            )

    def fit(self, train: TrainData) -> None:
        from lobsim.envs.core import Reference

        self.check_options()
        self.reference_ = Reference.of(train.panel)
        self.act_ = _load(self.policy)

    def decide(self, obs: Observation) -> np.ndarray:
        from lobsim.envs.core import features

        if not hasattr(self, "act_"):
            raise InputError("policy: fit() must run before decide()")
        price = obs.price[0][:, obs.stock].T
        volume = obs.volume[0][:, obs.stock].T
        x = features(obs.schedule, obs.k, self.reference_, price, volume, obs.stock,
                     obs.remaining, obs.initial)  # fmt: skip
        fraction = np.asarray(self.act_(x), dtype=np.float64).reshape(-1)
        if fraction.shape != (obs.n_episodes,):
            raise InputError(
                f"policy: {self.policy} returned {fraction.size} fractions for "
                f"{obs.n_episodes} observations"
            )
        fraction = np.clip(np.nan_to_num(fraction, nan=0.0), 0.0, 1.0)
        return obs.remaining - np.rint(fraction * obs.remaining)


def _load(spec: str):
    """The callable ``spec`` names (see the module docstring)."""
    if ":" in spec and not Path(spec).exists():
        module_name, _, attr = spec.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise InputError(f"policy: cannot load {spec!r}: {exc}") from None
        if not callable(target):
            raise InputError(f"policy: {spec!r} is not callable")
        return target
    path = Path(spec)
    if not path.is_file():
        raise InputError(
            f"policy: {spec!r} is neither 'package.module:function' nor a saved torch module"
        )
    import warnings

    import torch

    try:
        module = torch.export.load(str(path)).module()
    except Exception:  # not an exported program: TorchScript, or nothing torch can read
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
            module.eval()
        except Exception as exc:
            raise InputError(f"policy: {path} is not a saved torch module ({exc})") from None

    def act(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(np.ascontiguousarray(x))).numpy()

    return act
