"""``lobsim data synth`` writes a synthetic market; ``lobsim data check`` validates bar files.

``data check`` prints what the loader assumed (format, zone, stamping; one per line) and a short
summary of a good file (gaps in the dates, short days dropped, minutes filled) and exits 0; bad
data exits 2 with the error naming the file, row and column (the CLI turns the DataError into
exit code 2).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings

import numpy as np

from lobsim.errors import InputError
from lobsim.market.loaders import load_bars, save_panel
from lobsim.market.panel import MarketPanel
from lobsim.market.synth import SYNTH_PRESETS, VOLUME_MODES, synthesize_market
from lobsim.market.validate import DataWarning, MissingMinutesWarning, ShortDayWarning

HELP = "generate a synthetic market (synth) or check a minute-bar file (check)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    synth = actions.add_parser(
        "synth",
        help="write a synthetic S&P 100-like market",
        description="Write a synthetic market, atomically. The format follows --out: "
        "FILE.parquet or FILE.csv (long format), or a directory (Parquet partitioned by ticker).",
    )
    synth.add_argument("--out", required=True, help="FILE.parquet, FILE.csv or DIRECTORY")
    synth.add_argument("--stocks", type=int, default=100, help="number of stocks (100)")
    synth.add_argument("--days", type=int, default=600, help="number of trading days (600)")
    synth.add_argument("--minutes", type=int, default=390, help="minutes per day (390)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (0)")
    synth.add_argument(
        "--volume-mode", choices=list(VOLUME_MODES), default="stochastic", help="(stochastic)"
    )
    synth.add_argument(
        "--preset",
        choices=list(SYNTH_PRESETS),
        default="default",
        help="calibration: default (S&P 100-like) or thin (small caps, minutes without trades)",
    )
    synth.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="threads; the output does not depend on it",
    )
    check = actions.add_parser(
        "check",
        help="validate a minute-bar file and summarise it",
        description="Load FILE with every check of lobsim.load_bars and print a summary; "
        "exit 2 with the error (file, row, column) if the data is refused.",
    )
    check.add_argument("file", help="CSV or Parquet file, or a saved panel directory")
    check.add_argument("--ticker", help="FILE is a headerless vendor file of this ticker")
    check.add_argument(
        "--tz", help="zone of timestamps written without offset (default: exchange time)"
    )
    check.add_argument("--exchange-tz", help="exchange time zone (America/New_York)")
    check.add_argument("--session", help="regular session OPEN-CLOSE (09:30-16:00)")
    check.add_argument(
        "--stamp",
        choices=["end", "start"],
        help="bars stamped by the start or the end of their minute (default: detected)",
    )
    check.add_argument("--sort", action="store_true", help="accept unsorted timestamps")
    check.add_argument("--min-minutes", type=int, help="drop days below (90%% of the session)")


def main(args: argparse.Namespace) -> int:
    return _synth(args) if args.data_command == "synth" else _check(args)


def _synth(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    panel = synthesize_market(
        args.stocks,
        args.days,
        minutes=args.minutes,
        seed=args.seed,
        params=SYNTH_PRESETS[args.preset],
        volume_mode=args.volume_mode,
        workers=args.workers,
    )
    generated = time.perf_counter()
    save_panel(panel, args.out)
    print(
        f"wrote {args.out}: {_shape(panel)}, seed {args.seed}, {args.preset} preset, "
        f"{args.volume_mode} volume "
        f"(generate {generated - started:.1f} s, write {time.perf_counter() - generated:.1f} s)"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    session = None
    if args.session is not None:
        parts = args.session.split("-")
        if len(parts) != 2:
            raise InputError(
                f"--session: expected OPEN-CLOSE, e.g. 09:30-16:00, got {args.session!r}"
            )
        session = (parts[0], parts[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        panel = load_bars(
            args.file,
            ticker=args.ticker,
            tz=args.tz,
            exchange_tz=args.exchange_tz,
            session=session,
            stamp=args.stamp,
            sort=args.sort,
            min_minutes=args.min_minutes,
        )
    notes = [w.message for w in caught if isinstance(w.message, DataWarning)]
    for other in caught:
        if not isinstance(other.message, DataWarning):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    filled = sum(n.filled for n in notes if isinstance(n, MissingMinutesWarning))
    dropped = [d for n in notes if isinstance(n, ShortDayWarning) for d in n.dates]
    adv = panel.adv
    open_, close = panel.session
    print(f"{args.file}: ok, {_shape(panel)}")
    for line in panel.assumptions.lines():
        print(f"  {line}")
    print(f"  tickers: {', '.join(panel.tickers[:5])}{' ...' if panel.n_stocks > 5 else ''}")
    print(f"  dates: {panel.dates[0]} .. {panel.dates[-1]}")
    for gap in date_gaps(panel.dates):
        print(f"  {gap}")
    print(f"  session: {open_}-{close} {panel.timezone}")
    print(
        f"  missing minutes filled: {filled:,} of {panel.price.size:,} "
        f"({100 * filled / panel.price.size:.2f}%; volume 0, price carried forward)"
    )
    quiet = int(np.count_nonzero(panel.volume == 0))
    print(
        f"  minutes without volume: {quiet:,} of {panel.volume.size:,} "
        f"({100 * quiet / panel.volume.size:.2f}%; child orders wait in them for the next trade)"
    )
    shown = f": {', '.join(dropped[:10])}{' ...' if len(dropped) > 10 else ''}" if dropped else ""
    print(f"  days dropped (too short, e.g. half days): {len(dropped)}{shown}")
    print(
        f"  average daily volume: min {adv.min():,.0f}, median {np.median(adv):,.0f}, "
        f"max {adv.max():,.0f} shares"
    )
    return 0


def date_gaps(dates: np.ndarray, longest_ok: int = 3) -> list[str]:
    """'no data FIRST..LAST (N business days)' for each run of missing business days longer
    than ``longest_ok`` between consecutive ``dates`` (holidays are not known: they count)."""
    gaps = []
    for before, after in itertools.pairwise(dates):
        missing = int(np.busday_count(before + 1, after))
        if missing > longest_ok:
            first = np.busday_offset(before + 1, 0, roll="forward")
            last = np.busday_offset(after - 1, 0, roll="backward")
            gaps.append(f"no data {first}..{last} ({missing} business days)")
    return gaps


def _shape(panel: MarketPanel) -> str:
    return f"{panel.n_stocks} stocks x {panel.n_days} days x {panel.n_minutes} minutes"
