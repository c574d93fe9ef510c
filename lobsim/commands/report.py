"""``lobsim report DIR``: re-render summary.csv, summary.md and plots/ of a run directory.

Reads only DIR's episodes.parquet, decisions.parquet and manifest.json, so it works on a run
copied from another machine. A directory that is not a run, or a missing or corrupt file,
exits 2 with the file and the problem named, and leaves DIR as it was.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="DIR", help="a directory written by `lobsim run`")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def main(args: argparse.Namespace) -> int:
    from lobsim.report import write_report

    files = write_report(args.run_dir)
    if not args.quiet:
        root = Path(args.run_dir)
        plots = [f for f in files if f.suffix == ".png"]
        print(
            f"wrote {root / 'summary.md'}, {root / 'summary.csv'} and {len(plots)} plots in "
            f"{root / 'plots'}"
        )
    return 0
