"""Margins and cells: matching responses to population tables, shared by every step.

A margin (or population table) is a DataFrame whose columns other than
``population`` name variables of the response frame; each row is a cell and its
population total, as the ``Freq`` column of a population data frame in R. This module
finds the cell of every response, checks the tables (missing or duplicated cells,
cells with a population but no respondents, margins that disagree) and holds the
small array helpers of the weighting steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse

POPULATION = "population"


class WeightingError(ValueError):
    """A weighting step cannot be carried out on these data."""


class ConvergenceError(WeightingError):
    """An iterative weighting step did not converge within its iteration limit."""


def as_list(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def indicator_matrix(codes: np.ndarray, ngroups: int) -> sparse.csr_array:
    """Sparse ``ngroups x n`` matrix with a one in row ``codes[i]`` of column ``i``."""
    n = codes.shape[0]
    return sparse.csr_array((np.ones(n), (codes, np.arange(n))), shape=(ngroups, n))


def inverse(values: np.ndarray) -> np.ndarray:
    """``1 / values`` with zero where ``values`` is zero (cells without weight)."""
    return np.divide(1.0, values, out=np.zeros_like(values), where=values != 0)


def as_matrix(x: ArrayLike) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = np.asarray(x, dtype=float)
    return arr.reshape(arr.shape[0], -1), arr.shape


def cells_within(cells: Sequence[np.ndarray], groups: np.ndarray) -> bool:
    """Whether every cell of every margin lies within one group (e.g. one unit)."""
    groups = np.asarray(groups)
    for codes in cells:
        group_of_cell = np.zeros(
            int(codes.max()) + 1 if codes.size else 0, groups.dtype
        )
        group_of_cell[codes] = groups  # any row's group; checked next
        if not np.array_equal(group_of_cell[codes], groups):
            return False
    return True


def describe(keys: pd.DataFrame, rows: np.ndarray, limit: int = 5) -> str:
    shown = [
        ", ".join(f"{col}={keys.iloc[i][col]}" for col in keys.columns)
        for i in rows[:limit]
    ]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(shown) + more


def cell_codes(cells: ArrayLike | pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer cell code per row and the table of cells, for one or more columns."""
    frame = cells if isinstance(cells, pd.DataFrame) else pd.DataFrame({"cell": cells})
    if frame.isna().to_numpy().any():
        raise WeightingError("cell variables have missing values")
    grouped = frame.groupby(list(frame.columns), sort=True)
    codes = grouped.ngroup().to_numpy()
    return codes, grouped.size().index.to_frame(index=False)


def _align(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Make the values of a frame column and a margin column comparable."""
    if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
        return left.astype(float), right.astype(float)
    if left.dtype != right.dtype:
        return left.astype(str), right.astype(str)
    return left, right


def select(population: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """The columns ``by`` and ``population`` of a population table, checked."""
    columns = [*as_list(by), POPULATION]
    missing = [c for c in columns if c not in population.columns]
    if missing:
        raise WeightingError(
            f"the population table needs columns {columns}; missing {missing}"
        )
    return population[columns]


def margin_variables(margin: pd.DataFrame) -> list[str]:
    variables = [c for c in margin.columns if c != POPULATION]
    if POPULATION not in margin.columns or not variables:
        raise WeightingError(
            f"a margin needs a {POPULATION!r} column and at least one variable; "
            f"got columns {list(margin.columns)}"
        )
    return variables


def lookup(frame: pd.DataFrame, margin: pd.DataFrame) -> np.ndarray:
    """Row of ``margin`` (a cell) that each row of ``frame`` falls in.

    Raises :class:`WeightingError` for missing variables, missing values, duplicated
    cells, invalid population totals and rows that fall in no cell.
    """
    variables = margin_variables(margin)
    name = "margin (" + ", ".join(variables) + ")"
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise WeightingError(f"{name}: the responses have no column {missing}")
    values = frame[variables].reset_index(drop=True)
    if values.isna().to_numpy().any():
        raise WeightingError(f"{name}: some responses have no value for {variables}")
    keys = margin[variables].reset_index(drop=True)
    if keys.duplicated().any():
        dup = np.flatnonzero(keys.duplicated().to_numpy())
        raise WeightingError(f"{name}: duplicated cells {describe(keys, dup)}")
    population = pd.to_numeric(margin[POPULATION], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(population) & (population >= 0)):
        raise WeightingError(f"{name}: population totals must be numbers >= 0")
    left, right = {}, {}
    for v in variables:
        left[v], right[v] = _align(values[v], keys[v])
    index = pd.MultiIndex.from_frame(pd.DataFrame(right))
    codes = index.get_indexer(pd.MultiIndex.from_frame(pd.DataFrame(left)))
    if (codes < 0).any():
        outside = values[codes < 0].drop_duplicates().reset_index(drop=True)
        raise WeightingError(
            f"{name}: {np.count_nonzero(codes < 0)} responses fall in no cell of the "
            "margin: " + describe(outside, np.arange(len(outside)))
        )
    return codes


def _match_margin(
    frame: pd.DataFrame, margin: pd.DataFrame, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Map each row of ``frame`` to its cell of ``margin`` for calibration.

    Returns the cell code of each row and the population total of each cell. Besides
    the checks of :func:`_lookup`, raises :class:`WeightingError` for cells with a
    population but no respondents (R's ``postStratify``: "Some strata absent from
    sample") and for respondents in cells whose population is zero.
    """
    codes = lookup(frame, margin)
    variables = margin_variables(margin)
    name = "margin (" + ", ".join(variables) + ")"
    keys = margin[variables].reset_index(drop=True)
    population = margin[POPULATION].to_numpy(float)
    sample = np.bincount(codes, weights=weights, minlength=len(population))
    empty = np.flatnonzero((population > 0) & (sample <= 0))
    if empty.size:
        raise WeightingError(
            f"{name}: cells with a population but no respondents: "
            f"{describe(keys, empty)}; merge them with a neighbouring cell"
        )
    unexpected = np.flatnonzero((population == 0) & (sample > 0))
    if unexpected.size:
        raise WeightingError(
            f"{name}: respondents in cells whose population is zero: "
            f"{describe(keys, unexpected)}"
        )
    return codes, population


def _check_margins_agree(margins: Sequence[pd.DataFrame]) -> None:
    """Raise if two margins give different totals over the variables they share."""
    rtol = 1e-9
    for i in range(len(margins)):
        for j in range(i + 1, len(margins)):
            a, b = margins[i], margins[j]
            shared = [v for v in margin_variables(a) if v in margin_variables(b)]
            if shared:
                ta = a.groupby(shared)[POPULATION].sum()
                tb = b.groupby(shared)[POPULATION].sum()
                ta, tb = ta.align(tb, fill_value=0)
            else:
                ta = pd.Series([a[POPULATION].sum()])
                tb = pd.Series([b[POPULATION].sum()])
            scale = max(float(ta.abs().max()), 1.0)
            bad = np.abs(ta.to_numpy() - tb.to_numpy()) > rtol * scale
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                over = f" over {shared}" if shared else ""
                cell = f" at {ta.index[k]}" if shared else ""
                raise WeightingError(
                    f"margins {i + 1} and {j + 1} disagree on the population"
                    f"{over}{cell}: {ta.iloc[k]:g} vs {tb.iloc[k]:g}; calibration "
                    "to inconsistent margins cannot converge"
                )


def margin_cells(
    frame: pd.DataFrame, margins: Sequence[pd.DataFrame], weights: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(frame) != weights.shape[0]:
        raise WeightingError(
            f"the responses have {len(frame)} rows but the design has "
            f"{weights.shape[0]}"
        )
    if not margins:
        raise WeightingError("no margins given")
    _check_margins_agree(margins)
    matched = [_match_margin(frame, m, weights) for m in margins]
    return [c for c, _ in matched], [p for _, p in matched]


class Calibration:
    """A calibration step as the variance estimator sees it (base class).

    A subclass sets ``margin_cells``, for each margin the cell code of each row, and
    implements ``residualize(x)``, which maps the ``n x k`` weighted linearised
    scores to their calibration residuals (R's ``design$postStrata``).
    """

    margin_cells: list[np.ndarray]

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the calibration residuals of weighted scores ``x`` (n x k)."""
        raise NotImplementedError

    def nests_within(self, groups: ArrayLike) -> bool:
        """Whether each margin's cells lie within one of ``groups`` (a code per row).

        Then the residuals of scores that are zero outside a group stay zero there,
        so the variance estimator can residualise each domain's scores on its own
        rows (see :func:`~analysis.linearization.linearize`).
        """
        return cells_within(self.margin_cells, np.asarray(groups))

    def atom_keys(self) -> list[np.ndarray] | None:
        """The per-row arrays that decide how a row's score is residualised.

        Rows equal in all of them form an *atom*. The residualisation moves every
        row of an atom by the same amount and depends on the scores only through
        their sums per atom, so it can act on those sums (:meth:`on_atoms`). None:
        this calibration cannot tell.
        """
        return None

    def on_atoms(self, atom: np.ndarray, first: np.ndarray) -> AtomResiduals:
        """This residualisation acting on sums of weighted scores over atoms.

        Parameters
        ----------
        atom : ndarray of int, shape (n,)
            The atom of each row, ``0 .. A-1``; rows of an atom agree in every array
            of :meth:`atom_keys`.
        first : ndarray of int, shape (A,)
            A row of each atom.
        """
        raise NotImplementedError


class AtomResiduals:
    """Calibration residuals for sums of weighted scores over atoms (base class).

    ``residualize(x)`` takes the sums :math:`X_a = \\sum_{i \\in a} x_i` of the
    scores of each atom and returns :math:`\\sum_{i \\in a} \\tilde x_i`, the sums of
    the residuals the calibration gives the rows; each row of atom :math:`a` is
    moved by :math:`(X_a - \\tilde X_a) / n_a`.
    """

    def residualize(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SweepsOnAtoms(AtomResiduals):
    """Residuals made of sweeps :math:`x_i \\leftarrow x_i - p_i\\, m_{c(i)}`, on atoms.

    Each sweep subtracts from a row its spread :math:`p_i` times a cell mean
    :math:`m_c = v_c \\sum_{j \\in c} s_j x_j` (post-stratification: one sweep;
    R's backfitted ``rake()`` residuals: ``passes`` rounds of one sweep per margin).
    With :math:`s` and :math:`p` constant on an atom, the sums over an atom follow
    the same sweeps, :math:`X_a \\leftarrow X_a - P_a\\, m_{c(a)}` with
    :math:`P_a = \\sum_{i \\in a} p_i` and :math:`m_c = v_c \\sum_{a \\in c} s_a X_a`.
    """

    def __init__(self, sweeps: list[tuple], passes: int = 1) -> None:
        #: per margin: cell of each atom, scale s_a, cell factor v_c, spread P_a
        self.sweeps = sweeps
        self.passes = passes

    @classmethod
    def of(cls, atom, first, cells, scales, factors, spreads, passes: int = 1):
        """From the per-row cells, scales and spreads of each margin."""
        natoms = len(first)
        sweeps = [
            (c[first], s[first], v, np.bincount(atom, weights=p, minlength=natoms))
            for c, s, v, p in zip(cells, scales, factors, spreads, strict=True)
        ]
        return cls(sweeps, passes)

    def residualize(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)
        for _ in range(self.passes):
            for cells, scale, factor, spread in self.sweeps:
                means = np.bincount(cells, weights=x * scale, minlength=len(factor))
                x -= spread * (means * factor)[cells]
        return x
