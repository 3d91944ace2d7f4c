"""Sample size per unit for a target margin of error.

The platform's rule is Cochran's sample size for a proportion, inflated by the design
effect and reduced by the finite population correction; the rule of the 2013 SIPAS
manual, :math:`n = N / (1 + N e^2)` (Yamane 1967), is shown beside it for comparison.
Yamane's rule is Cochran's with :math:`z = 2`, :math:`p = 0.5`, no design effect and
:math:`n_0 - 1` replaced by :math:`n_0`, so for a 95% level it asks for slightly fewer
responses, and it cannot use an expected share or a measured design effect.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley, ch. 4.
Lohr, S. L. (2019). *Sampling: Design and Analysis*, 2nd ed. CRC Press, ch. 2 (sample
size) and ch. 7 (design effects).
Krejcie, R. V. and Morgan, D. W. (1970). Determining sample size for research
activities. *Educational and Psychological Measurement* 30, 607-610.
Yamane, T. (1967). *Statistics: An Introductory Analysis*, 2nd ed. Harper and Row,
p. 886.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from .columns import UNIT

POPULATION = "population"
SHARE = "share"
DEFF = "deff"
PLAN_COLUMNS = [
    UNIT,
    POPULATION,
    SHARE,
    DEFF,
    "moe",
    "level",
    "n0",
    "n_needed",
    "n_official",
]


def sample_size_proportion(
    pop_size: ArrayLike,
    moe: float | ArrayLike = 0.05,
    *,
    alpha: float = 0.05,
    p: float | ArrayLike = 0.5,
    deff: float | ArrayLike = 1.0,
) -> np.ndarray:
    """Responses needed to estimate a proportion within ``moe`` (not rounded).

    Parameters
    ----------
    pop_size : array_like
        Population size :math:`N` of each unit (``np.inf`` for no finite population
        correction).
    moe : float or array_like
        Target margin of error :math:`e` as a proportion (0.05 = 5 points).
    alpha : float
        One minus the confidence level.
    p : float or array_like
        Expected proportion.
    deff : float or array_like
        Expected design effect.

    Returns
    -------
    ndarray
        :math:`n`, to be rounded up.

    Notes
    -----
    .. math:: n_0 = \\frac{z_{1-\\alpha/2}^2 \\, p (1 - p) \\, \\mathrm{deff}}{e^2},
              \\qquad n = \\frac{n_0}{1 + (n_0 - 1) / N}

    (Cochran 1977, ch. 4, with the finite population correction; Lohr 2019, ch. 2;
    the design effect multiplies the simple-random-sampling size, Lohr 2019,
    ch. 7). Equivalently :math:`n = z^2 N p(1-p)\\,\\mathrm{deff} /
    (e^2 (N - 1) + z^2 p (1-p)\\,\\mathrm{deff})`, the formula of Krejcie and Morgan
    (1970) for deff = 1.
    """
    size = np.asarray(pop_size, dtype=float)
    n0 = initial_sample_size(moe, alpha=alpha, p=p, deff=deff)
    return n0 / (1.0 + (n0 - 1.0) / size)


def initial_sample_size(
    moe: float | ArrayLike = 0.05,
    *,
    alpha: float = 0.05,
    p: float | ArrayLike = 0.5,
    deff: float | ArrayLike = 1.0,
) -> np.ndarray:
    """Sample size :math:`n_0` before the finite population correction.

    See :func:`sample_size_proportion` for the parameters and the formula.
    """
    e = np.asarray(moe, dtype=float)
    share = np.asarray(p, dtype=float)
    effect = np.asarray(deff, dtype=float)
    if np.any(e <= 0) or not 0 < alpha < 1:
        raise ValueError("moe must be positive and alpha in (0, 1)")
    if np.any((share < 0) | (share > 1)):
        raise ValueError("expected proportions must lie in [0, 1]")
    if np.any(effect <= 0):
        raise ValueError("design effects must be positive")
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    return z**2 * share * (1.0 - share) * effect / e**2


def sample_size_yamane(
    pop_size: ArrayLike, moe: float | ArrayLike = 0.05
) -> np.ndarray:
    """Sample size of the official rule :math:`n = N / (1 + N e^2)` (not rounded).

    Parameters
    ----------
    pop_size : array_like
        Population size :math:`N` (``np.inf`` gives :math:`1/e^2`).
    moe : float or array_like
        Margin of error :math:`e` as a proportion.

    Returns
    -------
    ndarray
        :math:`n = 1 / (1/N + e^2)`.

    Notes
    -----
    Yamane (1967); prescribed with :math:`e = 5\\%` by the 2013 SIPAS manual.
    """
    size = np.asarray(pop_size, dtype=float)
    return 1.0 / (1.0 / size + np.asarray(moe, dtype=float) ** 2)


def _round_up(n: np.ndarray) -> np.ndarray:
    # 1e-9 absorbs floating error such as 384.00000000000006
    return np.ceil(n - 1e-9)


def plan_sample(
    units: pd.DataFrame,
    *,
    moe: float = 5.0,
    level: float = 0.95,
    share: float = 50.0,
    deff: float = 1.0,
) -> pd.DataFrame:
    """Responses needed per unit next period for a target margin of error.

    Parameters
    ----------
    units : DataFrame
        Columns ``unit`` and ``population`` (the register count :math:`N` expected in
        the period), and optionally ``share`` (expected % satisfied, e.g. the unit's
        last estimate) and ``deff`` (e.g. the last measured design effect); missing
        values take the defaults below.
    moe : float
        Target margin of error in percentage points.
    level : float
        Confidence level.
    share : float
        Default expected share in percent (50 is the most demanding).
    deff : float
        Default design effect.

    Returns
    -------
    DataFrame
        Columns ``unit, population, share, deff, moe, level, n0, n_needed,
        n_official``: ``n0`` before the finite population correction, ``n_needed``
        the platform's requirement (:func:`sample_size_proportion`, rounded up) and
        ``n_official`` the rule :math:`N / (1 + N e^2)` (:func:`sample_size_yamane`,
        rounded up) for comparison.

    Raises
    ------
    ValueError
        For missing columns, a population below 1, or a share outside 0-100.

    Notes
    -----
    See :func:`sample_size_proportion`; shares and the margin are converted from
    percent to proportions.
    """
    missing = [c for c in (UNIT, POPULATION) if c not in units.columns]
    if missing:
        raise ValueError(f"the unit table has no column {missing}")
    size = pd.to_numeric(units[POPULATION], errors="coerce").to_numpy(float)
    if np.any(~(size >= 1)):
        bad = units[UNIT].to_numpy()[~(size >= 1)]
        raise ValueError(f"population must be a number >= 1; check units {list(bad)}")
    p = _column(units, SHARE, share)
    effect = _column(units, DEFF, deff)
    if np.any((p < 0) | (p > 100)):
        raise ValueError("expected shares must be percentages between 0 and 100")
    alpha = 1.0 - level
    n0 = initial_sample_size(moe / 100.0, alpha=alpha, p=p / 100.0, deff=effect)
    needed = sample_size_proportion(
        size, moe / 100.0, alpha=alpha, p=p / 100.0, deff=effect
    )
    return pd.DataFrame(
        {
            UNIT: units[UNIT].to_numpy(),
            POPULATION: size,
            SHARE: p,
            DEFF: effect,
            "moe": moe,
            "level": level,
            "n0": n0,
            "n_needed": _round_up(needed).astype(np.int64),
            "n_official": _round_up(sample_size_yamane(size, moe / 100.0)).astype(
                np.int64
            ),
        },
        columns=PLAN_COLUMNS,
    )


def _column(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), float(default))
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
    return np.where(np.isnan(values), float(default), values)
