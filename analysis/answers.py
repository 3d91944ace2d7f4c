"""Answers to the criteria of a questionnaire, checked and turned into flags.

A response frame has one column per criterion, named by its code, holding the answer
on the questionnaire's scale (1-5), or 0 or a missing value for "no opinion" (0 is
how the web form stores it; the exports write an empty cell). Each criterion gives
two flags per response: answered (an opinion was given, so the response counts in
the denominator) and satisfied (the answer is one of the questionnaire's
``satisfied`` codes, 4 or 5, so it counts in the numerator).

The columns must fit the questionnaire: every criterion has its column, and no other
column looks like a criterion code. Responses to another version (the 39 items of
1001/QĐ-BNV read as the 22 criteria of 2640/QĐ-BNV, say) are refused with the codes
that do not fit, never estimated from the columns whose codes happen to match.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .columns import CRITERION_LIKE, NO_OPINION, row_number
from .design import DesignError
from .questionnaire import Structure

#: Codes listed in an error message before "and N more".
LISTED = 10


def criterion_like(columns: Iterable[object]) -> list[str]:
    """The column names that look like criterion codes (:data:`CRITERION_LIKE`)."""
    return [str(c) for c in columns if CRITERION_LIKE.fullmatch(str(c))]


def _listing(codes: list[str]) -> str:
    more = f" and {len(codes) - LISTED} more" if len(codes) > LISTED else ""
    return ", ".join(codes[:LISTED]) + more


def column_problems(columns: Iterable[object], structure: Structure) -> str:
    """What keeps columns from fitting a questionnaire, in words ("" if nothing).

    Parameters
    ----------
    columns : iterable
        Column names of a response frame.
    structure : Structure
        The questionnaire.

    Returns
    -------
    str
        The criteria without a column and the columns that look like criterion
        codes but are not criteria of ``structure``, or ``""``.
    """
    names = [str(c) for c in columns]
    present, known = set(names), set(structure.criteria)
    missing = [code for code in structure.criteria if code not in present]
    unknown = [code for code in criterion_like(names) if code not in known]
    problems = []
    if missing:
        problems.append(f"criterion columns missing: {_listing(missing)}")
    if unknown:
        problems.append(
            f"columns that look like criteria but are not in it: {_listing(unknown)}"
        )
    return "; ".join(problems)


def check_criterion_columns(columns: Iterable[object], structure: Structure) -> None:
    """Refuse columns that do not fit the questionnaire's criteria.

    Raises
    ------
    DesignError
        With :func:`column_problems`, if there are any.
    """
    problems = column_problems(columns, structure)
    if problems:
        raise DesignError(
            f"the responses do not fit questionnaire {structure.code} ({problems}); "
            "use the questionnaire they were answered on"
        )


def answer_flags(
    frame: pd.DataFrame, structure: Structure
) -> tuple[np.ndarray, np.ndarray]:
    """Answered and satisfied flags, ``K x n`` boolean arrays, after checking answers.

    A missing value is "no opinion", and so is :data:`~analysis.columns.NO_OPINION`
    (0) unless the questionnaire's scale has a 0.

    Raises
    ------
    DesignError
        If the columns do not fit the questionnaire (:func:`check_criterion_columns`)
        or a criterion column is not numeric or holds a value outside the scale.
    """
    criteria = structure.criteria
    check_criterion_columns(frame.columns, structure)
    zero_is_no_opinion = NO_OPINION not in structure.scale
    low, top = min(structure.scale), max(structure.scale)
    on_scale = np.zeros(top + 1, dtype=bool)
    on_scale[list(structure.scale)] = True
    is_satisfied = np.zeros(top + 1, dtype=bool)
    is_satisfied[list(structure.satisfied)] = True
    gapless = on_scale[low:].all()  # 1..5: checking the range is enough
    lowest_satisfied = min(structure.satisfied)
    top_range = is_satisfied[lowest_satisfied:].all()  # 4, 5: one comparison
    answered = np.empty((len(criteria), len(frame)), dtype=bool)
    satisfied = np.empty_like(answered)
    for k, code in enumerate(criteria):  # criteria, not rows
        try:
            values = pd.to_numeric(frame[code]).to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError) as exc:
            raise DesignError(f"criterion {code}: answers must be numbers") from exc
        if zero_is_no_opinion:  # a new array: the frame's own data stay as given
            values = np.where(values == NO_OPINION, np.nan, values)
        np.isnan(values, out=answered[k])
        np.logical_not(answered[k], out=answered[k])
        with np.errstate(invalid="ignore"):  # NaN compares False
            valid = (values >= low) & (values <= top) & (values == np.rint(values))
            if not gapless:
                valid[valid] &= on_scale[values[valid].astype(np.intp)]
            if top_range:
                np.greater_equal(values, lowest_satisfied, out=satisfied[k])
            else:
                satisfied[k] = (
                    valid & is_satisfied[np.where(valid, values, 0).astype(int)]
                )
        bad = answered[k] & ~valid
        if bad.any():
            row = np.flatnonzero(bad)[0]
            raise DesignError(
                f"answer {values[row]:g} to criterion {code} at row {row_number(row)}"
                f" is outside {low}-{top} ({bad.sum()} such answers)"
            )
    return answered, satisfied
