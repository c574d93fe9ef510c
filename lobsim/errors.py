"""Typed errors shared by every layer.

Every error caused by what the user handed us (data, scenario files, arguments, a strategy's
output) derives from :class:`InputError`; the command line turns it into exit code 2 and prints
its message. Anything else is a bug or an environment failure and exits 1.
"""


class LobsimError(Exception):
    """Base class of lobsim's own errors."""


class InputError(LobsimError, ValueError):
    """Bad input from the user: the message says what, where, and what was expected."""


class DataError(InputError):
    """Market data that cannot be used (names the file, row and column where known)."""


class ScenarioError(InputError):
    """A scenario file or override that does not fit the schema (names the key path)."""


class StrategyError(InputError):
    """A strategy that broke its contract (names the strategy and the first bad episode)."""
