"""What the commands share: reading and writing files, options, the design.

Errors in the command line or its files raise :class:`CommandError` (reported on
stderr with exit code 2); an output file is written to a temporary file next to it
and renamed only when complete, so a failed run leaves no partial file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..answers import check_criterion_columns, column_problems, criterion_like
from ..columns import FPC, PARENT, PSU, STRATUM, UNIT, WEIGHT
from ..design import LONELY_PSU_RULES, Design, make_design
from ..estimate import DF_RULES
from ..questionnaire import (
    QUESTIONNAIRE_DIR,
    QuestionnaireError,
    Structure,
    load_structure,
)
from ..weights import POPULATION, rake, trim_weights

OUTPUT_SUFFIXES = (".csv", ".xlsx")


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
# options


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options of commands that read a response file and estimate indices."""
    parser.add_argument("file", metavar="FILE.csv", help="responses, one row each")
    parser.add_argument(
        "--questionnaire",
        help="questionnaire code in questionnaires/ or path of a TOML file "
        "(default: the version in questionnaires/ whose criteria are exactly the "
        "file's criterion columns)",
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
        "--nest",
        action="store_true",
        help="PSU ids are numbered within each stratum: the same id in two strata "
        "is two PSUs (R's svydesign(nest=TRUE))",
    )
    parser.add_argument(
        "--df",
        choices=DF_RULES,
        default="domain",
        help="degrees of freedom of every interval, whatever --ci: per domain, per "
        "criterion's answers in the domain (R's svyciprop on the answers), or of "
        "the whole design (default: %(default)s)",
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


def design_from_frame(
    frame: pd.DataFrame, lonely_psu: str = "adjust", nest: bool = False
) -> Design:
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
    return make_design(frame, lonely_psu=lonely_psu, nest=nest, **present)


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
        raise CommandError(f"--trim needs LOWER,UPPER, got {text!r}")
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
            raise CommandError(f"--trim bound {part!r} is not a number") from exc
        bounds.append(value * scale)
    return bounds[0], bounds[1]


def read_margin(path: str | Path) -> pd.DataFrame:
    """Read a margin CSV: variable columns kept as text, ``population`` numeric."""
    table = pd.read_csv(
        path, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""]
    )
    if POPULATION not in table.columns:
        raise CommandError(f"{path}: a margin needs a {POPULATION!r} column")
    population = pd.to_numeric(table[POPULATION], errors="coerce")
    if population.isna().any():
        raise CommandError(f"{path}: {POPULATION!r} must be numbers")
    return table.assign(**{POPULATION: population})


def apply_weighting(
    design: Design, frame: pd.DataFrame, args: argparse.Namespace
) -> Design:
    """Rake to the ``--rake`` margins, then trim to ``--trim``.

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
# the design


def questionnaire_of(frame: pd.DataFrame, name: str | None, path: str) -> Structure:
    """The questionnaire ``--questionnaire`` names, or the one the columns belong to.

    Without a name, the version is read from the data: the questionnaire in
    ``questionnaires/`` whose criteria are exactly the columns of ``frame`` that look
    like criterion codes. None or several is an error that names the columns.
    """
    if name is not None:
        return load_structure(name)
    columns = set(criterion_like(frame.columns))
    if not columns:
        raise CommandError(f"{path}: no criterion columns (1.1, 1.2, ...)")
    versions = []
    for toml in sorted(QUESTIONNAIRE_DIR.glob("*.toml")):
        if toml.name.endswith(".en.toml"):
            continue  # an English rendering, not a version
        try:
            versions.append(load_structure(toml))
        except QuestionnaireError:
            continue  # not an index definition; cannot be the one
    fitting = [v for v in versions if set(v.criteria) == columns]
    if len(fitting) == 1:
        return fitting[0]
    if fitting:
        codes = ", ".join(v.code for v in fitting)
        raise CommandError(
            f"{path}: several questionnaires have these criteria ({codes}); "
            "choose one with --questionnaire"
        )
    if not versions:
        raise CommandError(f"no questionnaires in {QUESTIONNAIRE_DIR}")
    closest = max(versions, key=lambda v: len(columns & set(v.criteria)))
    raise CommandError(
        f"{path}: no questionnaire in questionnaires/ fits the criterion columns of "
        f"the file; the closest is {closest.code} "
        f"({column_problems(frame.columns, closest)}). Name the questionnaire the "
        "responses were answered on with --questionnaire"
    )


def prepare(
    args: argparse.Namespace, structure: Structure | None = None
) -> tuple[pd.DataFrame, Structure, Design, dict[str, str] | None]:
    """Read the responses and parents of ``args`` and build the adjusted design.

    The questionnaire is ``structure`` if given, else that of ``--questionnaire`` or
    of the file's columns (:func:`questionnaire_of`).
    """
    if not 0 < args.level < 1:
        raise CommandError(f"--level must be between 0 and 1, not {args.level}")
    frame = read_responses(args.file, text_columns=(args.by,))
    if structure is None:
        structure = questionnaire_of(frame, args.questionnaire, args.file)
    check_criterion_columns(frame.columns, structure)
    parents = read_parents(args.parents) if args.parents else None
    design = design_from_frame(frame, args.lonely_psu, args.nest)
    design = apply_weighting(design, frame, args)
    return frame, structure, design, parents
