"""Taylor linearisation of every index for every domain at once.

Variances use Taylor linearisation (Binder 1983; Lumley 2010, sec. 2.4 and 3.4): each
estimate's weighted linearised scores are summed per PSU and the PSU totals' variance
is estimated as for a total (:mod:`analysis.variance`), exactly as R's
``svyrecvar``; domains are subpopulations (:mod:`analysis.domains`), so the result
equals R's ``svyratio(~y, ~a, subset(design, unit == u))``.

Only grouped sums are used: rows are summed into cells (PSU x unit), each cell belongs
to a few domains (its unit, the unit's ancestors and ALL), and the PSU totals of the
scores are formed on this long layout, one tree level at a time, and summed per
(stratum, domain). No dense PSU x domain array is built and there is no loop over
units, PSUs or respondents. With calibrated weights the row scores are residualised
(Deville and Särndal 1992) before the PSU sums; when the calibration cells lie within
units (e.g. post-strata unit x gender) the residuals of a domain stay on its rows and
each tree level is residualised as one column, otherwise every PSU gets a score for
every domain, computed for chunks of domains.

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators from complex
surveys. *International Statistical Review* 51, 279-292.
Deville, J.-C. and Särndal, C.-E. (1992). Calibration estimators in survey sampling.
*Journal of the American Statistical Association* 87, 376-382.
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .answers import answer_flags
from .columns import ALL, UNIT
from .composites import Composites, composite_coefficients, composite_factors
from .design import Design, DesignError
from .domains import Domains, domain_tree, to_domains
from .grouping import bincount_rows, sum_matrix, sum_rows
from .questionnaire import Structure
from .variance import average_factor, domain_variance, psu_sums, stratum_rules

#: Criteria of an element looked up together by the design effects of the
#: composites: their answers form one of 3**4 patterns (a byte per row).
PATTERN_CRITERIA = 4

#: Values in the rows x domains array of one criterion when calibration residuals
#: reach every domain (calibration cells that cross units); bounds its memory.
DENSE_CHUNK = 2**23


@dataclass(frozen=True)
class Linearization:
    """Linearised estimates of all indicators for all domains.

    Attributes
    ----------
    domains : ndarray of str, shape (D,)
        Domain labels: ``"ALL"`` first (if included), then units and tree nodes.
    indicators : tuple of str, length J
        Overall code, area codes (if the questionnaire has areas), element codes,
        criterion codes.
    estimate, variance : ndarray, shape (D, J)
        Estimates on the 0-1 scale and their linearised variances.
    nobs : ndarray, shape (D, J)
        Answers counted (criteria) or respondents with an answer to at least one of
        the criteria (elements, overall), with a positive weight.
    pop_size : ndarray, shape (D, J)
        Sum of the weights of those respondents.
    unit_variance : ndarray, shape (D, J)
        Weighted variance :math:`S^2` of the linearised variable, for the design
        effect (:math:`\\hat p(1 - \\hat p)` for a criterion).
    parts_used, parts_total : ndarray, shape (D, J)
        Criteria (for elements and the "items" overall) or elements averaged, of how
        many; 1 of 1 for criteria.
    variance_scale : ndarray, shape (D, J)
        Sum of the scaled squared PSU totals, to tell a zero variance from rounding.
    df : ndarray of int, shape (D,)
        R's ``degf(subset(design, unit == d))``: PSUs with a positive weight in the
        domain minus their strata.
    answer_df : ndarray of int, shape (D, J), or None
        Computed with ``answer_df=True``: the same for the design restricted to the
        answers to each criterion (R's
        ``degf(subset(design, unit == d & !is.na(x)))``, which ``svyciprop(method =
        "beta")`` uses); the domain's df for composites.
    n_psu : ndarray of int, shape (D,)
        PSUs with a positive weight in the domain.
    lonely_strata : ndarray of int, shape (D,)
        Strata with a single sampled PSU that the domain touches.
    design : Design
    n_composites : int
        Number of composite indicators (overall, areas and elements), which come
        first.
    aggregation : str
        The questionnaire's aggregation rule.
    n_areas : int
        Number of areas (the composites after the overall index).
    score_psu, score_domain : ndarray of int, shape (U,), or None
        PSU and domain of each row of ``scores``.
    scores : ndarray, shape (U, J), or None
        PSU totals of the weighted linearised scores, one row per (PSU, domain) pair
        with any response in the domain: :math:`\\hat\\theta_d - \\theta_d \\approx
        \\sum_c z_{cd}`. Pairs not listed are zero. Kept when ``keep_scores=True``.
    satisfied_total : ndarray, shape (D, K)
        Weighted satisfied answers per criterion (the weighted answers are the
        criteria's ``pop_size``).

    Notes
    -----
    For criterion :math:`k` in domain :math:`d` with PSU totals :math:`y_{ck}` (weighted
    satisfied answers) and :math:`a_{ck}` (weighted answers),

    .. math:: z_{cdk} = \\frac{y_{ck} - \\hat R_{dk} a_{ck}}{\\hat A_{dk}}, \\qquad
              z_{cd\\theta} = \\sum_k c_{dk} z_{cdk}

    for a composite :math:`\\hat\\theta_d = \\sum_k c_{dk} \\hat R_{dk}` (Binder 1983).
    The variance is :func:`psu_total_covariance` of these totals, computed per
    (stratum, domain) from :math:`\\sum_c z` and :math:`\\sum_c z^2` over the pairs.
    """

    domains: np.ndarray
    indicators: tuple[str, ...]
    estimate: np.ndarray
    variance: np.ndarray
    nobs: np.ndarray
    pop_size: np.ndarray
    unit_variance: np.ndarray
    parts_used: np.ndarray
    parts_total: np.ndarray
    variance_scale: np.ndarray
    df: np.ndarray
    answer_df: np.ndarray | None
    n_psu: np.ndarray
    lonely_strata: np.ndarray
    design: Design
    n_composites: int
    aggregation: str
    score_psu: np.ndarray | None = None
    score_domain: np.ndarray | None = None
    scores: np.ndarray | None = None
    n_areas: int = 0
    satisfied_total: np.ndarray | None = None

    def domain_index(self, labels: object) -> np.ndarray:
        """Positions of domain labels in :attr:`domains` (KeyError if unknown)."""
        index = pd.Index(self.domains).get_indexer(np.atleast_1d(labels).astype(str))
        if (index < 0).any():
            raise KeyError(f"unknown domains: {np.atleast_1d(labels)[index < 0]}")
        return index

    def covariance(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Covariances of all indicators between pairs of domains.

        Parameters
        ----------
        first, second : array_like of int, shape (m,)
            Domain positions (see :meth:`domain_index`).

        Returns
        -------
        ndarray, shape (m, J)
            :math:`\\widehat{Cov}(\\hat\\theta_{a_i j}, \\hat\\theta_{b_i j})`; with
            ``first == second`` the variances. Needs ``keep_scores=True``.

        Notes
        -----
        For domains sharing PSUs (a unit and its province) the covariance is
        :math:`\\sum_h s_h [\\sum_{c \\in h} z_{ca} z_{cb} - n_h \\bar z_{ha}
        \\bar z_{hb}]` with the scale :math:`s_h` and lonely-PSU rules of
        :func:`psu_total_covariance`, so
        :math:`\\widehat V(\\hat\\theta_a - \\hat\\theta_b) = V_a + V_b - 2 C_{ab}`
        with all three terms from this method.

        ``covariance(d, d)`` equals :attr:`variance` of ``d`` except under
        ``lonely_psu="average"``, where the strata with a single PSU are replaced by
        the average of the other strata of the whole design (factor :math:`H / (H -
        H_1)` over all :math:`H` strata, :math:`H_1` of them lonely), as R's
        ``svytotal`` of both domains' totals on the whole design followed by
        ``svycontrast``; :attr:`variance` instead averages over the strata that the
        domain touches, as R's ``svyratio`` on ``subset(design, unit == d)``. One
        rule for the three terms keeps the variance of a difference from going
        negative.
        """
        if self.scores is None:
            raise ValueError(
                "linearize(..., keep_scores=True) is needed for covariances"
            )
        first = np.asarray(first, dtype=np.intp)
        second = np.asarray(second, dtype=np.intp)
        # Each distinct pair once (a table compares every unit with one province).
        pairs, inverse = np.unique(
            np.stack([first, second], axis=1), axis=0, return_inverse=True
        )
        if len(pairs) < len(first):
            return self.covariance(pairs[:, 0], pairs[:, 1])[inverse.ravel()]
        design = self.design
        npsu = design.n_psu
        nstrata = design.n_strata
        # Rows sorted by (domain, stratum), stably: a stratum that only one domain of
        # a pair touches adds nothing to their covariance (its sums for the other
        # are zero), so each pair reads only the rows of the strata both touch.
        row_stratum = design.psu_stratum[self.score_psu]
        order = np.lexsort((row_stratum, self.score_domain))
        block = self.score_domain[order].astype(np.int64) * nstrata + row_stratum[order]
        block_keys, starts = np.unique(block, return_index=True)
        ends = np.append(starts[1:], len(block))
        key_domain = block_keys // nstrata
        domain_first = np.searchsorted(key_domain, np.arange(len(self.domains) + 1))

        def blocks_of(domains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sizes = domain_first[domains + 1] - domain_first[domains]
            pair = np.repeat(np.arange(len(domains)), sizes)
            offsets = np.arange(sizes.sum()) - np.repeat(
                np.cumsum(sizes) - sizes, sizes
            )
            return pair, np.repeat(domain_first[domains], sizes) + offsets

        def rows(pair: np.ndarray, blocks: np.ndarray):
            sizes = ends[blocks] - starts[blocks]
            offsets = np.arange(sizes.sum()) - np.repeat(
                np.cumsum(sizes) - sizes, sizes
            )
            return np.repeat(pair, sizes), order[
                np.repeat(starts[blocks], sizes) + offsets
            ]

        pa, ba = blocks_of(first)
        pb, bb = blocks_of(second)
        _, in_pa, in_pb = np.intersect1d(
            pa * nstrata + block_keys[ba] % nstrata,
            pb * nstrata + block_keys[bb] % nstrata,
            assume_unique=True,
            return_indices=True,
        )
        pair_a, rows_a = rows(pa[in_pa], ba[in_pa])
        pair_b, rows_b = rows(pb[in_pb], bb[in_pb])
        psu_a, psu_b = self.score_psu[rows_a], self.score_psu[rows_b]
        common, in_a, in_b = np.intersect1d(
            pair_a * npsu + psu_a,
            pair_b * npsu + psu_b,
            assume_unique=True,
            return_indices=True,
        )
        # (pair, stratum) groups touched by either domain
        key_a = pair_a * nstrata + design.psu_stratum[psu_a]
        key_b = pair_b * nstrata + design.psu_stratum[psu_b]
        keys, group = np.unique(np.concatenate([key_a, key_b]), return_inverse=True)
        group_a, group_b = group[: len(key_a)], group[len(key_a) :]
        group_pair, h = keys // nstrata, keys % nstrata
        scale, centre, dropped = stratum_rules(design)
        size = len(keys)
        out = np.empty((len(first), len(self.indicators)))
        for j in range(len(self.indicators)):  # indicators, not units
            za = self.scores[rows_a, j]
            zb = self.scores[rows_b, j]
            cross = np.bincount(
                group_a[in_a], weights=za[in_a] * zb[in_b], minlength=size
            )
            sum_a = np.bincount(group_a, weights=za, minlength=size)
            sum_b = np.bincount(group_b, weights=zb, minlength=size)
            centred = cross - np.where(
                centre[h], sum_a * sum_b / design.psu_count[h], 0
            )
            term = np.where(dropped[h], 0.0, scale[h] * centred)
            out[:, j] = np.bincount(group_pair, weights=term, minlength=len(first))
        return out * average_factor(design)


def linearize(
    frame: pd.DataFrame,
    structure: Structure,
    *,
    design: Design | None = None,
    by: str = UNIT,
    parents: Mapping[str, str] | None = None,
    include_all: bool = True,
    keep_scores: bool = False,
    answer_df: bool = False,
) -> Linearization:
    """Estimates, linearised variances and PSU score totals for all domains.

    Parameters
    ----------
    frame : DataFrame
        One row per response, with the column ``by`` and one column per criterion
        code holding 1-5 or a missing value (no opinion).
    structure : Structure
        Questionnaire structure (criteria, elements, aggregation rule).
    design : Design, optional
        Row-aligned design; default: simple random sample with unit weights.
    by : str
        Column with the unit of each response.
    parents : mapping of str to str, optional
        Unit to parent unit; every ancestor of a unit in the data becomes a domain.
    include_all : bool
        Add the whole population as domain ``"ALL"``.
    keep_scores : bool
        Keep the PSU score totals for :meth:`Linearization.covariance`.
    answer_df : bool
        Also count the df of the design restricted to each criterion's answers
        (for R's beta interval).

    Returns
    -------
    Linearization
        Estimates on the 0-1 scale.

    Raises
    ------
    DesignError
        For a missing column, answers outside the scale, a design of another length,
        a cycle in ``parents`` or a unit called ``"ALL"``.

    Notes
    -----
    Criterion :math:`k` in domain :math:`d`: :math:`\\hat R_{dk} = \\sum_{i \\in d} w_i
    y_{ik} / \\sum_{i \\in d} w_i a_{ik}` with :math:`a_{ik}` = answered and
    :math:`y_{ik}` = answered 4 or 5. Elements and the overall index are means of the
    ratios that have answers in the domain (see :class:`Linearization` for the
    scores). With calibrated weights (``design.calibrations``) the row scores are
    residualised before the PSU sums, as R's ``svyrecvar`` does. Residualising is
    linear and, for calibration cells within units (``calibration.nests_within``),
    keeps a domain's residuals on its own rows, so one column of row scores per tree
    level is residualised: the cost is that of the uncalibrated case plus a few
    passes over the rows per criterion and level. Calibration cells that cross units
    (e.g. gender nationally) spread every domain's residuals over all PSUs: then a
    rows x domains array is residualised per criterion, in chunks of domains, which
    is fine for a province but grows with units x rows.
    """
    if by not in frame.columns:
        raise DesignError(f"unknown domain column {by!r}")
    answered, satisfied = answer_flags(frame, structure)
    n = len(frame)
    if n == 0:
        raise DesignError("no responses")
    design = design if design is not None else Design.simple_random_sample(n)
    if len(design.weights) != n:
        raise DesignError(f"the design has {len(design.weights)} rows, the frame {n}")
    domains = domain_tree(frame[by], parents, include_all)
    linearizer = _Linearizer(structure, design, domains, answered, satisfied)
    return linearizer.run(keep_scores, answer_df)


def point_estimates(
    frame: pd.DataFrame,
    structure: Structure,
    weights: np.ndarray | None = None,
    *,
    by: str = UNIT,
    parents: Mapping[str, str] | None = None,
    include_all: bool = True,
) -> pd.DataFrame:
    """Estimates of every indicator for every domain, without their variances.

    The estimates :func:`linearize` gives for the same rows and weights, at the cost
    of one grouped sum per criterion: for a figure that is read but never given an
    interval (an index without the flagged responses, say).

    Parameters
    ----------
    frame : DataFrame
        One row per response, with the column ``by`` and the criterion columns.
    structure : Structure
    weights : ndarray, shape (n,), optional
        Row weights; default 1.
    by, parents, include_all
        As for :func:`linearize`.

    Returns
    -------
    DataFrame
        Domains (index, ``"ALL"`` first) x indicators (overall, areas, elements,
        criteria), on the 0-1 scale; NaN where a domain has no answers.

    Notes
    -----
    :math:`\\hat R_{dk} = \\sum_{i \\in d} w_i y_{ik} / \\sum_{i \\in d} w_i a_{ik}`
    and :math:`\\hat\\theta_d = \\sum_k c_{dk} \\hat R_{dk}`, with the coefficients
    of :func:`~analysis.composites.composite_coefficients`.
    """
    labels, total_sat, total_ans, _ = _domain_totals(
        frame, structure, weights, by, parents, include_all
    )
    return _estimates(structure, labels, total_sat, total_ans, by)


def point_estimates_without(
    linear: Linearization,
    rows: pd.DataFrame,
    structure: Structure,
    weights: np.ndarray | None = None,
    *,
    by: str = UNIT,
    parents: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Estimates of a linearisation after leaving out some of its rows.

    The remaining rows keep the weights they had (no calibration, which would move
    them), so their totals are the linearisation's minus those of the rows left out:
    only those rows are read. The same as :func:`point_estimates` of the remaining
    rows (exactly for whole weights; otherwise to the rounding of the domain's
    totals), except that a domain left without rows stays, with NaN estimates.

    Parameters
    ----------
    linear : Linearization
        Of the rows with ``rows`` among them, from :func:`linearize`.
    rows : DataFrame
        The rows left out, with the column ``by`` and the criterion columns.
    structure : Structure
    weights : ndarray, shape (len(rows),), optional
        The weights the rows had in ``linear``; default 1.
    by, parents
        As for :func:`linearize`; ``parents`` as there.

    Returns
    -------
    DataFrame
        As :func:`point_estimates`, for the domains of ``linear``.

    Notes
    -----
    :math:`\\hat R_{dk} = (Y_{dk} - Y^{out}_{dk}) / (A_{dk} - A^{out}_{dk})` with the
    weighted satisfied and answered totals :math:`Y, A` of the linearisation
    and :math:`Y^{out}, A^{out}` of the rows left out.
    """
    criteria = slice(linear.n_composites, None)
    total_sat = linear.satisfied_total.copy()
    total_ans = linear.pop_size[:, criteria].copy()
    if len(rows):
        include_all = ALL in set(linear.domains)
        labels, out_sat, out_ans, out_n = _domain_totals(
            rows, structure, weights, by, parents, include_all
        )
        index = linear.domain_index(labels)
        total_sat[index] -= out_sat
        total_ans[index] -= out_ans
        # no answer left: exactly none, not what rounding leaves of the difference
        none_left = np.zeros(total_ans.shape, dtype=bool)
        none_left[index] = linear.nobs[index, criteria] == out_n
        total_sat[none_left] = total_ans[none_left] = 0.0
    return _estimates(structure, linear.domains, total_sat, total_ans, by)


def _domain_totals(frame, structure, weights, by, parents, include_all):
    """Domain labels, their weighted satisfied and answered totals and their answers
    with a positive weight, (D, K) each."""
    if by not in frame.columns:
        raise DesignError(f"unknown domain column {by!r}")
    answered, satisfied = answer_flags(frame, structure)
    if len(frame) == 0:
        raise DesignError("no responses")
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(frame):
        raise DesignError(f"{len(w)} weights for {len(frame)} rows")
    domains = domain_tree(frame[by], parents, include_all)
    nd, ng = len(domains.labels), domains.chain.shape[0]
    leaf = sum_matrix(domains.row_leaf, ng)
    total_sat = to_domains(sum_rows(leaf, satisfied, w), domains.chain, nd).T
    total_ans = to_domains(sum_rows(leaf, answered, w), domains.chain, nd).T
    positive = (w > 0).astype(float)
    counted = to_domains(sum_rows(leaf, answered, positive), domains.chain, nd).T
    return domains.labels, total_sat, total_ans, counted


def _estimates(structure, labels, total_sat, total_ans, by) -> pd.DataFrame:
    """Criterion ratios and composites of domain totals, as point_estimates gives."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total_sat / total_ans  # (D, K), NaN without answers
    coefficients, parts_used, _ = composite_coefficients(structure, total_ans > 0)
    composite = np.einsum("djk,dk->dj", coefficients, np.nan_to_num(ratio))
    composite[parts_used == 0] = np.nan
    return pd.DataFrame(
        np.concatenate([composite, ratio], axis=1),
        index=pd.Index(labels, name=by),
        columns=[*structure.composites, *structure.criteria],
    )


@dataclass(frozen=True)
class _Block:
    """A set of (PSU, domain) pairs with responses, and how cell values reach them.

    The pairs of one column of the domain chains (a tree level) form a block; as a
    domain lies in one column, blocks do not share pairs. ``cells`` selects the
    cells (PSU x unit) with a domain in the column (None: every cell, in order) and
    ``merge`` gives the pair of each selected cell when several cells of a PSU fall
    in one domain (None: one cell per pair). ``dense`` marks a block of every PSU
    with the domains ``lo .. hi - 1`` instead (calibration residuals that reach PSUs
    outside the domain).
    """

    psu: np.ndarray
    domain: np.ndarray
    group: np.ndarray  # (stratum, domain) group of each pair
    summer: sparse.csr_array  # sums pair values into their groups
    column: int | None = None
    cells: np.ndarray | None = None
    merge: sparse.csr_array | None = None
    dense: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        return len(self.psu)

    def values(self, cell_values: np.ndarray) -> np.ndarray:
        """Sum per-cell values into the block's pairs."""
        values = cell_values if self.cells is None else cell_values[self.cells]
        return values if self.merge is None else self.merge @ values


class _Linearizer:
    """The computation behind :func:`linearize`, in steps.

    Rows are summed into cells (PSU x unit); with one row per PSU the cells are the
    rows and their weighted answers are formed one criterion at a time, so no
    criteria x rows array of floats is kept. The scores live on blocks of (PSU,
    domain) pairs, one per tree level, and each block is done for all criteria
    before the next, so only one level's composite scores are held at a time.
    """

    def __init__(
        self,
        structure: Structure,
        design: Design,
        domains: Domains,
        answered: np.ndarray,
        satisfied: np.ndarray,
    ) -> None:
        self.structure = structure
        self.design = design
        self.domains = domains
        self.ndomains = len(domains.labels)
        self.nleaves = domains.chain.shape[0]
        self.answered = answered  # (K, n)
        self.satisfied = satisfied
        self.layout = Composites.of(structure)

    # rows -> cells (PSU x unit) -> domains -------------------------------------------

    def _cells(self) -> None:
        design, leaf = self.design, self.domains.row_leaf
        w = design.weights
        n = len(w)
        if design.n_psu == n:  # every row its own PSU: the cells are the rows
            self.row_cell = None
            self.cell_of_row = np.arange(n)
            self.cell_psu, self.cell_leaf = design.psu, leaf
            self.nested = True
            self.cell_positive = w > 0
        else:
            cell, keys = pd.factorize(design.psu.astype(np.int64) * self.nleaves + leaf)
            keys = np.asarray(keys)
            self.cell_psu = keys // self.nleaves
            self.cell_leaf = keys % self.nleaves
            self.nested = len(keys) == design.n_psu  # every PSU lies in one unit
            self.row_cell = sum_matrix(cell, len(keys))
            self.cell_of_row = cell
            self.cell_sat = sum_rows(self.row_cell, self.satisfied, w)  # (K, C)
            self.cell_ans = sum_rows(self.row_cell, self.answered, w)
            self.cell_positive = self.row_cell @ (w > 0).astype(float) > 0

        chain, nd, ng = self.domains.chain, self.ndomains, self.nleaves
        ncrit = self.answered.shape[0]
        cell_leaf = sum_matrix(self.cell_leaf, ng)
        leaf_sat, leaf_ans = np.empty((ncrit, ng)), np.empty((ncrit, ng))
        for k in range(ncrit):  # criteria
            sat, ans = self._cell_values(k)
            leaf_sat[k], leaf_ans[k] = cell_leaf @ sat, cell_leaf @ ans
        self.total_sat = to_domains(leaf_sat, chain, nd).T  # (D, K)
        self.total_ans = to_domains(leaf_ans, chain, nd).T
        row_leaf = cell_leaf if self.row_cell is None else sum_matrix(leaf, ng)
        self.row_leaf = row_leaf
        positive = (w > 0).astype(float)
        self.crit_n = to_domains(
            sum_rows(row_leaf, self.answered, positive), chain, nd
        ).T
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ratio = self.total_sat / self.total_ans  # NaN without answers
            self.inverse_total = np.where(self.total_ans > 0, 1 / self.total_ans, 0.0)
        self.ratio_or_zero = np.nan_to_num(self.ratio)
        # per criterion, by domain, with a zero after the last domain for code -1
        pad = np.zeros((1, ncrit))
        self.ratio_by_criterion = np.ascontiguousarray(
            np.concatenate([self.ratio_or_zero, pad]).T
        )
        self.inverse_by_criterion = np.ascontiguousarray(
            np.concatenate([self.inverse_total, pad]).T
        )
        # respondents with an answer to at least one criterion of each composite
        any_answer = self.layout.any_answer(self.answered)
        self.comp_n = to_domains(sum_rows(row_leaf, any_answer, positive), chain, nd).T
        self.comp_pop = to_domains(sum_rows(row_leaf, any_answer, w), chain, nd).T

    def _cell_values(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Weighted satisfied and answered sums of criterion ``k`` per cell."""
        if self.row_cell is None:
            w = self.design.weights
            return self.satisfied[k] * w, self.answered[k] * w
        return self.cell_sat[k], self.cell_ans[k]

    def _pairs(self) -> None:
        """Blocks of (PSU, domain) pairs, their (stratum, domain) groups, df."""
        chain, nd, ng = self.domains.chain, self.ndomains, self.nleaves
        design = self.design
        # a pair's group follows from its cell's (stratum, unit) and the column
        cell_stratum = design.psu_stratum[self.cell_psu]
        cell_group, keys = pd.factorize(
            cell_stratum.astype(np.int64) * ng + self.cell_leaf
        )
        keys = np.asarray(keys)
        group_domain = chain[keys % ng]  # (stratum, unit) -> domain in each column
        valid = group_domain >= 0
        code, groups = pd.factorize(((keys // ng)[:, None] * nd + group_domain)[valid])
        groups = np.asarray(groups)
        group_of = np.full(group_domain.shape, -1, dtype=np.intp)
        group_of[valid] = code
        self._set_groups(groups // nd, groups % nd)

        self.blocks = []
        for column in range(chain.shape[1]):  # tree levels, not units
            domain = chain[self.cell_leaf, column]
            cells = None
            if (domain < 0).any():
                cells = np.flatnonzero(domain >= 0)
                domain = domain[cells]
            psu = self.cell_psu if cells is None else self.cell_psu[cells]
            group = group_of[cell_group if cells is None else cell_group[cells], column]
            merge = None
            if not self.nested:  # a PSU with several units of one domain
                pair, pair_keys = pd.factorize(psu.astype(np.int64) * nd + domain)
                if len(pair_keys) < len(pair):
                    merge = sum_matrix(pair, len(pair_keys))
                    merged_group = np.empty(len(pair_keys), dtype=np.intp)
                    merged_group[pair] = group
                    pair_keys = np.asarray(pair_keys)
                    psu, domain, group = pair_keys // nd, pair_keys % nd, merged_group
            self.blocks.append(
                _Block(
                    psu=psu,
                    domain=domain,
                    group=group,
                    summer=sum_matrix(group, self.ngroups),
                    column=column,
                    cells=cells,
                    merge=merge,
                )
            )

        n_psu = np.zeros(nd)
        group_positive = np.zeros(self.ngroups)
        for block in self.blocks:  # tree levels
            positive = (block.values(self.cell_positive.astype(float)) > 0).astype(
                float
            )
            n_psu += np.bincount(block.domain, weights=positive, minlength=nd)
            group_positive += block.summer @ positive
        strata = np.bincount(
            self.group_domain, weights=group_positive > 0, minlength=nd
        )
        self.n_psu = n_psu.astype(int)
        self.df = (n_psu - strata).astype(int)
        lonely = self.design.psu_count[self.group_stratum] == 1
        self.lonely_strata = np.bincount(
            self.group_domain, weights=lonely, minlength=nd
        ).astype(int)

    def _set_groups(self, stratum: np.ndarray, domain: np.ndarray) -> None:
        self.group_stratum = np.asarray(stratum, dtype=np.intp)
        self.group_domain = np.asarray(domain, dtype=np.intp)
        self.ngroups = len(self.group_stratum)

    def _answer_df(self) -> np.ndarray:
        """df of the design restricted to the answers to each criterion, (D, K).

        R's ``svyciprop(method = "beta")`` uses them: PSUs with answers to the
        criterion in the domain minus their strata.
        """
        nd, ncrit = self.ndomains, self.answered.shape[0]
        out = np.empty((nd, ncrit), dtype=int)
        for k in range(ncrit):  # criteria, not units
            _, cell_answers = self._cell_values(k)
            psus = np.zeros(nd)
            in_group = np.zeros(self.ngroups)
            for block in self.blocks:  # tree levels
                answered = (block.values(cell_answers) > 0).astype(float)
                psus += np.bincount(block.domain, weights=answered, minlength=nd)
                in_group += block.summer @ answered
            strata = np.bincount(self.group_domain, weights=in_group > 0, minlength=nd)
            out[:, k] = psus - strata
        return out

    # scores --------------------------------------------------------------------

    def _scores(self, block: _Block, k: int) -> np.ndarray:
        """PSU totals of the linearised scores of criterion ``k`` on a block."""
        if block.dense is not None:
            return self._dense_scores(block, k)
        if self.atoms is not None:
            return self._atom_scores(block, k)
        if self.design.calibrations:
            return self._residual_scores(block, k)
        return self._criterion_scores(block, k)

    def _atoms(self) -> None:
        """Sums per atom, for calibration residuals without a pass over the rows.

        An atom is a set of rows of one unit that every calibration treats alike
        (:meth:`~analysis.weights.margins.Calibration.atom_keys`): unit x field for
        post-strata unit x field, unit x gender x age group for margins unit x
        gender and unit x age group, when the weights before calibration are equal.
        A row's score in a tree level is linear in its answers with coefficients
        of its domain, so the atoms' sums of the scores follow from their weighted
        sums of satisfied and answered; the calibrations residualise those sums
        (``on_atoms``), and the change of every row of an atom, the same for each,
        reaches the cells (PSU x unit) in proportion to their rows of the atom.
        """
        self.atoms = None
        calibrations = self.design.calibrations
        keys = [getattr(c, "atom_keys", lambda: None)() for c in calibrations]
        if not calibrations or any(k is None for k in keys):
            return
        atom = self.domains.row_leaf
        for key in (k for ks in keys for k in ks):
            code, _ = pd.factorize(key)
            atom, _ = pd.factorize(atom.astype(np.int64) * (code.max() + 1) + code)
        natoms = int(atom.max()) + 1
        first = np.unique(atom, return_index=True)[1]
        w = self.design.weights
        in_atom = sum_matrix(atom, natoms)
        self.atom_sat = sum_rows(in_atom, self.satisfied, w)  # (K, A)
        self.atom_ans = sum_rows(in_atom, self.answered, w)
        self.atom_leaf = self.domains.row_leaf[first]
        size = np.bincount(atom, minlength=natoms).astype(float)
        ncells = len(self.cell_psu)
        self.atom_share = sparse.csr_array(  # (cells, atoms): share of the atom's rows
            (1 / size[atom], (self.cell_of_row, atom)), shape=(ncells, natoms)
        )
        self.atoms = [c.on_atoms(atom, first) for c in calibrations]

    def _atom_scores(self, block: _Block, k: int) -> np.ndarray:
        """PSU totals of the calibration residuals of criterion ``k``'s scores, from
        the atoms' sums (:meth:`_atoms`): the cells' scores minus their share of
        each atom's change."""
        domain = self.domains.chain[self.atom_leaf, block.column]
        x = self.ratio_by_criterion[k][domain]
        x *= self.atom_ans[k]
        np.subtract(self.atom_sat[k], x, out=x)
        x *= self.inverse_by_criterion[k][domain]
        residual = x
        for calibration in self.atoms:
            residual = calibration.residualize(residual)
        z = self._criterion_scores(block, k)
        z -= block.values(self.atom_share @ (x - residual))
        return z

    def _criterion_scores(self, block: _Block, k: int) -> np.ndarray:
        """:math:`(y - R a) / A` from the cells' sums, as the scores are linear."""
        sat, ans = self._cell_values(k)
        y, a = block.values(sat), block.values(ans)
        d = block.domain
        z = self.ratio_by_criterion[k][d]
        z *= a
        np.subtract(y, z, out=z)
        z *= self.inverse_by_criterion[k][d]
        return z

    def _row_scores(self, k: int, domain: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Weighted scores :math:`w (y - R_d a) / A_d` of some rows for domains."""
        w = self.design.weights[rows]
        x = self.ratio_by_criterion[k][domain]
        x *= self.answered[k, rows]
        np.subtract(self.satisfied[k, rows], x, out=x)
        x *= self.inverse_by_criterion[k][domain]
        x *= w
        return x

    def _residual_scores(self, block: _Block, k: int) -> np.ndarray:
        """PSU totals of the calibration residuals of the row scores, on a block.

        Valid when every calibration cell lies within one unit: the residuals of a
        domain's scores are then zero outside the domain, and as all rows of a cell
        share their domain in each column, residualising the column's row scores
        (each row scored for its own domain there) gives every domain's residuals at
        once. Rows without a domain in the column score zero (code -1 picks the
        zero after the last domain).
        """
        n = len(self.design.weights)
        domain = self.domains.chain[self.domains.row_leaf, block.column]
        x = self._row_scores(k, domain, slice(None))
        for calibration in self.design.calibrations:
            x = np.asarray(calibration.residualize(x), dtype=float).reshape(n)
        return block.values(x if self.row_cell is None else self.row_cell @ x)

    def _use_dense_blocks(self) -> None:
        """Switch to blocks of every (PSU, domain) pair, a chunk of domains each.

        For calibrations whose cells cross units: a domain's residuals then reach
        rows outside it, so every PSU has a score for every domain. Chunks keep the
        rows x domains array of one criterion under :data:`DENSE_CHUNK` values.
        """
        design, nd = self.design, self.ndomains
        npsu, nstrata = design.n_psu, design.n_strata
        self._set_groups(
            np.repeat(np.arange(nstrata), nd), np.tile(np.arange(nd), nstrata)
        )
        chunk = max(1, DENSE_CHUNK // len(design.weights))
        self.blocks = []
        for lo in range(0, nd, chunk):  # chunks of domains, for memory
            hi = min(lo + chunk, nd)
            psu = np.repeat(np.arange(npsu), hi - lo)
            domain = np.tile(np.arange(lo, hi), npsu)
            group = design.psu_stratum[psu] * nd + domain
            summer = sum_matrix(group, self.ngroups)
            self.blocks.append(_Block(psu, domain, group, summer, dense=(lo, hi)))

    def _dense_scores(self, block: _Block, k: int) -> np.ndarray:
        """PSU totals of the residuals of the row scores for a chunk of domains."""
        design, lo, hi = self.design, *block.dense
        n = len(design.weights)
        x = np.zeros((n, hi - lo))
        for column in self.domains.chain.T:  # tree levels, not units
            domain = column[self.domains.row_leaf]
            rows = np.flatnonzero((domain >= lo) & (domain < hi))
            x[rows, domain[rows] - lo] = self._row_scores(k, domain[rows], rows)
        for calibration in design.calibrations:
            x = np.asarray(calibration.residualize(x), dtype=float).reshape(n, hi - lo)
        return (psu_sums(design) @ x).ravel()  # PSU-major, as block.psu

    def _composite_unit_variance(self, coefficients: np.ndarray) -> np.ndarray:
        """Weighted variance :math:`S^2` of each composite's linearised variable.

        For respondent :math:`i` in domain :math:`d` the variable is
        :math:`x_i = \\hat N_d \\sum_k c_{dk} a_{ik}(y_{ik} - \\hat R_{dk}) /
        \\hat A_{dk}`
        (its weighted mean is zero) and :math:`S^2 = \\sum_i w_i x_i^2 / \\hat N_d`.
        A criterion's term depends on the domain and the answer (none, not satisfied,
        satisfied); the criteria of an element are taken :data:`PATTERN_CRITERIA` at a
        time, whose answers form one of :math:`3^4 = 81` patterns per row (computed
        once), so that each tree level is one lookup per group of criteria in a
        table by domain and pattern, not one per criterion.
        """
        chain, nd = self.domains.chain, self.ndomains
        leaf, w = self.domains.row_leaf, self.design.weights
        layout = self.layout
        element_of, ntop = layout.element_of, layout.ntop  # (K,)
        nelements = len(layout.elements)
        criteria = np.arange(len(element_of))
        own = coefficients[
            :, ntop + element_of, criteria
        ]  # (D, K) element coefficients
        slope = own * self.inverse_total
        ratio = self.ratio_or_zero
        # c_dk a_ik (y_ik - R_dk) / A_dk for answers none, 1-3, 4-5: (D + 1, K, 3),
        # with zeros in the last row for rows without a domain in a column (code -1)
        term = np.stack([np.zeros_like(slope), -slope * ratio, slope * (1 - ratio)], -1)
        term = np.concatenate([term, np.zeros((1, len(criteria), 3))])
        groups = [
            (e, members[i : i + PATTERN_CRITERIA])
            for e in range(nelements)
            for members in [np.flatnonzero(element_of == e)]
            for i in range(0, len(members), PATTERN_CRITERIA)
        ]
        npatterns = 3**PATTERN_CRITERIA
        digits = np.arange(npatterns) // 3 ** np.arange(PATTERN_CRITERIA)[:, None] % 3
        tables, patterns = [], []
        for _, members in groups:  # each group's table (D + 1, 81) and row patterns
            tables.append(
                sum(term[:, k, digits[j]] for j, k in enumerate(members)).ravel()
            )
            pattern = np.zeros(len(w), dtype=np.uint8)
            for j, k in enumerate(members):  # 0, 1 or 2 times 3^j: at most 80
                answer = np.add(self.answered[k], self.satisfied[k], dtype=np.uint8)
                pattern += answer * np.uint8(3**j)
            patterns.append(pattern)
        # the coefficients of the overall index and the areas are the element's times
        # a factor per domain
        member = layout.elements.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = (
                np.einsum("dtk,ek->dte", coefficients[:, :ntop, :], member)
                / (own @ member.T)[:, None, :]
            )
        factor = np.concatenate([np.nan_to_num(factor), np.zeros((1, ntop, nelements))])
        factor = np.ascontiguousarray(factor.transpose(1, 2, 0))  # (T, E, D + 1)
        n = len(w)
        x = np.empty((ntop + nelements, n))  # overall, areas, elements
        base = np.empty(n, dtype=np.intp)
        index = np.empty(n, dtype=np.intp)
        value = np.empty(n)
        sums = np.zeros((ntop + nelements, nd))
        for level in chain.T:  # tree levels, not units
            domain = level[leaf]
            np.multiply(np.where(domain < 0, nd, domain), npatterns, out=base)
            done = set()
            for (e, _), table, pattern in zip(groups, tables, patterns, strict=True):
                np.add(base, pattern, out=index)
                if e in done:
                    np.take(table, index, out=value)
                    x[ntop + e] += value
                else:
                    np.take(table, index, out=x[ntop + e])
                    done.add(e)
            for t, in_top in enumerate(layout.tops):  # overall and areas
                x[t] = 0.0
                for e in np.flatnonzero(in_top):
                    x[t] += factor[t, e][domain] * x[ntop + e]
            x *= x
            leaf_sums = sum_rows(self.row_leaf, x, w)  # (T + E, G)
            valid = level >= 0
            sums += bincount_rows(level[valid], leaf_sums[:, valid], nd)
        return self.comp_pop * sums.T

    # variance ------------------------------------------------------------------

    def run(self, keep_scores: bool, answer_df: bool) -> Linearization:
        self._cells()
        self._pairs()
        answer_dfs = self._answer_df() if answer_df else None
        calibrations = self.design.calibrations
        leaf = self.domains.row_leaf
        self.atoms = None
        if not all(_within_units(c, leaf) for c in calibrations):
            self._use_dense_blocks()
        else:
            self._atoms()
        layout = self.layout
        ntop, nelements = layout.ntop, len(layout.elements)
        ncomp, ncrit = ntop + nelements, layout.elements.shape[1]
        coefficients, parts_used, parts_total = composite_coefficients(
            self.structure, self.total_ans > 0
        )
        # An element's score is sum_k c_dk z_k with c_dk = 1 / (criteria answered in
        # d) for every criterion (z_k = 0 where k has no answers); the overall
        # index's and an area's are sum_e factor_tde z_e. So sum the criterion scores
        # per element.
        element_scale, top_factor = composite_factors(coefficients, layout)
        element_of = layout.element_of
        top_elements = [np.flatnonzero(in_top) for in_top in layout.tops]
        sums = np.zeros((ncomp + ncrit, self.ngroups))
        squares = np.zeros_like(sums)
        npairs = sum(block.size for block in self.blocks)
        scores = np.empty((npairs, ncomp + ncrit)) if keep_scores else None
        # with a row per PSU and no calibration a composite's pair score is w_i x_i,
        # so the sums of w x^2 for S^2 come from the scores
        from_scores = self.row_cell is None and not calibrations
        unit_sums = np.zeros((ncomp, self.ndomains))
        start = 0
        for block in self.blocks:  # tree levels (or chunks of domains), not units
            pairs = slice(start, start + block.size)
            composite = np.zeros((ncomp, block.size))
            for k in range(ncrit):  # criteria, not units
                z = self._scores(block, k)
                composite[ntop + element_of[k]] += z
                self._accumulate(block, ncomp + k, z, sums, squares, scores, pairs)
            d = block.domain
            for e in range(nelements):
                composite[ntop + e] *= element_scale[e][d]
            for t, elements in enumerate(top_elements):  # overall and areas
                for e in elements:
                    composite[t] += top_factor[t, e][d] * composite[ntop + e]
            for j in range(ncomp):
                self._accumulate(block, j, composite[j], sums, squares, scores, pairs)
            if from_scores:
                w = self.design.weights
                w = w if block.cells is None else w[block.cells]
                inverse = np.divide(1.0, w, out=np.zeros_like(w), where=w > 0)
                unit_sums += sum_rows(
                    sum_matrix(d, self.ndomains), composite**2, inverse
                )
            start += block.size
        variance, magnitude = domain_variance(
            self.design,
            self.group_stratum,
            self.group_domain,
            self.ndomains,
            sums,
            squares,
        )

        comp_estimate = np.einsum("djk,dk->dj", coefficients, self.ratio_or_zero)
        comp_estimate[parts_used == 0] = np.nan
        estimate = np.concatenate([comp_estimate, self.ratio], axis=1)
        variance[np.isnan(estimate)] = np.nan
        composite_unit_variance = (
            self.comp_pop * unit_sums.T
            if from_scores
            else self._composite_unit_variance(coefficients)
        )
        unit_variance = np.concatenate(
            [composite_unit_variance, self.ratio * (1 - self.ratio)], axis=1
        )
        ones = np.ones_like(self.ratio)
        structure = self.structure
        return Linearization(
            domains=self.domains.labels,
            indicators=(*structure.composites, *structure.criteria),
            estimate=estimate,
            variance=variance,
            nobs=np.concatenate([self.comp_n, self.crit_n], axis=1).astype(int),
            pop_size=np.concatenate([self.comp_pop, self.total_ans], axis=1),
            unit_variance=unit_variance,
            parts_used=np.concatenate([parts_used, ones], axis=1).astype(int),
            parts_total=np.concatenate([parts_total, ones], axis=1).astype(int),
            variance_scale=magnitude,
            df=self.df,
            answer_df=None
            if answer_dfs is None
            else np.column_stack([np.repeat(self.df[:, None], ncomp, 1), answer_dfs]),
            n_psu=self.n_psu,
            lonely_strata=self.lonely_strata,
            design=self.design,
            n_composites=ncomp,
            aggregation=structure.aggregation,
            n_areas=len(structure.areas),
            score_psu=np.concatenate([b.psu for b in self.blocks])
            if keep_scores
            else None,
            score_domain=np.concatenate([b.domain for b in self.blocks])
            if keep_scores
            else None,
            scores=scores,
            satisfied_total=self.total_sat,
        )

    def _accumulate(
        self,
        block: _Block,
        j: int,
        z: np.ndarray,
        sums: np.ndarray,
        squares: np.ndarray,
        scores: np.ndarray | None,
        pairs: slice,
    ) -> None:
        sums[j] += block.summer @ z
        squares[j] += block.summer @ (z * z)
        if scores is not None:
            scores[pairs, j] = z


def _within_units(calibration: object, leaf: np.ndarray) -> bool:
    """Whether a calibration's cells lie within units (False if it cannot tell)."""
    nests_within = getattr(calibration, "nests_within", None)
    return bool(nests_within is not None and nests_within(leaf))
