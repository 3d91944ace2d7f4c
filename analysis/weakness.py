"""Weaknesses that are real: a unit's criteria tested as a family, not one by one.

A unit's criteria are compared with a reference (the province, the unit's peer block,
or its own previous period) by :mod:`analysis.compare`; here each unit's comparisons
of one kind form a family whose p-values are adjusted together
(:func:`~analysis.multiplicity.p_adjust`, Holm or Benjamini-Hochberg). A criterion
is then

==================  =========================================================
``below``           a real weakness: significantly below the reference after
                    the adjustment
``above``           significantly above the reference
``no_difference``   not distinguishable from the reference with this sample;
                    ``responses_to_tell`` says how many responses would find the
                    observed gap with the chosen power at the family's strictest
                    level :math:`\\alpha / m`
``not_tested``      no test possible (no estimate or no standard error)
==================  =========================================================

References
----------
Holm, S. (1979); Benjamini, Y. and Hochberg, Y. (1995): see
:mod:`analysis.multiplicity`. Lohr, S. L. (2019), sec. 2.7: see :mod:`analysis.power`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import UNIT
from .compare import COMPARE_COLUMNS, verdicts
from .multiplicity import family_threshold, p_adjust
from .power import POWER, responses_to_detect

#: The comparison's columns (without its English statement), then the family's size,
#: the answers behind the unit's estimate and the responses that would tell.
WEAKNESS_COLUMNS = [
    *(c for c in COMPARE_COLUMNS if c != "statement"),
    "family_size",
    "n",
    "responses_to_tell",
]


def real_weaknesses(
    comparisons: pd.DataFrame,
    table: pd.DataFrame,
    *,
    method: str = "holm",
    alpha: float = 0.05,
    power: float = POWER,
) -> pd.DataFrame:
    """Adjust each unit's family of comparisons and say what is a real weakness.

    Parameters
    ----------
    comparisons : DataFrame
        Comparisons of criteria (columns :data:`~analysis.compare.COMPARE_COLUMNS`,
        from :func:`~analysis.compare.difference_table`,
        :func:`~analysis.compare.compare_to_parent` or
        :func:`~analysis.compare.compare_periods`), in percentage points; a family
        is one ``unit`` and ``kind``.
    table : DataFrame
        The current result table (:func:`~analysis.estimate.indices`), for the
        number of answers ``n`` behind each unit's criterion.
    method : {"holm", "bh", "bonferroni"}
        The adjustment within a family.
    alpha : float
        Family-wise error rate (Holm, Bonferroni) or false discovery rate (BH).
    power : float
        Power for ``responses_to_tell``.

    Returns
    -------
    DataFrame
        Columns :data:`WEAKNESS_COLUMNS`; ``p_adjusted`` within the family, the
        verdict from it, ``family_size`` the tests in the family and, for criteria
        not distinguishable from the reference with a gap below it,
        ``responses_to_tell`` (rounded up).

    Notes
    -----
    ``responses_to_tell`` is :func:`~analysis.power.responses_to_detect` of the
    observed difference and its standard error at level :math:`\\alpha / m`
    (:func:`~analysis.multiplicity.family_threshold`), which is the first
    threshold of both Holm and Benjamini-Hochberg: with that many responses the
    gap, if real, is found with the given power under either adjustment.
    """
    family = (
        comparisons[UNIT].astype(str) + "\x1f" + comparisons["kind"].astype(str)
    ).to_numpy()
    adjusted = p_adjust(comparisons["p_value"].to_numpy(float), method, family)
    tested = ~np.isnan(comparisons["p_value"].to_numpy(float))
    family_size = (
        pd.Series(tested).groupby(family).transform("sum").to_numpy(dtype=float)
    )
    difference = comparisons["difference"].to_numpy(float)
    code, _ = verdicts(difference, adjusted, comparisons["reference"], alpha=alpha)
    counts = table.set_index([UNIT, "indicator"])["n"]
    keys = pd.MultiIndex.from_arrays(
        [comparisons[UNIT].astype(str), comparisons["indicator"].astype(str)]
    )
    n = counts.reindex(keys).to_numpy(dtype=float)
    needed = responses_to_detect(
        difference,
        comparisons["se"].to_numpy(float),
        n,
        alpha=family_threshold(alpha, family_size),
        power=power,
    )
    worth_telling = (code == "no_difference") & (difference < 0)
    with np.errstate(invalid="ignore"):
        needed = np.where(worth_telling & np.isfinite(needed), np.ceil(needed), np.nan)
    out = comparisons.assign(
        p_adjusted=adjusted,
        verdict=code,
        family_size=family_size.astype(int),
        n=n,
        responses_to_tell=needed,
    )
    return out[WEAKNESS_COLUMNS].reset_index(drop=True)
