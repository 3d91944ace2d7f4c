"""Satisfaction indices with linearised standard errors for every domain at once.

A criterion index is the weighted share of respondents answering "satisfied" (4 or 5)
among those who gave an opinion on that criterion, a ratio estimator
:math:`\\hat R_{dk} = \\hat Y_{dk} / \\hat A_{dk}` for domain :math:`d` (a unit, a
node of the unit tree, or the whole population "ALL"). Element, area and overall indices are
means of ratios, i.e. linear combinations :math:`\\hat\\theta = \\sum_k c_k \\hat R_k`
(the aggregation rule of the questionnaire version).

The work is done by :func:`~analysis.linearization.linearize` (estimates, variances
and scores for all domains); this module turns its result into the table that users
read: intervals, effective sample sizes, design effects, margins of error and the
reliability flag with its reasons in plain words.

Variances (:mod:`analysis.variance`) are Taylor-linearised for a stratified cluster
design as R's ``svyrecvar`` computes them; domains are subpopulations
(:mod:`analysis.domains`), so a unit's criterion index and its SE equal R's
``svyratio(~y, ~a, subset(design, unit == u))``.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
surveys. *International Statistical Review* 51, 279-292.
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. *Survey Methodology*
24, 193-201.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Parker, J. D., Talih, M., Malec, D. J. et al. (2017). National Center for Health
Statistics data presentation standards for proportions. *Vital and Health Statistics*
2(175).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import OUTPUT_COLUMNS, UNIT
from .design import Design
from .intervals import (
    CI_METHODS,
    design_effect,
    effective_sample_size,
    proportion_interval,
    t_interval,
    t_quantile,
)
from .linearization import Linearization, linearize
from .questionnaire import Structure

#: Degrees-of-freedom conventions: see :func:`indices`.
DF_RULES = ("domain", "answers", "design")
#: A standard error at most this (on the 0-1 scale) counts as zero ...
ZERO_SE = 1e-10
#: ... as does a variance at most this fraction of the sum of squared PSU totals.
ZERO_VARIANCE_RATIO = 1e-12


@dataclass(frozen=True)
class Reliability:
    """When an estimate is reliable enough to show (NCHS defaults).

    Parameters
    ----------
    min_n_eff : float
        Smallest effective sample size.
    max_ci_width : float
        Confidence intervals this wide or wider (in percentage points) are not
        reliable.
    min_df : float
        Smallest degrees of freedom.

    Notes
    -----
    Parker et al. (2017): a proportion is not presented if its effective sample size is
    below 30 or its Korn-Graubard interval is 30 points wide or wider, and is flagged
    if its degrees of freedom are below 8. Here any of the three makes the estimate not
    reliable; so does a zero standard error (one PSU, or PSUs that all agree), which
    would otherwise look like certainty.
    """

    min_n_eff: float = 30
    max_ci_width: float = 30.0
    min_df: float = 8


# --------------------------------------------------------------------------------------
# the result table


def indices(
    frame: pd.DataFrame,
    structure: Structure,
    *,
    design: Design | None = None,
    by: str = UNIT,
    parents: Mapping[str, str] | None = None,
    include_all: bool = True,
    ci: str = "korn-graubard",
    level: float = 0.95,
    df: str = "domain",
    reliability: Reliability = Reliability(),
) -> pd.DataFrame:
    """Criterion, element and overall indices with uncertainty for every domain.

    Parameters
    ----------
    frame : DataFrame
        One row per response: the column ``by`` and one column per criterion code
        holding 1-5 or a missing value (no opinion).
    structure : Structure
        Questionnaire structure (see :func:`~analysis.questionnaire.load_structure`).
    design : Design, optional
        Row-aligned survey design (:func:`~analysis.design.make_design`); default a
        simple random sample with unit weights.
    by : str
        Column with the unit of each response.
    parents : mapping of str to str, optional
        Unit to parent unit: every node of the tree above the units becomes a domain.
    include_all : bool
        Add the whole population as unit ``"ALL"``.
    ci : {"korn-graubard", "beta", "logit", "wilson"}
        Interval method for criterion indices (proportions); elements and the overall
        index always get a t interval on the linearised SE, clipped to [0, 100].
    level : float
        Confidence level.
    df : {"domain", "answers", "design"}
        Degrees of freedom of every number of a row (its interval whatever the
        method, ``moe``, the ``df`` column and the reliability flag): per domain,
        as R's ``degf(subset(design, unit == u))`` (PSUs with a positive weight in
        the domain minus their strata); for a criterion, those of the design
        restricted to its answers in the domain, as R's ``degf(subset(design, unit
        == u & !is.na(x)))`` (composites keep the domain's); or those of the whole
        design (PSUs minus strata).
    reliability : Reliability
        Thresholds for the ``reliable`` flag.

    Returns
    -------
    DataFrame
        Columns :data:`~analysis.columns.OUTPUT_COLUMNS`, one row per domain and
        indicator (``SIPAS``, ``E1``.., ``1.1``..), domain ``ALL`` first. ``estimate``,
        ``se``, ``ci_low``, ``ci_high`` and ``moe`` are in percent.

    Raises
    ------
    DesignError
        For invalid data (see :func:`linearize`).
    ValueError
        For an unknown ``ci`` or ``df`` option or a level outside (0, 1).

    Notes
    -----
    - ``n``: answers counted (criteria); respondents who answered at least one of the
      composite's criteria (elements, overall).
    - ``n_eff``: :math:`\\min\\{n, S^2 / \\widehat V\\}` with :math:`S^2 = \\hat p(1 -
      \\hat p)` for a criterion (NCHS; Parker et al. 2017) and the weighted variance of
      the linearised variable for a composite.
    - ``deff``: the variance over the variance of simple random sampling without
      replacement of the same size, as R's ``svymean(..., deff = TRUE)`` (NaN when the
      weights do not add up to more than the sample, e.g. unit weights).
    - ``moe``: :math:`t_{df, 1-\\alpha/2} \\cdot SE`, the half-width of the symmetric
      interval (the reported interval may be asymmetric).
    - One df per row, whatever the interval method (see ``df``). R's
      ``svyciprop`` has no single convention: on the design restricted to a
      criterion's answers, ``method="logit"`` takes its ``df`` argument while
      ``method="beta"`` always takes ``degf`` of the design it is given. With
      ``df="answers"`` the logit and beta intervals equal ``svyciprop(~I(x >= 4),
      subset(design, unit == u & !is.na(x)), method = ...)`` with its default df
      (the beta one when no weight is zero and nothing was calibrated, see
      below); with ``df="domain"`` they
      equal the same call with ``df = degf(subset(design, unit == u))`` (logit) and
      R's beta formula with that df.
    - The beta interval's :math:`n` is the number of answers with a positive weight
      (``n``), where R's ``svyciprop(method = "beta")`` takes ``nrow(design)``: R
      also counts rows with a zero weight, and after ``postStratify``, ``rake`` or
      ``calibrate`` its ``subset`` keeps every row of the whole sample (with weight
      zero), so R's :math:`n` is then the size of the whole sample, not of the
      domain. The factor :math:`(t_{n-1}/t_{df})^2` falls as :math:`n` grows, so R's
      effective size is smaller and its intervals wider, mostly at the lower limit
      (by up to 0.84 points in the reference data of the tests). Counting the
      answers that carry weight in the domain is the sounder choice: rows outside
      the domain or without weight say nothing about the precision of its estimate.
      R's number is :func:`~analysis.intervals.beta_interval` with ``nobs``
      set to R's row count.
    - ``reliable``: effective n, interval width and df within the thresholds of
      ``reliability`` and a standard error that is not zero; ``note`` says why not,
      and records lonely-PSU handling and composites averaged over fewer parts
      because a criterion had no answers.
    """
    if ci not in CI_METHODS:
        raise ValueError(
            f"unknown interval method {ci!r}; expected one of {CI_METHODS}"
        )
    if df not in DF_RULES:
        raise ValueError(f"unknown df rule {df!r}; expected one of {DF_RULES}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    result = linearize(
        frame,
        structure,
        design=design,
        by=by,
        parents=parents,
        include_all=include_all,
        answer_df=df == "answers",
    )
    return index_table(result, ci=ci, level=level, df=df, reliability=reliability)


def index_table(
    result: Linearization,
    *,
    ci: str = "korn-graubard",
    level: float = 0.95,
    df: str = "domain",
    reliability: Reliability = Reliability(),
) -> pd.DataFrame:
    """Turn a :class:`Linearization` into the result table of :func:`indices`.

    Parameters
    ----------
    result : Linearization
        From :func:`linearize`; with ``df="answers"`` pass ``answer_df=True`` there.
    ci, level, df, reliability
        As for :func:`indices`.

    Returns
    -------
    DataFrame
        Columns :data:`~analysis.columns.OUTPUT_COLUMNS`, values in percent.

    Raises
    ------
    ValueError
        For ``df="answers"`` on a result computed without ``answer_df=True``.
    """
    alpha = 1 - level
    ndomains, nind = result.estimate.shape
    crit = slice(result.n_composites, nind)
    p, v, n = result.estimate, result.variance, result.nobs
    se = np.sqrt(v)
    dfs = _degrees_of_freedom(result, df)
    dfm = dfs.astype(float)

    low, high = t_interval(p, se, dfm, alpha)
    low[:, crit], high[:, crit] = proportion_interval(
        ci, p[:, crit], v[:, crit], n[:, crit], dfm[:, crit], alpha
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.minimum(n, np.where(v > 0, result.unit_variance / v, np.inf))
    n_eff[:, crit] = effective_sample_size(p[:, crit], v[:, crit], n[:, crit])
    missing = np.isnan(p)
    n_eff[missing] = np.nan
    deff = design_effect(v, result.unit_variance, n, result.pop_size)
    moe = t_quantile(dfm, alpha) * se
    zero_se = ~missing & (
        (se <= ZERO_SE) | (v <= ZERO_VARIANCE_RATIO * result.variance_scale)
    )
    width = 100 * (high - low)
    reliable = (
        ~missing
        & ~zero_se
        & (n_eff >= reliability.min_n_eff)
        & (width < reliability.max_ci_width)
        & (dfm >= reliability.min_df)
    )

    table = pd.DataFrame(
        {
            "unit": np.repeat(result.domains, nind),
            "indicator": np.tile(np.asarray(result.indicators, dtype=object), ndomains),
            "estimate": 100 * p.ravel(),
            "se": 100 * se.ravel(),
            "ci_low": 100 * low.ravel(),
            "ci_high": 100 * high.ravel(),
            "df": dfs.ravel(),
            "n": n.ravel(),
            "n_eff": n_eff.ravel(),
            "deff": deff.ravel(),
            "moe": 100 * moe.ravel(),
            "reliable": reliable.ravel(),
        }
    )
    table["note"] = _notes(result, reliability, table, zero_se, width, missing)
    return table[OUTPUT_COLUMNS]


def _degrees_of_freedom(result: Linearization, rule: str) -> np.ndarray:
    """Degrees of freedom of every estimate, ``(D, J)`` integers, by ``rule``."""
    shape = result.estimate.shape
    if rule == "design":
        return np.full(shape, result.design.degrees_of_freedom)
    if rule == "answers":
        if result.answer_df is None:
            raise ValueError("df='answers' needs linearize(..., answer_df=True)")
        return np.asarray(result.answer_df)
    if rule == "domain":
        return np.repeat(result.df[:, None], shape[1], axis=1)
    raise ValueError(f"unknown df rule {rule!r}; expected one of {DF_RULES}")


def _notes(
    result: Linearization,
    reliability: Reliability,
    table: pd.DataFrame,
    zero_se: np.ndarray,
    width: np.ndarray,
    missing: np.ndarray,
) -> np.ndarray:
    """Plain-English reasons for ``reliable == False`` and method remarks.

    Each reason is formatted only for the estimates it applies to.
    """
    ndomains, nind = result.estimate.shape
    zero_se, width, missing = zero_se.ravel(), width.ravel(), missing.ravel()
    present = ~missing
    n_eff = table["n_eff"].to_numpy()
    df = table["df"].to_numpy()
    used = result.parts_used.ravel()
    total = result.parts_total.ravel()
    lonely = np.repeat(result.lonely_strata, nind)
    one_psu = np.repeat(result.n_psu == 1, nind)
    extreme = np.isin(result.estimate.ravel(), (0.0, 1.0))
    parts_name = np.full(nind, "criteria", dtype=object)
    if result.aggregation == "criteria_then_elements":
        parts_name[: 1 + result.n_areas] = "elements"
    parts_name = np.tile(parts_name, ndomains)
    rule = result.design.lonely_psu
    r = reliability
    reasons = [
        (missing, lambda i: "no answers"),
        (zero_se & one_psu, lambda i: "SE is zero: one PSU"),
        (zero_se & ~one_psu & extreme, lambda i: "SE is zero: all answers alike"),
        (zero_se & ~one_psu & ~extreme, lambda i: "SE is zero: PSUs alike"),
        (
            present & (n_eff < r.min_n_eff),
            lambda i: f"effective n {n_eff[i]:.1f} < {r.min_n_eff:g}",
        ),
        (
            present & (width >= r.max_ci_width),
            lambda i: f"CI width {width[i]:.1f} >= {r.max_ci_width:g}",
        ),
        (present & np.isnan(width), lambda i: "no confidence interval"),
        (present & (df < r.min_df), lambda i: f"df {df[i]} < {r.min_df:g}"),
        (
            present & (used < total),
            lambda i: f"mean of {used[i]} of {total[i]} {parts_name[i]}",
        ),
        (present & (lonely == 1), lambda i: f"1 stratum with one PSU ({rule})"),
        (
            present & (lonely > 1),
            lambda i: f"{lonely[i]} strata with one PSU ({rule})",
        ),
    ]
    texts: dict[int, list[str]] = {}
    for mask, describe in reasons:  # a dozen reasons; formatting flagged rows only
        for i in np.flatnonzero(mask):
            texts.setdefault(i, []).append(describe(i))
    notes = np.full(ndomains * nind, "", dtype=object)
    for i, items in texts.items():
        notes[i] = "; ".join(items)
    return notes
