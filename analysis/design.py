"""The survey design: strata, primary sampling units, weights and population sizes.

A :class:`Design` holds, aligned with the rows of a response frame, what the variance
estimator needs: integer stratum and PSU codes, the weights, the number of PSUs in each
stratum's population (the finite population correction) and the rule for strata with
a single sampled PSU. It follows R's ``survey`` package (``svydesign(ids=~psu,
strata=~stratum, weights=~weight, fpc=~fpc)``, Lumley 2010, ch. 2-3): the variance is
computed from the first stage only, PSUs are taken as sampled with replacement within
strata and the finite population correction :math:`1 - n_h / N_h` is applied to the
first stage.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2-3.
Lumley, T. (2024). survey: analysis of complex survey samples. R package 4.1-1
(``svydesign``, ``as.fpc``, ``survey.lonely.psu``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .columns import row_number

#: Rules for a stratum with one sampled PSU, with R's meaning (``survey.lonely.psu``):
#: ``fail`` raises an error; ``adjust`` takes the PSU's deviation from zero (the
#: grand mean of the scores) instead of its stratum mean; ``average`` replaces the
#: stratum's contribution by the average contribution of the other strata;
#: ``remove`` and ``certainty`` let the stratum contribute nothing.
LONELY_PSU_RULES = ("fail", "adjust", "average", "remove", "certainty")


class DesignError(ValueError):
    """Survey data or design columns that the estimators cannot use."""


@dataclass(frozen=True)
class Design:
    """A stratified cluster design, aligned with the rows of a response frame.

    Parameters
    ----------
    weights : ndarray of float, shape (n,)
        Sampling (or calibrated) weight of each row.
    stratum : ndarray of int, shape (n,)
        Stratum code of each row, ``0 .. H-1``.
    psu : ndarray of int, shape (n,)
        PSU code of each row, ``0 .. P-1``; a PSU lies in one stratum.
    psu_stratum : ndarray of int, shape (P,)
        Stratum code of each PSU.
    fpc : ndarray of float, shape (H,), or None
        Number of PSUs in each stratum's population (R's ``fpc`` given as population
        sizes); ``None`` for no finite population correction.
    lonely_psu : str
        Rule for strata with one sampled PSU, one of :data:`LONELY_PSU_RULES`.
    calibrations : tuple
        Calibration steps applied to the weights, oldest first. Each has a method
        ``residualize(x)`` that maps the ``n x k`` weighted linearised scores to their
        calibration residuals (R's ``design$postStrata``), and optionally a method
        ``nests_within(groups)`` telling whether every calibration cell lies within
        one group, which lets the estimators skip rows x domains arrays.
    stratum_labels, psu_labels : ndarray
        The original stratum and PSU values, indexed by code (for messages).
    """

    weights: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    psu_stratum: np.ndarray
    fpc: np.ndarray | None
    lonely_psu: str = "adjust"
    calibrations: tuple = ()
    stratum_labels: np.ndarray | None = None
    psu_labels: np.ndarray | None = None

    @property
    def n_strata(self) -> int:
        """Number of strata :math:`H`."""
        return len(self.psu_count)

    @property
    def n_psu(self) -> int:
        """Number of sampled PSUs :math:`P`."""
        return len(self.psu_stratum)

    @property
    def psu_count(self) -> np.ndarray:
        """Number of sampled PSUs :math:`n_h` in each stratum."""
        return np.bincount(self.psu_stratum)

    @property
    def sampling_fraction(self) -> np.ndarray:
        """First-stage sampling fraction :math:`n_h / N_h` (zero without fpc)."""
        if self.fpc is None:
            return np.zeros(self.n_strata)
        return self.psu_count / self.fpc

    @property
    def degrees_of_freedom(self) -> int:
        """PSUs with a positive weight minus their strata (R's ``degf``)."""
        weighted = np.bincount(self.psu, weights=self.weights, minlength=self.n_psu) > 0
        strata = np.bincount(self.psu_stratum[weighted], minlength=self.n_strata) > 0
        return int(weighted.sum() - strata.sum())

    def with_weights(self, weights: np.ndarray, calibration: object = None) -> Design:
        """Return the design with new weights, appending ``calibration`` if given.

        Parameters
        ----------
        weights : array_like, shape (n,)
            The new weights.
        calibration : object, optional
            An object with a ``residualize(x)`` method describing the calibration
            that produced the weights.

        Returns
        -------
        Design
        """
        weights = np.asarray(weights, dtype=float)
        if weights.shape != self.weights.shape:
            raise DesignError("new weights must have one value per row")
        calibrations = self.calibrations
        if calibration is not None:
            calibrations = (*calibrations, calibration)
        return replace(self, weights=weights, calibrations=calibrations)

    @classmethod
    def simple_random_sample(cls, n: int) -> Design:
        """Each row its own PSU, one stratum, unit weights, no fpc."""
        rows = np.arange(n)
        return cls(
            weights=np.ones(n),
            stratum=np.zeros(n, dtype=np.intp),
            psu=rows,
            psu_stratum=np.zeros(n, dtype=np.intp),
            fpc=None,
            stratum_labels=np.array([1]),
            psu_labels=rows,
        )


def _column(frame: pd.DataFrame, name: str, role: str) -> pd.Series:
    if name not in frame.columns:
        known = ", ".join(map(str, frame.columns[:20]))
        raise DesignError(f"unknown {role} column {name!r} (columns: {known})")
    values = frame[name]
    missing = values.isna().to_numpy()
    if missing.any():
        first = row_number(np.flatnonzero(missing)[0])
        raise DesignError(
            f"{role} column {name!r} has {missing.sum()} missing values "
            f"(first at row {first})"
        )
    return values


def _numeric(values: pd.Series, name: str, role: str) -> np.ndarray:
    try:
        numbers = pd.to_numeric(values).to_numpy(dtype=float)
    except (ValueError, TypeError) as exc:
        raise DesignError(f"{role} column {name!r} is not numeric") from exc
    if not np.isfinite(numbers).all():
        raise DesignError(f"{role} column {name!r} has infinite values")
    return numbers


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.intp), np.asarray(labels)


def _population_psus(
    fpc: np.ndarray, stratum: np.ndarray, psu_count: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Population PSUs per stratum from a row-level fpc column (R's ``as.fpc``)."""
    nstrata = len(psu_count)
    low = np.full(nstrata, np.inf)
    high = np.full(nstrata, -np.inf)
    np.minimum.at(low, stratum, fpc)
    np.maximum.at(high, stratum, fpc)
    varies = np.flatnonzero(low != high)
    if varies.size:
        raise DesignError(f"fpc varies within stratum '{labels[varies[0]]}'")
    if (low <= 0).any():
        raise DesignError("fpc must be positive")
    if (low > 1).any():
        if (low < 1).any():
            raise DesignError(
                "fpc mixes sampling fractions (<= 1) and population sizes (> 1)"
            )
        population = low
    else:
        population = psu_count / low
    short = np.flatnonzero(population < psu_count - 1e-9)
    if short.size:
        h = short[0]
        raise DesignError(
            f"fpc of stratum '{labels[h]}' implies {population[h]:g} PSUs in the "
            f"population but {psu_count[h]} were sampled"
        )
    return population


def make_design(
    frame: pd.DataFrame,
    *,
    strata: str | None = None,
    psu: str | None = None,
    weight: str | None = None,
    fpc: str | None = None,
    lonely_psu: str = "adjust",
    nest: bool = False,
) -> Design:
    """Build and check a survey design from columns of a response frame.

    Parameters
    ----------
    frame : DataFrame
        One row per response.
    strata : str, optional
        Stratum column; without it the design has one stratum.
    psu : str, optional
        PSU (cluster) column; without it each row is its own PSU. PSU values must be
        unique across strata (a PSU lies in one stratum) unless ``nest`` is true.
    weight : str, optional
        Weight column (non-negative); without it all weights are one.
    fpc : str, optional
        Finite population correction, constant within a stratum: the number of PSUs
        in the stratum's population, or the sampling fraction if all values are at
        most one (as R's ``svydesign(fpc=)``).
    lonely_psu : {"adjust", "fail", "average", "remove", "certainty"}
        Rule for strata with a single sampled PSU (R's ``survey.lonely.psu``).
    nest : bool
        PSU values are numbered within each stratum (e.g. counter-days ``1, 2, ..``
        in every stratum), so the same value in two strata names two PSUs: a PSU is
        identified by its stratum and its value, as R's ``svydesign(nest = TRUE)``.

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        For an unknown column, missing, non-numeric or negative weights, missing
        stratum or PSU values, a PSU in two strata, a stratum without responses, an
        fpc that varies within a stratum or implies fewer population PSUs than were
        sampled, an unknown lonely-PSU rule, or ``lonely_psu="fail"`` with a stratum
        that has one PSU.

    Notes
    -----
    With :math:`n_h` sampled PSUs of :math:`N_h` in stratum :math:`h`, the variance
    estimators use the with-replacement factor :math:`n_h / (n_h - 1)` and the finite
    population correction :math:`1 - n_h / N_h`; an fpc given as the fraction
    :math:`f_h` means :math:`N_h = n_h / f_h` (R's ``as.fpc``).
    """
    if lonely_psu not in LONELY_PSU_RULES:
        raise DesignError(
            f"unknown lonely_psu rule {lonely_psu!r}; "
            f"expected one of {', '.join(LONELY_PSU_RULES)}"
        )
    n = len(frame)
    if n == 0:
        raise DesignError("no responses")

    if weight is None:
        weights = np.ones(n)
    else:
        weights = _numeric(_column(frame, weight, "weight"), weight, "weight")
        negative = np.flatnonzero(weights < 0)
        if negative.size:
            raise DesignError(
                f"weight column {weight!r} has {negative.size} negative values "
                f"(first at row {row_number(negative[0])})"
            )

    if strata is None:
        stratum, stratum_labels = np.zeros(n, dtype=np.intp), np.array([1])
    else:
        values = _column(frame, strata, "stratum")
        stratum, stratum_labels = _codes(values)
        if isinstance(values.dtype, pd.CategoricalDtype):
            unused = set(values.cat.categories) - set(stratum_labels)
            if unused:
                raise DesignError(f"stratum {sorted(map(str, unused))[0]!r} is empty")

    if psu is None:
        psu_codes, psu_labels = np.arange(n), np.asarray(frame.index)
    elif nest:
        psu_values = _column(frame, psu, "PSU")
        pairs = pd.MultiIndex.from_arrays([stratum, psu_values])
        psu_codes, pair_labels = pd.factorize(pairs, sort=True)
        psu_codes = psu_codes.astype(np.intp)
        strata_of = pd.Index(stratum_labels[pair_labels.get_level_values(0)])
        psu_labels = np.asarray(
            strata_of.astype(str) + "/" + pair_labels.get_level_values(1).astype(str)
        )
    else:
        psu_codes, psu_labels = _codes(_column(frame, psu, "PSU"))
    npsu = len(psu_labels)

    psu_stratum = np.empty(npsu, dtype=np.intp)
    psu_stratum[psu_codes] = stratum  # one of each PSU's strata
    elsewhere = np.flatnonzero(psu_stratum[psu_codes] != stratum)
    if elsewhere.size:
        twice = psu_codes[elsewhere[0]]
        in_strata = stratum_labels[np.unique(stratum[psu_codes == twice])]
        raise DesignError(
            f"PSU '{psu_labels[twice]}' is in more than one stratum "
            f"({', '.join(map(str, in_strata))}); if PSU ids are numbered within "
            "each stratum, declare the design nested (nest=True, --nest)"
        )
    psu_count = np.bincount(psu_stratum, minlength=len(stratum_labels))

    stratum_weight = np.bincount(stratum, weights=weights, minlength=len(psu_count))
    empty = np.flatnonzero(stratum_weight <= 0)
    if empty.size:
        raise DesignError(
            f"stratum '{stratum_labels[empty[0]]}' has no responses with a positive "
            "weight"
        )

    population = None
    if fpc is not None:
        fpc_values = _numeric(_column(frame, fpc, "fpc"), fpc, "fpc")
        population = _population_psus(fpc_values, stratum, psu_count, stratum_labels)

    if lonely_psu == "fail":
        census = np.zeros(len(psu_count), dtype=bool)
        if population is not None:
            census = psu_count >= population
        lonely = np.flatnonzero((psu_count == 1) & ~census)
        if lonely.size:
            raise DesignError(
                f"stratum '{stratum_labels[lonely[0]]}' has only one PSU "
                "(lonely_psu='fail'); choose adjust, average, remove or certainty"
            )

    return Design(
        weights=weights,
        stratum=stratum,
        psu=psu_codes,
        psu_stratum=psu_stratum,
        fpc=population,
        lonely_psu=lonely_psu,
        stratum_labels=stratum_labels,
        psu_labels=psu_labels,
    )
