"""The batched execution simulator."""

from lobsim.simulation.simulate import SimulationResult, simulate

__all__ = ["SimulationResult", "simulate"]
