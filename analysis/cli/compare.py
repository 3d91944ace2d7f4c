"""``compare FILE.csv``: units against parent, province, previous period, each other.

``compare FILE.csv [--previous PREVIOUS.csv] [--pairs] [--blocks BLOCKS.csv]``
    Each unit (and tree node) against its parent or the province, against the
    previous period, and optionally all pairs of units (Holm-adjusted); then the
    rank of each unit with a 90% interval. Takes the same input and design options
    as ``indices``.

The tests use the degrees of freedom of each domain (see :mod:`analysis.compare`);
``--df`` and ``--level`` apply to the index tables behind the period comparison and
the reliability flags used for ranking.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..columns import ALL, OVERALL, UNIT
from ..compare import compare_pairs, compare_periods, compare_to_parent, rank_intervals
from ..estimate import index_table
from ..linearization import linearize
from .common import (
    CommandError,
    add_input_options,
    add_output_option,
    add_weighting_options,
    check_output,
    prepare,
    read_responses,
    write_table,
)

HELP = "units against parent, province, previous period and each other; ranks with intervals"
BLOCK = "block"


def configure(parser: argparse.ArgumentParser) -> None:
    """Options of ``compare``."""
    add_input_options(parser)
    add_weighting_options(parser)
    parser.add_argument(
        "--previous",
        metavar="FILE.csv",
        help="responses of the previous period (an independent sample), estimated "
        "with the same options; --rake margins apply to FILE.csv only",
    )
    parser.add_argument(
        "--previous-rake",
        metavar="MARGIN.csv",
        action="append",
        default=[],
        help="population margin of the previous period (repeatable)",
    )
    parser.add_argument(
        "--pairs",
        action="store_true",
        help="also compare all pairs of units (within peer blocks if --blocks), "
        "Holm-adjusted",
    )
    parser.add_argument(
        "--blocks",
        metavar="FILE.csv",
        help="CSV with columns unit,block: rank (and pair) units within peer blocks",
    )
    parser.add_argument(
        "--indicator",
        action="append",
        metavar="CODE",
        help=f"indicator to compare and rank, repeatable (default: all compared, "
        f"{OVERALL} ranked)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="significance level of the verdicts (default: %(default)s)",
    )
    parser.add_argument(
        "--rank-level",
        type=float,
        default=0.90,
        help="coverage of the rank intervals (default: %(default)s)",
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=10_000,
        help="bootstrap draws for the rank intervals (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the rank bootstrap (default: a fixed seed)",
    )
    add_output_option(parser)
    parser.add_argument(
        "--ranks",
        metavar="FILE",
        help="write the rank table to this .csv or .xlsx file (default: after the "
        "comparisons when they go to stdout, otherwise not written)",
    )


def _read_blocks(path: str) -> dict[str, str]:
    table = read_responses(path, text_columns=(BLOCK,))
    if not {UNIT, BLOCK} <= set(table.columns):
        raise CommandError(f"{path}: needs columns unit,block")
    table = table.dropna(subset=[UNIT, BLOCK])
    return dict(zip(table[UNIT], table[BLOCK], strict=True))


def _check_outputs(*paths: str | None) -> None:
    for path in paths:
        check_output(path)
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise CommandError(f"no such directory for {path}")


def run(args: argparse.Namespace) -> int:
    """Compare units with their parents, previous period and each other; rank them."""
    _check_outputs(args.out, args.ranks)
    if not 0 < args.alpha < 1 or not 0 < args.rank_level < 1:
        raise CommandError("--alpha and --rank-level must be between 0 and 1")
    if args.draws < 1:
        raise CommandError("--draws must be positive")
    frame, structure, design, parents = prepare(args)
    blocks = _read_blocks(args.blocks) if args.blocks else None
    result = linearize(
        frame, structure, design=design, by=args.by, parents=parents, keep_scores=True
    )
    indicators = args.indicator
    tables = [
        compare_to_parent(result, parents, indicators=indicators, alpha=args.alpha)
    ]
    units = sorted(frame[args.by].astype(str).unique())
    if args.pairs:
        tables.append(
            compare_pairs(
                result, units, blocks=blocks, indicators=indicators, alpha=args.alpha
            )
        )
    current = index_table(result, level=args.level, df=args.df)
    if args.previous:
        before = argparse.Namespace(
            **{**vars(args), "file": args.previous, "rake": args.previous_rake}
        )
        # the previous period is read with this period's questionnaire: comparing
        # indices of two versions as if they were one is refused
        old_frame, _, old_design, _ = prepare(before, structure)
        previous = index_table(
            linearize(
                old_frame, structure, design=old_design, by=args.by, parents=parents
            ),
            level=args.level,
            df=args.df,
        )
        chosen = (
            current
            if indicators is None
            else current[current["indicator"].isin(indicators)]
        )
        tables.append(compare_periods(chosen, previous, alpha=args.alpha))
    comparisons = pd.concat(tables, ignore_index=True)

    seed = {} if args.seed is None else {"seed": args.seed}
    ranks = pd.concat(
        [
            rank_intervals(
                current,
                indicator=code,
                units=[u for u in units if u != ALL],
                blocks=blocks,
                level=args.rank_level,
                draws=args.draws,
                **seed,
            )
            for code in (indicators or [OVERALL])
        ],
        ignore_index=True,
    )
    write_table(comparisons, args.out)
    if args.ranks is not None:
        write_table(ranks, args.ranks)
    elif args.out is None:
        print()
        write_table(ranks, None)
    return 0
