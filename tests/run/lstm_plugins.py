"""The LSTM plug-in without fit sharing, apart from :mod:`tests.run.plugins` so that the
workers of the other run tests need not import torch."""

from __future__ import annotations

from lobsim import TrainData
from lobsim.strategies.lstm.strategy import LSTM


class UnsharedLSTM(LSTM):
    """The LSTM fitted afresh in every variant (no key: never shared)."""

    def fit_key(self, train: TrainData) -> None:
        return None
