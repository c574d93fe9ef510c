"""``lobsim data synth`` writes a synthetic market; ``lobsim data check`` validates bar files;
``lobsim data replay`` replays a LOBSTER day through the engine and ``lobsim data lobster``
writes one.

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
import typing
import warnings

from lobsim._constants import SynthPreset, VolumeMode
from lobsim.errors import InputError

if typing.TYPE_CHECKING:
    import numpy as np

    from lobsim.market.panel import MarketPanel

# The parser is built from these names alone: the market's modules (NumPy, Numba, pandas,
# pyarrow) are imported by the action that runs, so that `lobsim data --help` stays fast.
_VOLUME_MODES = typing.get_args(VolumeMode)
_PRESETS = typing.get_args(SynthPreset)


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
        "--volume-mode", choices=list(_VOLUME_MODES), default="stochastic", help="(stochastic)"
    )
    synth.add_argument(
        "--preset",
        choices=list(_PRESETS),
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

    stats = actions.add_parser(
        "stats",
        help="print the stylised facts of a minute-bar file (or of the synthetic market)",
        description="Print the stylised facts of FILE's minute bars (intraday profile and its "
        "day-to-day variation, volume autocorrelation, volume-volatility link, cross-stock "
        "correlation, closing share, return tails, and VWAP's saving against TWAP on the "
        "power-law book), or with --synthetic of the built-in market, to hold one against the "
        "other (lobsim.market.stats says how each is computed).",
    )
    stats.add_argument("file", nargs="?", help="CSV or Parquet file, or a saved panel directory")
    stats.add_argument(
        "--synthetic", action="store_true", help="the built-in synthetic market instead"
    )
    stats.add_argument("--stocks", type=int, default=20, help="with --synthetic (20)")
    stats.add_argument("--days", type=int, default=60, help="with --synthetic (60)")
    stats.add_argument("--seed", type=int, default=0, help="with --synthetic (0)")
    stats.add_argument("--preset", choices=list(_PRESETS), default="default",
                       help="with --synthetic (default)")  # fmt: skip
    stats.add_argument("--ticker", help="FILE is a headerless vendor file of this ticker")
    replay = actions.add_parser(
        "replay",
        help="replay a LOBSTER message file through the engine, checked against its orderbook",
        description="Replay MESSAGE_FILE through lobsim's matching engine from the first row of "
        "ORDERBOOK_FILE and compare the engine's best levels with the orderbook file after "
        "every message. Exit 0 only if every message matches; 2 if one does not, or if a file "
        "is malformed (the error names the file, row and column).",
    )
    replay.add_argument("message_file", help="LOBSTER message file (CSV, 6 columns)")
    replay.add_argument("orderbook_file", help="LOBSTER orderbook file (CSV, 4 columns a level)")
    replay.add_argument(
        "--no-compare", action="store_true", help="replay without comparing (speed)"
    )
    lobster = actions.add_parser(
        "lobster",
        help="write a synthetic LOBSTER day (a message and an orderbook file)",
        description="Write a LOBSTER message file and orderbook file built from a random order "
        "flow on lobsim's reference book, named as LOBSTER names them, into DIR. With "
        "--stocks or --days, or --session, write a market of whole regular-session days "
        "(09:30-16:00, a U-shaped message rate and a moving price) that a scenario with "
        '[market] source = "lobster" can replay.',
    )
    lobster.add_argument("--out", required=True, help="directory to write the two files into")
    lobster.add_argument("--messages", type=int, default=20_000, help="messages (20000)")
    lobster.add_argument("--levels", type=int, default=10, help="orderbook levels (10)")
    lobster.add_argument("--seed", type=int, default=0, help="random seed (0)")
    lobster.add_argument("--ticker", default="SYN", help="ticker in the file names (SYN)")
    lobster.add_argument("--stocks", type=int, default=None, help="stocks of a market (1)")
    lobster.add_argument("--days", type=int, default=None, help="days of a market (1)")
    lobster.add_argument(
        "--session", action="store_true", help="whole-session days, as --stocks/--days write"
    )


def main(args: argparse.Namespace) -> int:
    actions = {
        "synth": _synth,
        "check": _check,
        "stats": _stats,
        "replay": _replay,
        "lobster": _lobster,
    }
    return actions[args.data_command](args)


def _stats(args: argparse.Namespace) -> int:
    from lobsim.market import SYNTH_PRESETS, load_bars, synthesize_market
    from lobsim.market.stats import format_facts, stylised_facts

    if args.synthetic == (args.file is not None):
        raise InputError("data stats: give FILE or --synthetic (one of them)")
    if args.synthetic:
        panel = synthesize_market(args.stocks, args.days, seed=args.seed,
                                  params=SYNTH_PRESETS[args.preset])  # fmt: skip
        name = f"synthetic market ({args.preset}, seed {args.seed})"
    else:
        panel = load_bars(args.file, ticker=args.ticker)
        name = args.file
    facts = stylised_facts(panel)
    print(f"{name}: {_shape(panel)}")
    for line in format_facts(facts):
        print(line)
    return 0


def _replay(args: argparse.Namespace) -> int:
    from lobsim.market.lobster import read_lobster
    from lobsim.simulation.replay import replay_lobster

    day = read_lobster(args.message_file, args.orderbook_file)
    report = replay_lobster(day, compare=not args.no_compare)
    compared = "not compared" if args.no_compare else f"{report.mismatches:,} mismatching"
    print(
        f"{args.message_file}: replayed {report.messages:,} messages ({day.levels} levels) in "
        f"{report.seconds:.2f} s: {compared}"
    )
    if report.first_mismatches:
        rows = ", ".join(str(r) for r in report.first_mismatches)
        print(f"  first mismatching rows: {rows}")
    print(
        f"  messages about orders resting before the file (applied to its first row's depth): "
        f"{report.seeded:,}"
    )
    print(f"  levels seeded as they entered the top {day.levels}: {report.reseeded:,}")
    print(f"  messages the book could not take as written: {report.inconsistent:,}")
    return 0 if report.mismatches == 0 else 2


def _lobster(args: argparse.Namespace) -> int:
    from lobsim.market.lobster import synthesize_lobster, write_lobster

    if args.messages < 2 or args.levels < 1:
        raise InputError("--messages must be >= 2 and --levels >= 1")
    if args.session or args.stocks is not None or args.days is not None:
        return _lobster_market(args)
    os.makedirs(args.out, exist_ok=True)
    day = synthesize_lobster(args.messages, levels=args.levels, seed=args.seed)
    stem = f"{args.ticker}_2024-01-02_34200000_57600000"
    message = os.path.join(args.out, f"{stem}_message_{args.levels}.csv")
    orderbook = os.path.join(args.out, f"{stem}_orderbook_{args.levels}.csv")
    write_lobster(day, message, orderbook)
    print(f"wrote {message} and {orderbook}: {len(day):,} messages, {args.levels} levels")
    return 0


def _lobster_market(args: argparse.Namespace) -> int:
    from lobsim.market.lobster_market import write_synthetic_market

    stocks = 1 if args.stocks is None else args.stocks
    days = 1 if args.days is None else args.days
    if stocks < 1 or days < 1:
        raise InputError("--stocks and --days must be >= 1")
    started = time.perf_counter()
    pairs = write_synthetic_market(
        args.out, stocks=stocks, days=days, messages=args.messages, levels=args.levels,
        seed=args.seed, ticker=args.ticker,
    )  # fmt: skip
    print(
        f"wrote {_count(len(pairs), 'LOBSTER pair')} into {args.out}: "
        f"{_count(stocks, 'stock')} x {_count(days, 'day')} "
        f"({pairs[0].date}..{pairs[-1].date}), {args.messages:,} messages a day, "
        f"{args.levels} levels, seed {args.seed} ({time.perf_counter() - started:.1f} s)"
    )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _synth(args: argparse.Namespace) -> int:
    from lobsim.market import SYNTH_PRESETS, save_panel, synthesize_market

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
    import numpy as np

    from lobsim.market import load_bars
    from lobsim.market.validate import DataWarning, MissingMinutesWarning, ShortDayWarning

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
    import numpy as np

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
