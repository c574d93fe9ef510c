"""``lobsim validate SCENARIO.toml [--set KEY=VALUE ...] [--json] [--no-data]``: check a scenario.

Checks the scenario as ``lobsim run`` would before it starts (strategies built from their
options, the market file loaded and checked, folds fitted to it; ``--no-data`` skips the
market file), then prints the scenario as resolved (every default written out) as TOML that can
be saved and run as it is, with its hash, its variants and what the market file held as
comments; ``--json`` prints the same as one JSON object. A bad file exits 2 with the error,
having printed nothing else.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="the scenario file (TOML)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the file, e.g. --set book.alpha=0.4 (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-data",
        action="store_true",
        help="do not load the market file (check the scenario file alone)",
    )


def main(args: argparse.Namespace) -> int:
    from lobsim.scenario import expand_sweep, load_scenario, resolve_strategies

    scenario = load_scenario(args.scenario, overrides=args.overrides)
    variants = expand_sweep(scenario)
    if args.no_data:
        for variant in variants:  # the strategies' options need no data
            for resolved in resolve_strategies(variant.scenario).values():
                resolved.build()
        data = []
    else:
        data = _check_as_a_run(scenario)
    if args.json:
        doc = {
            "scenario": scenario.to_dict(),
            "hash": scenario.content_hash,
            "variants": [
                {
                    "id": v.id,
                    "label": v.label,
                    "hash": v.content_hash,
                    "overrides": {path: value for path, value in v.overrides},
                }
                for v in variants
            ],
            "data": data,
        }
        print(json.dumps(doc, indent=2))
        return 0
    width = max(len(v.id) for v in variants)
    lines = [
        f"# {args.scenario}: valid",
        f"# hash: {scenario.content_hash}",
        "",
        scenario.to_toml().rstrip("\n"),
        "",
        f"# {len(variants)} variant{'s' if len(variants) != 1 else ''} (id, hash, label):",
        *(f"#   {v.id:<{width}}  {v.content_hash[:12]}  {v.label}" for v in variants),
        *(f"# {line}" for line in data),
    ]
    print("\n".join(lines))
    return 0


def _check_as_a_run(scenario) -> list[str]:
    """What ``lobsim run`` checks before it starts; lines saying what the market file held."""
    from lobsim.run.plan import build_plan

    plan = build_plan(scenario, ".")  # writes nothing
    lines = [f"checked as a run: {len(plan.tasks)} tasks (variant x fold)"]
    if scenario.market.source == "lobster":
        market = plan.tasks[0].market
        pair = market.pairs[0][0]
        lines.append(
            f"LOBSTER files {scenario.market.path}: {market.panel.n_stocks} stocks "
            f"({', '.join(market.panel.tickers)}), {pair.levels} levels, {pair.minutes} minutes "
            "a day; test days are replayed message by message"
        )
        return lines
    if scenario.market.source != "file":
        return lines
    panel = plan.tasks[0].market
    lines.append(f"market file {scenario.market.path}: {panel.n_stocks} stocks")
    assumptions = getattr(panel, "assumptions", None)
    if assumptions is not None:
        lines += assumptions.lines()
    return lines
