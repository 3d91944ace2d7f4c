"""Confidence intervals for survey proportions, design effects and effective sizes.

All functions work element-wise on arrays (proportions in [0, 1]) and return NaN
where an interval is undefined (no degrees of freedom, fewer than two observations);
they never warn.

=================  ===========================================================
``korn-graubard``  Clopper-Pearson on the effective count, effective sample size
                   capped at n and adjusted for the degrees of freedom (Korn and
                   Graubard 1998; the NCHS standard, Parker et al. 2017).
``beta``           R's ``svyciprop(method = "beta")``: the same without the cap
                   (R's :math:`n` counts rows of zero weight too; see
                   :func:`beta_interval`).
``logit``          Wald interval on the logit scale with t quantiles (R's
                   ``svyciprop(method = "logit")`` in closed form).
``wilson``         Wilson score interval on the effective sample size with a t
                   quantile (Kott and Carr 1997).
=================  ===========================================================

References
----------
Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits
illustrated in the case of the binomial. *Biometrika* 26, 404-413.
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions with small
expected number of positive counts estimated from survey data. *Survey Methodology*
24, 193-201.
Kott, P. S. and Carr, D. A. (1997). Developing an estimation strategy for a pooled
survey. *Proceedings of the Survey Research Methods Section, ASA*, 565-570.
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2 and 11.7.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, sec. 2.9.
Parker, J. D., Talih, M., Malec, D. J. et al. (2017). National Center for Health
Statistics data presentation standards for proportions. *Vital and Health Statistics*
2(175).
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *Journal of the American Statistical Association* 22, 209-212.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

CI_METHODS = ("korn-graubard", "beta", "logit", "wilson")

Interval = tuple[np.ndarray, np.ndarray]


def t_quantile(df: ArrayLike, alpha: float = 0.05) -> np.ndarray:
    """Two-sided critical value :math:`t_{df, 1 - \\alpha/2}`.

    Parameters
    ----------
    df : array_like
        Degrees of freedom; ``np.inf`` gives the normal quantile, ``df <= 0`` NaN.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    ndarray
    """
    df = np.asarray(df, dtype=float)
    values, inverse = np.unique(df, return_inverse=True)  # few distinct df
    valid = values > 0
    quantiles = stats.t.ppf(1 - alpha / 2, np.where(valid, values, 1.0))
    return np.where(valid, quantiles, np.nan)[inverse].reshape(df.shape)


def effective_sample_size(
    proportion: ArrayLike, variance: ArrayLike, nobs: ArrayLike
) -> np.ndarray:
    """Effective sample size of a survey proportion, capped at the sample size.

    Parameters
    ----------
    proportion, variance : array_like
        Estimated proportion :math:`\\hat p` and its design-based variance.
    nobs : array_like
        Number of observations :math:`n` behind the proportion.

    Returns
    -------
    ndarray

    Notes
    -----
    :math:`n_{eff} = \\min\\{n, \\hat p (1 - \\hat p) / \\widehat{V}(\\hat p)\\}`,
    i.e. :math:`n` divided by the design effect against simple random sampling with
    replacement, never more than :math:`n`; :math:`n_{eff} = n` when the variance is
    zero (:math:`\\hat p` = 0 or 1). This is the NCHS definition (Parker et al. 2017,
    p. 3).
    """
    p = np.asarray(proportion, dtype=float)
    v = np.asarray(variance, dtype=float)
    n = np.asarray(nobs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(v > 0, p * (1 - p) / v, np.inf)
    return np.minimum(raw, n)


def design_effect(
    variance: ArrayLike,
    unit_variance: ArrayLike,
    nobs: ArrayLike,
    pop_size: ArrayLike,
) -> np.ndarray:
    """Design effect against simple random sampling without replacement (R's deff).

    Parameters
    ----------
    variance : array_like
        Design-based variance of the estimate.
    unit_variance : array_like
        Weighted population variance :math:`S^2` of the linearised variable
        (:math:`\\hat p(1-\\hat p)` for a proportion).
    nobs : array_like
        Number of observations :math:`n` with a non-zero weight.
    pop_size : array_like
        Estimated population size :math:`\\hat N`, the sum of their weights.

    Returns
    -------
    ndarray
        NaN where :math:`\\hat N \\le n` (weights not scaled to a population; R gives
        NA or Inf), :math:`n < 2` or :math:`S^2 = 0`.

    Notes
    -----
    As ``svymean(..., deff = TRUE)`` in R's survey package:

    .. math:: \\mathrm{deff} = \\widehat V(\\hat\\theta) \\Big/
              \\Big[\\frac{n}{n-1} S^2
              \\Big(\\frac{1}{n} - \\frac{1}{\\hat N}\\Big)\\Big]
              = \\widehat V(\\hat\\theta) \\Big/
              \\frac{S^2 (1 - n/\\hat N)}{n - 1}.
    """
    v = np.asarray(variance, dtype=float)
    s2 = np.asarray(unit_variance, dtype=float)
    n = np.asarray(nobs, dtype=float)
    big_n = np.asarray(pop_size, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        srs = s2 * (1 - n / big_n) / (n - 1)
        return np.where((big_n > n) & (n > 1) & (srs > 0), v / srs, np.nan)


def kish_weighting_effect(
    weights: ArrayLike, groups: ArrayLike | None = None, ngroups: int | None = None
) -> np.ndarray | float:
    """Kish's design effect due to unequal weights, overall or per group.

    Parameters
    ----------
    weights : array_like
        Weights :math:`w_i`.
    groups : array_like of int, optional
        Group code of each weight, ``0 .. ngroups-1``.
    ngroups : int, optional
        Number of groups (default: largest code plus one).

    Returns
    -------
    float or ndarray

    Notes
    -----
    :math:`1 + \\mathrm{cv}^2(w) = n \\sum w_i^2 / (\\sum w_i)^2` (Kish 1965, 11.7).
    """
    w = np.asarray(weights, dtype=float)
    if groups is None:
        return float(w.size * np.sum(w * w) / np.sum(w) ** 2)
    g = np.asarray(groups, dtype=np.intp)
    size = ngroups if ngroups is not None else int(g.max()) + 1
    count = np.bincount(g, minlength=size)
    total = np.bincount(g, weights=w, minlength=size)
    squares = np.bincount(g, weights=w * w, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return count * squares / total**2


def clopper_pearson_interval(
    count: ArrayLike, nobs: ArrayLike, alpha: float = 0.05
) -> Interval:
    """Clopper-Pearson interval, for real-valued (effective) counts too.

    Parameters
    ----------
    count, nobs : array_like
        Successes :math:`x` and trials :math:`n` (need not be integers).
    alpha : float
        One minus the confidence level.

    Returns
    -------
    low, high : ndarray

    Notes
    -----
    :math:`[B_{\\alpha/2}(x, n - x + 1), B_{1-\\alpha/2}(x + 1, n - x)]` with
    :math:`B_q(a, b)` the beta quantile; the lower limit is 0 when :math:`x = 0` and
    the upper limit 1 when :math:`x = n`, so the interval is one-sided there.
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(nobs, dtype=float)
    valid = (n > 0) & (x >= 0) & (x <= n)
    xs = np.where(valid, x, 0.5)
    ns = np.where(valid, n, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.where(xs > 0, special.betaincinv(xs, ns - xs + 1, alpha / 2), 0.0)
        high = np.where(
            xs < ns, special.betaincinv(xs + 1, ns - xs, 1 - alpha / 2), 1.0
        )
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def korn_graubard_interval(
    proportion: ArrayLike,
    variance: ArrayLike,
    nobs: ArrayLike,
    df: ArrayLike,
    alpha: float = 0.05,
) -> Interval:
    """Korn-Graubard interval for a survey proportion (the NCHS standard).

    Parameters
    ----------
    proportion, variance : array_like
        Estimated proportion and its design-based variance.
    nobs : array_like
        Number of observations :math:`n` (answers counted).
    df : array_like
        Degrees of freedom of the variance estimate.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    low, high : ndarray
        NaN when :math:`df \\le 0` or :math:`n < 2`.

    Notes
    -----
    With :math:`n_{eff}` from :func:`effective_sample_size` (capped at :math:`n`),

    .. math:: n^*_{eff} = \\min\\Big\\{n,\\ n_{eff}
              \\Big(\\frac{t_{n-1, 1-\\alpha/2}}{t_{df, 1-\\alpha/2}}\\Big)^2\\Big\\},

    and the interval is :func:`clopper_pearson_interval` with count
    :math:`\\hat p\\, n^*_{eff}` and size :math:`n^*_{eff}` (Korn and Graubard 1998;
    Parker et al. 2017, eq. 1-3). At :math:`\\hat p = 0` (or 1) the interval is
    :math:`[0, 1 - (\\alpha/2)^{1/n^*_{eff}}]` (or its mirror).
    """
    p = np.asarray(proportion, dtype=float)
    n = np.asarray(nobs, dtype=float)
    n_eff = effective_sample_size(p, variance, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = t_quantile(n - 1, alpha) / t_quantile(df, alpha)
        n_df = np.minimum(n_eff * ratio**2, n)
    return clopper_pearson_interval(p * n_df, n_df, alpha)


def beta_interval(
    proportion: ArrayLike,
    variance: ArrayLike,
    nobs: ArrayLike,
    df: ArrayLike,
    alpha: float = 0.05,
) -> Interval:
    """R's ``svyciprop(method = "beta")`` interval.

    Parameters
    ----------
    proportion, variance : array_like
        Estimated proportion and its design-based variance.
    nobs : array_like
        Observations behind the proportion. :func:`~analysis.estimate.indices`
        passes the answers with a positive weight; R passes ``nrow(design)``, which
        also counts rows of zero weight and, after calibration, every row of the
        whole sample (R's ``subset`` of a calibrated design keeps them all): pass
        that count to reproduce R's interval.
    df : array_like
        Degrees of freedom (R: ``degf(design)``).
    alpha : float
        One minus the confidence level.

    Returns
    -------
    low, high : ndarray
        NaN where the variance is zero or the df are not positive, as in R.

    Notes
    -----
    :math:`n_{eff} = \\hat p (1-\\hat p) / \\widehat V
    \\cdot (t_{n-1, \\alpha/2} / t_{df, \\alpha/2})^2`, not capped, and
    :math:`[B_{\\alpha/2}(n_{eff}\\hat p, n_{eff}(1-\\hat p) + 1),
    B_{1-\\alpha/2}(n_{eff}\\hat p + 1, n_{eff}(1-\\hat p))]`, with the lower limit
    0 when :math:`\\hat p = 0` (survey 4.1-1, ``svyciprop``).
    """
    p = np.asarray(proportion, dtype=float)
    v = np.asarray(variance, dtype=float)
    n = np.asarray(nobs, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = t_quantile(n - 1, alpha) / t_quantile(df, alpha)
        n_eff = np.where(v > 0, p * (1 - p) / v, np.nan) * ratio**2
        valid = np.isfinite(n_eff) & (n_eff > 0)
        ne = np.where(valid, n_eff, 1.0)
        low = np.where(
            p > 0, special.betaincinv(ne * p, ne * (1 - p) + 1, alpha / 2), 0.0
        )
        high = np.where(
            p < 1, special.betaincinv(ne * p + 1, ne * (1 - p), 1 - alpha / 2), 1.0
        )
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def logit_interval(
    proportion: ArrayLike, variance: ArrayLike, df: ArrayLike, alpha: float = 0.05
) -> Interval:
    """Wald interval on the logit scale with a t quantile.

    Parameters
    ----------
    proportion, variance : array_like
        Estimated proportion and its design-based variance.
    df : array_like
        Degrees of freedom.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    low, high : ndarray
        NaN at :math:`\\hat p` = 0 or 1, where the logit is undefined.

    Notes
    -----
    .. math:: \\operatorname{expit}\\Big(\\operatorname{logit}\\hat p \\pm
              t_{df, 1-\\alpha/2}
              \\frac{\\widehat{SE}(\\hat p)}{\\hat p(1-\\hat p)}\\Big),

    the delta method; it equals R's ``svyciprop(method = "logit")`` (a
    quasi-binomial ``svyglm`` with one intercept) and ``method = "xlogit"``.
    """
    p = np.asarray(proportion, dtype=float)
    se = np.sqrt(np.asarray(variance, dtype=float))
    valid = (p > 0) & (p < 1)
    ps = np.where(valid, p, 0.5)
    half = t_quantile(df, alpha) * se / (ps * (1 - ps))
    centre = special.logit(ps)
    low = special.expit(centre - half)
    high = special.expit(centre + half)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def wilson_interval(
    count: ArrayLike, nobs: ArrayLike, alpha: float = 0.05, df: ArrayLike = np.inf
) -> Interval:
    """Wilson score interval, with a t quantile when ``df`` is finite.

    Parameters
    ----------
    count, nobs : array_like
        Successes and trials (may be effective, non-integer values).
    alpha : float
        One minus the confidence level.
    df : array_like
        Degrees of freedom of the critical value (default: normal quantile, as
        statsmodels' ``proportion_confint(method="wilson")``).

    Returns
    -------
    low, high : ndarray

    Notes
    -----
    With :math:`\\tilde p = x / n` and :math:`c = t_{df, 1-\\alpha/2}`:

    .. math:: \\frac{\\tilde p + c^2/(2n)}{1 + c^2/n} \\pm
              \\frac{c}{1 + c^2/n}\\sqrt{\\frac{\\tilde p(1-\\tilde p)}{n} +
              \\frac{c^2}{4n^2}}.
    """
    x = np.asarray(count, dtype=float)
    n = np.asarray(nobs, dtype=float)
    crit = t_quantile(df, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        crit2 = crit**2
        denom = 1 + crit2 / n
        centre = (p + crit2 / (2 * n)) / denom
        dist = crit * np.sqrt(p * (1 - p) / n + crit2 / (4 * n**2)) / denom
    valid = n > 0
    return (
        np.where(valid, np.clip(centre - dist, 0, 1), np.nan),
        np.where(valid, np.clip(centre + dist, 0, 1), np.nan),
    )


def t_interval(
    estimate: ArrayLike,
    se: ArrayLike,
    df: ArrayLike,
    alpha: float = 0.05,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> Interval:
    """Symmetric t interval :math:`\\hat\\theta \\pm t_{df,1-\\alpha/2} SE`, clipped.

    Parameters
    ----------
    estimate, se : array_like
        Estimate and its standard error.
    df : array_like
        Degrees of freedom.
    alpha : float
        One minus the confidence level.
    bounds : tuple of float
        Range the interval is clipped to.

    Returns
    -------
    low, high : ndarray
    """
    est = np.asarray(estimate, dtype=float)
    half = t_quantile(df, alpha) * np.asarray(se, dtype=float)
    return np.clip(est - half, *bounds), np.clip(est + half, *bounds)


def proportion_interval(
    method: str,
    proportion: ArrayLike,
    variance: ArrayLike,
    nobs: ArrayLike,
    df: ArrayLike,
    alpha: float = 0.05,
) -> Interval:
    """Interval for survey proportions by one of :data:`CI_METHODS`.

    Parameters
    ----------
    method : {"korn-graubard", "beta", "logit", "wilson"}
        Interval method; see the module docstring.
    proportion, variance : array_like
        Estimated proportion and its design-based variance.
    nobs : array_like
        Number of observations (answers counted).
    df : array_like
        Degrees of freedom.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    low, high : ndarray

    Notes
    -----
    ``wilson`` uses :func:`wilson_interval` with the effective sample size of
    :func:`effective_sample_size` and the critical value :math:`t_{df}`; NaN when
    :math:`df \\le 0`.
    """
    if method == "korn-graubard":
        return korn_graubard_interval(proportion, variance, nobs, df, alpha)
    if method == "beta":
        return beta_interval(proportion, variance, nobs, df, alpha)
    if method == "logit":
        return logit_interval(proportion, variance, df, alpha)
    if method == "wilson":
        n_eff = effective_sample_size(proportion, variance, nobs)
        return wilson_interval(np.asarray(proportion) * n_eff, n_eff, alpha, df)
    raise ValueError(
        f"unknown interval method {method!r}; expected one of {CI_METHODS}"
    )
