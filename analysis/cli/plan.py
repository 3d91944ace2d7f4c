"""``plan UNITS.csv``: responses needed per unit for a target margin of error.

``plan UNITS.csv [--moe 5] [--level 0.95]``
    Responses needed per unit for a target margin of error, beside the official
    n = N / (1 + N e^2).
"""

from __future__ import annotations

import argparse

from ..plan import plan_sample
from .common import (
    CommandError,
    add_output_option,
    check_output,
    read_responses,
    write_table,
)

HELP = "responses needed per unit for a target margin of error"


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``plan``."""
    parser.add_argument(
        "file",
        metavar="UNITS.csv",
        help="columns unit, population (register count N for the period) and "
        "optionally share (expected %% satisfied) and deff (expected design effect)",
    )
    parser.add_argument(
        "--moe",
        type=float,
        default=5.0,
        help="target margin of error in percentage points (default: %(default)s)",
    )
    parser.add_argument(
        "--level",
        type=float,
        default=0.95,
        help="confidence level (default: %(default)s)",
    )
    parser.add_argument(
        "--share",
        type=float,
        default=50.0,
        help="expected %% satisfied where the file has none (default: %(default)s)",
    )
    parser.add_argument(
        "--deff",
        type=float,
        default=1.0,
        help="design effect where the file has none (default: %(default)s)",
    )
    add_output_option(parser)


def run(args: argparse.Namespace) -> int:
    """Write the responses needed per unit for the target margin of error."""
    check_output(args.out)
    if not 0 < args.level < 1:
        raise CommandError(f"--level must be between 0 and 1, not {args.level}")
    units = read_responses(args.file)
    table = plan_sample(
        units, moe=args.moe, level=args.level, share=args.share, deff=args.deff
    )
    write_table(table, args.out)
    return 0
