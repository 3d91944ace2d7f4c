"""The effect of an improvement plan: each target checked on the next period.

A unit head sets a target for a criterion, e.g. "2.5 from 46 % to 60 %", from a
published period (the baseline). When the next period is published, the change of
the criterion is estimated from the two independent samples and the target is
judged:

==============  ==============================================================
``improved``    significantly higher than the baseline
``worse``       significantly lower than the baseline
``no_change``   no detectable change, and the samples had the power to detect
                the targeted change
``too_few``     no detectable change, but the samples were too small to detect
                the targeted change with the chosen power: too few responses to
                tell; ``responses_needed`` says how many the next period needs
``not_tested``  no estimate or standard error in one of the periods
==============  ==============================================================

References
----------
Fleiss, J. L., Tytun, A. and Ury, H. K. (1980), see :mod:`analysis.power`.
Satterthwaite, F. E. (1946), see :mod:`analysis.compare`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .compare import p_value, welch_df
from .intervals import t_quantile
from .power import POWER, power_two_proportions, sample_size_two_proportions

EFFECT_COLUMNS = [
    "baseline",
    "target",
    "estimate",
    "change",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
    "reached",
    "power",
    "responses_needed",
]
EFFECTS = ("improved", "worse", "no_change", "too_few", "not_tested")


def evaluate_targets(
    target: ArrayLike,
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    alpha: float = 0.05,
    power: float = POWER,
) -> pd.DataFrame:
    """Judge improvement targets on the next period's estimates.

    Parameters
    ----------
    target : array_like
        Targeted index of each criterion, in percent.
    before, after : DataFrame
        Row-aligned estimates of the criterion in the baseline and in the next
        period: columns ``estimate``, ``se`` (percent), ``df``, ``n`` and ``n_eff``
        (as in a result table of :func:`~analysis.estimate.indices`).
    alpha : float
        Significance level of the test and one minus the interval's level.
    power : float
        Power below which "no change" reads "too few responses to tell".

    Returns
    -------
    DataFrame
        Columns :data:`EFFECT_COLUMNS`: the change in points with its standard
        error, Welch-Satterthwaite df, interval and two-sided p-value; the verdict
        (:data:`EFFECTS`); whether the target was reached; the power the two
        samples had to detect the targeted change; and, for ``too_few``, the
        responses each period needs for that power (rounded up).

    Notes
    -----
    :math:`d = \\hat p_1 - \\hat p_0`, :math:`SE(d) = \\sqrt{SE_0^2 + SE_1^2}`
    (independent samples), tested with :math:`t` on Welch-Satterthwaite df. The
    power is :func:`~analysis.power.power_two_proportions` of the baseline against
    the target with the effective sizes :math:`n_{eff}` of the two periods;
    ``responses_needed`` is the effective size per period of
    :func:`~analysis.power.sample_size_two_proportions` (two periods of equal
    size), times the design effect :math:`n / n_{eff}` of the latest period: the
    sample a planner asks of each period from now on.
    """
    goal = np.asarray(target, dtype=float)
    base = before["estimate"].to_numpy(float)
    now = after["estimate"].to_numpy(float)
    var0 = before["se"].to_numpy(float) ** 2
    var1 = after["se"].to_numpy(float) ** 2
    change = now - base
    se = np.sqrt(var0 + var1)
    df = welch_df(var0, before["df"].to_numpy(float), var1, after["df"].to_numpy(float))
    p = p_value(change, se, df)
    half = t_quantile(np.where(np.isfinite(df), df, np.inf), alpha) * se
    base_eff = before["n_eff"].to_numpy(float)
    after_eff = after["n_eff"].to_numpy(float)
    detectable = power_two_proportions(
        base / 100, goal / 100, base_eff, after_eff, alpha
    )
    significant = p < alpha
    verdict = np.select(
        [
            np.isnan(p),
            significant & (change > 0),
            significant & (change < 0),
            ~(detectable >= power),
        ],
        ["not_tested", "improved", "worse", "too_few"],
        "no_change",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        design_effect = np.where(
            after_eff > 0, after["n"].to_numpy(float) / after_eff, np.nan
        )
        per_period, _ = sample_size_two_proportions(
            base / 100, goal / 100, alpha=alpha, power=power
        )
        needed = per_period * np.fmax(design_effect, 1.0)
    needed = np.where(
        (verdict == "too_few") & np.isfinite(needed), np.ceil(needed), np.nan
    )
    return pd.DataFrame(
        {
            "baseline": base,
            "target": goal,
            "estimate": now,
            "change": change,
            "se": se,
            "df": df,
            "ci_low": change - half,
            "ci_high": change + half,
            "p_value": p,
            "verdict": verdict.astype(object),
            "reached": now >= goal,
            "power": detectable,
            "responses_needed": needed,
        },
        columns=EFFECT_COLUMNS,
    )
