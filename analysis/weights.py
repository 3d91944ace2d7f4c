"""Survey weights: base weights, nonresponse adjustment, calibration and trimming.

The calibration steps (post-stratification, raking, calibration) return a new
:class:`~analysis.design.Design` whose ``calibrations`` end with an object that the
variance estimator uses to replace the weighted linearised scores by calibration
residuals before they are summed over PSUs, exactly as R's ``survey`` package does
in ``svyrecvar`` with ``design$postStrata``. The variance of a calibrated estimator
is therefore not the variance one would get by treating the final weights as fixed
design weights: the part of the scores explained by the calibration variables does
not contribute (Deville and Särndal 1992; Lumley 2010, ch. 7).

Which R call each function reproduces (survey 4.1-1):

==========================  ====================================================
``post_stratify``           ``postStratify(design, ~a+b, population)``
``rake(variance="greg")``   ``calibrate(design, list(~a+b, ~a+c), list(...),
                            calfun="raking")`` (the weights are the same raking
                            solution; the GREG residuals are the textbook choice)
``rake(variance="rake")``   ``rake(design, list(~a+b, ~a+c), list(...))``
``calibrate``               ``calibrate(..., calfun="raking" | "linear")``
``trim_weights``            ``trimWeights(design, lower, upper, strict)``
==========================  ====================================================

A margin is a DataFrame whose columns other than ``population`` name variables of the
response frame; each row is a cell and its population total, as the ``Freq`` column of
a population data frame in R.

References
----------
Deming, W. E. and Stephan, F. F. (1940). On a least squares adjustment of a sampled
frequency table when the expected marginal totals are known. *Annals of Mathematical
Statistics* 11, 427-444.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Kish, L. (1992). Weighting for unequal P_i. *Journal of Official Statistics* 8,
183-200.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 7.
Potter, F. J. (1990). A study of procedures to identify and trim extreme sampling
weights. *Proceedings of the Survey Research Methods Section, American Statistical
Association*, 225-230.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(functions ``postStratify``, ``rake``, ``calibrate``, ``grake``, ``trimWeights``,
``svyrecvar``).
Valliant, R., Dever, J. A. and Kreuter, F. (2018). *Practical Tools for Designing and
Weighting Survey Samples*, 2nd ed. Springer, ch. 13-14.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse

if TYPE_CHECKING:
    from .design import Design

POPULATION = "population"
#: Passes of the backfitting that R's ``svyrecvar`` runs for a ``rake()`` design.
RAKE_VARIANCE_PASSES = 10


class WeightingError(ValueError):
    """A weighting step cannot be carried out on these data."""


class ConvergenceError(WeightingError):
    """An iterative weighting step did not converge within its iteration limit."""


# --------------------------------------------------------------------------------------
# helpers


def _as_list(by: str | Sequence[str]) -> list[str]:
    return [by] if isinstance(by, str) else list(by)


def _indicator(codes: np.ndarray, ngroups: int) -> sparse.csr_array:
    """Sparse ``ngroups x n`` matrix with a one in row ``codes[i]`` of column ``i``."""
    n = codes.shape[0]
    return sparse.csr_array((np.ones(n), (codes, np.arange(n))), shape=(ngroups, n))


def _cell_matrix(
    cells: Sequence[np.ndarray], ncells: Sequence[int]
) -> sparse.csr_array:
    """Sparse ``n x K`` matrix of the cell indicators of all margins side by side."""
    blocks = [
        _indicator(np.asarray(c, dtype=np.intp), k)
        for c, k in zip(cells, ncells, strict=True)
    ]
    return sparse.vstack(blocks).T.tocsr()


def _inverse(values: np.ndarray) -> np.ndarray:
    """``1 / values`` with zero where ``values`` is zero (cells without weight)."""
    return np.divide(1.0, values, out=np.zeros_like(values), where=values != 0)


def _as_matrix(x: ArrayLike) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = np.asarray(x, dtype=float)
    return arr.reshape(arr.shape[0], -1), arr.shape


def _nests_within(cells: Sequence[np.ndarray], groups: np.ndarray) -> bool:
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


def _describe(keys: pd.DataFrame, rows: np.ndarray, limit: int = 5) -> str:
    shown = [
        ", ".join(f"{col}={keys.iloc[i][col]}" for col in keys.columns)
        for i in rows[:limit]
    ]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return "; ".join(shown) + more


def _cell_codes(cells: ArrayLike | pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
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


def _select(population: pd.DataFrame, by: str | Sequence[str]) -> pd.DataFrame:
    """The columns ``by`` and ``population`` of a population table, checked."""
    columns = [*_as_list(by), POPULATION]
    missing = [c for c in columns if c not in population.columns]
    if missing:
        raise WeightingError(
            f"the population table needs columns {columns}; missing {missing}"
        )
    return population[columns]


def _margin_variables(margin: pd.DataFrame) -> list[str]:
    variables = [c for c in margin.columns if c != POPULATION]
    if POPULATION not in margin.columns or not variables:
        raise WeightingError(
            f"a margin needs a {POPULATION!r} column and at least one variable; "
            f"got columns {list(margin.columns)}"
        )
    return variables


def _lookup(frame: pd.DataFrame, margin: pd.DataFrame) -> np.ndarray:
    """Row of ``margin`` (a cell) that each row of ``frame`` falls in.

    Raises :class:`WeightingError` for missing variables, missing values, duplicated
    cells, invalid population totals and rows that fall in no cell.
    """
    variables = _margin_variables(margin)
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
        raise WeightingError(f"{name}: duplicated cells {_describe(keys, dup)}")
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
            "margin: " + _describe(outside, np.arange(len(outside)))
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
    codes = _lookup(frame, margin)
    variables = _margin_variables(margin)
    name = "margin (" + ", ".join(variables) + ")"
    keys = margin[variables].reset_index(drop=True)
    population = margin[POPULATION].to_numpy(float)
    sample = np.bincount(codes, weights=weights, minlength=len(population))
    empty = np.flatnonzero((population > 0) & (sample <= 0))
    if empty.size:
        raise WeightingError(
            f"{name}: cells with a population but no respondents: "
            f"{_describe(keys, empty)}; merge them with a neighbouring cell"
        )
    unexpected = np.flatnonzero((population == 0) & (sample > 0))
    if unexpected.size:
        raise WeightingError(
            f"{name}: respondents in cells whose population is zero: "
            f"{_describe(keys, unexpected)}"
        )
    return codes, population


def _check_margins_agree(margins: Sequence[pd.DataFrame]) -> None:
    """Raise if two margins give different totals over the variables they share."""
    rtol = 1e-9
    for i in range(len(margins)):
        for j in range(i + 1, len(margins)):
            a, b = margins[i], margins[j]
            shared = [v for v in _margin_variables(a) if v in _margin_variables(b)]
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


def _scaled_pinv(gram: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric positive semi-definite matrix.

    The matrix is scaled to unit diagonal first so that the rank decision
    (relative tolerance 1e-10) does not depend on the size of the weights; the cell
    indicators of several margins are linearly dependent (e.g. unit x gender and
    unit x age both sum to unit), and any generalised inverse gives the same fitted
    values, as R's ``qr`` and ``MASS::ginv`` do.
    """
    diag = np.diag(gram).copy()
    diag[diag <= 0] = 1.0
    scale = 1.0 / np.sqrt(diag)
    inner = np.linalg.pinv(gram * np.outer(scale, scale), rtol=1e-10, hermitian=True)
    return inner * np.outer(scale, scale)


def _margin_cells(
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


# --------------------------------------------------------------------------------------
# calibration objects used by the variance estimator


class PostStratification:
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
        self.weights = np.asarray(weights, dtype=float)
        self.oldweights = np.asarray(oldweights, dtype=float)
        ngroups = int(self.cells.max()) + 1 if self.cells.size else 0
        self._indicator = _indicator(self.cells, ngroups)
        psw = self.weights.copy()
        psw[(psw == 0) & (self.oldweights == 0)] = 1.0
        self._psw = psw
        self._ratio = self.oldweights / psw
        old_total = np.bincount(self.cells, weights=self.oldweights, minlength=ngroups)
        self._inverse_total = _inverse(old_total)

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the post-stratification residuals of weighted scores ``x`` (n x k)."""
        xm, shape = _as_matrix(x)
        means = (self._indicator @ (xm * self._ratio[:, None])) * self._inverse_total[
            :, None
        ]
        return (xm - means[self.cells] * self._psw[:, None]).reshape(shape)

    def nests_within(self, groups: ArrayLike) -> bool:
        """Whether each post-stratum lies within one of ``groups`` (a code per row).

        Then the residuals of scores that are zero outside a group stay zero there,
        so the variance estimator can residualise each domain's scores on its own
        rows (see :func:`~analysis.estimate.linearize`).
        """
        return _nests_within([self.cells], np.asarray(groups))


class GregCalibration:
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
    """

    def __init__(
        self,
        cells: Sequence[np.ndarray],
        ncells: Sequence[int],
        base: np.ndarray,
        weights: np.ndarray,
    ) -> None:
        self.cells = [np.asarray(c, dtype=np.intp) for c in cells]
        self.base = np.asarray(base, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self._matrix = _cell_matrix(self.cells, ncells)
        gram = (self._matrix.T @ (self._matrix * self.base[:, None])).toarray()
        self._ginv = _scaled_pinv(np.asarray(gram))
        self._inverse_g = self.base * _inverse(self.weights)

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the GREG residuals of weighted scores ``x`` (n x k)."""
        xm, shape = _as_matrix(x)
        beta = self._ginv @ (self._matrix.T @ (xm * self._inverse_g[:, None]))
        fitted = self._matrix @ beta
        return (xm - self.weights[:, None] * fitted).reshape(shape)

    def nests_within(self, groups: ArrayLike) -> bool:
        """Whether each margin's cells lie within one of ``groups`` (a code per row).

        Then the residuals of scores that are zero outside a group stay zero there,
        so the variance estimator can residualise each domain's scores on its own
        rows (see :func:`~analysis.estimate.linearize`).
        """
        return _nests_within(self.cells, np.asarray(groups))


class RakingCalibration:
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
        self.weights = [np.asarray(w, dtype=float) for w in weights]
        self.passes = passes
        self._indicators = [_indicator(c, int(c.max()) + 1) for c in self.cells]
        self._inverse_counts = [
            _inverse(np.bincount(c, minlength=m.shape[0]).astype(float))
            for c, m in zip(self.cells, self._indicators, strict=True)
        ]
        self._inverse_weights = [_inverse(w) for w in self.weights]

    def residualize(self, x: ArrayLike) -> np.ndarray:
        """Return the backfitted raking residuals of weighted scores ``x`` (n x k)."""
        xm, shape = _as_matrix(x)
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

    def nests_within(self, groups: ArrayLike) -> bool:
        """Whether each margin's cells lie within one of ``groups`` (a code per row).

        Then the residuals of scores that are zero outside a group stay zero there,
        so the variance estimator can residualise each domain's scores on its own
        rows (see :func:`~analysis.estimate.linearize`).
        """
        return _nests_within(self.cells, np.asarray(groups))


# --------------------------------------------------------------------------------------
# weights


def base_weights(
    frame: pd.DataFrame, by: str | Sequence[str], population: pd.DataFrame
) -> np.ndarray:
    """Base weights: population count of the stratum over its number of responses.

    Parameters
    ----------
    frame : DataFrame
        One row per response, with the stratum columns ``by``.
    by : str or sequence of str
        Columns defining the weighting strata, e.g. ``["unit", "field"]``.
    population : DataFrame
        Columns ``by`` and ``population``: the count of the frame in each stratum,
        e.g. dossiers returned in the period from the one-stop register.

    Returns
    -------
    ndarray
        :math:`w_i = N_h / n_h` for the stratum :math:`h` of response :math:`i`.

    Raises
    ------
    WeightingError
        If a response's stratum has no population count, or a stratum has fewer
        dossiers than responses.

    Notes
    -----
    Under stratified simple random sampling (or a self-weighting counter sample
    within a stratum) the inclusion probability is :math:`n_h / N_h`, so the design
    weight is :math:`N_h / n_h` (Valliant, Dever and Kreuter 2018, ch. 13).
    Strata with a population but no responses get no weight; post-stratify or merge
    strata to cover them.
    """
    margin = _select(population, by)
    codes = _lookup(frame, margin)
    count = np.bincount(codes, minlength=len(margin)).astype(float)
    size = margin[POPULATION].to_numpy(float)
    short = np.flatnonzero((count > 0) & (size < count))
    if short.size:
        keys = margin.drop(columns=POPULATION).reset_index(drop=True)
        raise WeightingError(
            "strata with fewer population units than responses: "
            + _describe(keys, short)
        )
    return size[codes] / count[codes]


def nonresponse_adjust(
    weights: ArrayLike, responded: ArrayLike, cells: ArrayLike | pd.DataFrame
) -> np.ndarray:
    """Weighting-class nonresponse adjustment.

    Parameters
    ----------
    weights : array_like
        Base weights of everyone sampled (respondents and nonrespondents).
    responded : array_like of bool
        Whether each sampled person responded.
    cells : array_like or DataFrame
        Adjustment cell of each sampled person (one column or several).

    Returns
    -------
    ndarray
        Adjusted weights; zero for nonrespondents.

    Raises
    ------
    WeightingError
        If a cell has sampled people but no respondents (merge cells first).

    Notes
    -----
    Within cell :math:`c`, respondents carry the weight of the nonrespondents:

    .. math:: w_i^{*} = w_i \\, \\frac{\\sum_{j \\in c} w_j}
              {\\sum_{j \\in c} w_j r_j}, \\qquad i \\in c,\\ r_i = 1

    (Valliant, Dever and Kreuter 2018, ch. 13). The adjustment factors are
    treated as fixed in variance estimation.
    """
    w = np.asarray(weights, dtype=float)
    r = np.asarray(responded, dtype=bool)
    codes, keys = _cell_codes(cells)
    if not (w.shape == r.shape == codes.shape):
        raise WeightingError("weights, responded and cells must have the same length")
    sampled = np.bincount(codes, weights=w, minlength=len(keys))
    answered = np.bincount(codes, weights=w * r, minlength=len(keys))
    empty = np.flatnonzero((sampled > 0) & (answered <= 0))
    if empty.size:
        raise WeightingError(
            "adjustment cells with no respondents: "
            + _describe(keys, empty)
            + "; merge them with a neighbouring cell"
        )
    factor = np.divide(
        sampled, answered, out=np.zeros_like(sampled), where=answered > 0
    )
    return np.where(r, w * factor[codes], 0.0)


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
    margin = _select(population, by)
    old = np.asarray(design.weights, dtype=float)
    codes, pop = _margin_cells(frame, [margin], old)
    codes, pop = codes[0], pop[0]
    total = np.bincount(codes, weights=old, minlength=len(pop))
    factor = np.divide(pop, total, out=np.zeros_like(pop), where=total > 0)
    new = old * factor[codes]
    return design.with_weights(new, calibration=PostStratification(codes, new, old))


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
    cells, pops = _margin_cells(frame, margins, base)
    variables = list(dict.fromkeys(v for m in margins for v in _margin_variables(m)))
    full, _ = _cell_codes(frame[variables].reset_index(drop=True))
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

    as R's ``grake`` (which uses ``MASS::ginv``). The linear case is solved in one
    step, as R's ``regcalibrate``.
    """
    if calfun not in ("raking", "linear"):
        raise ValueError(f"calfun must be 'raking' or 'linear', not {calfun!r}")
    base = np.asarray(design.weights, dtype=float)
    cells, pops = _margin_cells(frame, margins, base)
    ncells = [len(p) for p in pops]
    matrix = _cell_matrix(cells, ncells)
    population = np.concatenate(pops)

    def gram(v: np.ndarray) -> np.ndarray:
        return np.asarray((matrix.T @ (matrix * v[:, None])).toarray())

    if calfun == "linear":
        lam = _scaled_pinv(gram(base)) @ (population - matrix.T @ base)
        g = 1.0 + matrix @ lam
    else:
        lam = np.zeros(population.shape[0])
        g = np.ones_like(base)
        for _ in range(maxit):
            misfit = population - matrix.T @ (base * g)
            if np.all(np.abs(misfit) / (1.0 + np.abs(population)) < epsilon):
                break
            lam = lam + _scaled_pinv(gram(base * g)) @ misfit
            g = np.exp(matrix @ lam)
        else:
            achieved = np.max(np.abs(misfit) / (1.0 + np.abs(population)))
            raise ConvergenceError(
                f"calibration did not converge in {maxit} steps: largest relative "
                f"misfit {achieved:.3g} (tolerance {epsilon:.3g})"
            )
    w = base * g
    return design.with_weights(w, calibration=GregCalibration(cells, ncells, base, w))


def trim_weights(
    design: Design,
    *,
    lower: float = -np.inf,
    upper: float = np.inf,
    strict: bool = False,
    maxit: int = 10_000,
) -> Design:
    """Trim weights to ``[lower, upper]`` and share the excess among the others.

    Parameters
    ----------
    design : Design
        The design whose weights are trimmed; its calibrations are kept unchanged,
        as in R.
    lower, upper : float
        Bounds in weight units.
    strict : bool
        If False, one pass (weights pushed past a bound by the redistribution stay
        there); if True, repeat until every weight is within the bounds.
    maxit : int
        Pass limit when ``strict``.

    Returns
    -------
    Design
        The design with trimmed weights (the same object if nothing is outside).

    Raises
    ------
    WeightingError
        If the bounds cannot hold the total weight or every weight is outside.
    ConvergenceError
        If ``strict`` trimming needs more than ``maxit`` passes.

    Notes
    -----
    One pass, as R's ``trimWeights``: with :math:`O` the weights outside the bounds,

    .. math:: w_i' = \\min(\\max(w_i, L), U), \\qquad
              w_i' \\mathrel{+}= \\frac{\\sum_{j \\in O} (w_j - w_j')}{n - |O|}
              \\quad (i \\notin O),

    so the total weight is kept and the trimmed amount is shared equally (not in
    proportion to the weights). ``strict=True`` repeats the pass, as R's recursive
    ``trimWeights(strict=TRUE)``. Trimming trades bias for variance (Potter 1990;
    Valliant, Dever and Kreuter 2018, ch. 14).
    """
    if lower > upper:
        raise WeightingError(f"lower bound {lower:g} is above upper bound {upper:g}")
    w = np.asarray(design.weights, dtype=float)
    n, total = w.shape[0], float(w.sum())
    if strict and not (lower * n <= total <= upper * n):
        raise WeightingError(
            f"{n} weights summing to {total:g} cannot all lie in [{lower:g}, {upper:g}]"
        )
    for _ in range(maxit):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            break
        if outside.all():
            raise WeightingError(
                f"every weight is outside [{lower:g}, {upper:g}]: nothing to share "
                "the trimmed weight with"
            )
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / np.count_nonzero(~outside)
        w = new
        if not strict:
            break
    else:
        raise ConvergenceError(f"strict trimming did not settle in {maxit} passes")
    if w is design.weights or np.array_equal(w, design.weights):
        return design
    return design.with_weights(w)


def weight_diagnostics(weights: ArrayLike, by: ArrayLike | None = None) -> pd.DataFrame:
    """Summary of a set of weights: range, mean, Kish design effect, effective n.

    Parameters
    ----------
    weights : array_like
        The weights.
    by : array_like, optional
        Group of each weight (e.g. the unit); if given, one row per group.

    Returns
    -------
    DataFrame
        Index: the groups (or ``"ALL"``). Columns ``n, total, min, max, mean, cv,
        deff, n_eff``.

    Notes
    -----
    Kish's design effect due to unequal weighting and the effective sample size are

    .. math:: \\mathrm{deff}_w = \\frac{n \\sum w_i^2}{(\\sum w_i)^2} = 1 + cv^2,
              \\qquad n_\\mathrm{eff} = \\frac{n}{\\mathrm{deff}_w}
              = \\frac{(\\sum w_i)^2}{\\sum w_i^2},

    with :math:`cv` the coefficient of variation of the weights using the divisor
    :math:`n` (Kish 1992).
    """
    w = np.asarray(weights, dtype=float)
    group = np.full(w.shape[0], "ALL", dtype=object) if by is None else by
    frame = pd.DataFrame({"w": w, "w2": w * w, "group": np.asarray(group)})
    grouped = frame.groupby("group", sort=True)
    out = grouped["w"].agg(["size", "sum", "min", "max", "mean"])
    out.columns = ["n", "total", "min", "max", "mean"]
    sum2 = grouped["w2"].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = grouped["w"].std(ddof=0) / out["mean"]
        out["deff"] = out["n"] * sum2 / out["total"] ** 2
        out["n_eff"] = out["total"] ** 2 / sum2
    out.index.name = None
    return out[["n", "total", "min", "max", "mean", "cv", "deff", "n_eff"]]
