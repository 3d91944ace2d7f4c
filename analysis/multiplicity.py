"""Adjusted p-values for families of comparisons, many families at once.

A unit head who looks at 22 (or 39) criteria against the province reads 22 tests;
at the 5 % level about one criterion in twenty looks "significantly" weak by chance
alone. The family of a unit's comparisons is therefore controlled:

``holm``
    Holm's step-down procedure controls the family-wise error rate (the chance of
    any false finding) at :math:`\\alpha`, uniformly more powerful than Bonferroni
    (Holm 1979).
``bh``
    Benjamini and Hochberg's step-up procedure controls the false discovery rate
    (the expected share of false findings among the findings) at :math:`\\alpha`
    for independent or positively dependent tests (Benjamini and Hochberg 1995;
    Benjamini and Yekutieli 2001); more findings, a weaker promise.
``bonferroni``
    :math:`\\min(1, m p)`, for comparison.

All procedures match R's ``p.adjust``; missing p-values are left out of their family
(R's default ``n = length(p)`` counts the p-values that are not ``NA``).

References
----------
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
practical and powerful approach to multiple testing. *Journal of the Royal
Statistical Society B* 57, 289-300.
Benjamini, Y. and Yekutieli, D. (2001). The control of the false discovery rate in
multiple testing under dependency. *Annals of Statistics* 29, 1165-1188.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

#: Adjustment methods and how a page names them.
ADJUSTMENTS = {
    "holm": "Holm (family-wise error rate)",
    "bh": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni (family-wise error rate)",
}


def p_adjust(
    pvalues: ArrayLike, method: str = "holm", groups: ArrayLike | None = None
) -> np.ndarray:
    """Adjusted p-values within each family.

    Parameters
    ----------
    pvalues : array_like of float
        Raw p-values; NaN entries stay NaN and do not count in their family.
    method : {"holm", "bh", "bonferroni"}
        The adjustment (see the module notes).
    groups : array_like, optional
        Family of each p-value (any hashable labels); default one family.

    Returns
    -------
    ndarray
        Adjusted p-values, aligned with ``pvalues``.

    Raises
    ------
    ValueError
        For an unknown method or groups of another length.

    Notes
    -----
    For the ordered p-values :math:`p_{(1)} \\le \\dots \\le p_{(m)}` of a family,

    .. math:: \\text{Holm: } \\tilde p_{(i)} = \\max_{j \\le i}
              \\min\\{1, (m - j + 1)\\, p_{(j)}\\}, \\qquad
              \\text{BH: } \\tilde p_{(i)} = \\min_{j \\ge i}
              \\min\\{1, m\\, p_{(j)} / j\\}.

    The running maximum and minimum are taken for all families in one pass: the
    families are sorted one after the other and each is shifted by twice its
    position, so a running maximum (minimum) never crosses from one family into the
    next. No loop over families.
    """
    if method not in ADJUSTMENTS:
        raise ValueError(
            f"unknown adjustment {method!r}; expected one of {', '.join(ADJUSTMENTS)}"
        )
    p = np.asarray(pvalues, dtype=float)
    shape = p.shape
    p = p.ravel()
    family = (
        np.zeros(p.size, dtype=np.intp)
        if groups is None
        else pd.factorize(np.asarray(groups, dtype=object).ravel())[0]
    )
    if family.size != p.size:
        raise ValueError("groups must have one label per p-value")
    out = np.full(p.size, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if not valid.size:
        return out.reshape(shape)
    # families one after the other, each sorted by p
    order = valid[np.lexsort((p[valid], family[valid]))]
    group = family[order]
    size = np.bincount(group)[group].astype(float)  # m of each p-value's family
    first = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    start = np.repeat(first, np.diff(np.r_[first, group.size]))
    rank = np.arange(group.size) - start + 1.0  # i within the family
    # a family's position: consecutive families differ by 2 > any adjusted value
    shift = 2.0 * np.cumsum(np.r_[0, np.diff(group) != 0])
    ordered = p[order]
    if method == "bonferroni":
        adjusted = np.minimum(1.0, size * ordered)
    elif method == "holm":
        stepped = np.minimum(1.0, (size - rank + 1.0) * ordered)
        adjusted = np.maximum.accumulate(stepped + shift) - shift
    else:  # bh: running minimum from the largest p down
        stepped = np.minimum(1.0, size * ordered / rank)
        adjusted = (np.minimum.accumulate((stepped + shift)[::-1]) - shift[::-1])[::-1]
    out[order] = adjusted
    return out.reshape(shape)


def family_threshold(alpha: float, family_size: ArrayLike) -> np.ndarray:
    """The strictest level of a family of ``m`` tests, :math:`\\alpha / m`.

    Holm's first step and Benjamini-Hochberg's smallest critical value are both
    :math:`\\alpha / m`: a difference significant at this level is a finding under
    either adjustment, whatever the other p-values of the family.
    """
    return alpha / np.maximum(np.asarray(family_size, dtype=float), 1.0)
