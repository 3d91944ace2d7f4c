"""Diagnostics of a set of weights: Kish's design effect and effective sample size.

References
----------
Kish, L. (1992). Weighting for unequal P_i. *Journal of Official Statistics* 8,
183-200.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def weight_diagnostics(weights: ArrayLike, by: ArrayLike | None = None) -> pd.DataFrame:
    """Summary of a set of weights: range, mean, Kish design effect, effective n.

    Parameters
    ----------
    weights : array_like
        The weights.
    by : array_like, optional
        Group of each weight (e.g. the unit); if given, one row per group.

    Returns
    -------
    DataFrame
        Index: the groups (or ``"ALL"``). Columns ``n, total, min, max, mean, cv,
        deff, n_eff``.

    Notes
    -----
    Kish's design effect due to unequal weighting and the effective sample size are

    .. math:: \\mathrm{deff}_w = \\frac{n \\sum w_i^2}{(\\sum w_i)^2} = 1 + cv^2,
              \\qquad n_\\mathrm{eff} = \\frac{n}{\\mathrm{deff}_w}
              = \\frac{(\\sum w_i)^2}{\\sum w_i^2},

    with :math:`cv` the coefficient of variation of the weights using the divisor
    :math:`n` (Kish 1992).
    """
    w = np.asarray(weights, dtype=float)
    group = np.full(w.shape[0], "ALL", dtype=object) if by is None else by
    frame = pd.DataFrame({"w": w, "w2": w * w, "group": np.asarray(group)})
    grouped = frame.groupby("group", sort=True)
    out = grouped["w"].agg(["size", "sum", "min", "max", "mean"])
    out.columns = ["n", "total", "min", "max", "mean"]
    sum2 = grouped["w2"].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = grouped["w"].std(ddof=0) / out["mean"]
        out["deff"] = out["n"] * sum2 / out["total"] ** 2
        out["n_eff"] = out["total"] ** 2 / sum2
    out.index.name = None
    return out[["n", "total", "min", "max", "mean", "cv", "deff", "n_eff"]]
