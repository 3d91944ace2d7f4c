"""Pooled estimates over several periods for units too small to read on their own.

A commune with 37 responses a quarter learns little from one quarter: its criterion
intervals are 30 points wide. Cumulating its last :math:`k` periods (Kish 1999)
gives it an estimate it can act on, for the average of those periods rather than
for the latest one, and always labelled as such.

The periods are independent samples, so their responses are stacked into one sample
whose strata are (period, stratum) and whose PSUs are (period, PSU): the usual
estimators on the stacked sample give the pooled ratio

.. math:: \\hat R^{pool}_{dk} = \\frac{\\sum_t \\hat Y_{tdk}}{\\sum_t \\hat A_{tdk}}

(each period weighted by its estimated population of answers; with unit weights,
by its number of answers) with the variance of a stratified design in which the
periods add up, :math:`V = \\sum_t V_t` for the totals. Each period keeps its own
weights and its own calibration, which residualises that period's rows only
(:class:`StackedCalibration`), so the stacked variance equals the sum of what each
period's design gives.

References
----------
Kish, L. (1999). Cumulating/combining population surveys. *Survey Methodology* 25,
129-138.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, sec. 2.2
(strata) and 7.4 (calibration).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .design import Design, DesignError

#: Column of a stacked frame that says which period a row comes from.
PERIOD = "period"


class StackedCalibration:
    """The calibrations of stacked periods, each acting on its own period's rows.

    Parameters
    ----------
    bounds : sequence of int
        Row offsets of the periods in the stacked frame, ``k + 1`` values.
    calibrations : sequence of tuple
        Each period's calibrations, oldest first (``Design.calibrations``).

    Notes
    -----
    The residualising operator of the stacked sample is block-diagonal: period
    :math:`t`'s rows are residualised by its own calibrations and no others, as the
    periods were calibrated separately.
    """

    def __init__(self, bounds: Sequence[int], calibrations: Sequence[tuple]) -> None:
        self.bounds = np.asarray(bounds, dtype=np.intp)
        self.calibrations = tuple(tuple(c) for c in calibrations)

    def _parts(self):
        return zip(self.bounds[:-1], self.bounds[1:], self.calibrations, strict=True)

    def residualize(self, x: np.ndarray) -> np.ndarray:
        """Residuals of weighted scores ``x`` (n or n x k), period by period."""
        out = np.array(x, dtype=float, copy=True)
        for lo, hi, steps in self._parts():  # periods, a handful
            for calibration in steps:
                part = np.asarray(calibration.residualize(out[lo:hi]), dtype=float)
                out[lo:hi] = part.reshape(out[lo:hi].shape)
        return out

    def nests_within(self, groups: np.ndarray) -> bool:
        """Whether every period's calibration cells lie within ``groups``."""
        groups = np.asarray(groups)
        for lo, hi, steps in self._parts():
            for calibration in steps:
                nests = getattr(calibration, "nests_within", None)
                if nests is None or not nests(groups[lo:hi]):
                    return False
        return True


def stack_periods(
    parts: Sequence[tuple[str, pd.DataFrame, Design]],
) -> tuple[pd.DataFrame, Design]:
    """Stack the responses and designs of several periods into one sample.

    Parameters
    ----------
    parts : sequence of (label, frame, design)
        Each period's label, response frame and row-aligned design, e.g. the last
        :math:`k` periods of one questionnaire version.

    Returns
    -------
    frame : DataFrame
        The frames one after the other (columns of the first), with a column
        ``period`` holding the label; the index runs ``0 .. n-1``.
    design : Design
        Strata (period, stratum), PSUs (period, PSU), the periods' weights and
        finite population corrections, and their calibrations as one
        :class:`StackedCalibration`.

    Raises
    ------
    DesignError
        With no periods, a repeated label, designs of another length than their
        frames, frames with other columns than the first, or different lonely-PSU
        rules.

    Notes
    -----
    See the module notes. A period without a finite population correction gets an
    infinite population (no correction) in the stacked design.
    """
    if not parts:
        raise DesignError("no periods to pool")
    labels = [str(label) for label, _, _ in parts]
    if len(set(labels)) != len(labels):
        raise DesignError("each pooled period needs its own label")
    columns = list(parts[0][1].columns)
    for label, frame, design in parts:
        if len(frame) != len(design.weights):
            raise DesignError(
                f"period {label}: the design and the frame differ in length"
            )
        if sorted(frame.columns) != sorted(columns):
            raise DesignError(f"period {label} has other columns than {labels[0]}")
    rules = {design.lonely_psu for _, _, design in parts}
    if len(rules) > 1:
        raise DesignError("pooled periods must share their lonely-PSU rule")

    designs = [design for _, _, design in parts]
    sizes = np.array([len(d.weights) for d in designs])
    strata = np.array([d.n_strata for d in designs])
    psus = np.array([d.n_psu for d in designs])
    stratum_offset = np.r_[0, np.cumsum(strata)[:-1]]
    psu_offset = np.r_[0, np.cumsum(psus)[:-1]]
    frame = pd.concat([f[columns] for _, f, _ in parts], ignore_index=True).assign(
        **{PERIOD: np.repeat(labels, sizes)}
    )
    fpc = None
    if any(d.fpc is not None for d in designs):
        fpc = np.concatenate(
            [
                d.fpc if d.fpc is not None else np.full(d.n_strata, np.inf)
                for d in designs
            ]
        )
    calibrations = ()
    if any(d.calibrations for d in designs):
        bounds = np.r_[0, np.cumsum(sizes)]
        calibrations = (StackedCalibration(bounds, [d.calibrations for d in designs]),)
    design = Design(
        weights=np.concatenate([d.weights for d in designs]),
        stratum=np.concatenate(
            [d.stratum + o for d, o in zip(designs, stratum_offset, strict=True)]
        ),
        psu=np.concatenate(
            [d.psu + o for d, o in zip(designs, psu_offset, strict=True)]
        ),
        psu_stratum=np.concatenate(
            [d.psu_stratum + o for d, o in zip(designs, stratum_offset, strict=True)]
        ),
        fpc=fpc,
        lonely_psu=designs[0].lonely_psu,
        calibrations=calibrations,
        stratum_labels=_labels(labels, [d.stratum_labels for d in designs], strata),
        psu_labels=_labels(labels, [d.psu_labels for d in designs], psus),
    )
    return frame, design


def _labels(
    periods: list[str], labels: list[np.ndarray | None], counts: np.ndarray
) -> np.ndarray:
    """``"period|label"`` for every stratum or PSU (its code where labels are None)."""
    return np.concatenate(
        [
            np.char.add(
                f"{period}|",
                (np.arange(count) if values is None else np.asarray(values)).astype(
                    str
                ),
            )
            for period, values, count in zip(periods, labels, counts, strict=True)
        ]
    ).astype(object)
