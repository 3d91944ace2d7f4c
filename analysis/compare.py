"""Comparisons of indices (unit vs parent, vs previous period, pairs) and ranks.

Every comparison is a difference of two estimates in percentage points with its
standard error, a two-sided p-value and a verdict in plain English with a stable
machine code:

==================  =========================================================
``above``           significantly above the reference
``below``           significantly below the reference
``no_difference``   no significant difference
``not_tested``      no test possible (no estimate, or a zero or missing SE)
==================  =========================================================

*Unit against its parent or the province.* Both estimates come from the same sample
and share PSUs (the province contains the unit), so
:math:`\\widehat V(\\hat\\theta_u - \\hat\\theta_p) = V_u + V_p - 2\\widehat C_{up}`
with the covariance from the linearised PSU score totals
(:meth:`~analysis.linearization.Linearization.covariance`; Binder 1983; Lumley 2010).
All three terms come from that method, so they follow one lonely-PSU rule: under
``lonely_psu="average"`` each is rescaled over the strata of the whole design, as R's
``svycontrast`` on a ``svytotal`` of both domains' numerators and denominators.
*Pairs of units* use the same formula (the covariance is zero for units
with no PSU in common) and Holm's step-down adjustment over all pairs of an indicator
(Holm 1979). *Unit against its previous period*: two independent samples, so the
variances add.

Tests use the t distribution. For two estimates from one sample the degrees of
freedom are the smaller of the two domains' (conservative; Korn and Graubard 1999);
for independent samples the Welch-Satterthwaite approximation
:math:`(V_1 + V_2)^2 / (V_1^2/\\nu_1 + V_2^2/\\nu_2)`. Infinite degrees of freedom
give the normal distribution.

*Ranks with uncertainty* (:func:`rank_intervals`) use a parametric bootstrap: the
estimates are drawn many times from independent normal distributions with their
standard errors, the units are ranked in each draw, and the interval holds the
central ``level`` share of each unit's simulated ranks (Goldstein and Spiegelhalter
1996; Hall and Miller 2009). These are intervals for each unit on its own, not a joint
region for the whole ranking; for a joint statement see Klein, Wright and Wieczorek
(2020). Units are drawn independently because their samples are (disjoint strata);
calibration to margins that cross units introduces a small covariance that is
ignored here.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
surveys. *International Statistical Review* 51, 279-292.
Goldstein, H. and Spiegelhalter, D. J. (1996). League tables and their limitations:
statistical issues in comparisons of institutional performance. *Journal of the Royal
Statistical Society A* 159, 385-443.
Hall, P. and Miller, H. (2009). Using the bootstrap to quantify the authority of an
empirical ranking. *Annals of Statistics* 37, 3929-3959.
Holm, S. (1979). A simple sequentially rejective multiple test procedure.
*Scandinavian Journal of Statistics* 6, 65-70.
Klein, M., Wright, T. and Wieczorek, J. (2020). A joint confidence region for an
overall ranking of populations. *Journal of the Royal Statistical Society C* 69,
589-606.
Korn, E. L. and Graubard, B. I. (1999). *Analysis of Health Surveys*. Wiley.
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
components. *Biometrics Bulletin* 2, 110-114.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .columns import ALL, OVERALL, UNIT
from .linearization import Linearization

COMPARE_COLUMNS = [
    "unit",
    "indicator",
    "kind",
    "reference",
    "estimate",
    "reference_estimate",
    "difference",
    "se",
    "df",
    "p_value",
    "p_adjusted",
    "verdict",
    "statement",
]
RANK_COLUMNS = [
    "unit",
    "indicator",
    "block",
    "estimate",
    "se",
    "rank",
    "rank_low",
    "rank_high",
    "n_ranked",
    "note",
]
#: Verdict codes (stable, for machines).
VERDICTS = ("above", "below", "no_difference", "not_tested")
#: Default seed of the rank bootstrap (the date of 2640/QĐ-BNV): reproducible tables.
RANK_SEED = 20171010


# --------------------------------------------------------------------------------------
# tests


def p_value(difference: ArrayLike, se: ArrayLike, df: ArrayLike) -> np.ndarray:
    """Two-sided p-value of a difference against zero.

    Parameters
    ----------
    difference, se : array_like
        The difference and its standard error.
    df : array_like
        Degrees of freedom; ``np.inf`` for the normal distribution.

    Returns
    -------
    ndarray
        :math:`2\\,P(T_{\\nu} > |d| / SE)`; NaN where the SE is not positive or
        ``df <= 0``.

    Notes
    -----
    Korn and Graubard (1999): with few PSUs the t distribution on the
    design degrees of freedom is preferable to the normal.
    """
    d = np.asarray(difference, dtype=float)
    s = np.asarray(se, dtype=float)
    nu = np.asarray(df, dtype=float)
    valid = (s > 0) & (nu > 0) & np.isfinite(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(d) / s
    p = 2.0 * stats.t.sf(np.where(valid, t, 0.0), np.where(nu > 0, nu, 1.0))
    return np.where(valid, np.minimum(p, 1.0), np.nan)


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries are ignored).

    Parameters
    ----------
    pvalues : array_like
        One family of p-values.

    Returns
    -------
    ndarray
        :math:`\\tilde p_{(i)} = \\max_{j \\le i} \\min\\{1, (m - j + 1) p_{(j)}\\}`
        for the ordered p-values :math:`p_{(1)} \\le \\dots \\le p_{(m)}` (Holm 1979),
        as R's ``p.adjust(method = "holm")``.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m:
        order = valid[np.argsort(p[valid], kind="stable")]
        stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(stepped)
    return out


def welch_df(
    var1: ArrayLike, df1: ArrayLike, var2: ArrayLike, df2: ArrayLike
) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of a sum of two independent variances.

    Notes
    -----
    .. math:: \\nu = \\frac{(V_1 + V_2)^2}{V_1^2 / \\nu_1 + V_2^2 / \\nu_2}

    (Satterthwaite 1946); a term with zero variance drops out.
    """
    v1, v2 = np.asarray(var1, dtype=float), np.asarray(var2, dtype=float)
    n1, n2 = np.asarray(df1, dtype=float), np.asarray(df2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term1 = np.where(v1 > 0, v1 * v1 / n1, 0.0)
        term2 = np.where(v2 > 0, v2 * v2 / n2, 0.0)
        return (v1 + v2) ** 2 / (term1 + term2)


def verdicts(
    difference: ArrayLike, p: ArrayLike, reference: ArrayLike, *, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Verdict codes and plain-English statements for tested differences.

    Parameters
    ----------
    difference : array_like
        Estimate minus reference.
    p : array_like
        The p-values used for the decision (NaN = not tested).
    reference : array_like of str
        How to name the reference in a sentence, e.g. ``"the province"``.
    alpha : float
        Significance level.

    Returns
    -------
    codes, statements : ndarray of str
        Codes from :data:`VERDICTS`; statements such as "significantly below the
        province" or "no significant difference from the previous period".
    """
    d = np.asarray(difference, dtype=float)
    pv = np.asarray(p, dtype=float)
    ref = np.asarray(reference, dtype=object).astype(str)
    significant = pv < alpha
    code = np.select(
        [np.isnan(pv), significant & (d > 0), significant & (d < 0)],
        ["not_tested", "above", "below"],
        "no_difference",
    )
    text = np.select(
        [code == "not_tested", code == "above", code == "below"],
        [
            np.char.add("not tested against ", ref),
            np.char.add("significantly above ", ref),
            np.char.add("significantly below ", ref),
        ],
        np.char.add("no significant difference from ", ref),
    )
    return code.astype(object), text.astype(object)


def _table(
    *,
    unit: ArrayLike,
    indicator: ArrayLike,
    kind: str,
    reference: ArrayLike,
    reference_name: ArrayLike,
    estimate: ArrayLike,
    reference_estimate: ArrayLike,
    variance: ArrayLike,
    df: ArrayLike,
    p_adjusted: ArrayLike | None,
    alpha: float,
) -> pd.DataFrame:
    est = np.asarray(estimate, dtype=float)
    ref_est = np.asarray(reference_estimate, dtype=float)
    difference = est - ref_est
    se = np.sqrt(np.maximum(np.asarray(variance, dtype=float), 0.0))
    p = p_value(difference, se, df)
    adjusted = p if p_adjusted is None else np.asarray(p_adjusted, dtype=float)
    code, text = verdicts(difference, adjusted, reference_name, alpha=alpha)
    return pd.DataFrame(
        {
            "unit": np.asarray(unit, dtype=object),
            "indicator": np.asarray(indicator, dtype=object),
            "kind": kind,
            "reference": np.asarray(reference, dtype=object),
            "estimate": est,
            "reference_estimate": ref_est,
            "difference": difference,
            "se": se,
            "df": np.asarray(df, dtype=float),
            "p_value": p,
            "p_adjusted": adjusted,
            "verdict": code,
            "statement": text,
        },
        columns=COMPARE_COLUMNS,
    )


# --------------------------------------------------------------------------------------
# comparisons within one sample


def _indicator_positions(
    result: Linearization, indicators: Sequence[str] | None
) -> np.ndarray:
    if indicators is None:
        return np.arange(len(result.indicators))
    index = pd.Index(result.indicators).get_indexer(list(indicators))
    if (index < 0).any():
        unknown = [c for c, i in zip(indicators, index, strict=True) if i < 0]
        raise ValueError(f"unknown indicators {unknown}")
    return index


def difference_table(
    result: Linearization,
    first: Sequence[str],
    second: Sequence[str],
    *,
    kind: str = "pair",
    reference_names: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Differences between pairs of domains estimated from the same sample.

    Parameters
    ----------
    result : Linearization
        From :func:`~analysis.linearization.linearize` with ``keep_scores=True``.
    first, second : sequence of str
        Domain labels; row ``i`` compares ``first[i]`` with ``second[i]``.
    kind : str
        Label of the comparison in the ``kind`` column.
    reference_names : sequence of str, optional
        How to name ``second[i]`` in the statement (default: the label).
    indicators : sequence of str, optional
        Indicator codes (default: all).
    alpha : float
        Significance level of the verdicts.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS`, in percent; one row per pair and indicator.

    Notes
    -----
    :math:`d = 100(\\hat\\theta_a - \\hat\\theta_b)`,
    :math:`SE(d) = 100\\sqrt{V_a + V_b - 2 C_{ab}}`, tested with
    :math:`\\min(\\nu_a, \\nu_b)` degrees of freedom (see the module notes).
    """
    a = result.domain_index(list(first))
    b = result.domain_index(list(second))
    cols = _indicator_positions(result, indicators)
    var_a = result.covariance(a, a)[:, cols]
    var_b = result.covariance(b, b)[:, cols]
    cov = result.covariance(a, b)[:, cols]
    variance = 1e4 * (var_a + var_b - 2.0 * cov)
    npairs, nind = len(a), len(cols)
    df = np.minimum(result.df[a], result.df[b]).astype(float)
    names = list(second) if reference_names is None else list(reference_names)
    return _table(
        unit=np.repeat(np.asarray(first, dtype=object), nind),
        indicator=np.tile(np.asarray(result.indicators, dtype=object)[cols], npairs),
        kind=kind,
        reference=np.repeat(np.asarray(second, dtype=object), nind),
        reference_name=np.repeat(np.asarray(names, dtype=object), nind),
        estimate=100.0 * result.estimate[a][:, cols].ravel(),
        reference_estimate=100.0 * result.estimate[b][:, cols].ravel(),
        variance=variance.ravel(),
        df=np.repeat(df, nind),
        p_adjusted=None,
        alpha=alpha,
    )


def _leaf_units(result: Linearization, parents: Mapping[str, str] | None) -> list[str]:
    inner = {str(v) for v in (parents or {}).values()}
    return [str(d) for d in result.domains if d != ALL and str(d) not in inner]


def compare_to_parent(
    result: Linearization,
    parents: Mapping[str, str] | None = None,
    *,
    indicators: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each unit (and tree node) against its parent, or against the province.

    Parameters
    ----------
    result : Linearization
        From :func:`~analysis.linearization.linearize` with ``keep_scores=True`` and
        ``include_all=True`` (the same ``parents``).
    parents : mapping of str to str, optional
        Unit to parent; nodes without a parent are compared with ``"ALL"`` ("the
        province").
    indicators : sequence of str, optional
        Indicator codes (default: all).
    alpha : float
        Significance level.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS` with ``kind="parent"``.

    Notes
    -----
    See :func:`difference_table`; the covariance accounts for the unit's PSUs being
    part of the parent's sample.
    """
    parents = {str(k): str(v) for k, v in (parents or {}).items()}
    units = [str(d) for d in result.domains if d != ALL]
    reference = [parents.get(u, ALL) for u in units]
    names = ["the province" if r == ALL else r for r in reference]
    return difference_table(
        result,
        units,
        reference,
        kind="parent",
        reference_names=names,
        indicators=indicators,
        alpha=alpha,
    )


def compare_pairs(
    result: Linearization,
    units: Sequence[str] | None = None,
    *,
    blocks: Mapping[str, str] | None = None,
    indicators: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """All pairs of units, with Holm's adjustment over the pairs of each indicator.

    Parameters
    ----------
    result : Linearization
        From :func:`~analysis.linearization.linearize` with ``keep_scores=True``.
    units : sequence of str, optional
        Units to compare (default: every domain except ``"ALL"``).
    blocks : mapping of str to str, optional
        Peer block of each unit: only pairs within a block are compared, and the
        Holm family is the block's pairs.
    indicators : sequence of str, optional
        Indicator codes (default: all).
    alpha : float
        Family-wise significance level.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS` with ``kind="pair"``: ``p_value`` unadjusted,
        ``p_adjusted`` Holm-adjusted, and the verdict taken from ``p_adjusted``.
    """
    units = (
        [str(d) for d in result.domains if d != ALL]
        if units is None
        else list(map(str, units))
    )
    labels = np.asarray(units, dtype=object)
    group = (
        np.zeros(len(labels), dtype=np.intp)
        if blocks is None
        else pd.factorize(pd.Series(labels).map(lambda u: blocks.get(u)))[0]
    )
    i, j = np.triu_indices(len(labels), k=1)
    keep = (group[i] == group[j]) & (group[i] >= 0)
    i, j = i[keep], j[keep]
    table = difference_table(
        result, labels[i], labels[j], kind="pair", indicators=indicators, alpha=alpha
    )
    family = np.repeat(group[i], len(_indicator_positions(result, indicators)))
    table["p_adjusted"] = table.groupby(
        [family, table["indicator"].to_numpy()], sort=False
    )["p_value"].transform(lambda p: holm(p.to_numpy()))
    code, text = verdicts(
        table["difference"], table["p_adjusted"], table["reference"], alpha=alpha
    )
    table["verdict"], table["statement"] = code, text
    return table


# --------------------------------------------------------------------------------------
# comparisons between periods


def compare_periods(
    current: pd.DataFrame, previous: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Each unit and indicator against the same unit's previous period.

    Parameters
    ----------
    current, previous : DataFrame
        Result tables of :func:`~analysis.estimate.indices` (columns ``unit``,
        ``indicator``, ``estimate``, ``se``, ``df``) for two periods.
    alpha : float
        Significance level.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS` with ``kind="previous"``, for the units and
        indicators in both tables.

    Notes
    -----
    The two periods are independent samples, so
    :math:`SE(d) = \\sqrt{SE_1^2 + SE_2^2}`, tested with Welch-Satterthwaite degrees
    of freedom (:func:`welch_df`). Samples that share respondents or PSUs (a panel)
    would need their covariance.
    """
    keys = [UNIT, "indicator"]
    columns = [*keys, "estimate", "se", "df"]
    merged = current[columns].merge(
        previous[columns], on=keys, how="inner", suffixes=("", "_previous")
    )
    var1 = merged["se"].to_numpy(float) ** 2
    var2 = merged["se_previous"].to_numpy(float) ** 2
    df = welch_df(var1, merged["df"], var2, merged["df_previous"])
    return _table(
        unit=merged[UNIT],
        indicator=merged["indicator"],
        kind="previous",
        reference=np.full(len(merged), "previous", dtype=object),
        reference_name=np.full(len(merged), "the previous period", dtype=object),
        estimate=merged["estimate"],
        reference_estimate=merged["estimate_previous"],
        variance=var1 + var2,
        df=df,
        p_adjusted=None,
        alpha=alpha,
    )


# --------------------------------------------------------------------------------------
# ranks


def _ranks_within(
    values: np.ndarray, block: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """Rank (1 = highest) of each column within its block, for every row of values."""
    order = np.argsort(-values, axis=1, kind="stable")
    by_block = np.argsort(block[order], axis=1, kind="stable")
    order = np.take_along_axis(order, by_block, axis=1)
    position = np.arange(values.shape[1])[None, :] - start[block[order]] + 1
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, position, axis=1)
    return ranks


def rank_intervals(
    table: pd.DataFrame,
    *,
    indicator: str | None = None,
    units: Sequence[str] | None = None,
    blocks: Mapping[str, str] | None = None,
    level: float = 0.90,
    draws: int = 10_000,
    seed: int = RANK_SEED,
) -> pd.DataFrame:
    """Rank of each unit with an interval for the rank (1 = highest index).

    Parameters
    ----------
    table : DataFrame
        Result table of :func:`~analysis.estimate.indices` (``unit``, ``indicator``,
        ``estimate``, ``se``, ``reliable``, ``note``).
    indicator : str, optional
        Indicator to rank on (default: the overall index ``SIPAS``).
    units : sequence of str, optional
        Units to rank (default: every unit except ``"ALL"``; give the leaf units
        when the table also holds tree nodes).
    blocks : mapping of str to str, optional
        Peer block of each unit; units are ranked within their block, and units
        without a block are not ranked.
    level : float
        Coverage of each rank interval.
    draws : int
        Bootstrap draws.
    seed : int
        Seed of the random generator (fixed, so a table can be reproduced).

    Returns
    -------
    DataFrame
        Columns :data:`RANK_COLUMNS`. Units that are not reliable (or have no
        estimate or SE) are not ranked: ``rank`` is NaN and ``note`` says why; the
        other units are ranked without them.

    Notes
    -----
    Draw :math:`\\theta^{*}_{bu} \\sim N(\\hat\\theta_u, SE_u^2)` independently for
    :math:`b = 1..B`, rank the units of each block in every draw, and report the
    :math:`(1-\\text{level})/2` and :math:`(1+\\text{level})/2` quantiles
    (``inverted_cdf``) of each unit's simulated ranks, widened if needed to contain
    the observed rank (ties in the estimates share the best rank). Goldstein and
    Spiegelhalter (1996); Hall and Miller (2009). The intervals are marginal:
    each covers its unit's rank with about the stated probability; a joint region
    for the whole ranking is wider (Klein, Wright and Wieczorek 2020).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    code = OVERALL if indicator is None else indicator
    rows = table[table["indicator"] == code]
    rows = rows[rows[UNIT].astype(str) != ALL]
    if units is not None:
        rows = rows[rows[UNIT].astype(str).isin([str(u) for u in units])]
    if rows.empty:
        raise ValueError(f"no estimates of indicator {code!r} to rank")
    unit = rows[UNIT].astype(str).to_numpy()
    estimate = rows["estimate"].to_numpy(float)
    se = rows["se"].to_numpy(float)
    reliable = (
        rows["reliable"].to_numpy(bool)
        if "reliable" in rows
        else np.ones(len(rows), dtype=bool)
    )
    note = (
        rows["note"].fillna("").astype(str).to_numpy()
        if "note" in rows
        else np.full(len(rows), "")
    )
    block_label = (
        np.full(len(rows), "", dtype=object)
        if blocks is None
        else np.array([blocks.get(u) for u in unit], dtype=object)
    )
    has_block = np.array([b is not None for b in block_label])
    usable = np.isfinite(estimate) & np.isfinite(se) & (se >= 0)
    ranked = reliable & usable & has_block
    reason = np.select(
        [~has_block, ~usable, ~reliable],
        [
            "not ranked: no peer block",
            "not ranked: no estimate",
            "not ranked: not reliable",
        ],
        "",
    ).astype(object)
    reason = np.where(
        (reason == "not ranked: not reliable") & (note != ""),
        np.char.add("not ranked: not reliable (", np.char.add(note.astype(str), ")")),
        reason,
    )

    idx = np.flatnonzero(ranked)
    block, block_names = pd.factorize(pd.Series(block_label[idx], dtype=object))
    block = block.astype(np.intp)
    size = np.bincount(block, minlength=len(block_names))
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    m = len(idx)
    point = np.full(len(rows), np.nan)
    low = np.full(len(rows), np.nan)
    high = np.full(len(rows), np.nan)
    n_ranked = np.full(len(rows), np.nan)
    if m:
        point[idx] = (
            pd.Series(estimate[idx])
            .groupby(block)
            .rank(method="min", ascending=False)
            .to_numpy()
        )
        n_ranked[idx] = size[block]
        counts = np.zeros((m, int(size.max()) + 1), dtype=np.int64)
        rng = np.random.default_rng(seed)
        chunk = max(1, min(draws, 2_000_000 // max(m, 1)))
        done = 0
        while done < draws:  # chunks of draws, to bound memory
            b = min(chunk, draws - done)
            sample = estimate[idx] + se[idx] * rng.standard_normal((b, m))
            r = _ranks_within(sample, block, start)
            counts += np.bincount(
                (np.arange(m)[None, :] * counts.shape[1] + r).ravel(),
                minlength=counts.size,
            ).reshape(counts.shape)
            done += b
        cumulative = np.cumsum(counts, axis=1) / draws
        alpha = 1 - level
        lo = np.argmax(cumulative >= alpha / 2 - 1e-12, axis=1)
        hi = np.argmax(cumulative >= 1 - alpha / 2 - 1e-12, axis=1)
        low[idx] = np.minimum(lo, point[idx])
        high[idx] = np.maximum(hi, point[idx])
    return pd.DataFrame(
        {
            "unit": unit.astype(object),
            "indicator": code,
            "block": block_label if blocks is not None else np.full(len(rows), None),
            "estimate": estimate,
            "se": se,
            "rank": point,
            "rank_low": low,
            "rank_high": high,
            "n_ranked": n_ranked,
            "note": reason,
        },
        columns=RANK_COLUMNS,
    )
