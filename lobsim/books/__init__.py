"""Power-law books rebuilt every minute from the traded volume (DESIGN.md section 1)."""

from lobsim.books.model import BookModel, Drought
from lobsim.books.powerlaw import calibrate_epsilon, cost_exponent, powerlaw_cost

__all__ = ["BookModel", "Drought", "calibrate_epsilon", "cost_exponent", "powerlaw_cost"]
