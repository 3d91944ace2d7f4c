"""Calibration residuals from sums per atom equal those from a pass over the rows.

With calibration cells within units, linearize() residualises each criterion's scores
on sums per atom (rows a calibration treats alike) instead of on every row. Every
figure must be the one the row-by-row residuals give, for post-stratification, GREG
raking and R's backfitted rake() residuals, with unequal weights before calibration,
PSUs that cross units or not, trimming after calibration and one row per PSU.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from analysis.design import make_design
from analysis.linearization import _Linearizer, linearize
from analysis.questionnaire import load_structure
from analysis.weights import post_stratify, rake, trim_weights

UNITS = ["a", "b", "c", "d", "e"]
PARENTS = {"a": "north", "b": "north", "c": "south", "d": "south"}


def responses(structure, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "unit": rng.choice(UNITS, n),
            "day": rng.integers(0, 30, n),
            "field": rng.choice(["dat", "hotich", "xaydung"], n),
            "gender": rng.choice(["nam", "nu"], n),
            "age": rng.choice(["18-34", "35-59", "60+"], n),
            # two base weights only, so that atoms hold many rows, and some zeros
            "weight": rng.choice([1.0, 2.5], n) * (rng.random(n) > 0.01),
        }
    )
    frame["psu"] = frame["unit"] + "-" + frame["day"].astype(str)
    for k, code in enumerate(structure.criteria):
        answers = rng.integers(1, 6, n).astype(float)
        answers[rng.random(n) < 0.05 + 0.01 * k] = np.nan
        frame[code] = answers
    frame.loc[frame["unit"] == "e", structure.criteria[0]] = np.nan
    return frame


def population(frame: pd.DataFrame, by: list[str], scale: float) -> pd.DataFrame:
    counts = frame.groupby(by).size().rename("population").reset_index()
    counts["population"] = np.round(counts["population"] * scale)
    return counts


def calibrated(frame: pd.DataFrame, how: str, psu: str | None, strata: str | None):
    design = make_design(frame, strata=strata, psu=psu, weight="weight", nest=True)
    if how == "post-strata":
        return post_stratify(
            design, frame, ["unit", "field"], population(frame, ["unit", "field"], 9)
        )
    margins = [
        population(frame, ["unit", "gender"], 12),
        population(frame, ["unit", "age"], 12),
    ]
    # margins from one share per unit, so that they agree on each unit's total
    totals = margins[0].groupby("unit")["population"].sum()
    age = margins[1]
    age["population"] = np.floor(
        age["population"] * totals[age["unit"]].to_numpy()
        / age.groupby("unit")["population"].transform("sum")
    )  # fmt: skip
    age.loc[age.groupby("unit").cumcount() == 0, "population"] += (
        totals.to_numpy() - age.groupby("unit")["population"].sum().to_numpy()
    )
    variance = "rake" if how == "rake-backfitted" else "greg"
    return rake(design, frame, margins, variance=variance)


def both_ways(monkeypatch, frame, structure, design):
    """linearize() by atoms (checked to be used) and by rows."""
    with monkeypatch.context() as patch:
        patch.setattr(
            _Linearizer, "_residual_scores", lambda *a: pytest.fail("rows used")
        )
        by_atoms = linearize(frame, structure, design=design, parents=PARENTS)
    with monkeypatch.context() as patch:
        patch.setattr(_Linearizer, "_atoms", lambda self: None)
        by_rows = linearize(frame, structure, design=design, parents=PARENTS)
    return by_atoms, by_rows


def assert_same(by_atoms, by_rows):
    for field in fields(by_rows):
        ours, theirs = getattr(by_atoms, field.name), getattr(by_rows, field.name)
        if isinstance(theirs, np.ndarray) and theirs.dtype.kind == "f":
            np.testing.assert_allclose(
                ours, theirs, rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=field.name
            )
        elif isinstance(theirs, np.ndarray):
            np.testing.assert_array_equal(ours, theirs, err_msg=field.name)


@pytest.mark.parametrize("how", ["post-strata", "rake-greg", "rake-backfitted"])
@pytest.mark.parametrize(
    ("psu", "strata"),
    [("psu", "unit"), ("day", None), (None, "unit")],
    ids=["psu-in-unit", "psu-across-units", "row-per-psu"],
)
def test_atoms_give_the_residuals_of_the_rows(monkeypatch, how, psu, strata):
    structure = load_structure("sipas-2640")
    frame = responses(structure, 4000, seed=len(how) + len(str(psu)))
    design = calibrated(frame, how, psu, strata)
    by_atoms, by_rows = both_ways(monkeypatch, frame, structure, design)
    assert_same(by_atoms, by_rows)
    assert np.all(by_rows.variance[np.isfinite(by_rows.variance)] >= 0)
    assert np.isfinite(by_rows.variance).sum() > 100  # the figures compared exist


def test_atoms_after_trimming_and_on_the_1001_questionnaire(monkeypatch):
    structure = load_structure("sipas-1001")
    frame = responses(structure, 3000, seed=3)
    design = calibrated(frame, "post-strata", "psu", "unit")
    design = trim_weights(design, upper=1.3 * float(np.mean(design.weights)))
    by_atoms, by_rows = both_ways(monkeypatch, frame, structure, design)
    assert_same(by_atoms, by_rows)


def test_a_calibration_that_cannot_tell_its_atoms_keeps_the_rows(monkeypatch):
    structure = load_structure("sipas-2640")
    frame = responses(structure, 1500, seed=5)
    design = calibrated(frame, "post-strata", "psu", "unit")

    class Opaque:  # residualize() only, as Design allows
        def __init__(self, inner):
            self.inner = inner

        def residualize(self, x):
            return self.inner.residualize(x)

        def nests_within(self, groups):
            return self.inner.nests_within(groups)

    opaque = design.with_weights(design.weights)
    object.__setattr__(opaque, "calibrations", (Opaque(design.calibrations[0]),))
    used = []
    original = _Linearizer._residual_scores
    monkeypatch.setattr(
        _Linearizer,
        "_residual_scores",
        lambda self, *a: used.append(1) or original(self, *a),
    )
    found = linearize(frame, structure, design=opaque, parents=PARENTS)
    assert used
    expected = linearize(frame, structure, design=design, parents=PARENTS)
    np.testing.assert_allclose(
        found.variance, expected.variance, rtol=1e-12, equal_nan=True
    )
