"""``lobsim bench [NAME] [--json]``: run the registered benchmarks and print their figures."""

from __future__ import annotations

import argparse
import json

from lobsim.bench import BENCHMARKS, run_benchmark
from lobsim.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name",
        nargs="?",
        help="benchmark to run: " + ", ".join(BENCHMARKS) + " (default: all)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, for a smoke test of the benchmark"
    )


def main(args: argparse.Namespace) -> int:
    if args.name is not None and args.name not in BENCHMARKS:
        raise InputError(f"unknown benchmark {args.name!r}; known: {', '.join(BENCHMARKS)}")
    names = [args.name] if args.name else list(BENCHMARKS)
    results = {name: run_benchmark(name, quick=args.quick) for name in names}
    if args.json:
        print(json.dumps(results[names[0]] if args.name else results, indent=2))
        return 0
    for name, figures in results.items():
        print(f"== bench {name}")
        width = max(map(len, figures))
        for key, value in figures.items():
            shown = f"{value:,.4g}" if isinstance(value, float) else f"{value}"
            print(f"  {key:<{width}}  {shown}")
    return 0
