"""``indices FILE.csv``: every index of every domain with its SE and interval.

Reads one row per response (UTF-8, columns ``unit``, optional ``stratum``, ``psu``,
``weight``, ``fpc``, and the criterion codes ``1.1`` .. ``5.4`` with 1-5, or 0 or
blank for "no opinion"; other columns are ignored, but columns that look like
criterion codes must be the questionnaire's) and writes the table of
:func:`analysis.estimate.indices`. ``--rake MARGIN.csv [--rake ...]`` and
``--trim LOWER,UPPER`` rake the design weights to population margins, then trim them
(:func:`~analysis.cli.common.apply_weighting`).
"""

from __future__ import annotations

import argparse

from ..estimate import indices
from ..intervals import CI_METHODS
from .common import (
    add_input_options,
    add_output_option,
    add_weighting_options,
    check_output,
    prepare,
    write_table,
)

HELP = "criterion, element and overall indices with SE and CI per domain"


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``indices``."""
    add_input_options(parser)
    parser.add_argument(
        "--ci",
        choices=CI_METHODS,
        default="korn-graubard",
        help="interval for criterion indices (default: %(default)s); elements and "
        "the overall index get a t interval",
    )
    add_output_option(parser)
    add_weighting_options(parser)


def run(args: argparse.Namespace) -> int:
    """Compute all indices of a response file and write the table."""
    check_output(args.out)
    frame, structure, design, parents = prepare(args)
    table = indices(
        frame,
        structure,
        design=design,
        by=args.by,
        parents=parents,
        ci=args.ci,
        level=args.level,
        df=args.df,
    )
    write_table(table, args.out)
    return 0
