"""Comparisons and ranks (analysis.compare).

Reference values: tests/analysis/reference/reference_compare.csv, written by
make_reference_weights.R (R 4.2.2, survey 4.1.1): svytotal of the satisfied and
answered counts per criterion and domain, then svycontrast (delta method) for the
overall index of each domain and for differences between domains, on the base design,
the post-stratified design, the raking-calibrated design and the previous period.
Holm and t reference values from R: p.adjust(c(.01, .04, .03, .005, NA, .2), "holm")
and 2 * pt(-2.5, 7), 2 * pnorm(-2.5).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.compare import (
    COMPARE_COLUMNS,
    RANK_COLUMNS,
    compare_pairs,
    compare_periods,
    compare_to_parent,
    difference_table,
    holm,
    p_value,
    rank_intervals,
    verdicts,
    welch_df,
)
from analysis.design import make_design
from analysis.estimate import indices
from analysis.linearization import linearize
from analysis.weights import calibrate, post_stratify

REFERENCE = Path(__file__).parent / "reference"
RTOL = 1e-8
PARENTS = {"U01": "D1", "U02": "D1", "U03": "D1", "U04": "D2", "U05": "D2"}


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(REFERENCE / "reference_compare.csv")


def _design(frame):
    return make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")


@pytest.fixture(scope="module")
def frames():
    return {
        "current": pd.read_csv(REFERENCE / "responses_current.csv"),
        "previous": pd.read_csv(REFERENCE / "responses_previous.csv"),
    }


@pytest.fixture(scope="module")
def designs(frames):
    frame = frames["current"]
    base = _design(frame)
    margins = [
        pd.read_csv(REFERENCE / "margin_unit_gender.csv"),
        pd.read_csv(REFERENCE / "margin_unit_age.csv"),
    ]
    return {
        "base": base,
        "poststrat": post_stratify(base, frame, ["unit", "gender"], margins[0]),
        "calibrate": calibrate(base, frame, margins, epsilon=1e-12, maxit=100),
    }


def _reference(reference, design, keys):
    table = reference[reference["design"] == design].set_index("contrast")
    return table.loc[keys]


@pytest.mark.parametrize("design", ["base", "poststrat", "calibrate"])
def test_unit_against_parent_matches_r(design, designs, frames, structure, reference):
    result = linearize(
        frames["current"],
        structure,
        design=designs[design],
        parents=PARENTS,
        keep_scores=True,
    )
    table = compare_to_parent(result, PARENTS, indicators=["SIPAS", "1.1"])
    assert list(table.columns) == COMPARE_COLUMNS
    assert len(table) == 2 * 7  # 5 units + 2 nodes, 2 indicators
    expected_parent = {**PARENTS, "D1": "ALL", "D2": "ALL"}
    assert (table["reference"] == table["unit"].map(expected_parent)).all()
    keys = "overall:" + table["unit"] + "-" + table["reference"]
    overall = table[table["indicator"] == "SIPAS"]
    expected = _reference(reference, design, keys[overall.index])
    np.testing.assert_allclose(overall["difference"], expected["estimate"], rtol=RTOL)
    np.testing.assert_allclose(overall["se"], expected["se"], rtol=RTOL)


@pytest.mark.parametrize("design", ["base", "poststrat", "calibrate"])
def test_unit_against_province_matches_r(design, designs, frames, structure, reference):
    result = linearize(
        frames["current"], structure, design=designs[design], keep_scores=True
    )
    table = compare_to_parent(result, indicators=["SIPAS", "1.1"])
    assert set(table["reference"]) == {"ALL"}
    assert set(table["statement"].str.contains("the province")) == {True}
    prefix = table["indicator"].replace({"SIPAS": "overall"})
    expected = _reference(reference, design, prefix + ":" + table["unit"] + "-ALL")
    np.testing.assert_allclose(table["difference"], expected["estimate"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], expected["se"], rtol=RTOL)


@pytest.mark.parametrize("design", ["base", "calibrate"])
def test_pairs_match_r(design, designs, frames, structure, reference):
    result = linearize(
        frames["current"], structure, design=designs[design], keep_scores=True
    )
    table = compare_pairs(result, indicators=["SIPAS"])
    assert len(table) == 10
    keys = "overall:" + table["unit"] + "-" + table["reference"]
    expected = _reference(reference, design, keys)
    np.testing.assert_allclose(table["difference"], expected["estimate"], rtol=RTOL)
    np.testing.assert_allclose(table["se"], expected["se"], rtol=RTOL)
    np.testing.assert_allclose(table["p_adjusted"], holm(table["p_value"]))
    assert np.all(table["p_adjusted"] >= table["p_value"])
    significant = table["p_adjusted"] < 0.05
    assert set(table.loc[significant, "verdict"]) <= {"above", "below"}
    assert set(table.loc[~significant, "verdict"]) <= {"no_difference"}


def test_pairs_within_blocks(designs, frames, structure):
    result = linearize(
        frames["current"], structure, design=designs["base"], keep_scores=True
    )
    blocks = {"U01": "wards", "U02": "wards", "U03": "wards", "U04": "communes"}
    table = compare_pairs(result, blocks=blocks, indicators=["SIPAS", "E1"])
    pairs = set(zip(table["unit"], table["reference"], strict=True))
    assert pairs == {("U01", "U02"), ("U01", "U03"), ("U02", "U03")}
    # Holm family: the 3 pairs of one indicator in one block
    for _, family in table.groupby("indicator"):
        np.testing.assert_allclose(family["p_adjusted"], holm(family["p_value"]))


def test_previous_period_matches_r(designs, frames, structure, reference):
    current = indices(frames["current"], structure, design=designs["base"])
    before_design = _design(frames["previous"])
    previous = indices(frames["previous"], structure, design=before_design)
    table = compare_periods(current, previous)
    assert list(table.columns) == COMPARE_COLUMNS
    overall = table[(table["indicator"] == "SIPAS") & (table["unit"] != "ALL")]
    now = _reference(reference, "base", "overall:" + overall["unit"])
    before = _reference(reference, "previous", "overall:" + overall["unit"])
    np.testing.assert_allclose(
        overall["difference"],
        now["estimate"].to_numpy() - before["estimate"].to_numpy(),
        rtol=RTOL,
    )
    se = np.hypot(now["se"].to_numpy(), before["se"].to_numpy())
    np.testing.assert_allclose(overall["se"], se, rtol=RTOL)
    assert set(overall["reference"]) == {"previous"}
    assert overall["statement"].str.endswith("the previous period").all()


def test_p_value_matches_r():
    assert p_value(2.5, 1.0, 7) == pytest.approx(0.040992218585752874, rel=1e-10)
    assert p_value(-2.5, 1.0, np.inf) == pytest.approx(0.01241933065155227, rel=1e-10)
    assert np.isnan(p_value(1.0, 0.0, 10))
    assert np.isnan(p_value(1.0, 1.0, 0))


def test_holm_matches_r():
    adjusted = holm([0.01, 0.04, 0.03, 0.005, np.nan, 0.2])
    np.testing.assert_allclose(
        adjusted, [0.04, 0.09, 0.09, 0.025, np.nan, 0.2], rtol=1e-12
    )


def test_welch_df():
    assert welch_df(1.0, 10, 1.0, 10) == pytest.approx(20.0)
    assert welch_df(1.0, 10, 0.0, 3) == pytest.approx(10.0)


def test_verdicts():
    code, text = verdicts(
        [-3.0, 4.0, 1.0, 2.0], [0.01, 0.001, 0.3, np.nan], ["the province"] * 4
    )
    assert code.tolist() == ["below", "above", "no_difference", "not_tested"]
    assert text.tolist() == [
        "significantly below the province",
        "significantly above the province",
        "no significant difference from the province",
        "not tested against the province",
    ]


def test_difference_table_rejects_unknown_indicator(designs, frames, structure):
    result = linearize(
        frames["current"], structure, design=designs["base"], keep_scores=True
    )
    with pytest.raises(ValueError, match="unknown indicators"):
        difference_table(result, ["U01"], ["U02"], indicators=["9.9"])


def _table(estimate, se, reliable=None, units=None):
    units = units or [f"U{i}" for i in range(len(estimate))]
    reliable = [True] * len(estimate) if reliable is None else reliable
    return pd.DataFrame(
        {
            "unit": ["ALL", *units],
            "indicator": "SIPAS",
            "estimate": [50.0, *estimate],
            "se": [1.0, *se],
            "reliable": [True, *reliable],
            "note": ["", *["" if r else "effective n 12 < 30" for r in reliable]],
        }
    )


def test_rank_intervals_separated_units_are_certain():
    ranks = rank_intervals(_table([90.0, 70.0, 80.0], [0.5, 0.5, 0.5]), draws=2000)
    assert list(ranks.columns) == RANK_COLUMNS
    assert ranks["unit"].tolist() == ["U0", "U1", "U2"]
    assert ranks["rank"].tolist() == [1, 3, 2]
    assert ranks["rank_low"].tolist() == [1, 3, 2]
    assert ranks["rank_high"].tolist() == [1, 3, 2]


def test_rank_intervals_overlapping_units_are_uncertain():
    table = _table([80.0, 80.5, 81.0, 60.0], [3.0, 3.0, 3.0, 1.0])
    ranks = rank_intervals(table, draws=4000, level=0.9)
    top = ranks.iloc[:3]
    assert top["rank_low"].tolist() == [1, 1, 1]
    assert top["rank_high"].tolist() == [3, 3, 3]
    assert ranks.iloc[3][["rank", "rank_low", "rank_high"]].tolist() == [4, 4, 4]
    again = rank_intervals(table, draws=4000, level=0.9)
    pd.testing.assert_frame_equal(ranks, again)


def test_rank_intervals_skip_unreliable_units():
    table = _table([90.0, 95.0, 80.0], [1.0, 1.0, 1.0], reliable=[True, False, True])
    ranks = rank_intervals(table, draws=500).set_index("unit")
    assert np.isnan(ranks.loc["U1", "rank"])
    assert ranks.loc["U1", "note"] == "not ranked: not reliable (effective n 12 < 30)"
    assert ranks.loc["U0", "rank"] == 1
    assert ranks.loc["U2", "rank"] == 2
    assert ranks.loc["U0", "n_ranked"] == 2


def test_rank_intervals_within_peer_blocks():
    table = _table([90.0, 70.0, 80.0, 60.0], [0.5, 0.5, 0.5, 0.5])
    blocks = {"U0": "wards", "U1": "wards", "U2": "communes"}
    ranks = rank_intervals(table, blocks=blocks, draws=500).set_index("unit")
    assert ranks.loc["U0", "rank"] == 1
    assert ranks.loc["U1", "rank"] == 2
    assert ranks.loc["U2", "rank"] == 1
    assert ranks.loc["U2", "n_ranked"] == 1
    assert ranks.loc["U1", "block"] == "wards"
    assert np.isnan(ranks.loc["U3", "rank"])
    assert ranks.loc["U3", "note"] == "not ranked: no peer block"


def test_rank_intervals_ties_share_the_best_rank():
    ranks = rank_intervals(_table([80.0, 80.0, 70.0], [1.0, 1.0, 1.0]), draws=500)
    assert ranks["rank"].tolist() == [1, 1, 3]
    assert ranks["rank_high"].tolist()[:2] == [2, 2]


def test_rank_intervals_on_index_table(designs, frames, structure):
    table = indices(frames["current"], structure, design=designs["base"])
    ranks = rank_intervals(table, draws=1000)
    assert ranks["unit"].tolist() == ["U01", "U02", "U03", "U04", "U05"]
    ranked = ranks.dropna(subset=["rank"])
    assert (ranked["rank_low"] <= ranked["rank"]).all()
    assert (ranked["rank"] <= ranked["rank_high"]).all()


def test_rank_intervals_rejects_unknown_indicator():
    with pytest.raises(ValueError, match="no estimates"):
        rank_intervals(_table([1.0], [1.0]), indicator="E9")
