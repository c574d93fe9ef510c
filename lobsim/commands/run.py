"""``lobsim run SCENARIO.toml``: run a scenario and write its results (see :mod:`lobsim.run`).

Exit codes: 0 done; 2 bad input (scenario, data, strategy options, arguments, an --out that
holds another run), with no output written when it is known before the tasks start; 1 any
other failure (a worker died: run again with --resume).
"""

from __future__ import annotations

import argparse
import sys

from lobsim.errors import InputError, LobsimError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="the scenario file (TOML)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="run directory (default: runs/<run.name>); a directory with another "
        "scenario's results is refused",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the file, e.g. --set folds.count=1 (repeatable)",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "dask"),
        default="local",
        help="local: this process or a process pool (default); dask: a Dask cluster",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default 1: the tasks run in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="join the Dask scheduler at ADDRESS (tcp://host:8786) instead of starting a "
        "LocalCluster; DIR must be on a file system the workers share",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="accelerator for strategies that can use one (default auto: CUDA if available)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="numba threads per task (default: cores // workers)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the finished tasks of an earlier run of the same scenario in DIR",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars and no summary on the terminal"
    )


def main(args: argparse.Namespace) -> int:
    from lobsim import rundir
    from lobsim.run import run_scenario
    from lobsim.run.assemble import format_headline, unfilled_warnings
    from lobsim.scenario import load_scenario

    if args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    try:
        result = run_scenario(
            scenario,
            args.out,
            backend=args.backend,
            workers=args.workers,
            scheduler=args.scheduler,
            device=args.device,
            resume=args.resume,
            threads=args.threads,
            progress=not args.quiet,
        )
    except InputError:
        raise
    except LobsimError as exc:
        print(f"lobsim run: error: {exc}", file=sys.stderr)
        return 1
    for warning in unfilled_warnings(result.headline):
        print(f"lobsim run: {warning}", file=sys.stderr)
    if not args.quiet:
        total = result.manifest["timings"].get("total_s", 0.0)
        plots = sorted(p.name for p in (result.out / rundir.PLOTS).glob("*.png"))
        files = (*rundir.TABLES, rundir.SUMMARY_CSV, rundir.SUMMARY_MD, rundir.MANIFEST)
        lines = [
            f"{scenario.run.name}: {result.ran + result.reused} tasks ({result.reused} reused) "
            f"in {total:.1f} s; results in {result.out}/",
            f"  {', '.join(files)}, {rundir.PLOTS}/ ({len(plots)} PNG)",
            "",
            "mean daily cost per stock (temporary + permanent impact"
            + (", + unfilled penalty):" if (result.headline["unfilled"] > 0).any() else "):"),
            format_headline(result.headline),
        ]
        print("\n".join(lines))
    return 0
