"""Trimming extreme weights (R's ``trimWeights``).

References
----------
Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling
weights. *Proceedings of the Survey Research Methods Section, American Statistical
Association*, 225-230.
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer, ch. 14.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .margins import ConvergenceError, WeightingError

if TYPE_CHECKING:
    from ..design import Design


def trim_weights(
    design: Design,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    strict: bool = False,
    maxit: int = 10_000,
) -> Design:
    """Trim weights to ``[lower, upper]`` and share the excess among the others.

    Parameters
    ----------
    design : Design
        The design whose weights are trimmed; its calibrations are kept unchanged,
        as in R.
    lower, upper : float
        Bounds in weight units.
    strict : bool
        If False, one pass (weights pushed past a bound by the redistribution stay
        there); if True, repeat until every weight is within the bounds.
    maxit : int
        Pass limit when ``strict``.

    Returns
    -------
    Design
        The design with trimmed weights (the same object if nothing is outside).

    Raises
    ------
    WeightingError
        If the bounds cannot hold the total weight or every weight is outside.
    ConvergenceError
        If ``strict`` trimming needs more than ``maxit`` passes.

    Notes
    -----
    One pass, as R's ``trimWeights``: with :math:`O` the weights outside the bounds,

    .. math:: w_i' = \\min(\\max(w_i, L), U), \\qquad
              w_i' \\mathrel{+}= \\frac{\\sum_{j \\in O} (w_j - w_j')}{n - |O|}
              \\quad (i \\notin O),

    so the total weight is kept and the trimmed amount is shared equally (not in
    proportion to the weights). ``strict=True`` repeats the pass, as R's recursive
    ``trimWeights(strict=TRUE)``. Trimming trades bias for variance (Potter 1990;
    Valliant, Dever and Kreuter 2018, ch. 14).
    """
    if lower > upper:
        raise WeightingError(f"lower bound {lower:g} is above upper bound {upper:g}")
    w = np.asarray(design.weights, dtype=float)
    n, total = w.shape[0], float(w.sum())
    if strict and not (lower * n <= total <= upper * n):
        raise WeightingError(
            f"{n} weights summing to {total:g} cannot all lie in [{lower:g}, {upper:g}]"
        )
    for _ in range(maxit):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if outside.all():
            raise WeightingError(
                f"every weight is outside [{lower:g}, {upper:g}]: nothing to share "
                "the trimmed weight with"
            )
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / np.count_nonzero(~outside)
        w = new
        if not strict:
            break
    else:
        raise ConvergenceError(f"strict trimming did not settle in {maxit} passes")
    if w is design.weights or np.array_equal(w, design.weights):
        return design
    return design.with_weights(w)
