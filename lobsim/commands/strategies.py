"""``lobsim strategies``: the available strategies, their descriptions and options."""

from __future__ import annotations

import argparse
import inspect
import tomllib

from lobsim.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show one strategy (short name or pkg.mod:Class)")
    parser.add_argument(
        "--check",
        metavar="NAME",
        help="run the strategy through a small synthetic fold and report every "
        "contract violation (exit 2 if there is one)",
    )
    parser.add_argument(
        "--option",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a constructor option for --check, VALUE as in a scenario file "
        "(TOML: 2, 0.5, 'text', true); repeatable",
    )


def _options(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings as constructor options; a VALUE that is not TOML is a string."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option: expected KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            out[key.strip()] = value
    return out


def main(args: argparse.Namespace) -> int:
    from lobsim.check import check_strategy
    from lobsim.plugins import load_strategy, options, registered, summary

    if args.check:
        report = check_strategy(args.check, options=_options(args.option))
        print(report)
        return 0 if report.ok else 2
    if args.option:
        raise InputError("--option goes with --check NAME")
    names = [args.name] if args.name else sorted(registered())
    for name in names:
        try:
            cls = load_strategy(name)
        except InputError as exc:
            if args.name:
                raise
            print(f"{name:<16} (cannot be loaded: {exc})")
            continue
        print(f"{name:<16} {summary(cls)}")
        for opt, default in options(cls).items():
            shown = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            print(f"{'':<16}   {opt} ({shown})")
    return 0
