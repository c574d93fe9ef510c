"""The book model of a run: the power-law shape, its scale, the grid and the stress options."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from lobsim.books.powerlaw import calibrate_epsilon
from lobsim.errors import InputError


def _book_error(key: str, detail: str) -> InputError:
    """An error about field ``key`` of a BookModel: ``book.KEY`` (its key path in a scenario)
    followed by ``detail``."""
    return InputError(f"book.{key}{detail}", key=(key,), detail=detail)


@dataclass(frozen=True, kw_only=True)
class Drought:
    """A liquidity drought: depth multiplied by ``multiplier`` in minutes first..last (1-based)."""

    first: int
    last: int
    multiplier: float

    def __post_init__(self) -> None:
        if not 1 <= self.first <= self.last:
            detail = f": need 1 <= first <= last, got {self.first}..{self.last}"
            raise InputError("drought" + detail, detail=detail)
        if not self.multiplier > 0:
            detail = f" must be > 0, got {self.multiplier}"
            raise InputError("drought: multiplier" + detail, key=("multiplier",), detail=detail)


@dataclass(frozen=True, kw_only=True)
class BookModel:
    """A book rebuilt every minute from a power-law depth profile proportional to volume.

    Parameters
    ----------
    alpha : float
        Shape a of the density x**a (a > -1); 0.5 gives the 2/3-power impact law.
    epsilon : float or tuple of float, optional
        Relative depth reached by one minute's volume: one value for every stock or one per
        stock. None means: calibrate per stock so that TWAP of the parent order on the stock's
        mean training-window volume profile costs ``target_bps`` (see ``calibrated``).
    target_bps : float
        The reference cost used when ``epsilon`` is None.
    tick : float, optional
        Grid step in currency (0.01 for a realistic exchange tick). None means the model's
        resolution: each episode's grid step is ``S0 * eps / levels_per_eps``, so the walk of
        one minute's volume spans ``levels_per_eps`` levels.
    levels_per_eps : int
        Resolution when ``tick`` is None.
    half_spread : int
        Ticks between the mid and the first resting share.
    alpha_noise : float
        w: per stock and minute the shape is a + Z with Z ~ Uniform[-w, w]; w < 1 + a.
    alpha_noise_convention : {"eps", "depth"}
        What stays fixed while the shape a_t moves: "eps" (the default), the relative depth
        that holds one minute's volume, so N_t(x) = V (x / eps)**(1 + a_t); or "depth", the
        depth scale gamma = eps**(1 + a) of the cumulative depth N_t(x) = V x**(1 + a_t) /
        gamma, so eps_t = gamma**(1 / (1 + a_t)) follows a_t: the paper's (its eps_t comes from
        substituting a_t into its equation (8) with its gamma fixed; our reading of that
        equation, which the reference text lacks, is this one).
    depth_noise : float
        Standard deviation of a mean-one log-normal multiplier drawn per level.
    empty_prob : float
        Probability that a level is empty.
    droughts : tuple of Drought
        Windows of minutes in which depth is multiplied by a factor (< 1: thin books).
    resilience : float
        Fraction of the depth consumed in a minute still missing at the next rebuild, taken from
        the top of the book; 0 means a full refill every minute.
    half_life : float
        Minutes for the missing depth to halve after that.
    max_levels : int
        Levels a child order may walk; an order that needs more is reported as an error.
    background_orders : float
        Expected background market orders a minute when limit orders rest (the minute's
        volume split into that many orders; see :mod:`lobsim.books.flow`), in [1, 1000].
    """

    alpha: float = 0.5
    epsilon: float | tuple[float, ...] | None = None
    target_bps: float = 1.5
    tick: float | None = None
    levels_per_eps: int = 100
    half_spread: int = 0
    alpha_noise: float = 0.0
    alpha_noise_convention: str = "eps"
    depth_noise: float = 0.0
    empty_prob: float = 0.0
    droughts: tuple[Drought, ...] = field(default_factory=tuple)
    resilience: float = 0.0
    half_life: float = 10.0
    max_levels: int = 16384
    background_orders: float = 20.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.alpha) or self.alpha <= -1.0:
            raise _book_error("alpha", f" must be a finite number > -1, got {self.alpha}")
        if self.epsilon is not None:
            eps = np.atleast_1d(np.asarray(self.epsilon, dtype=np.float64))
            if not np.all(np.isfinite(eps) & (eps > 0) & (eps < 1)):
                raise _book_error(
                    "epsilon",
                    f" must be in (0, 1) (the relative depth that holds one "
                    f"minute's volume), got {self.epsilon}",
                )
        if not (math.isfinite(self.target_bps) and 0 < self.target_bps < 10_000):
            raise _book_error(
                "target_bps",
                f" must be in (0, 10000) (10,000 bps is the order's whole "
                f"value), got {self.target_bps}",
            )
        if self.tick is not None and not (math.isfinite(self.tick) and self.tick > 0):
            raise _book_error("tick", f" must be > 0, got {self.tick}")
        if self.levels_per_eps < 1:
            raise _book_error("levels_per_eps", f" must be >= 1, got {self.levels_per_eps}")
        if self.half_spread < 0:
            raise _book_error("half_spread", f" must be >= 0 ticks, got {self.half_spread}")
        if not 0 <= self.alpha_noise < 1 + self.alpha:
            raise _book_error(
                "alpha_noise",
                f" must be in [0, 1 + alpha) = [0, {1 + self.alpha:g}) so the "
                f"shape stays above -1, got {self.alpha_noise}",
            )
        if self.alpha_noise_convention not in ("eps", "depth"):
            raise _book_error(
                "alpha_noise_convention",
                " must be 'eps' (eps fixed) or 'depth' (the depth "
                f"scale fixed, the paper's), got {self.alpha_noise_convention!r}",
            )
        if not self.depth_noise >= 0:
            raise _book_error("depth_noise", f" must be >= 0, got {self.depth_noise}")
        if not 0 <= self.empty_prob < 1:
            raise _book_error("empty_prob", f" must be in [0, 1), got {self.empty_prob}")
        if not 0 <= self.resilience <= 1:
            raise _book_error("resilience", f" must be in [0, 1], got {self.resilience}")
        if not self.half_life > 0:
            raise _book_error("half_life", f" must be > 0 minutes, got {self.half_life}")
        if not 1 <= self.background_orders <= 1000:
            raise _book_error(
                "background_orders",
                f" must be in [1, 1000] orders a minute, got {self.background_orders}",
            )
        if self.max_levels < 2:
            raise _book_error("max_levels", f" must be >= 2, got {self.max_levels}")
        if self.tick is None and self.levels_per_eps > self.max_levels:
            raise _book_error(
                "levels_per_eps",
                f" = {self.levels_per_eps} is more than book.max_levels = "
                f"{self.max_levels}: the walk of one minute's volume would need more levels "
                "than a book holds; lower levels_per_eps or raise max_levels",
            )

    def epsilons(self, n_stocks: int) -> np.ndarray:
        """ndarray(float64, (N,)): eps per stock; an error if it still needs calibration."""
        if self.epsilon is None:
            raise _book_error("epsilon", " is not set: calibrate it first (BookModel.calibrated)")
        eps = np.asarray(self.epsilon, dtype=np.float64)
        if eps.ndim == 0:
            return np.full(n_stocks, float(eps))
        if eps.shape != (n_stocks,):
            raise _book_error("epsilon", f" has {eps.size} values for {n_stocks} stocks")
        return eps.copy()

    def calibrated(
        self,
        train_volume: np.ndarray,
        shares: np.ndarray,
        decision_minutes: np.ndarray,
        tickers=None,
    ) -> BookModel:
        """This model with eps resolved per stock; unchanged when eps was given.

        Parameters
        ----------
        train_volume : ndarray(float64, (D, M, N))
            Volumes of the training days; their mean over days is the reference profile.
        shares : ndarray(float64, (N,))
            Parent order per stock.
        decision_minutes : ndarray(int64, (K,))
        tickers : sequence of str, optional
            The stocks' names, for errors.
        """
        if self.epsilon is not None:
            return self
        profile = train_volume.mean(axis=0)
        eps = calibrate_epsilon(
            profile, shares, decision_minutes, self.alpha, self.target_bps, tickers
        )
        if not np.all(eps < 1):
            i = int(np.flatnonzero(~(eps < 1))[0])
            name = tickers[i] if tickers is not None else f"stock column {i}"
            raise _book_error(
                "target_bps",
                f" = {self.target_bps} needs eps = {eps[i]:.3g} for {name}: one "
                "minute's volume would move the price by more than 100%; lower target_bps or "
                "the parent order",
            )
        return replace(self, epsilon=tuple(float(e) for e in eps))

    def depth_multiplier(self, minutes: int) -> np.ndarray:
        """ndarray(float64, (minutes,)): the droughts' multiplier of each minute (1-based t)."""
        mult = np.ones(minutes)
        for d in self.droughts:
            mult[d.first - 1 : min(d.last, minutes)] *= d.multiplier
        return mult
