"""``lobsim validate SCENARIO.toml [--set KEY=VALUE ...] [--json]``: check a scenario file.

Prints the scenario as resolved (every default written out) as TOML that can be saved and run
as it is, with its hash and its variants as comments; ``--json`` prints the same as one JSON
object. A bad file exits 2 with the error, having printed nothing else.
"""

from __future__ import annotations

import argparse
import json

from lobsim.scenario import expand_sweep, load_scenario

HELP = "check a scenario file; print it resolved, with its hash and its variants"


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


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    variants = expand_sweep(scenario)
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
    ]
    print("\n".join(lines))
    return 0
