"""Power and sample size to tell a difference: weak criteria and improvement targets.

Two questions a unit head asks once results are out:

*Is this gap real, and if not, how many responses would tell?* A gap of a unit's
criterion to the province that is not significant with this sample may still be
real. :func:`responses_to_detect` scales the unit's current sample by how much
smaller the standard error must be for the gap to be found with the chosen power,
so the measured design effect is kept.

*Did the plan work?* A target such as "2.5 from 46 % to 60 %" is checked on the next
period's independent sample. :func:`power_two_proportions` is the power that the two
samples (their effective sizes) had to detect the targeted change, so that "no
detectable change" with a tiny sample reads as "too few responses to tell";
:func:`sample_size_two_proportions` gives the sample each period needs to tell.

The two-proportion formulas are those of Fleiss, Tytun and Ury (1980) without the
continuity correction, as R's ``Hmisc::bpower`` and ``Hmisc::bsamsize``; with equal
sizes they are R's ``power.prop.test(strict = TRUE)``. Survey samples enter through
their effective sizes :math:`n / \\mathrm{deff}` (Kish 1965).

References
----------
Fleiss, J. L., Tytun, A. and Ury, H. K. (1980). A simple approximation for
calculating sample sizes for comparing independent proportions. *Biometrics* 36,
343-346.
Kish, L. (1965). *Survey Sampling*. Wiley, sec. 8.2.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC Press, sec. 2.7 and
7.5.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

#: Power asked of a study unless stated otherwise.
POWER = 0.8


def _z(alpha: ArrayLike) -> np.ndarray:
    alpha = np.asarray(alpha, dtype=float)
    if np.any((alpha <= 0) | (alpha >= 1)):
        raise ValueError("alpha must lie in (0, 1)")
    return stats.norm.isf(alpha / 2.0)


def power_two_proportions(
    p1: ArrayLike, p2: ArrayLike, n1: ArrayLike, n2: ArrayLike, alpha: ArrayLike = 0.05
) -> np.ndarray:
    """Power of the two-sided test of equal proportions in two independent samples.

    Parameters
    ----------
    p1, p2 : array_like
        The proportions (0-1) under the alternative, e.g. the baseline and the target.
    n1, n2 : array_like
        The (effective) sample sizes.
    alpha : array_like
        Significance level.

    Returns
    -------
    ndarray
        Power in [0, 1]; NaN where a size is not positive or a proportion is
        missing.

    Notes
    -----
    With :math:`\\bar p = (n_1 p_1 + n_2 p_2) / (n_1 + n_2)`,
    :math:`\\delta = |p_1 - p_2|`,
    :math:`s_0 = \\sqrt{(1/n_1 + 1/n_2)\\,\\bar p (1 - \\bar p)}` and
    :math:`s_1 = \\sqrt{p_1 q_1 / n_1 + p_2 q_2 / n_2}`,

    .. math:: 1 - \\beta = 1 - \\Phi\\Big(\\frac{z_{1-\\alpha/2} s_0 - \\delta}{s_1}
              \\Big) + \\Phi\\Big(\\frac{-z_{1-\\alpha/2} s_0 - \\delta}{s_1}\\Big)

    (Fleiss, Tytun and Ury 1980; R's ``Hmisc::bpower``). Equal proportions give
    :math:`\\alpha`; a zero :math:`s_1` (both proportions 0 or 1) gives 1 for
    different proportions.
    """
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    z = _z(alpha)
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (n1 * p1 + n2 * p2) / (n1 + n2)
        null = z * np.sqrt((1 / n1 + 1 / n2) * pooled * (1 - pooled))
        delta = np.abs(p1 - p2)
        spread = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        power = stats.norm.sf((null - delta) / spread) + stats.norm.cdf(
            (-null - delta) / spread
        )
    power = np.where(spread > 0, power, np.where(delta > 0, 1.0, np.nan))
    return np.where(valid, np.clip(power, 0.0, 1.0), np.nan)


def sample_size_two_proportions(
    p1: ArrayLike,
    p2: ArrayLike,
    *,
    fraction: ArrayLike = 0.5,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = POWER,
) -> tuple[np.ndarray, np.ndarray]:
    """Sizes of two samples that detect ``p1`` against ``p2`` with the given power.

    Parameters
    ----------
    p1, p2 : array_like
        The proportions (0-1) to tell apart.
    fraction : array_like
        Share of the total sample in the first group.
    alpha, power : array_like
        Significance level and power.

    Returns
    -------
    n1, n2 : ndarray
        Effective sample sizes, not rounded (R's ``Hmisc::bsamsize``).

    Notes
    -----
    With :math:`r = (1 - f)/f` and :math:`\\bar p = f p_1 + (1 - f) p_2`,

    .. math:: n_1 = \\frac{\\big(z_{1-\\alpha/2}\\sqrt{(r + 1)\\bar p(1 - \\bar p)}
              + z_{1-\\beta}\\sqrt{r p_1 q_1 + p_2 q_2}\\big)^2}{r (p_1 - p_2)^2},
              \\qquad n_2 = r n_1

    (Fleiss, Tytun and Ury 1980). Equal proportions need an infinite sample.
    """
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    f = np.asarray(fraction, dtype=float)
    if np.any((f <= 0) | (f >= 1)):
        raise ValueError("fraction must lie in (0, 1)")
    ratio = (1 - f) / f
    pooled = f * p1 + (1 - f) * p2
    top = _z(alpha) * np.sqrt((ratio + 1) * pooled * (1 - pooled)) + stats.norm.ppf(
        power
    ) * np.sqrt(ratio * p1 * (1 - p1) + p2 * (1 - p2))
    with np.errstate(divide="ignore"):
        n1 = top**2 / ratio / (p1 - p2) ** 2
    return n1, ratio * n1


def responses_to_detect(
    difference: ArrayLike,
    se: ArrayLike,
    nobs: ArrayLike,
    *,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = POWER,
) -> np.ndarray:
    """Responses with which an observed difference would be found with ``power``.

    Parameters
    ----------
    difference, se : array_like
        The difference (e.g. a unit's criterion minus the province) and its
        standard error with the current sample, in the same units.
    nobs : array_like
        The current number of responses behind the difference.
    alpha : array_like
        Level of the two-sided test (for a family, its strictest level, see
        :func:`analysis.multiplicity.family_threshold`).
    power : array_like
        Power wanted.

    Returns
    -------
    ndarray
        :math:`n^* = n\\,\\big((z_{1-\\alpha/2} + z_{1-\\beta})\\,SE / |d|\\big)^2`,
        not rounded; ``inf`` for a zero difference, NaN without a standard error.

    Notes
    -----
    The standard error of a difference dominated by one unit's sample falls as
    :math:`1/\\sqrt{n}` at a fixed design effect, and a two-sided test at level
    :math:`\\alpha` finds a true difference :math:`d` with power :math:`1-\\beta`
    when :math:`|d| / SE \\ge z_{1-\\alpha/2} + z_{1-\\beta}` (Lohr 2019, sec. 2.7).
    For a simple random sample, :math:`SE = \\sqrt{p(1-p)/n}` and this is the
    textbook size :math:`(z_{1-\\alpha/2} + z_{1-\\beta})^2 p(1-p) / d^2` of a
    one-sample test of a proportion. The province's own sampling error, which does
    not shrink with the unit's sample, is neglected: the size is a lower bound when
    the province is small.
    """
    d = np.abs(np.asarray(difference, dtype=float))
    s = np.asarray(se, dtype=float)
    n = np.asarray(nobs, dtype=float)
    factor = _z(alpha) + stats.norm.ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = n * (factor * s / d) ** 2
    return np.where((s > 0) & np.isfinite(s), needed, np.nan)
