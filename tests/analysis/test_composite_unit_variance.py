"""The S² behind a composite's design effect, against the formula row by row.

linearize() looks the criteria up a group at a time in tables by domain and answer
pattern; here every respondent's linearised value is formed directly from the
definition, one domain at a time, for both questionnaires (areas, elements of up to
ten criteria), with weights, "no opinion" answers and a tree of domains.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.answers import answer_flags
from analysis.composites import composite_coefficients
from analysis.design import make_design
from analysis.linearization import linearize
from analysis.questionnaire import load_structure
from tests.analysis.test_calibration_atoms import PARENTS, responses


@pytest.mark.parametrize("name", ["sipas-2640", "sipas-1001"])
def test_composite_unit_variance_is_the_weighted_variance_of_each_respondent(name):
    structure = load_structure(name)
    frame = responses(structure, 2500, seed=len(name))
    design = make_design(frame, strata="unit", psu="psu", weight="weight", nest=True)
    linear = linearize(frame, structure, design=design, parents=PARENTS)
    ncomp = linear.n_composites
    ratio = np.nan_to_num(linear.estimate[:, ncomp:])  # (D, K)
    answers = linear.pop_size[:, ncomp:]  # weighted answers, (D, K)
    coefficients, _, _ = composite_coefficients(structure, answers > 0)
    answered, satisfied = answer_flags(frame, structure)  # (K, n)
    w = design.weights
    units = frame["unit"].to_numpy()
    for d, label in enumerate(linear.domains):
        rows = (
            np.ones(len(frame), dtype=bool)
            if label == "ALL"
            else (units == label)
            | np.isin(units, [u for u, p in PARENTS.items() if p == label])  # fmt: skip
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            per_criterion = np.where(
                answers[d][:, None] > 0,
                answered[:, rows]
                * (satisfied[:, rows] - ratio[d][:, None])
                / answers[d][:, None],
                0.0,
            )  # (K, rows)
        for j in range(ncomp):
            population = linear.pop_size[d, j]
            x = population * (coefficients[d, j] @ per_criterion)
            expected = np.sum(w[rows] * x**2) / population
            assert linear.unit_variance[d, j] == pytest.approx(
                expected, rel=1e-12, abs=1e-15
            ), (label, linear.indicators[j])
