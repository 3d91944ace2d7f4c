"""Calibration to categorical margins and the GREG variance (Deville and Särndal 1992).

:func:`calibrate` solves the calibration equations by Newton's method as R's
``calibrate(design, ..., calfun = "raking" | "linear")`` (``grake``); the
:class:`GregCalibration` it appends to the design replaces weighted scores by the
residuals of their regression on the calibration variables, which is also the
variance that :func:`~analysis.weights.rake` uses by default.

References
----------
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 7.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(``calibrate``, ``grake``, ``regcalibrate``, ``svyrecvar``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .blocks import CellBlocks
from .margins import (
    AtomResiduals,
    Calibration,
    ConvergenceError,
    as_matrix,
    inverse,
    margin_cells,
)

if TYPE_CHECKING:
    from ..design import Design


class GregCalibration(Calibration):
    """GREG residuals of weighted scores after calibration to categorical margins.

    Parameters
    ----------
    cells : sequence of ndarray of int
        For each margin, the cell code of each row.
    ncells : sequence of int
        Number of cells of each margin.
    base : ndarray
        Weights before calibration, :math:`d_i`.
    weights : ndarray
        Calibrated weights, :math:`w_i = g_i d_i`.
    blocks : CellBlocks, optional
        The cells in blocks (:class:`~analysis.weights.blocks.CellBlocks`), if the
        caller has them already.

    Notes
    -----
    With :math:`M` the ``n x K`` matrix of cell indicators of all margins and
    :math:`D = \\mathrm{diag}(d)`, the residuals of weighted scores :math:`x_i = w_i
    z_i` are

    .. math:: \\tilde x = x - \\mathrm{diag}(w) M \\hat\\beta, \\qquad
              \\hat\\beta = (M^\\top D M)^{-} M^\\top (x / g),

    i.e. :math:`w_i e_i` with :math:`e` the residuals of the :math:`d`-weighted least
    squares regression of :math:`z` on the calibration variables (Deville and Särndal
    1992; Lumley 2010, ch. 7). R's ``svyrecvar`` computes the same as
    ``qr.resid(qr(mm * sqrt(d)), x / (g * sqrt(d))) * g * sqrt(d)`` for a design made
    by ``calibrate``; the indicator matrix spans the same space as R's model matrix
    ``~a*b + a*c``, so the residuals agree.

    :math:`M^\top D M` is block-diagonal, one block per group of cells that share
    respondents (one per unit for margins within units), and is inverted block by
    block (:class:`~analysis.weights.blocks.CellBlocks`): 3,321 communes raked to
    gender and age group need 3,321 inverses of 7 x 7, not one of 23,247 x 23,247.
    """

    def __init__(
        self,
        cells: Sequence[np.ndarray],
        ncells: Sequence[int],
        base: np.ndarray,
        weights: np.ndarray,
        blocks: CellBlocks | None = None,
    ) -> None:
        self.cells = [np.asarray(c, dtype=np.intp) for c in cells]
        self.margin_cells = self.cells
        self.base = np.asarray(base, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.ncells = list(ncells)
        self._given_blocks = blocks
        self._inverse_g = self.base * inverse(self.weights)

    # Built when residuals of rows are first asked for: weights alone never need them.
    @cached_property
    def _blocks(self) -> CellBlocks:
        given = self._given_blocks
        return given if given is not None else CellBlocks(self.cells, self.ncells)

    @cached_property
    def _ginv(self) -> list[np.ndarray]:
        return self._blocks.gram_inverse(self.base)

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the GREG residuals of weighted scores ``x`` (n x k)."""
        xm, shape = as_matrix(x)
        matrix = self._blocks.matrix
        totals = matrix.T @ (xm * self._inverse_g[:, None])
        fitted = matrix @ self._blocks.apply(self._ginv, totals)
        return (xm - self.weights[:, None] * fitted).reshape(shape)

    def atom_keys(self) -> list[np.ndarray]:
        return [*self.cells, self.base, self.weights]

    def on_atoms(self, atom: np.ndarray, first: np.ndarray) -> AtomResiduals:
        return _GregOnAtoms(self, atom, first)


class _GregOnAtoms(AtomResiduals):
    """GREG residuals for sums over atoms: :math:`\\hat\\beta` needs only
    :math:`M^\\top (x / g)`, and :math:`M`, :math:`g` and :math:`w` are constant on
    an atom, so :math:`\\tilde X_a = X_a - W_a (M \\hat\\beta)_a` with
    :math:`W_a = \\sum_{i \\in a} w_i`."""

    def __init__(self, greg: GregCalibration, atom: np.ndarray, first: np.ndarray):
        def summed(values: np.ndarray) -> np.ndarray:
            return np.bincount(atom, weights=values, minlength=len(first))

        # M'DM is the same summed over atoms, whose rows share their cells
        self._blocks = CellBlocks([c[first] for c in greg.cells], greg.ncells)
        self._ginv = self._blocks.gram_inverse(summed(greg.base))
        self._inverse_g = greg._inverse_g[first]
        self._weights = summed(greg.weights)

    def residualize(self, x: np.ndarray) -> np.ndarray:
        matrix = self._blocks.matrix
        totals = matrix.T @ (x * self._inverse_g)
        fitted = matrix @ self._blocks.apply(self._ginv, totals[:, None])
        return x - self._weights * fitted[:, 0]


def calibrate(
    design: Design,
    frame: pd.DataFrame,
    margins: Sequence[pd.DataFrame],
    *,
    calfun: Literal["raking", "linear"] = "raking",
    epsilon: float = 1e-7,
    maxit: int = 50,
) -> Design:
    """Calibrate a design to categorical margins (Deville and Särndal 1992).

    Parameters
    ----------
    design : Design
        The design whose weights are adjusted.
    frame : DataFrame
        The responses, row-aligned with ``design``.
    margins : sequence of DataFrame
        Margins as in :func:`rake`.
    calfun : {"raking", "linear"}
        Calibration distance: ``"raking"`` gives :math:`g = \\exp(x^\\top\\lambda)`,
        ``"linear"`` the GREG weights :math:`g = 1 + x^\\top\\lambda` (which can be
        negative).
    epsilon : float
        Convergence when every cell satisfies
        :math:`|N_c - \\hat N_c| / (1 + N_c) < \\epsilon` (R's ``grake`` rule).
    maxit : int
        Maximum number of Newton steps.

    Returns
    -------
    Design
        The calibrated design with a :class:`GregCalibration` appended.

    Raises
    ------
    WeightingError
        If the margins disagree or a margin cell has no respondents.
    ConvergenceError
        If the calibration equations are not solved within ``maxit`` steps.

    Notes
    -----
    With :math:`M` the cell indicators of all margins and :math:`N` the population
    totals, Newton's method solves :math:`M^\\top (d \\cdot g(M\\lambda)) = N`:

    .. math:: \\lambda \\leftarrow \\lambda + (M^\\top \\mathrm{diag}(d\\,g') M)^{-}
              \\bigl(N - M^\\top (d\\,g)\\bigr),

    as R's ``grake`` (which uses ``MASS::ginv``), with the generalised inverse
    taken block by block (see :class:`GregCalibration`). The linear case is solved
    in one step, as R's ``regcalibrate``.
    """
    if calfun not in ("raking", "linear"):
        raise ValueError(f"calfun must be 'raking' or 'linear', not {calfun!r}")
    base = np.asarray(design.weights, dtype=float)
    cells, pops = margin_cells(frame, margins, base)
    ncells = [len(p) for p in pops]
    blocks = CellBlocks(cells, ncells)
    matrix = blocks.matrix
    population = np.concatenate(pops)

    if calfun == "linear":
        lam = blocks.solve(base, population - matrix.T @ base)
        g = 1.0 + matrix @ lam
    else:
        lam = np.zeros(population.shape[0])
        g = np.ones_like(base)
        for _ in range(maxit):
            misfit = population - matrix.T @ (base * g)
            if np.all(np.abs(misfit) / (1.0 + np.abs(population)) < epsilon):
                break
            lam = lam + blocks.solve(base * g, misfit)
            g = np.exp(matrix @ lam)
        else:
            achieved = np.max(np.abs(misfit) / (1.0 + np.abs(population)))
            raise ConvergenceError(
                f"calibration did not converge in {maxit} steps: largest relative "
                f"misfit {achieved:.3g} (tolerance {epsilon:.3g})"
            )
    w = base * g
    calibration = GregCalibration(cells, ncells, base, w, blocks=blocks)
    return design.with_weights(w, calibration=calibration)
