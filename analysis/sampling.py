"""Probability samples from the dossier register: plans, draws, weights, response rates.

The register of dossiers returned in a period is the sampling frame; strata are
unit x field. Two designs are drawn with *permanent random numbers* (PRN): every
dossier gets a number :math:`u_i \\in (0, 1)` from a keyed hash of the draw's seed and
its dossier code, so a draw depends only on the seed and the register's content and
drawing again gives the same dossiers (Ohlsson 1995).

* **Fixed size per stratum, without replacement** (for a closed register): the
  :math:`n_h` dossiers with the smallest :math:`u_i` in stratum :math:`h`. Ordering
  independent uniforms and keeping the first :math:`n_h` selects every subset of size
  :math:`n_h` with the same probability, so this *is* simple random sampling without
  replacement, with :math:`\\pi_i = n_h / N_h` (sequential simple random sampling;
  Ohlsson 1995, sec. 9.3; Tillé 2006, sec. 4.4).
* **Poisson sampling** (for a register that grows week by week): dossier :math:`i`
  of stratum :math:`h` is drawn when :math:`u_i < \\pi_h`, independently of every other
  dossier, so each newly imported dossier can be drawn on arrival and
  :math:`\\pi_i = \\pi_h` (Brewer, Early and Joyce 1972; Särndal, Swensson and Wretman
  1992, sec. 3.5).

Respondents are weighted by :math:`1/\\pi_i`, adjusted for nonresponse within cells
(response homogeneity groups, Särndal et al. 1992, sec. 15.6), and response rates
follow AAPOR's standard definitions (AAPOR 2023).

References
----------
AAPOR (2023). *Standard Definitions: Final Dispositions of Case Codes and Outcome Rates
for Surveys*, 10th ed. American Association for Public Opinion Research.
Brewer, K. R. W., Early, L. J. and Joyce, S. F. (1972). Selecting several samples from
a single population. *Australian Journal of Statistics* 14, 231-239.
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 5 (allocation).
Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
Statistics* 19, 81-97.
Ohlsson, E. (1995). Coordination of samples using permanent random numbers. In Cox,
B. G. et al. (eds), *Business Survey Methods*. Wiley, ch. 9.
Särndal, C.-E., Swensson, B. and Wretman, J. (1992). *Model Assisted Survey Sampling*.
Springer.
Tillé, Y. (2006). *Sampling Algorithms*. Springer.
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .plan import sample_size_proportion
from .weights import nonresponse_adjust

#: Columns of :func:`plan_strata`'s result.
PLAN_STRATA_COLUMNS = [
    "unit",
    "field",
    "population",
    "unit_population",
    "unit_needed",
    "needed",
    "response_rate",
    "draw",
]
#: Columns of :func:`response_rates`'s result.
RATE_COLUMNS = ["sampled", "delivered", "completed", "rr1", "contact_rate"]


# --------------------------------------------------------------------------------------
# permanent random numbers and selection


def permanent_random_numbers(codes: ArrayLike, seed: str) -> np.ndarray:
    """A uniform number in (0, 1) for every dossier code, fixed by the seed.

    Parameters
    ----------
    codes : array_like of str
        Dossier codes (unique within the register).
    seed : str
        The draw's secret seed (at most 64 bytes of UTF-8).

    Returns
    -------
    ndarray of float
        :math:`u_i = (\\lfloor h_i / 2^{11} \\rfloor + 1/2) / 2^{53}` where
        :math:`h_i` is the 64-bit keyed BLAKE2b digest (RFC 7693) of the code under
        the seed.

    Notes
    -----
    A keyed cryptographic hash behaves as independent uniforms for distinct codes and
    cannot be predicted without the seed, so nobody can tell from a dossier code
    whether it will be drawn. The number depends only on the seed and the code, never
    on the order or size of the register: the permanent random numbers of Ohlsson
    (1995). BLAKE2b is a fixed standard, so a draw is reproducible on any machine.
    """
    key = seed.encode("utf-8")
    if not key or len(key) > 64:
        raise ValueError("the seed must be 1 to 64 bytes of UTF-8")
    digests = b"".join(
        hashlib.blake2b(str(code).encode("utf-8"), key=key, digest_size=8).digest()
        for code in np.asarray(codes, dtype=object)
    )
    bits = np.frombuffer(digests, dtype=">u8").astype(np.uint64) >> np.uint64(11)
    return (bits.astype(float) + 0.5) / 2.0**53


def _rank_within(groups: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank (0 = smallest key) of every row within its group; ties keep row order."""
    order = np.lexsort((key, groups))
    sorted_groups = groups[order]
    first = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(len(groups), dtype=np.int64)
    rank[order] = np.arange(len(groups)) - first
    return rank


def select_srswor(u: ArrayLike, stratum: ArrayLike, size: ArrayLike) -> np.ndarray:
    """Simple random sampling without replacement per stratum, from PRNs.

    Parameters
    ----------
    u : array_like of float
        Permanent random number of every dossier of the frame.
    stratum : array_like of int
        Stratum code of every dossier, ``0 .. H-1``.
    size : array_like of int, shape (H,)
        Sample size :math:`n_h` of each stratum.

    Returns
    -------
    ndarray of bool
        Whether each dossier is drawn: the :math:`n_h` smallest :math:`u` of its
        stratum.

    Raises
    ------
    ValueError
        If a stratum has fewer dossiers than its sample size.

    Notes
    -----
    Sequential simple random sampling (Ohlsson 1995; Tillé 2006, sec. 4.4): with
    i.i.d. uniform :math:`u_i`, every subset of :math:`n_h` of the :math:`N_h`
    dossiers is equally likely to hold the smallest numbers, so the inclusion
    probability is :math:`\\pi_i = n_h / N_h` (:func:`srswor_probabilities`).
    """
    u = np.asarray(u, dtype=float)
    codes = np.asarray(stratum, dtype=np.intp)
    n = np.asarray(size, dtype=np.int64)
    population = np.bincount(codes, minlength=len(n))
    short = np.flatnonzero(n > population[: len(n)])
    if short.size:
        h = short[0]
        raise ValueError(
            f"stratum {h} has {population[h]} dossiers but a sample of {n[h]}"
        )
    return _rank_within(codes, u) < n[codes]


def srswor_probabilities(stratum: ArrayLike, size: ArrayLike) -> np.ndarray:
    """Inclusion probability :math:`n_h / N_h` of every dossier of the frame.

    Parameters
    ----------
    stratum : array_like of int
        Stratum code of every dossier of the frame, ``0 .. H-1``.
    size : array_like of int, shape (H,)
        Sample size of each stratum.

    Returns
    -------
    ndarray of float
    """
    codes = np.asarray(stratum, dtype=np.intp)
    n = np.asarray(size, dtype=float)
    population = np.bincount(codes, minlength=len(n)).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (n / population)[codes]


def select_poisson(u: ArrayLike, probability: ArrayLike) -> np.ndarray:
    """Poisson sampling from PRNs: draw every dossier with :math:`u_i < \\pi_i`.

    Parameters
    ----------
    u : array_like of float
        Permanent random number of every dossier.
    probability : array_like of float
        Inclusion probability of every dossier (its stratum's planned rate).

    Returns
    -------
    ndarray of bool

    Notes
    -----
    Each dossier is drawn independently with probability :math:`\\pi_i`; the sample
    size is random with expectation :math:`\\sum_i \\pi_i` (Brewer, Early and Joyce
    1972; Särndal et al. 1992, sec. 3.5). As the decision for a dossier depends only on
    its own number, dossiers imported later are drawn exactly as if they had been in
    the register from the start, and repeating the draw repeats every decision.
    """
    p = np.asarray(probability, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("inclusion probabilities must lie in [0, 1]")
    return np.asarray(u, dtype=float) < p


# --------------------------------------------------------------------------------------
# plans


def allocate_proportional(
    total: ArrayLike, population: ArrayLike, group: ArrayLike, minimum: int = 0
) -> np.ndarray:
    """Divide each group's sample over its strata in proportion to their sizes.

    Parameters
    ----------
    total : array_like of int, shape (G,)
        Sample size :math:`n_g` of each group (a unit).
    population : array_like of int, shape (H,)
        Population :math:`N_h` of each stratum (unit x field).
    group : array_like of int, shape (H,)
        Group code of each stratum, ``0 .. G-1``.
    minimum : int
        Smallest sample of a stratum (capped at its population).

    Returns
    -------
    ndarray of int, shape (H,)
        :math:`n_h`.

    Notes
    -----
    Proportional allocation :math:`n_g N_h / N_g` (Cochran 1977, sec. 5.5) rounded by
    largest remainders (Hamilton's method), so a group's strata add up to
    :math:`n_g`; then every stratum is raised to :math:`\\min(m, N_h)`, which adds to
    the group's total rather than taking from other strata. A minimum makes the
    weights unequal within the group (a design effect the plan's ``deff`` should
    allow for).
    """
    n_g = np.asarray(total, dtype=np.int64)
    size = np.asarray(population, dtype=np.int64)
    g = np.asarray(group, dtype=np.intp)
    group_size = np.bincount(g, weights=size, minlength=len(n_g))
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(group_size[g] > 0, n_g[g] * size / group_size[g], 0.0)
    base = np.floor(exact + 1e-9).astype(np.int64)
    seats = n_g - np.bincount(g, weights=base, minlength=len(n_g)).astype(np.int64)
    extra = _rank_within(g, -(exact - base)) < seats[g]
    allocated = np.minimum(base + extra, size)
    return np.maximum(allocated, np.minimum(int(minimum), size))


def plan_strata(
    strata: pd.DataFrame,
    *,
    moe: float = 5.0,
    level: float = 0.95,
    share: float = 50.0,
    deff: float = 1.5,
    response_rate: float = 50.0,
    minimum: int = 0,
) -> pd.DataFrame:
    """Respondents and draws per stratum for a target margin of error per unit.

    Parameters
    ----------
    strata : DataFrame
        One row per stratum with columns ``unit``, ``field`` and ``population`` (the
        dossiers of the frame, :math:`N_h`), and optionally per unit ``deff`` (e.g.
        last period's measured design effect), ``response_rate`` (in percent, e.g.
        last period's RR1) and ``unit_needed`` (the analyst's own number of
        respondents for the unit, replacing the computed one); missing values take
        the defaults below.
    moe : float
        Target margin of error of a unit's index, in percentage points.
    level : float
        Confidence level.
    share : float
        Expected share satisfied, in percent (50 is the most demanding).
    deff : float
        Default design effect.
    response_rate : float
        Default expected response rate, in percent.
    minimum : int
        Smallest number of respondents planned in a stratum.

    Returns
    -------
    DataFrame
        Columns :data:`PLAN_STRATA_COLUMNS`: ``unit_needed`` respondents for the
        unit's margin, ``needed`` respondents of the stratum after allocation,
        ``draw`` dossiers to draw.

    Raises
    ------
    ValueError
        For missing columns, populations below zero, or rates outside (0, 100].

    Notes
    -----
    Per unit :math:`u`: :math:`n_u` = :func:`~analysis.plan.sample_size_proportion`
    with :math:`N_u = \\sum_{h \\in u} N_h`; allocation over fields by
    :func:`allocate_proportional`; then each stratum draws
    :math:`\\min(N_h, \\lceil n_h / r_u \\rceil)` dossiers for the expected response
    rate :math:`r_u`. A stratum whose population cannot give its planned respondents
    draws all of its dossiers.
    """
    missing = [c for c in ("unit", "field", "population") if c not in strata.columns]
    if missing:
        raise ValueError(f"the strata table has no column {missing}")
    size = pd.to_numeric(strata["population"], errors="coerce").to_numpy(float)
    if np.any(~(size >= 0)):
        raise ValueError("populations must be numbers >= 0")
    rate = _per_row(strata, "response_rate", response_rate)
    if np.any((rate <= 0) | (rate > 100)):
        raise ValueError("response rates must be percentages in (0, 100]")
    group, units = pd.factorize(strata["unit"], sort=False)
    unit_population = np.bincount(group, weights=size, minlength=len(units))
    first = np.unique(group, return_index=True)[1]
    unit_deff = _per_row(strata, "deff", deff)[first]
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        needed_float = np.where(
            unit_population > 0,
            sample_size_proportion(
                np.maximum(unit_population, 1.0),
                moe / 100.0,
                alpha=alpha,
                p=share / 100.0,
                deff=unit_deff,
            ),
            0.0,
        )
    chosen = _per_row(strata, "unit_needed", np.nan)[first]
    needed_float = np.where(np.isnan(chosen), needed_float, np.maximum(chosen, 0))
    unit_needed = np.minimum(np.ceil(needed_float - 1e-9), unit_population).astype(
        np.int64
    )
    needed = allocate_proportional(unit_needed, size, group, minimum)
    draw = np.minimum(np.ceil(needed / (rate / 100.0) - 1e-9), size).astype(np.int64)
    return pd.DataFrame(
        {
            "unit": strata["unit"].to_numpy(),
            "field": strata["field"].to_numpy(),
            "population": size.astype(np.int64),
            "unit_population": unit_population[group].astype(np.int64),
            "unit_needed": unit_needed[group],
            "needed": needed,
            "response_rate": rate,
            "draw": draw,
        },
        columns=PLAN_STRATA_COLUMNS,
    )


def _per_row(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), float(default))
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
    return np.where(np.isnan(values), float(default), values)


# --------------------------------------------------------------------------------------
# weights


def sample_weights(
    probability: ArrayLike,
    responded: ArrayLike,
    cells: ArrayLike,
    fallback: ArrayLike | None = None,
) -> np.ndarray:
    """Weights of sampled respondents: :math:`1/\\pi_i`, adjusted for nonresponse.

    Parameters
    ----------
    probability : array_like of float
        Inclusion probability :math:`\\pi_i` of every sampled case (respondents and
        nonrespondents).
    responded : array_like of bool
        Whether each case responded.
    cells : array_like
        Nonresponse adjustment cell of each case, e.g. its stratum.
    fallback : array_like, optional
        A wider group of each case containing its cell, e.g. its unit. Cells without a
        respondent then pass their weight to the respondents of their group; without
        it such a cell is an error.

    Returns
    -------
    ndarray of float
        Adjusted weights, zero for nonrespondents and for every case of a group
        without respondents (it cannot be estimated).

    Raises
    ------
    WeightingError
        If ``fallback`` is None and a cell has sampled cases but no respondent.

    Notes
    -----
    With base weights :math:`d_i = 1/\\pi_i`, cell :math:`c` and group :math:`g`:

    .. math:: w_i = d_i \\, \\frac{\\sum_{j \\in c} d_j}{\\sum_{j \\in c} r_j d_j}
              \\, \\frac{\\sum_{j \\in g} d_j}{\\sum_{j \\in g,\\ c(j)
              \\text{ has respondents}} d_j}

    both factors computed by :func:`~analysis.weights.nonresponse_adjust` (weighting
    classes, Valliant, Dever and Kreuter 2018, ch. 13; collapsing empty cells into
    their group, Kalton and Flores-Cervantes 2003). The second factor is 1 where every
    cell of the group has respondents. With cells = strata of a stratified SRSWOR the
    weight is :math:`N_h / r_h`: respondents are taken as a simple random sample of
    their stratum (the response homogeneity group model, Särndal et al. 1992,
    sec. 15.6.2), which is how R's ``svydesign(ids=~1, strata=~stratum, fpc=~N,
    weights=~w)`` treats them, with the finite population correction
    :math:`1 - r_h / N_h`.
    """
    p = np.asarray(probability, dtype=float)
    if np.any(~((p > 0) & (p <= 1))):
        raise ValueError("inclusion probabilities must lie in (0, 1]")
    base = 1.0 / p
    r = np.asarray(responded, dtype=bool)
    if fallback is None:
        return nonresponse_adjust(base, r, cells)
    cell, _ = pd.factorize(np.asarray(cells, dtype=object))
    group, _ = pd.factorize(np.asarray(fallback, dtype=object))
    covered = (np.bincount(cell, weights=r) > 0)[cell]
    estimable = (np.bincount(group, weights=covered) > 0)[group]
    within = np.zeros(len(p))
    spread = np.zeros(len(p))
    if not covered.any():
        return within  # nobody responded: no weight anywhere
    within[covered] = nonresponse_adjust(base[covered], r[covered], cell[covered])
    spread[estimable] = (
        nonresponse_adjust(base[estimable], covered[estimable], group[estimable])
        / base[estimable]
    )
    return within * spread


# --------------------------------------------------------------------------------------
# response rates


def response_rates(
    completed: ArrayLike, delivered: ArrayLike, by: ArrayLike | pd.DataFrame | None
) -> pd.DataFrame:
    """AAPOR response rate 1 and the contact rate, per group of sampled cases.

    Parameters
    ----------
    completed : array_like of bool
        Whether each sampled case has a complete, valid response.
    delivered : array_like of bool
        Whether its invitation was handed over or sent.
    by : array_like, DataFrame or None
        Group of each case (one column or several); None for one overall row.

    Returns
    -------
    DataFrame
        The group columns (``group`` for an array), then :data:`RATE_COLUMNS`:
        ``sampled``, ``delivered``, ``completed``, ``rr1`` and ``contact_rate`` (in
        percent; NaN for a group without cases).

    Notes
    -----
    AAPOR (2023) Response Rate 1:

    .. math:: RR1 = \\frac{I}{(I + P) + (R + NC + O) + (UH + UO)}

    Every drawn dossier is an eligible case (a citizen or organisation who received a
    result in the period), so :math:`UH = UO = 0`; a submission is complete or absent,
    so :math:`P = 0` and RR1 equals RR2. Invitations never delivered are non-contacts
    (:math:`NC`) and stay in the denominator; delivered ones without a response
    (refused, expired, lost) are :math:`R + O`. Hence :math:`RR1 = I / n`, the
    completed responses over all drawn dossiers. The contact rate is AAPOR's CON1
    read as delivered over drawn.
    """
    done = np.asarray(completed, dtype=bool)
    sent = np.asarray(delivered, dtype=bool)
    counts = pd.DataFrame(
        {
            "sampled": np.ones(len(done), dtype=np.int64),
            "delivered": sent.astype(np.int64),
            "completed": done.astype(np.int64),
        }
    )
    if by is None:
        table = counts.sum().to_frame().T
    else:
        keys = by if isinstance(by, pd.DataFrame) else pd.DataFrame({"group": by})
        keys = keys.reset_index(drop=True)
        table = (
            pd.concat([keys, counts], axis=1)
            .groupby(list(keys.columns), sort=True, observed=True)
            .sum()
            .reset_index()
        )
    sampled = table["sampled"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rr1"] = 100.0 * table["completed"].to_numpy(float) / sampled
        table["contact_rate"] = 100.0 * table["delivered"].to_numpy(float) / sampled
    return table
