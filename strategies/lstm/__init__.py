"""The LSTM execution policy of Papanicolaou et al. (2023) as a strategy plug-in.

Modules: :mod:`~lobsim.strategies.lstm.features` (the inputs, NumPy),
:mod:`~lobsim.strategies.lstm.model` (the networks and the differentiable cost, torch),
:mod:`~lobsim.strategies.lstm.train` (the training loop, torch, on the run's device),
:mod:`~lobsim.strategies.lstm.inference` (the fitted networks' forward pass that decisions run,
NumPy float64 on the host) and :mod:`~lobsim.strategies.lstm.strategy` (the plug-in). torch is
imported here and never by lobsim's core.
"""

from lobsim.strategies.lstm.strategy import LSTM, resolve_device

__all__ = ["LSTM", "resolve_device"]
