"""Grouped sums: the one primitive behind every estimate, variance and weight.

Statistics over units, strata, PSUs or calibration cells are sums of row values by a
group code. They are formed with ``np.bincount`` or with a sparse "summer" matrix
(one row per group, a one in the columns of its members), never with a Python loop
over groups; the loops below run over a handful of indicators or criteria.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


def bincount_rows(
    group: np.ndarray,
    values: np.ndarray,
    size: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Grouped sums of the rows of ``values`` (k, m) times ``weights``: (k, size)."""
    out = np.empty((len(values), size))
    for row, v in zip(out, values, strict=True):  # a few indicators, not groups
        row[:] = np.bincount(
            group, weights=v if weights is None else weights * v, minlength=size
        )
    return out


def sum_matrix(codes: np.ndarray, size: int) -> sparse.csr_array:
    """Sparse ``size x m`` matrix ``S`` with ``S @ v`` the sums of ``v`` by code.

    Codes usually come in runs (rows sorted by unit, PSU or stratum), where
    ``np.bincount`` stalls on adding into the same bin again and again; the sparse
    product sums each group in a register and is several times faster.
    """
    codes = np.asarray(codes, dtype=np.intp)
    order = np.argsort(codes, kind="stable")
    indptr = np.zeros(size + 1, dtype=np.intp)
    np.cumsum(np.bincount(codes, minlength=size), out=indptr[1:])
    ones = np.ones(len(codes))
    return sparse.csr_array((ones, order, indptr), shape=(size, len(codes)))


def sum_rows(
    matrix: sparse.csr_array, values: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``matrix @ (weights * v)`` for each row ``v`` of ``values`` (k, m): (k, size).

    ``matrix`` is a :func:`sum_matrix`.
    """
    out = np.empty((len(values), matrix.shape[0]))
    for row, v in zip(out, values, strict=True):  # a few indicators, not groups
        row[:] = matrix @ (v * weights if weights is not None else v.astype(float))
    return out
