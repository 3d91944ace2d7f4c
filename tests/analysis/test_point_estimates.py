"""Estimates without variances: the ones linearize() gives, for any weights and tree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import DesignError, make_design
from analysis.linearization import linearize, point_estimates, point_estimates_without
from analysis.questionnaire import load_structure


def random_answers(structure, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "unit": rng.choice(["a", "b", "c", "d"], n),
            "psu": rng.integers(0, 40, n),
            "weight": rng.uniform(1, 30, n),
        }
    )
    low = min(structure.scale)
    for k, code in enumerate(structure.criteria):
        answers = rng.integers(low, max(structure.scale) + 1, n).astype(float)
        answers[rng.random(n) < 0.15 + 0.02 * k] = np.nan
        frame[code] = answers
    # a unit where one criterion has no answers at all: its element averages the rest
    frame.loc[frame["unit"] == "d", structure.criteria[0]] = np.nan
    return frame


PARENTS = {"a": "north", "b": "north", "c": "south"}


def linearised(frame: pd.DataFrame, structure, weighted: bool):
    """The design (units as strata, clustered) and its linearisation of the rows."""
    design = make_design(
        frame,
        strata="unit",
        psu="psu",
        nest=True,
        weight="weight" if weighted else None,
    )
    return design, linearize(frame, structure, design=design, parents=PARENTS)


@pytest.mark.parametrize("name", ["sipas-2640", "sipas-1001"])
@pytest.mark.parametrize("weighted", [False, True])
def test_point_estimates_are_those_of_linearize(name, weighted):
    structure = load_structure(name)
    frame = random_answers(structure, 3000, seed=len(name))
    design, linear = linearised(frame, structure, weighted)
    found = point_estimates(
        frame, structure, design.weights if weighted else None, parents=PARENTS
    )
    assert list(found.index) == list(linear.domains)
    assert list(found.columns) == list(linear.indicators)
    np.testing.assert_allclose(
        found.to_numpy(), linear.estimate, rtol=0, atol=1e-12, equal_nan=True
    )
    assert np.isnan(found.loc["d", structure.criteria[0]])
    assert not np.isnan(found.loc["d", structure.composites[0]])


def test_point_estimates_refuse_weights_of_another_length():
    structure = load_structure("sipas-2640")
    frame = random_answers(structure, 50, seed=1)
    with pytest.raises(DesignError, match="49 weights for 50 rows"):
        point_estimates(frame, structure, np.ones(49))


@pytest.mark.parametrize("weighted", [False, True])
def test_estimates_without_some_rows_are_those_of_the_rows_left(weighted):
    structure = load_structure("sipas-2640")
    frame = random_answers(structure, 3000, seed=11)
    design, linear = linearised(frame, structure, weighted)
    rng = np.random.default_rng(1)
    out = (rng.random(len(frame)) < 0.1) | (frame["unit"] == "c").to_numpy()
    weights = design.weights if weighted else np.ones(len(frame))
    found = point_estimates_without(
        linear, frame[out], structure, weights[out], parents=PARENTS
    )
    kept = point_estimates(frame[~out], structure, weights[~out], parents=PARENTS)
    assert list(found.index) == list(linear.domains)
    # unit c and its parent "south" have no rows left: NaN, where the rows left omit it
    assert found.loc[["c", "south"]].isna().all().all()
    assert "c" not in kept.index
    np.testing.assert_allclose(
        found.loc[kept.index].to_numpy(), kept.to_numpy(), rtol=1e-12, equal_nan=True
    )
    unchanged = point_estimates_without(linear, frame[:0], structure, parents=PARENTS)
    np.testing.assert_allclose(
        unchanged.to_numpy(), linear.estimate, rtol=1e-12, equal_nan=True
    )
