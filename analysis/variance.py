"""Variance of estimated totals in a stratified cluster design (R's ``svyrecvar``).

Every variance in the package comes from PSU totals of weighted linearised scores
:math:`t_c`: for PSUs sampled with replacement within strata, with a first-stage
finite population correction,

.. math:: \\widehat V = \\sum_h \\Big(1 - \\frac{n_h}{N_h}\\Big)
          \\frac{n_h}{n_h - 1} \\sum_{c \\in h} (t_c - \\bar t_h)
          (t_c - \\bar t_h)^\\top

(Wolter 2007, ch. 6; Lumley 2010, sec. 2.4), with R's rules for strata that have a
single sampled PSU (``survey.lonely.psu``, see :data:`~analysis.design.LONELY_PSU_RULES`).
With calibrated weights the scores are first replaced by their calibration residuals
(Deville and Särndal 1992), as ``svyrecvar`` does with ``design$postStrata``.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(``svyrecvar``, ``onestage``, ``onestrat``).
Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer, ch. 6.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .design import Design, DesignError
from .grouping import bincount_rows

#: Below this first-stage factor ``1 - n_h/N_h`` a stratum is a census (R: 1e-7).
CENSUS_TOLERANCE = 1e-7


def stratum_rules(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per stratum: scale factor, whether to centre, whether the stratum is dropped.

    Follows R's ``onestrat``: scale ``f n/(n-1)`` with ``f = 1 - n/N``; a census
    (``f < 1e-7``) contributes zero; a stratum with one PSU is centred (and so
    contributes zero) under ``remove`` and ``certainty``, uncentred with scale ``f``
    under ``adjust``, and dropped (NaN) under ``average``.
    """
    n_h = design.psu_count.astype(float)
    f = 1.0 - design.sampling_fraction
    lonely = n_h == 1
    census = f < CENSUS_TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lonely, f, f * n_h / (n_h - 1))
    scale[census] = 0.0
    centre = ~(lonely & (design.lonely_psu == "adjust"))
    dropped = lonely & ~census & (design.lonely_psu == "average")
    if design.lonely_psu == "fail" and (lonely & ~census).any():
        raise DesignError("a stratum has only one PSU (lonely_psu='fail')")
    return scale, centre, dropped


def psu_total_covariance(design: Design, totals: np.ndarray) -> np.ndarray:
    """Covariance matrix of estimated totals from their PSU totals.

    Parameters
    ----------
    design : Design
        The design (strata, PSU counts, fpc, lonely-PSU rule).
    totals : ndarray, shape (P, k)
        PSU totals of weighted scores, one row per PSU of the design.

    Returns
    -------
    ndarray, shape (k, k)

    Notes
    -----
    .. math:: \\widehat V = \\sum_h \\Big(1 - \\frac{n_h}{N_h}\\Big)
              \\frac{n_h}{n_h - 1} \\sum_{c \\in h} (t_c - \\bar t_h)
              (t_c - \\bar t_h)^\\top

    with the lonely-PSU rules of :func:`stratum_rules`; under ``average`` the sum
    over the other strata is multiplied by :math:`H / (H - H_1)` (R's ``onestage``).
    """
    totals = np.asarray(totals, dtype=float).reshape(design.n_psu, -1)
    scale, centre, dropped = stratum_rules(design)
    psu_h = design.psu_stratum
    counts = design.psu_count
    means = (
        np.stack(
            [
                np.bincount(psu_h, weights=col, minlength=len(counts))
                for col in totals.T
            ],
            axis=1,
        )
        / counts[:, None]
    )
    deviations = totals - np.where(centre[psu_h, None], means[psu_h], 0.0)
    keep = ~dropped[psu_h]
    scaled = deviations[keep] * np.sqrt(scale[psu_h][keep])[:, None]
    return (scaled.T @ scaled) * average_factor(design)


def average_factor(design: Design) -> float:
    """R's ``onestage`` factor for ``lonely_psu="average"`` on the whole design.

    Returns
    -------
    float
        :math:`H / (H - H_1)` with :math:`H` strata of which :math:`H_1` have a
        single sampled PSU (and are not a census); 1 when no stratum is dropped,
        NaN when every stratum is.
    """
    _, _, dropped = stratum_rules(design)
    kept = design.n_strata - int(dropped.sum())
    if kept == design.n_strata:
        return 1.0
    return design.n_strata / kept if kept else float("nan")


def total_covariance(design: Design, x: np.ndarray) -> np.ndarray:
    """Covariance matrix of the totals of weighted scores (R's ``svyrecvar``).

    Parameters
    ----------
    design : Design
        The design; its calibrations are applied first, oldest first.
    x : ndarray, shape (n, k)
        Weighted linearised scores :math:`x_i = w_i z_i`, one row per response.

    Returns
    -------
    ndarray, shape (k, k)

    Notes
    -----
    Each calibration replaces ``x`` by ``calibration.residualize(x)``; the residuals
    are summed per PSU and passed to :func:`psu_total_covariance`.
    """
    x = np.asarray(x, dtype=float)
    x = x.reshape(len(x), -1)
    for calibration in design.calibrations:
        x = np.asarray(calibration.residualize(x), dtype=float).reshape(len(x), -1)
    return psu_total_covariance(design, psu_sums(design) @ x)


def psu_sums(design: Design) -> sparse.csr_array:
    """Sparse ``P x n`` matrix that sums rows into their PSUs."""
    n = len(design.psu)
    ones = np.ones(n)
    return sparse.csr_array((ones, (design.psu, np.arange(n))), shape=(design.n_psu, n))


def strata_touched(
    design: Design, group_key: np.ndarray, stratum: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Strata and dropped (lonely, ``average``) strata counted per key for R's
    ``onestage`` rescaling.

    Without calibration these are the strata a domain touches. A calibrated design
    counts every stratum for every domain, as calibration residuals may reach all
    of them (and did, as every (PSU, domain) pair, in the dense computation).
    """
    _, _, dropped = stratum_rules(design)
    if design.calibrations:
        return (
            np.full(size, float(design.n_strata)),
            np.full(size, float(dropped.sum())),
        )
    strata = np.bincount(group_key, minlength=size).astype(float)
    lost = np.bincount(group_key, weights=dropped[stratum], minlength=size)
    return strata, lost


def domain_variance(
    design: Design,
    group_stratum: np.ndarray,
    group_domain: np.ndarray,
    ndomains: int,
    s1: np.ndarray,
    s2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Domain variances from per-(stratum, domain) sums of PSU scores and squares.

    Parameters
    ----------
    design : Design
        The design (PSU counts, fpc, lonely-PSU rule).
    group_stratum, group_domain : ndarray of int, shape (G,)
        Stratum and domain of each (stratum, domain) group.
    ndomains : int
        Number of domains :math:`D`.
    s1, s2 : ndarray, shape (J, G)
        Per group and indicator, :math:`\\sum_c z_c` and :math:`\\sum_c z_c^2`
        over the group's PSUs (PSUs of the stratum outside the domain score zero).

    Returns
    -------
    variance : ndarray, shape (D, J)
        Cut at zero.
    magnitude : ndarray, shape (D, J)
        :math:`\\sum_h s_h \\sum_c z_c^2`, to tell a zero variance from rounding.

    Notes
    -----
    Per stratum :math:`\\sum_c (z_c - \\bar z_h)^2 = \\sum_c z_c^2 - (\\sum_c
    z_c)^2 / n_h`, scaled and summed as in :func:`psu_total_covariance`.
    """
    scale, centre, dropped = stratum_rules(design)
    h = group_stratum
    n_h = design.psu_count[h]
    centred = s2 - np.where(centre[h], s1 * s1 / n_h, 0.0)
    nd = ndomains
    variance = bincount_rows(
        group_domain, np.where(dropped[h], 0.0, scale[h] * centred), nd
    )
    magnitude = bincount_rows(group_domain, scale[h] * s2, nd)
    if dropped.any():  # R's onestage: times strata / strata kept
        strata, lost = strata_touched(design, group_domain, h, nd)
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = variance * np.where(
                strata > lost, strata / (strata - lost), np.nan
            )
    return np.maximum(variance, 0.0).T, magnitude.T  # (D, J)
