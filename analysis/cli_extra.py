"""Command-line parts for weighting, comparisons and planning.

Importing this module (``analysis.cli`` does, at its end) runs :func:`register`, which
adds to :mod:`analysis.cli`:

``indices ... --rake MARGIN.csv [--rake ...] --trim LOWER,UPPER``
    Rake the design weights to population margins, then trim them (see
    :func:`apply_weighting`).
``compare FILE.csv [--previous PREVIOUS.csv] [--pairs] [--blocks BLOCKS.csv]``
    Each unit (and tree node) against its parent or the province, against the
    previous period, and optionally all pairs of units (Holm-adjusted); then the
    rank of each unit with a 90% interval. Takes the same input and design options
    as ``indices``.
``plan UNITS.csv [--moe 5] [--level 0.95]``
    Responses needed per unit for a target margin of error, beside the official
    n = N / (1 + N e^2).

As ``indices``, errors go to stderr with exit code 2 and no output file is left
behind by a failed run. The tests of ``compare`` use the degrees of freedom of each
domain (see :mod:`analysis.compare`); ``--df`` and ``--level`` apply to the index
tables behind the period comparison and the reliability flags used for ranking.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from . import cli
from .columns import ALL, OVERALL, UNIT
from .compare import compare_pairs, compare_periods, compare_to_parent, rank_intervals
from .design import Design
from .estimate import index_table, linearize
from .plan import plan_sample
from .questionnaire import load_structure
from .weights import POPULATION, rake, trim_weights

BLOCK = "block"


# --------------------------------------------------------------------------------------
# weighting options of indices and compare


def add_weighting_options(parser: argparse.ArgumentParser) -> None:
    """The ``--rake`` and ``--trim`` options."""
    parser.add_argument(
        "--rake",
        metavar="MARGIN.csv",
        action="append",
        default=[],
        help="rake the weights to the population margin in MARGIN.csv (columns: "
        "variables of the response file, e.g. unit,gender, and population); repeat "
        "for several margins. Variance as R's calibrate(calfun='raking')",
    )
    parser.add_argument(
        "--trim",
        metavar="LOWER,UPPER",
        help="after raking, trim weights to [LOWER, UPPER] and share the excess "
        "equally among the other weights until all lie within (R's trimWeights, "
        "strict=TRUE); a bound ending in x is a multiple of the mean weight, an "
        "empty bound is none: --trim 0.3x,3.5x or --trim ,40",
    )


def parse_trim(text: str, mean_weight: float) -> tuple[float, float]:
    """Bounds of ``--trim LOWER,UPPER`` in weight units.

    Parameters
    ----------
    text : str
        ``"LOWER,UPPER"``; a bound is a number of weight units, a number followed by
        ``x`` (a multiple of ``mean_weight``) or empty (no bound).
    mean_weight : float
        Mean of the weights to trim.

    Returns
    -------
    tuple of float
        ``(lower, upper)``, with ``-inf`` / ``inf`` for a missing bound.
    """
    parts = text.split(",")
    if len(parts) != 2:
        raise cli.CommandError(f"--trim needs LOWER,UPPER, got {text!r}")
    bounds = []
    for part, default in zip(parts, (-np.inf, np.inf), strict=True):
        part = part.strip().lower()
        if not part:
            bounds.append(default)
            continue
        scale = mean_weight if part.endswith("x") else 1.0
        try:
            value = float(part.removesuffix("x"))
        except ValueError as exc:
            raise cli.CommandError(f"--trim bound {part!r} is not a number") from exc
        bounds.append(value * scale)
    return bounds[0], bounds[1]


def read_margin(path: str | Path) -> pd.DataFrame:
    """Read a margin CSV: variable columns kept as text, ``population`` numeric."""
    table = pd.read_csv(
        path, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""]
    )
    if POPULATION not in table.columns:
        raise cli.CommandError(f"{path}: a margin needs a {POPULATION!r} column")
    population = pd.to_numeric(table[POPULATION], errors="coerce")
    if population.isna().any():
        raise cli.CommandError(f"{path}: {POPULATION!r} must be numbers")
    return table.assign(**{POPULATION: population})


def apply_weighting(
    design: Design, frame: pd.DataFrame, args: argparse.Namespace
) -> Design:
    """Rake to the ``--rake`` margins, then trim to ``--trim`` (a design step).

    Raking uses :func:`~analysis.weights.rake` with its defaults (iterative
    proportional fitting to convergence, GREG variance as R's
    ``calibrate(design, list(~a+b, ...), population, calfun="raking")``); trimming
    uses :func:`~analysis.weights.trim_weights` with ``strict=True``, bounds that end
    in ``x`` being multiples of the mean weight after raking.
    """
    margins = getattr(args, "rake", None) or []
    if margins:
        design = rake(design, frame, [read_margin(path) for path in margins])
    trim = getattr(args, "trim", None)
    if trim:
        lower, upper = parse_trim(trim, float(np.mean(design.weights)))
        design = trim_weights(design, lower=lower, upper=upper, strict=True)
    return design


# --------------------------------------------------------------------------------------
# compare


def configure_compare(parser: argparse.ArgumentParser) -> None:
    """Options of ``compare``."""
    cli.add_input_options(parser)
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
    cli.add_output_option(parser)
    parser.add_argument(
        "--ranks",
        metavar="FILE",
        help="write the rank table to this .csv or .xlsx file (default: after the "
        "comparisons when they go to stdout, otherwise not written)",
    )


def _read_blocks(path: str) -> dict[str, str]:
    table = cli.read_responses(path, text_columns=(BLOCK,))
    if not {UNIT, BLOCK} <= set(table.columns):
        raise cli.CommandError(f"{path}: needs columns unit,block")
    table = table.dropna(subset=[UNIT, BLOCK])
    return dict(zip(table[UNIT], table[BLOCK], strict=True))


def _check_outputs(*paths: str | None) -> None:
    for path in paths:
        cli.check_output(path)
        if path is not None and not Path(path).resolve().parent.is_dir():
            raise cli.CommandError(f"no such directory for {path}")


def run_compare(args: argparse.Namespace) -> int:
    """Compare units with their parents, previous period and each other; rank them."""
    _check_outputs(args.out, args.ranks)
    if not 0 < args.alpha < 1 or not 0 < args.rank_level < 1:
        raise cli.CommandError("--alpha and --rank-level must be between 0 and 1")
    if args.draws < 1:
        raise cli.CommandError("--draws must be positive")
    structure = load_structure(args.questionnaire)
    frame, design, parents = cli.prepare(args)
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
        old_frame, old_design, _ = cli.prepare(before)
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
    cli.write_table(comparisons, args.out)
    if args.ranks is not None:
        cli.write_table(ranks, args.ranks)
    elif args.out is None:
        print()
        cli.write_table(ranks, None)
    return 0


# --------------------------------------------------------------------------------------
# plan


def configure_plan(parser: argparse.ArgumentParser) -> None:
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
    cli.add_output_option(parser)


def run_plan(args: argparse.Namespace) -> int:
    """Write the responses needed per unit for the target margin of error."""
    cli.check_output(args.out)
    if not 0 < args.level < 1:
        raise cli.CommandError(f"--level must be between 0 and 1, not {args.level}")
    units = cli.read_responses(args.file)
    table = plan_sample(
        units, moe=args.moe, level=args.level, share=args.share, deff=args.deff
    )
    cli.write_table(table, args.out)
    return 0


# --------------------------------------------------------------------------------------


def register() -> None:
    """Add ``compare``, ``plan`` and the ``indices`` weighting options to the CLI."""
    cli.COMMANDS.setdefault("compare", (configure_compare, run_compare))
    cli.COMMANDS.setdefault("plan", (configure_plan, run_plan))
    cli.HELP.setdefault(
        "compare",
        "units against parent, province, previous period and each other; ranks "
        "with intervals",
    )
    cli.HELP.setdefault(
        "plan", "responses needed per unit for a target margin of error"
    )
    if add_weighting_options not in cli.INDICES_OPTIONS:
        cli.INDICES_OPTIONS.append(add_weighting_options)
    if apply_weighting not in cli.DESIGN_STEPS:
        cli.DESIGN_STEPS.append(apply_weighting)


register()
