"""Post-stratification to known population counts (R's ``postStratify``).

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 7.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(``postStratify``, ``svyrecvar``).
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer, ch. 14.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .margins import (
    Calibration,
    SweepsOnAtoms,
    as_matrix,
    indicator_matrix,
    inverse,
    margin_cells,
    select,
)

if TYPE_CHECKING:
    from ..design import Design


class PostStratification(Calibration):
    """Residuals of weighted scores after post-stratification.

    Parameters
    ----------
    cells : ndarray of int
        Post-stratum code of each row, ``0 .. G-1``.
    weights : ndarray
        Weights after post-stratification (R: ``attr(index, "weights")``).
    oldweights : ndarray
        Weights before post-stratification (R: ``attr(index, "oldweights")``).

    Notes
    -----
    For weighted scores :math:`x_i = w_i z_i` and post-strata :math:`g`,

    .. math:: \\tilde x_i = x_i - w_i \\,
              \\frac{\\sum_{j \\in g(i)} x_j d_j / w_j}{\\sum_{j \\in g(i)} d_j},

    with :math:`d` the old and :math:`w` the new weights; as :math:`w_j / d_j` is
    constant in a post-stratum this is :math:`w_i (z_i - \\bar z_{g(i)})` with the
    weighted post-stratum mean :math:`\\bar z_g`. This is R's ``svyrecvar`` for a
    ``postStratify`` design in survey 4.1-1, including its rule that rows whose old
    and new weights are both zero divide by one. (The unweighted cell mean of
    :math:`x / w`, which R still uses for ``rake()`` designs, see
    :class:`RakingCalibration`, differs when the old weights vary within a cell.)
    """

    def __init__(
        self, cells: np.ndarray, weights: np.ndarray, oldweights: np.ndarray
    ) -> None:
        self.cells = np.asarray(cells, dtype=np.intp)
        self.margin_cells = [self.cells]
        self.weights = np.asarray(weights, dtype=float)
        self.oldweights = np.asarray(oldweights, dtype=float)
        ngroups = int(self.cells.max()) + 1 if self.cells.size else 0
        self._indicator = indicator_matrix(self.cells, ngroups)
        psw = self.weights.copy()
        psw[(psw == 0) & (self.oldweights == 0)] = 1.0
        self._psw = psw
        self._ratio = self.oldweights / psw
        old_total = np.bincount(self.cells, weights=self.oldweights, minlength=ngroups)
        self._inverse_total = inverse(old_total)

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the post-stratification residuals of weighted scores ``x`` (n x k)."""
        xm, shape = as_matrix(x)
        means = (self._indicator @ (xm * self._ratio[:, None])) * self._inverse_total[
            :, None
        ]
        return (xm - means[self.cells] * self._psw[:, None]).reshape(shape)

    def atom_keys(self) -> list[np.ndarray]:
        return [self.cells, self._ratio, self._psw]

    def on_atoms(self, atom: np.ndarray, first: np.ndarray) -> SweepsOnAtoms:
        return SweepsOnAtoms.of(
            atom, first, [self.cells], [self._ratio], [self._inverse_total], [self._psw]
        )


def post_stratify(
    design: Design,
    frame: pd.DataFrame,
    by: str | Sequence[str],
    population: pd.DataFrame,
) -> Design:
    """Post-stratify a design to known population counts.

    Parameters
    ----------
    design : Design
        The design whose weights are adjusted.
    frame : DataFrame
        The responses, row-aligned with ``design``, with the columns ``by``.
    by : str or sequence of str
        Post-stratification variables, e.g. ``["unit", "gender"]``.
    population : DataFrame
        Columns ``by`` and ``population``, one row per post-stratum.

    Returns
    -------
    Design
        The design with the new weights and a :class:`PostStratification` appended
        to its calibrations.

    Raises
    ------
    WeightingError
        If a post-stratum with a population has no respondents, a response falls
        in no post-stratum, or respondents fall in a post-stratum of size zero.

    Notes
    -----
    :math:`w_i = d_i N_g / \\hat N_g` with :math:`\\hat N_g = \\sum_{j \\in g} d_j`,
    as R's ``postStratify(design, ~a+b, population)``; the variance uses the
    residuals described in :class:`PostStratification` (Lumley 2010, ch. 7).
    """
    margin = select(population, by)
    old = np.asarray(design.weights, dtype=float)
    codes, pop = margin_cells(frame, [margin], old)
    codes, pop = codes[0], pop[0]
    total = np.bincount(codes, weights=old, minlength=len(pop))
    factor = np.divide(pop, total, out=np.zeros_like(pop), where=total > 0)
    new = old * factor[codes]
    return design.with_weights(new, calibration=PostStratification(codes, new, old))
