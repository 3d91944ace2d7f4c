"""Block-diagonal calibration (analysis.weights.blocks) against the dense formula.

The R reference tests of test_weights.py check rake and calibrate, weights and
variances, on a small design; these check that solving block by block gives the
dense generalised-inverse solution of Deville and Särndal's normal equations,
:math:`\\hat\\beta = (M^\\top D M)^{-} M^\\top (x / g)`, whatever the blocks, and that
the blocks follow the margins (one per unit for margins within units).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.design import make_design
from analysis.weights import GregCalibration, calibrate, rake
from analysis.weights.blocks import CellBlocks, cell_matrix
from analysis.weights.margins import margin_cells

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="module")
def frame():
    return pd.read_csv(REFERENCE / "responses_current.csv")


@pytest.fixture(scope="module")
def base(frame):
    return make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")


def unit_margins():
    return [
        pd.read_csv(REFERENCE / "margin_unit_gender.csv"),
        pd.read_csv(REFERENCE / "margin_unit_age.csv"),
    ]


def crossing_margins():
    """Gender for the whole province and unit x age: cells that cross units."""
    gender, age = unit_margins()
    national = gender.groupby("gender", as_index=False)["population"].sum()
    return [national, age]


def dense_residuals(cells, ncells, base, weights, x):
    """The textbook computation: one dense generalised inverse of M'DM."""
    matrix = cell_matrix(cells, ncells).toarray()
    gram = matrix.T @ (matrix * base[:, None])
    diag = np.diag(gram).copy()
    diag[diag <= 0] = 1.0
    scale = 1.0 / np.sqrt(diag)
    ginv = np.linalg.pinv(gram * np.outer(scale, scale), rtol=1e-10, hermitian=True)
    ginv *= np.outer(scale, scale)
    beta = ginv @ (matrix.T @ (x * (base / weights)[:, None]))
    return x - weights[:, None] * (matrix @ beta)


@pytest.mark.parametrize(
    ("margins", "blocks", "sizes"),
    [(unit_margins, 5, {7}), (crossing_margins, 1, {2 + 25})],
    ids=["within-units", "crossing-units"],
)
def test_blocks_follow_the_margins(frame, base, margins, blocks, sizes):
    cells, pops = margin_cells(frame, margins(), base.weights)
    split = CellBlocks(cells, [len(p) for p in pops])
    assert split.block.max() + 1 == blocks
    assert {group.cells.shape[1] for group in split.groups} == sizes
    # every cell is in exactly one block, and the cells of a row share it
    placed = np.concatenate([group.cells.ravel() for group in split.groups])
    assert sorted(placed) == list(range(sum(len(p) for p in pops)))
    offsets = np.cumsum([0, len(pops[0])])
    row_blocks = [
        split.block[offset + c] for offset, c in zip(offsets, cells, strict=True)
    ]
    np.testing.assert_array_equal(row_blocks[0], row_blocks[1])


@pytest.mark.parametrize("margins", [unit_margins, crossing_margins])
def test_block_residuals_equal_the_dense_solution(frame, base, margins):
    design = rake(base, frame, margins())
    calibration = design.calibrations[-1]
    assert isinstance(calibration, GregCalibration)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(len(frame), 3)) * design.weights[:, None]
    cells, pops = margin_cells(frame, margins(), base.weights)
    expected = dense_residuals(
        cells, [len(p) for p in pops], base.weights, design.weights, x
    )
    np.testing.assert_allclose(
        calibration.residualize(x), expected, rtol=1e-9, atol=1e-9
    )
    # the residuals of the calibration variables themselves are zero
    indicators = cell_matrix(cells, [len(p) for p in pops]).toarray()
    residual = calibration.residualize(indicators * design.weights[:, None])
    np.testing.assert_allclose(residual, 0.0, atol=1e-8)


def test_calibrate_hits_margins_with_blocks_of_several_sizes(frame, base):
    """Units with different numbers of cells make blocks of different sizes."""
    gender, age = unit_margins()
    young = age["age_group"].isin(["18-25", "26-35"])
    merged = age.assign(age_group=np.where(young, "18-35", age["age_group"]))
    merged = merged.groupby(["unit", "age_group"], as_index=False)["population"].sum()
    age_cells = merged[merged["unit"].isin(["U01", "U02"])]  # 4 groups there
    age_cells = pd.concat([age_cells, age[~age["unit"].isin(["U01", "U02"])]])
    data = frame.assign(
        age_group=np.where(
            frame["unit"].isin(["U01", "U02"])
            & frame["age_group"].isin(["18-25", "26-35"]),
            "18-35",
            frame["age_group"],
        )
    )
    calibrated = calibrate(base, data, [gender, age_cells], epsilon=1e-12, maxit=100)
    cells, pops = margin_cells(data, [gender, age_cells], base.weights)
    split = CellBlocks(cells, [len(p) for p in pops])
    assert {group.cells.shape[1] for group in split.groups} == {6, 7}
    for margin in (gender, age_cells):
        variables = [c for c in margin.columns if c != "population"]
        totals = data.assign(w=calibrated.weights).groupby(variables)["w"].sum()
        expected = margin.set_index(variables)["population"]
        np.testing.assert_allclose(totals.loc[expected.index], expected, rtol=1e-9)
    x = np.column_stack(
        [calibrated.weights * data[c].fillna(0) for c in ("1.1", "2.3")]
    )
    expected = dense_residuals(
        cells, [len(p) for p in pops], base.weights, calibrated.weights, x
    )
    np.testing.assert_allclose(
        calibrated.calibrations[-1].residualize(x), expected, rtol=1e-9, atol=1e-9
    )
