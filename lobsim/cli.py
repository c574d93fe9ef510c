"""The ``lobsim`` command line.

Each subcommand lives in its own module under :mod:`lobsim.commands`, which defines
``add_arguments(parser)`` and ``main(args) -> int``; its one-line help is in ``COMMANDS``.
Modules are imported only when their command runs, so ``lobsim --help`` stays fast.

Exit codes: 0 success; 2 bad input (scenario, data, arguments, a strategy that breaks its
contract, an unusable --out) or not enough memory for it; 130 interrupted (Ctrl-C or SIGTERM; a
run resumes with --resume); 1 a failure that is not the user's: a worker process that died, or
a bug in lobsim (with the traceback and a request to report it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback

from lobsim._version import __version__
from lobsim.errors import InputError

# name -> (module, one-line help); the order is the order of `lobsim --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("lobsim.commands.run", "run a scenario and write its results, tables and plots"),
    "validate": ("lobsim.commands.validate", "check a scenario file and show it resolved"),
    "data": (
        "lobsim.commands.data",
        "write a synthetic market, check minute bars and their stylised facts, replay or "
        "write LOBSTER files",
    ),
    "strategies": ("lobsim.commands.strategies", "list the strategies, or check a plug-in"),
    "report": ("lobsim.commands.report", "re-render the tables and plots of a run directory"),
    "bench": (
        "lobsim.commands.bench",
        "measure the speed of the engine, simulator, passive minute, replay, LSTM and the "
        "Gymnasium environment",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lobsim",
        description="Limit-order-book simulator for optimal trade execution.",
    )
    parser.add_argument("--version", action="version", version=f"lobsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    previous = _terminate_as_interrupt()
    try:
        return int(args._module.main(args) or 0)
    except InputError as exc:
        print(f"lobsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = (
            "; the finished tasks are kept: run again with --resume"
            if args.command == "run"
            else ""
        )
        print(f"lobsim {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            f"lobsim {args.command}: error: not enough memory for this input (make the market, "
            "the folds or the book smaller)",
            file=sys.stderr,
        )
        return 2
    except Exception:
        traceback.print_exc()
        print(
            f"lobsim {args.command}: internal error: this is a bug in lobsim {__version__}; "
            "please report it to its maintainers with the command and the traceback above",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        # The reader went away (`lobsim ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def entry() -> None:
    """The ``lobsim`` command (and ``python -m lobsim``): :func:`main`, then exit with its
    code. A Ctrl-C or SIGTERM that lands once main has returned is ignored: the work is done
    and written, and the exit code must say how it went, not that the interpreter's shutdown
    was interrupted."""
    code = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(code)


def _terminate_as_interrupt():
    """Handle SIGTERM as Ctrl-C (clean up, exit 130); returns the handler it replaced, or None
    outside the main thread, where Python cannot install one."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    entry()
