"""Calibration cells in blocks that share no respondent: block-diagonal solves.

Calibration to categorical margins solves normal equations in the cell indicators
:math:`M` (``n x K``, one column per cell of every margin):
:math:`(M^\\top V M)\\,\\beta = t` with :math:`V` a diagonal of weights. Two cells
are coupled only if some respondent lies in both, so the matrix is block-diagonal,
one block per connected group of cells. Margins within units (unit x gender and
unit x age group for each of 3,321 communes: 23,247 cells) give one small block per
unit (7 x 7), and the solve costs what the blocks cost, instead of a dense
``K x K`` matrix (4.3 GB, and a pseudo-inverse of cubic cost).

Blocks of the same size are stacked and inverted together (``np.linalg.pinv``
works on stacks), so the loops run over the distinct block sizes, never over units.
A margin that crosses units (gender for the whole province, say) joins every block
it touches into one, which is then as large as before: the cost follows the
structure of the margins.

The inverse of a block-diagonal matrix is the block-diagonal matrix of the blocks'
inverses, and so is any generalised inverse built block by block; the fitted values
:math:`M\\beta` do not depend on which generalised inverse is used (the cells of two
margins of one unit are linearly dependent: both sum to the unit). So the residuals,
and the variances, are those of the dense computation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .margins import indicator_matrix

#: Relative tolerance of the rank decision of a block scaled to unit diagonal.
RANK_TOLERANCE = 1e-10


def cell_matrix(cells: Sequence[np.ndarray], ncells: Sequence[int]) -> sparse.csr_array:
    """Sparse ``n x K`` matrix of the cell indicators of all margins side by side."""
    blocks = [
        indicator_matrix(np.asarray(c, dtype=np.intp), k)
        for c, k in zip(cells, ncells, strict=True)
    ]
    return sparse.vstack(blocks).T.tocsr()


def scaled_pinv(stack: np.ndarray) -> np.ndarray:
    """Pseudo-inverses of symmetric positive semi-definite matrices, ``(..., s, s)``.

    Each matrix is scaled to unit diagonal first, so that the rank decision
    (relative tolerance :data:`RANK_TOLERANCE`) does not depend on the size of the
    weights; the cell indicators of several margins are linearly dependent (e.g.
    unit x gender and unit x age both sum to unit), and any generalised inverse
    gives the same fitted values, as R's ``qr`` and ``MASS::ginv`` do.
    """
    diag = np.diagonal(stack, axis1=-2, axis2=-1).copy()
    diag[diag <= 0] = 1.0
    scale = 1.0 / np.sqrt(diag)
    outer = scale[..., :, None] * scale[..., None, :]
    inner = np.linalg.pinv(stack * outer, rtol=RANK_TOLERANCE, hermitian=True)
    return inner * outer


@dataclass(frozen=True)
class _Group:
    """The blocks of one size ``s``: their cells, ``(B, s)``, in block order."""

    cells: np.ndarray


class CellBlocks:
    """The cells of all margins, in blocks that share no respondent.

    Parameters
    ----------
    cells : sequence of ndarray of int
        For each margin, the cell code of each row.
    ncells : sequence of int
        Number of cells of each margin.

    Attributes
    ----------
    matrix : scipy.sparse.csr_array, shape (n, K)
        The cell indicators :math:`M` of all margins side by side.
    block : ndarray of int, shape (K,)
        Block of each cell.
    """

    def __init__(self, cells: Sequence[np.ndarray], ncells: Sequence[int]) -> None:
        self.matrix = cell_matrix(cells, ncells)
        ncell = self.matrix.shape[1]
        # cells are coupled where some row lies in both: the pattern of M'M
        pattern = (self.matrix.T @ self.matrix).tocsr()
        nblocks, self.block = csgraph.connected_components(pattern, directed=False)
        size = np.bincount(self.block, minlength=nblocks)
        order = np.argsort(self.block, kind="stable")  # cells, block by block
        start = np.concatenate([[0], np.cumsum(size)[:-1]])
        self.position = np.empty(ncell, dtype=np.intp)  # within its block
        self.position[order] = np.arange(ncell) - start[self.block[order]]
        self._slot = np.empty(nblocks, dtype=np.intp)  # of the block in its group
        self._group_of = np.empty(nblocks, dtype=np.intp)
        self.groups: list[_Group] = []
        for g, s in enumerate(np.unique(size)):  # distinct block sizes, not blocks
            members = np.flatnonzero(size == s)
            self._group_of[members] = g
            self._slot[members] = np.arange(len(members))
            self.groups.append(_Group(order[start[members, None] + np.arange(s)]))

    def gram_inverse(self, weights: np.ndarray) -> list[np.ndarray]:
        """Generalised inverses of the blocks of :math:`M^\\top \\mathrm{diag}(v) M`.

        Parameters
        ----------
        weights : ndarray, shape (n,)
            The weights :math:`v` of the rows.

        Returns
        -------
        list of ndarray
            One stack ``(B, s, s)`` per group of blocks of size ``s``
            (:func:`scaled_pinv` of each block).
        """
        gram = (self.matrix.T @ (self.matrix * weights[:, None])).tocoo()
        row, column, value = gram.row, gram.col, gram.data
        block = self.block[row]
        group = self._group_of[block]
        stacks = []
        for g, members in enumerate(self.groups):  # block sizes
            s = members.cells.shape[1]
            stack = np.zeros((len(members.cells), s, s))
            here = group == g
            stack[
                self._slot[block[here]],
                self.position[row[here]],
                self.position[column[here]],
            ] = value[here]
            stacks.append(scaled_pinv(stack))
        return stacks

    def apply(self, inverses: list[np.ndarray], rhs: np.ndarray) -> np.ndarray:
        """Multiply ``rhs`` (``K x k``) by the block-diagonal inverse, block by block.

        Parameters
        ----------
        inverses : list of ndarray
            From :meth:`gram_inverse`.
        rhs : ndarray, shape (K, k)

        Returns
        -------
        ndarray, shape (K, k)
        """
        rhs = np.asarray(rhs, dtype=float)
        out = np.zeros_like(rhs)
        for members, stack in zip(self.groups, inverses, strict=True):  # block sizes
            out[members.cells] = stack @ rhs[members.cells]
        return out

    def solve(self, weights: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """:math:`(M^\\top \\mathrm{diag}(v) M)^{-}\\,t` for ``rhs`` :math:`t` (K,)."""
        rhs = np.asarray(rhs, dtype=float)
        return self.apply(self.gram_inverse(weights), rhs[:, None])[:, 0]
