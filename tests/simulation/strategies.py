"""Strategies the simulator tests drive it with."""

from __future__ import annotations


class Fixed:
    """Target remaining inventory given as a function of the observation."""

    def __init__(self, fn, name="fixed"):
        self.fn = fn
        self.name = name

    def decide(self, obs):
        return self.fn(obs)


TWAP = Fixed(lambda o: o.initial * (1 - (o.k + 1) / o.schedule.n_decisions), "twap")
