"""Typed errors shared by every layer.

Every error caused by what the user handed us (data, scenario files, arguments, a strategy's
output) derives from :class:`InputError`; the command line turns it into exit code 2 and prints
its message. Anything else is a bug or an environment failure and exits 1.
"""


class LobsimError(Exception):
    """Base class of lobsim's own errors."""


class InputError(LobsimError, ValueError):
    """Bad input from the user: the message says what, where, and what was expected.

    An error about one value also carries its message in parts, so that a caller that knows
    where the checked object sits can name the value by its full key path without reading the
    message: ``key``, the value's key path (names and list indices, from the object that
    checked it: ``("alpha",)`` for a field of a BookModel), and ``detail``, what the message
    says after the key path (``" must be > 0, got 0"``, ``": expected a number, got 'x'"``).
    :mod:`lobsim.scenario` puts the path of the table in front. An error that names no one
    value has ``key`` () and ``detail`` None.
    """

    def __init__(
        self, message: str = "", *, key: tuple[str | int, ...] = (), detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.key = tuple(key)
        self.detail = detail


class DataError(InputError):
    """Market data that cannot be used (names the file, row and column where known)."""


class ScenarioError(InputError):
    """A scenario file or override that does not fit the schema (names the key path).

    ``key`` is the full key path of the value at fault (from the top of the scenario) when the
    message is about one value, and the message is that path followed by ``detail``.
    """


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
