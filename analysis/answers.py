"""Answers to the criteria of a questionnaire, checked and turned into flags.

A response frame has one column per criterion, named by its code, holding the answer
on the questionnaire's scale (1-5) or a missing value for "no opinion". Each
criterion gives two flags per response: answered (an opinion was given, so the
response counts in the denominator) and satisfied (the answer is one of the
questionnaire's ``satisfied`` codes, 4 or 5, so it counts in the numerator).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import DesignError
from .questionnaire import Structure


def answer_flags(
    frame: pd.DataFrame, structure: Structure
) -> tuple[np.ndarray, np.ndarray]:
    """Answered and satisfied flags, ``K x n`` boolean arrays, after checking answers.

    Raises
    ------
    DesignError
        If a criterion column is missing, not numeric, or holds a value outside the
        questionnaire's scale.
    """
    criteria = structure.criteria
    absent = [code for code in criteria if code not in frame.columns]
    if absent:
        raise DesignError(f"criterion columns missing: {', '.join(absent)}")
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
                f"answer {values[row]:g} to criterion {code} at row {frame.index[row]}"
                f" is outside {low}-{top} ({bad.sum()} such answers)"
            )
    return answered, satisfied
