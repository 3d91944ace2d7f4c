"""Command line: ``python -m analysis COMMAND ...`` on CSV exports.

``indices FILE.csv`` reads one row per response (UTF-8, columns ``unit``, optional
``stratum``, ``psu``, ``weight``, ``fpc``, and the criterion codes ``1.1`` .. ``5.4``
with 1-5 or blank; other columns are ignored) and writes the table of
:func:`analysis.estimate.indices`.

Errors go to stderr with exit code 2; an output file is written to a temporary file
next to it and renamed only when complete, so a failed run leaves no partial file.

Extension points for other commands and options:

- :data:`COMMANDS` maps a subcommand name to ``(configure(parser), run(args) -> int)``.
- :func:`add_input_options` adds the options shared by commands that read responses
  (file, questionnaire, domains, design), :func:`add_output_option` adds ``--out``.
- :data:`INDICES_OPTIONS` holds functions that add options to ``indices``, and
  :data:`DESIGN_STEPS` functions ``(design, frame, args) -> Design`` applied in order
  to the design built from the file (weighting steps such as raking or trimming).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .columns import FPC, PARENT, PSU, STRATUM, UNIT, WEIGHT
from .design import LONELY_PSU_RULES, Design, make_design
from .estimate import DF_RULES, indices
from .intervals import CI_METHODS
from .questionnaire import load_structure

OUTPUT_SUFFIXES = (".csv", ".xlsx")

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]
DesignStep = Callable[[Design, pd.DataFrame, argparse.Namespace], Design]


class CommandError(ValueError):
    """A problem with the command line or its files (reported, exit code 2)."""


# --------------------------------------------------------------------------------------
# reading and writing


def read_responses(path: str | Path, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a UTF-8 CSV of responses; only empty cells are missing values.

    Parameters
    ----------
    path : str or Path
        The CSV file (a byte-order mark is accepted).
    text_columns : sequence of str
        Columns kept as text (unit, stratum and PSU codes such as ``"001"``).

    Returns
    -------
    DataFrame
    """
    columns = {UNIT, STRATUM, PSU, *text_columns}
    return pd.read_csv(
        path,
        encoding="utf-8-sig",
        dtype={column: str for column in columns},
        keep_default_na=False,
        na_values=[""],
    )


def read_parents(path: str | Path) -> dict[str, str]:
    """Read a ``unit,parent`` CSV into a mapping unit -> parent."""
    table = read_responses(path, text_columns=(PARENT,))
    missing = {UNIT, PARENT} - set(table.columns)
    if missing:
        raise CommandError(f"{path}: needs columns unit,parent")
    table = table.dropna(subset=[UNIT, PARENT])
    return dict(zip(table[UNIT], table[PARENT], strict=True))


def check_output(path: str | None) -> None:
    """Fail early on an output file type that cannot be written."""
    if path is None:
        return
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise CommandError(f"--out must end in {' or '.join(OUTPUT_SUFFIXES)}: {path}")
    if suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise CommandError("writing .xlsx needs the openpyxl package") from exc


def write_table(table: pd.DataFrame, path: str | None) -> None:
    """Write a result table to stdout (CSV), a ``.csv`` or an ``.xlsx`` file.

    CSV floats are written with full precision (Python's ``repr``), missing values as
    empty cells. Files are written to a temporary file in the same directory and then
    renamed, so readers never see a partial file.
    """
    if path is None:
        table.to_csv(sys.stdout, index=False)
        return
    target = Path(path)
    suffix = target.suffix.lower()
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix, dir=target.parent or "."
    )
    os.close(handle)
    try:
        if suffix == ".xlsx":
            table.to_excel(temporary, index=False)
        else:
            table.to_csv(temporary, index=False, encoding="utf-8")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)  # mkstemp makes it private
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------
# shared options


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options of commands that read a response file and estimate indices."""
    parser.add_argument("file", metavar="FILE.csv", help="responses, one row each")
    parser.add_argument(
        "--questionnaire",
        default="sipas-2640",
        help="questionnaire code in questionnaires/ or path of a TOML file "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--by", default=UNIT, help="column of the domains (default: %(default)s)"
    )
    parser.add_argument(
        "--parents",
        metavar="FILE.csv",
        help="CSV with columns unit,parent: every node of the tree is a domain",
    )
    parser.add_argument(
        "--lonely-psu",
        choices=LONELY_PSU_RULES,
        default="adjust",
        help="rule for a stratum with one PSU, as R's survey.lonely.psu "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--df",
        choices=DF_RULES,
        default="domain",
        help="degrees of freedom per domain or of the whole design "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--level",
        type=float,
        default=0.95,
        help="confidence level (default: %(default)s)",
    )


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """The ``--out`` option: .csv or .xlsx file, default stdout (CSV)."""
    parser.add_argument(
        "--out", metavar="FILE", help="output .csv or .xlsx (default: CSV on stdout)"
    )


def design_from_frame(frame: pd.DataFrame, lonely_psu: str = "adjust") -> Design:
    """Design from whichever of the stratum, psu, weight and fpc columns exist."""
    present = {
        name: column if column in frame.columns else None
        for name, column in (
            ("strata", STRATUM),
            ("psu", PSU),
            ("weight", WEIGHT),
            ("fpc", FPC),
        )
    }
    return make_design(frame, lonely_psu=lonely_psu, **present)


def prepare(
    args: argparse.Namespace,
) -> tuple[pd.DataFrame, Design, dict[str, str] | None]:
    """Read the responses and parents of ``args`` and build the adjusted design."""
    if not 0 < args.level < 1:
        raise CommandError(f"--level must be between 0 and 1, not {args.level}")
    frame = read_responses(args.file, text_columns=(args.by,))
    parents = read_parents(args.parents) if args.parents else None
    design = design_from_frame(frame, args.lonely_psu)
    for step in DESIGN_STEPS:
        design = step(design, frame, args)
    return frame, design, parents


# --------------------------------------------------------------------------------------
# indices

#: Functions that add options to the ``indices`` command.
INDICES_OPTIONS: list[Configure] = []
#: Functions ``(design, frame, args) -> Design`` applied to the design, in order.
DESIGN_STEPS: list[DesignStep] = []


def configure_indices(parser: argparse.ArgumentParser) -> None:
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
    for add_options in INDICES_OPTIONS:
        add_options(parser)


def run_indices(args: argparse.Namespace) -> int:
    """Compute all indices of a response file and write the table."""
    check_output(args.out)
    structure = load_structure(args.questionnaire)
    frame, design, parents = prepare(args)
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


#: Subcommands: name -> (configure(parser), run(args) -> exit code).
COMMANDS: dict[str, tuple[Configure, Run]] = {
    "indices": (configure_indices, run_indices),
}
HELP = {
    "indices": "criterion, element and overall indices with SE and CI per domain",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="SIPAS survey statistics on CSV exports.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (configure, run) in COMMANDS.items():
        sub = subparsers.add_parser(
            name, help=HELP.get(name), description=HELP.get(name)
        )
        configure(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; report errors on stderr with exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # stdout closed early, e.g. piped into head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as exc:  # DesignError, QuestionnaireError, ...
        print(f"error: {exc}", file=sys.stderr)
        return 2


# ``compare``, ``plan`` and the weighting options of ``indices`` (analysis.cli_extra)
# add themselves to the registries above when imported.
from . import cli_extra  # noqa: E402, F401
