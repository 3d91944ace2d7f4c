"""The counter channel against the sampled channel: how far self-selection drifts.

A period can collect through two channels at once: the QR code at the counter
(self-selected feedback, answered under the eyes of the official who served the
citizen) and single-use invitations drawn from the register (a probability sample).
They are estimated separately, never pooled, and for every unit with both the
difference **counter - sample** is reported with its standard error and a test.

The two channels are independent samples (different respondents, different PSUs), so
:math:`\\widehat V(\\hat\\theta_c - \\hat\\theta_s) = \\widehat V_c + \\widehat V_s`,
tested with Welch-Satterthwaite degrees of freedom, exactly as two periods are
compared (:func:`~analysis.compare.compare_periods`). A citizen who answers at the
counter and is also sampled would make them slightly dependent; with samples of a few
per cent of the dossiers this is negligible and ignored.

References
----------
Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
components. *Biometrics Bulletin* 2, 110-114.
Korn, E. L. and Graubard, B. I. (1999). *Analysis of Health Surveys*. Wiley, sec. 5.3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .compare import compare_periods, verdicts

#: How the sampled channel is named in the statements.
SAMPLE_NAME = "the sampled channel"


def compare_channels(
    counter: pd.DataFrame, sample: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Counter minus sample, per unit and indicator present in both channels.

    Parameters
    ----------
    counter, sample : DataFrame
        Result tables of the two channels (columns ``unit``, ``indicator``,
        ``estimate``, ``se``, ``df``, in percent), e.g. from
        :func:`~analysis.estimate.index_table`.
    alpha : float
        Significance level of the verdicts.

    Returns
    -------
    DataFrame
        Columns :data:`~analysis.compare.COMPARE_COLUMNS` with ``kind="channel"``,
        ``reference="sample"``: ``estimate`` is the counter's, ``reference_estimate``
        the sample's and ``difference`` = counter - sample; ``verdict`` ``above`` means
        the counter stream is significantly higher than the sample.

    Notes
    -----
    :math:`d = \\hat\\theta_c - \\hat\\theta_s`,
    :math:`SE(d) = \\sqrt{SE_c^2 + SE_s^2}`, two-sided t test with
    :math:`\\nu = (V_c + V_s)^2 / (V_c^2/\\nu_c + V_s^2/\\nu_s)` degrees of freedom.
    """
    table = compare_periods(counter, sample, alpha=alpha)
    names = np.full(len(table), SAMPLE_NAME, dtype=object)
    code, text = verdicts(table["difference"], table["p_value"], names, alpha=alpha)
    return table.assign(
        kind="channel", reference="sample", verdict=code, statement=text
    )
