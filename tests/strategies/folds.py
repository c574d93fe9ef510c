"""Small walk-forward folds on the synthetic market, for the strategy tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lobsim import MarketPanel, Schedule, TrainData, simulate, synthesize_market
from lobsim.market import SYNTH_PRESETS


@dataclass
class SmallFold:
    """One fold: what ``fit`` sees and what the strategy is scored on."""

    train: TrainData
    test: MarketPanel

    def fitted(self, strategy):
        strategy.fit(self.train)
        return strategy

    def simulate(self, strategy, panel: MarketPanel | None = None):
        """Run ``strategy`` on the test days (or on ``panel``) as a fold's run would."""
        return simulate(
            self.test if panel is None else panel,
            strategy,
            book=self.train.book,
            parent=self.train.parent,
            schedule=self.train.schedule,
            adv=self.train.panel.adv,
            seed=0,
            permanent_impact=self.train.permanent_impact,
        )

    def cost(self, strategy) -> np.ndarray:
        """Cost (temporary + permanent + penalty, $) of every test episode, stock-major by day."""
        return self.simulate(strategy).episodes["cost"].to_numpy()

    def held(self, strategy, panel: MarketPanel | None = None) -> np.ndarray:
        """Holdings before each decision and after the last, as fractions of the parent order:
        (E, K + 1), episodes stock-major within a day."""
        inventory = self.simulate(strategy, panel).inventory
        parent = np.tile(self.train.parent, inventory.shape[0] // len(self.train.parent))
        return inventory / parent[:, None]


def make_fold(
    n_stocks: int = 4,
    train_days: int = 20,
    test_days: int = 5,
    *,
    seed: int = 3,
    volume_mode: str = "stochastic",
    schedule: Schedule | None = None,
    market: MarketPanel | None = None,
    permanent_impact: float = 0.0,
    preset: str = "default",
) -> SmallFold:
    """A fold of a synthetic market (or of ``market``), parents 5% of training ADV."""
    schedule = schedule or Schedule()
    if market is None:
        market = synthesize_market(
            n_stocks,
            train_days + test_days,
            minutes=schedule.minutes,
            seed=seed,
            volume_mode=volume_mode,
            params=SYNTH_PRESETS[preset],
        )
    train = market.days(0, train_days)
    data = TrainData.for_training_days(
        train, schedule, side=-1, seed=seed, device="cpu", permanent_impact=permanent_impact
    )
    return SmallFold(data, market.days(train_days, train_days + test_days))


def with_constant_price(market: MarketPanel, price: float = 50.0) -> MarketPanel:
    """The same volumes under a mid that never moves: costs then reflect the schedule only."""
    return MarketPanel(
        np.full_like(market.price, price), market.volume, market.tickers, market.dates
    )
