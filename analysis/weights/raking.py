"""Raking by iterative proportional fitting (Deming and Stephan 1940).

:func:`rake` reaches the raking-ratio calibration weights of Deville and Särndal
(1992); its variance is the GREG variance of :class:`~analysis.weights.greg.
GregCalibration` (R's ``calibrate(calfun = "raking")``) or, to reproduce R's
``rake()``, the backfitted residuals of :class:`RakingCalibration`.

References
----------
Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a sampled
frequency table when the expected marginal totals are known. *Annals of Mathematical
Statistics* 11, 427-444.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(``rake``, ``calibrate``, ``svyrecvar``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .greg import GregCalibration
from .margins import (
    Calibration,
    ConvergenceError,
    SweepsOnAtoms,
    as_matrix,
    cell_codes,
    indicator_matrix,
    inverse,
    margin_cells,
    margin_variables,
)

if TYPE_CHECKING:
    from ..design import Design


#: Passes of the backfitting that R's ``svyrecvar`` runs for a ``rake()`` design.
RAKE_VARIANCE_PASSES = 10


class RakingCalibration(Calibration):
    """Residuals of weighted scores as R's ``svyrecvar`` computes them for ``rake()``.

    Parameters
    ----------
    cells : sequence of ndarray of int
        For each margin, the cell code of each row.
    weights : sequence of ndarray
        For each margin, the weights right after it was matched in the last raking
        pass (R stores them as ``attr(margin, "weights")``).
    passes : int
        Number of backfitting passes (R uses 10).

    Notes
    -----
    R approximates the projection on all margins by backfitting: ``passes`` times,
    for each margin :math:`m` in turn,

    .. math:: x_i \\leftarrow x_i - w^{(m)}_i \\,
              \\operatorname{mean}_{j \\in c_m(i)}\\bigl(x_j / w^{(m)}_j\\bigr),

    with the unweighted mean over the cell :math:`c_m(i)`. Use this only to reproduce
    ``rake()``; :class:`GregCalibration` is the exact GREG projection.
    """

    def __init__(
        self,
        cells: Sequence[np.ndarray],
        weights: Sequence[np.ndarray],
        passes: int = RAKE_VARIANCE_PASSES,
    ) -> None:
        self.cells = [np.asarray(c, dtype=np.intp) for c in cells]
        self.margin_cells = self.cells
        self.weights = [np.asarray(w, dtype=float) for w in weights]
        self.passes = passes
        self._indicators = [indicator_matrix(c, int(c.max()) + 1) for c in self.cells]
        self._inverse_counts = [
            inverse(np.bincount(c, minlength=m.shape[0]).astype(float))
            for c, m in zip(self.cells, self._indicators, strict=True)
        ]
        self._inverse_weights = [inverse(w) for w in self.weights]

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the backfitted raking residuals of weighted scores ``x`` (n x k)."""
        xm, shape = as_matrix(x)
        xm = xm.copy()
        margins = list(
            zip(
                self.cells,
                self._indicators,
                self._inverse_counts,
                self.weights,
                self._inverse_weights,
                strict=True,
            )
        )
        for _ in range(self.passes):
            for cells, ind, inv_n, psw, inv_w in margins:
                means = (ind @ (xm * inv_w[:, None])) * inv_n[:, None]
                xm -= psw[:, None] * means[cells]
        return xm.reshape(shape)

    def atom_keys(self) -> list[np.ndarray]:
        return [*self.cells, *self.weights]

    def on_atoms(self, atom: np.ndarray, first: np.ndarray) -> SweepsOnAtoms:
        return SweepsOnAtoms.of(
            atom, first, self.cells, self._inverse_weights, self._inverse_counts,
            self.weights, self.passes,
        )  # fmt: skip


def _tolerance(epsilon: float, weights: np.ndarray) -> float:
    return epsilon * float(weights.sum()) if epsilon < 1 else float(epsilon)


def rake(
    design: Design,
    frame: pd.DataFrame,
    margins: Sequence[pd.DataFrame],
    *,
    epsilon: float = 1e-10,
    maxit: int = 100,
    variance: Literal["greg", "rake"] = "greg",
) -> Design:
    """Rake a design to several margins by iterative proportional fitting.

    Parameters
    ----------
    design : Design
        The design whose weights are adjusted.
    frame : DataFrame
        The responses, row-aligned with ``design``.
    margins : sequence of DataFrame
        Each margin has variable columns and ``population``, e.g. one with
        ``unit, gender, population`` and one with ``unit, age_group, population``
        (R: ``sample.margins = list(~unit+gender, ~unit+age_group)``).
    epsilon : float
        Convergence tolerance as in R's ``rake``: a pass has converged when no cell
        of the cross-classification of all margin variables changed its weighted
        total by ``epsilon`` or more; a value below 1 is a fraction of the sum of
        the starting weights. R's default is 1 (in weight units); the default here
        is tight enough to reach the exact raking solution.
    maxit : int
        Maximum number of passes over all margins (R's default is 10).
    variance : {"greg", "rake"}
        ``"greg"`` (default) appends a :class:`GregCalibration`, the variance of
        R's ``calibrate(..., calfun="raking")``; ``"rake"`` appends a
        :class:`RakingCalibration`, reproducing R's ``rake()``.

    Returns
    -------
    Design
        The raked design.

    Raises
    ------
    WeightingError
        If the margins disagree, or a margin cell with a population has no
        respondents.
    ConvergenceError
        If the weights have not converged after ``maxit`` passes (R only warns).

    Notes
    -----
    Each pass post-stratifies to every margin in turn,
    :math:`w_i \\leftarrow w_i N_{m,c} / \\sum_{j \\in c} w_j` for the cell
    :math:`c` of margin :math:`m` containing :math:`i` (Deming and Stephan 1940).
    At convergence the weights are the raking-ratio calibration weights
    :math:`w_i = d_i \\exp(x_i^\\top \\lambda)` of Deville and Särndal (1992), the same
    as R's ``calibrate(calfun="raking")``.
    """
    if variance not in ("greg", "rake"):
        raise ValueError(f"variance must be 'greg' or 'rake', not {variance!r}")
    base = np.asarray(design.weights, dtype=float)
    cells, pops = margin_cells(frame, margins, base)
    variables = list(dict.fromkeys(v for m in margins for v in margin_variables(m)))
    full, _ = cell_codes(frame[variables].reset_index(drop=True))
    tolerance = _tolerance(epsilon, base)

    w = base.copy()
    table = np.bincount(full, weights=w)
    delta = np.inf
    for _ in range(maxit):
        stored = []
        for codes, pop in zip(cells, pops, strict=True):
            total = np.bincount(codes, weights=w, minlength=len(pop))
            factor = np.divide(pop, total, out=np.zeros_like(pop), where=total > 0)
            w = w * factor[codes]
            stored.append(w)
        new_table = np.bincount(full, weights=w, minlength=table.shape[0])
        delta = float(np.max(np.abs(new_table - table)))
        table = new_table
        if delta < tolerance:
            break
    else:
        raise ConvergenceError(
            f"raking did not converge in {maxit} passes: a cell total still changed "
            f"by {delta:.3g} in the last pass (tolerance {tolerance:.3g}); allow "
            "more passes or merge sparse cells"
        )
    if variance == "greg":
        calibration: object = GregCalibration(cells, [len(p) for p in pops], base, w)
    else:
        calibration = RakingCalibration(cells, stored)
    return design.with_weights(w, calibration=calibration)
