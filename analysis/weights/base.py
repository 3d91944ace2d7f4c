"""Base weights from population counts and weighting-class nonresponse adjustment.

References
----------
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer, ch. 13.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .margins import POPULATION, WeightingError, cell_codes, describe, lookup, select


def base_weights(
    frame: pd.DataFrame, by: str | Sequence[str], population: pd.DataFrame
) -> np.ndarray:
    """Base weights: population count of the stratum over its number of responses.

    Parameters
    ----------
    frame : DataFrame
        One row per response, with the stratum columns ``by``.
    by : str or sequence of str
        Columns defining the weighting strata, e.g. ``["unit", "field"]``.
    population : DataFrame
        Columns ``by`` and ``population``: the count of the frame in each stratum,
        e.g. dossiers returned in the period from the one-stop register.

    Returns
    -------
    ndarray
        :math:`w_i = N_h / n_h` for the stratum :math:`h` of response :math:`i`.

    Raises
    ------
    WeightingError
        If a response's stratum has no population count, or a stratum has fewer
        dossiers than responses.

    Notes
    -----
    Under stratified simple random sampling (or a self-weighting counter sample
    within a stratum) the inclusion probability is :math:`n_h / N_h`, so the design
    weight is :math:`N_h / n_h` (Valliant, Dever and Kreuter 2018, ch. 13).
    Strata with a population but no responses get no weight; post-stratify or merge
    strata to cover them.
    """
    margin = select(population, by)
    codes = lookup(frame, margin)
    count = np.bincount(codes, minlength=len(margin)).astype(float)
    size = margin[POPULATION].to_numpy(float)
    short = np.flatnonzero((count > 0) & (size < count))
    if short.size:
        keys = margin.drop(columns=POPULATION).reset_index(drop=True)
        raise WeightingError(
            "strata with fewer population units than responses: "
            + describe(keys, short)
        )
    return size[codes] / count[codes]


def nonresponse_adjust(
    weights: ArrayLike, responded: ArrayLike, cells: ArrayLike | pd.DataFrame
) -> np.ndarray:
    """Weighting-class nonresponse adjustment.

    Parameters
    ----------
    weights : array_like
        Base weights of everyone sampled (respondents and nonrespondents).
    responded : array_like of bool
        Whether each sampled person responded.
    cells : array_like or DataFrame
        Adjustment cell of each sampled person (one column or several).

    Returns
    -------
    ndarray
        Adjusted weights; zero for nonrespondents.

    Raises
    ------
    WeightingError
        If a cell has sampled people but no respondents (merge cells first).

    Notes
    -----
    Within cell :math:`c`, respondents carry the weight of the nonrespondents:

    .. math:: w_i^{*} = w_i \\, \\frac{\\sum_{j \\in c} w_j}
              {\\sum_{j \\in c} w_j r_j}, \\qquad i \\in c,\\ r_i = 1

    (Valliant, Dever and Kreuter 2018, ch. 13). The adjustment factors are
    treated as fixed in variance estimation.
    """
    w = np.asarray(weights, dtype=float)
    r = np.asarray(responded, dtype=bool)
    codes, keys = cell_codes(cells)
    if not (w.shape == r.shape == codes.shape):
        raise WeightingError("weights, responded and cells must have the same length")
    sampled = np.bincount(codes, weights=w, minlength=len(keys))
    answered = np.bincount(codes, weights=w * r, minlength=len(keys))
    empty = np.flatnonzero((sampled > 0) & (answered <= 0))
    if empty.size:
        raise WeightingError(
            "adjustment cells with no respondents: "
            + describe(keys, empty)
            + "; merge them with a neighbouring cell"
        )
    factor = np.divide(
        sampled, answered, out=np.zeros_like(sampled), where=answered > 0
    )
    return np.where(r, w * factor[codes], 0.0)
