"""The Almgren-Chriss strategies, beside the maths they follow (:mod:`lobsim.almgren_chriss`,
re-exported here so that ``lobsim.strategies.almgren_chriss:ac_trajectory`` keeps working).

Names: ``lobsim.strategies.almgren_chriss:AlmgrenChriss`` and
``lobsim.strategies.almgren_chriss:PowerLawAC`` (short names ``almgren_chriss`` and
``powerlaw_ac``).
"""

from lobsim.almgren_chriss import *  # noqa: F403
from lobsim.almgren_chriss import __all__ as _maths
from lobsim.strategies._ac_strategy import AlmgrenChriss, PowerLawAC

__all__ = ["AlmgrenChriss", "PowerLawAC", *_maths]
