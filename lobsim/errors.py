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
    """A strategy that broke its contract: the message names the strategy and what it did.

    ``kind`` says which rule was broken (the constants of :mod:`lobsim.sandbox`), so that
    ``check_strategy`` can group its findings.
    """

    def __init__(self, message: str, *, kind: str = "raised") -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):
        return _strategy_error, (str(self), self.kind)


def _strategy_error(message: str, kind: str) -> StrategyError:
    return StrategyError(message, kind=kind)
