"""The `hubanatomy` command: the library's entry points outside Snakemake."""

from __future__ import annotations

import argparse
import json
import sys

from hubanatomy.errors import InputError
from hubanatomy.logs import setup_logging


def _simulate(args) -> None:
    from hubanatomy.simulator import simulate

    truth = simulate(models=args.models, seed=args.seed, scenario=args.scenario,
                     out_dir=args.out)
    print(json.dumps(truth["counts"], indent=2))


def _normalise(args) -> None:
    from hubanatomy.normalise import normalise, source_record

    manifest = normalise(args.raw, args.out, source_record({"kind": args.kind}, args.raw),
                         max_reject_fraction=args.max_reject_fraction)
    print(json.dumps({"rows": manifest["rows"],
                      "rejected": manifest["normalise"]["rejects_by_reason"]}, indent=2))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubanatomy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="write a simulated raw Hub")
    sim.add_argument("--models", type=int, required=True, help="number of models")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--scenario", choices=("directed", "neutral"), default="directed")
    sim.add_argument("--out", required=True, help="output directory (raw format)")
    sim.set_defaults(run=_simulate)

    norm = commands.add_parser("normalise", help="raw Hub data -> canonical snapshot")
    norm.add_argument("--raw", required=True, help="raw directory or .jsonl file")
    norm.add_argument("--out", required=True, help="snapshot directory")
    norm.add_argument("--kind", default="snapshot", choices=("snapshot", "simulated", "crawl"),
                      help="what the raw data is (recorded in the manifest)")
    norm.add_argument("--max-reject-fraction", type=float, default=0.01)
    norm.set_defaults(run=_normalise)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        args.run(args)
    except InputError as error:
        print(f"hubanatomy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
