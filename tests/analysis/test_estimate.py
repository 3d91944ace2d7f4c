"""Indices, linearised variances and result tables, checked against R's survey package.

Reference values: tests/analysis/reference/reference_estimates.csv, written by
make_reference_estimates.R (R 4.2.2, survey 4.1-1) from the data sets in the same
folder: svyratio / svymean(deff = TRUE) / degf / svyciprop on
subset(design, unit == u) for criteria, svycontrast of the criterion ratios for
elements and SIPAS.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.columns import OUTPUT_COLUMNS
from analysis.design import Design, DesignError, make_design
from analysis.estimate import Reliability, indices
from analysis.linearization import linearize
from analysis.questionnaire import Structure
from analysis.variance import total_covariance
from analysis.weights import post_stratify
from tests.analysis.conftest import read_parents, read_reference_data

RTOL = 1e-8
DESIGNS = {
    "srs": {"psu": None, "strata": None},
    "stratified": {"psu": None, "strata": "stratum"},
    "cluster": {"psu": "psu", "strata": "stratum"},
    "crossed": {"psu": "psu", "strata": "stratum"},
    "lonely": {"psu": "psu", "strata": "stratum"},
}
CASES = [
    ("srs", "adjust", 0.95),
    ("stratified", "adjust", 0.95),
    ("cluster", "adjust", 0.95),
    ("cluster", "adjust", 0.9),
    ("crossed", "adjust", 0.95),
    ("lonely", "adjust", 0.95),
    ("lonely", "average", 0.95),
    ("lonely", "remove", 0.95),
    ("lonely", "certainty", 0.95),
]
# R's columns for each interval method under each df convention (see the R script):
# under df="answers" beta and xlogit are svyciprop's own, with its default df
INTERVAL_COLUMNS = {
    "domain": {
        "korn-graubard": "kg",
        "beta": "beta_domain",
        "logit": "xlogit",
        "wilson": "wilson",
    },
    "answers": {
        "korn-graubard": "kg_answers",
        "beta": "beta",
        "logit": "xlogit_answers",
        "wilson": "wilson_answers",
    },
}


def reference_design(
    name: str, lonely_psu: str = "adjust"
) -> tuple[pd.DataFrame, Design]:
    frame = read_reference_data(name)
    design = make_design(
        frame, weight="weight", fpc="fpc", lonely_psu=lonely_psu, **DESIGNS[name]
    )
    return frame, design


def compared(
    structure: Structure,
    reference: pd.DataFrame,
    case: tuple[str, str, float],
    ci: str = "korn-graubard",
    df: str = "domain",
) -> pd.DataFrame:
    """Our table for a reference case, merged with R's rows."""
    name, rule, level = case
    frame, design = reference_design(name, rule)
    parents = read_parents() if name == "cluster" else None
    table = indices(
        frame, structure, design=design, parents=parents, ci=ci, level=level, df=df
    )
    expected = reference[
        (reference["dataset"] == name)
        & (reference["lonely_psu"] == rule)
        & np.isclose(reference["level"], level)
    ]
    merged = expected.merge(table, on=["unit", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == len(table)
    return merged


def regular(merged: pd.DataFrame) -> pd.DataFrame:
    """Rows whose variance is not a rounding residue (R gives ~1e-34 for one PSU)."""
    return merged[merged["variance"] > 1e-15]


def is_composite(merged: pd.DataFrame) -> pd.Series:
    return merged["indicator"].str.fullmatch(r"SIPAS|E\d")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_indices_estimates_match_r(structure, reference_estimates, case):
    merged = compared(structure, reference_estimates, case)
    np.testing.assert_allclose(
        merged["estimate"] / 100, merged["estimate_r"], rtol=RTOL
    )
    np.testing.assert_array_equal(merged["n"], merged["n_r"])
    np.testing.assert_array_equal(merged["df"], merged["df_r"])
    rows = regular(merged)
    np.testing.assert_allclose(rows["se"] / 100, rows["se_r"], rtol=RTOL)
    np.testing.assert_allclose(rows["deff"], rows["deff_r"], rtol=RTOL)
    np.testing.assert_allclose(rows["n_eff"], rows["n_eff_r"], rtol=RTOL)


@pytest.mark.parametrize("df", list(INTERVAL_COLUMNS))
@pytest.mark.parametrize("ci", list(INTERVAL_COLUMNS["domain"]))
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_indices_criterion_intervals_match_r(
    structure, reference_estimates, case, ci, df
):
    merged = regular(compared(structure, reference_estimates, case, ci, df))
    rows = merged[~is_composite(merged)]
    expected_df = rows["df_answers"] if df == "answers" else rows["df_r"]
    np.testing.assert_array_equal(rows["df"], expected_df)
    prefix = INTERVAL_COLUMNS[df][ci]
    for ours, theirs in (("ci_low", "_low"), ("ci_high", "_high")):
        np.testing.assert_allclose(
            rows[ours] / 100, rows[prefix + theirs], rtol=RTOL, atol=1e-14
        )


@pytest.mark.parametrize("case", CASES[:5], ids=lambda c: f"{c[0]}-{c[2]}")
def test_indices_logit_interval_matches_r_svyglm(structure, reference_estimates, case):
    """R's method="logit" fits a quasi-binomial svyglm: equal up to its convergence.

    (In domains with df 1 svyglm's interval comes out as [0, NaN]; those are left out.)
    """
    merged = regular(compared(structure, reference_estimates, case, "logit"))
    rows = merged[~is_composite(merged) & merged["logit_high"].notna()]
    assert len(rows) > 50
    np.testing.assert_allclose(rows["ci_low"] / 100, rows["logit_low"], rtol=1e-6)
    np.testing.assert_allclose(rows["ci_high"] / 100, rows["logit_high"], rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_indices_composite_t_intervals_match_r(structure, reference_estimates, case):
    merged = regular(compared(structure, reference_estimates, case))
    rows = merged[is_composite(merged)]
    np.testing.assert_allclose(
        rows["ci_low"] / 100, rows["t_low"].clip(0, 1), rtol=RTOL, atol=1e-14
    )
    np.testing.assert_allclose(
        rows["ci_high"] / 100, rows["t_high"].clip(0, 1), rtol=RTOL, atol=1e-14
    )


def test_indices_single_psu_domain_is_not_reliable(structure, reference_estimates):
    merged = compared(structure, reference_estimates, ("cluster", "adjust", 0.95))
    unit = merged[merged["unit"] == "u05"]
    assert (unit["df"] == 0).all()
    assert (unit["se"] < 1e-9).all()
    assert not unit["reliable"].any()
    assert unit["note"].str.contains("SE is zero: one PSU").all()
    assert unit["ci_low"].isna().all()


def test_indices_lonely_stratum_is_noted(structure):
    frame, design = reference_design("lonely", "average")
    table = indices(frame, structure, design=design)
    touching = table[table["unit"].isin(["ALL", "x", "z"])]
    assert touching["note"].str.contains(r"1 stratum with one PSU \(average\)").all()
    assert not table.loc[table["unit"] == "y", "note"].str.contains("one PSU").any()


def test_indices_fail_rule_rejects_lonely_stratum():
    frame = read_reference_data("lonely")
    with pytest.raises(DesignError, match="only one PSU"):
        make_design(frame, strata="stratum", psu="psu", lonely_psu="fail")


def test_indices_table_has_output_columns_in_order(structure, make_responses):
    table = indices(make_responses(), structure)
    assert list(table.columns) == OUTPUT_COLUMNS
    first = table[table["unit"] == "ALL"]["indicator"].tolist()
    assert first[:7] == ["SIPAS", "E1", "E2", "E3", "E4", "E5", "1.1"]
    assert table["unit"].unique().tolist() == ["ALL", "a", "b", "c"]
    assert len(table) == 4 * (6 + 22)


def test_indices_parents_add_tree_domains(structure, make_responses):
    frame = make_responses(units=("x1", "x2", "y1"))
    parents = {"x1": "X", "x2": "X", "y1": "Y", "X": "P", "Y": "P"}
    table = indices(frame, structure, parents=parents, include_all=False)
    assert table["unit"].unique().tolist() == ["P", "X", "Y", "x1", "x2", "y1"]
    criterion = table.set_index(["unit", "indicator"])["estimate"]
    answered = frame["1.1"].notna()
    expected = (frame.loc[answered, "1.1"] >= 4).mean() * 100
    assert criterion["P", "1.1"] == pytest.approx(expected, rel=1e-12)


def test_indices_parent_cycle_raises(structure, make_responses):
    with pytest.raises(DesignError, match="cycle"):
        indices(make_responses(), structure, parents={"a": "b", "b": "a"})


def test_indices_unit_called_all_raises(structure, make_responses):
    frame = make_responses(units=("ALL", "b"))
    with pytest.raises(DesignError, match="ALL"):
        indices(frame, structure)


@pytest.mark.parametrize("value", [6, 3.5, -1])
def test_indices_answer_outside_scale_raises(structure, make_responses, value):
    frame = make_responses()
    frame.loc[7, "2.3"] = value  # the 8th response: row 9 below the header row
    with pytest.raises(DesignError, match=r"criterion 2\.3 at row 9 is outside 1-5"):
        indices(frame, structure)


def test_indices_text_answer_raises(structure, make_responses):
    frame = make_responses()
    frame["3.1"] = frame["3.1"].astype(object)
    frame.loc[0, "3.1"] = "good"
    with pytest.raises(DesignError, match=r"criterion 3\.1: answers must be numbers"):
        indices(frame, structure)


def test_indices_missing_columns_raise(structure, make_responses):
    frame = make_responses()
    with pytest.raises(DesignError, match="criterion columns missing: 5.4"):
        indices(frame.drop(columns="5.4"), structure)
    with pytest.raises(DesignError, match="unknown domain column 'field'"):
        indices(frame, structure, by="field")


def test_indices_design_of_other_length_raises(structure, make_responses):
    frame = make_responses()
    with pytest.raises(DesignError, match="rows"):
        indices(frame, structure, design=Design.simple_random_sample(3))


def test_indices_default_design_is_simple_random_sample(structure, make_responses):
    frame = make_responses()
    table = indices(frame, structure).set_index(["unit", "indicator"])
    answers = frame["1.1"].dropna()
    p = (answers >= 4).mean()
    n, rows = len(answers), len(frame)
    row = table.loc[("ALL", "1.1")]
    # a domain (the answered) of a simple random sample of rows, as R's subset()
    expected = np.sqrt(p * (1 - p) / n * rows / (rows - 1))
    assert row["se"] == pytest.approx(100 * expected, rel=1e-12)
    assert row["df"] == len(frame) - 1
    assert np.isnan(row["deff"])  # unit weights: no population to compare with


def test_indices_all_satisfied_is_flagged_not_certain(structure, make_responses):
    frame = make_responses()
    frame.loc[frame["unit"] == "a", "1.1"] = 5.0
    table = indices(frame, structure).set_index(["unit", "indicator"])
    row = table.loc[("a", "1.1")]
    assert row["estimate"] == 100.0
    assert row["se"] == 0.0
    assert not row["reliable"]
    assert "SE is zero: all answers alike" in row["note"]
    assert row["ci_high"] == 100.0
    assert row["ci_low"] < 99.0  # Korn-Graubard gives a one-sided bound, not [100, 100]


def test_indices_element_uses_criteria_with_answers(structure, make_responses):
    frame = make_responses()
    frame.loc[frame["unit"] == "b", "5.4"] = np.nan
    table = indices(frame, structure).set_index(["unit", "indicator"])
    criteria = table.loc[[("b", c) for c in ("5.1", "5.2", "5.3")], "estimate"]
    assert table.loc[("b", "E5"), "estimate"] == pytest.approx(criteria.mean())
    assert "mean of 3 of 4 criteria" in table.loc[("b", "E5"), "note"]
    assert np.isnan(table.loc[("b", "5.4"), "estimate"])
    assert table.loc[("b", "5.4"), "note"] == "no answers"
    # the same as a questionnaire without 5.4, for that unit
    elements = {**structure.elements, "E5": ["5.1", "5.2", "5.3"]}
    shorter = Structure("short", elements)
    other = indices(frame.drop(columns="5.4"), shorter).set_index(["unit", "indicator"])
    for code in ("E5", "SIPAS"):
        assert table.loc[("b", code), "se"] == pytest.approx(
            other.loc[("b", code), "se"], rel=1e-10
        )


def test_indices_items_aggregation_averages_all_criteria(structure, make_responses):
    frame = make_responses()
    items = Structure("items", structure.elements, aggregation="items")
    table = indices(frame, items).set_index(["unit", "indicator"])
    criteria = table.loc[[("a", c) for c in structure.criteria], "estimate"]
    elements = table.loc[[("a", e) for e in structure.elements], "estimate"]
    assert table.loc[("a", "SIPAS"), "estimate"] == pytest.approx(criteria.mean())
    assert table.loc[("a", "SIPAS"), "estimate"] != pytest.approx(elements.mean())


def test_indices_df_design_uses_whole_design(structure, make_responses):
    frame = make_responses(strata=2, psus_per_stratum=4)
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    table = indices(frame, structure, design=design, df="design")
    assert (table["df"] == 8 - 2).all()


def test_indices_reliability_thresholds_are_configurable(structure, make_responses):
    frame = make_responses()
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    strict = indices(
        frame, structure, design=design, reliability=Reliability(min_df=50)
    )
    assert not strict["reliable"].any()
    assert strict["note"].str.contains("df 6 < 50").all()
    lax = indices(
        frame,
        structure,
        design=design,
        reliability=Reliability(min_n_eff=0, max_ci_width=100, min_df=0),
    )
    assert lax["reliable"].all()


def test_indices_moe_is_t_times_se(structure, make_responses):
    from scipy import stats

    frame = make_responses()
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    table = indices(frame, structure, design=design, level=0.9)
    t = stats.t.ppf(0.95, table["df"])
    np.testing.assert_allclose(table["moe"], t * table["se"], rtol=1e-12)


def test_indices_rejects_unknown_options(structure, make_responses):
    frame = make_responses()
    with pytest.raises(ValueError, match="interval method"):
        indices(frame, structure, ci="wald")
    with pytest.raises(ValueError, match="df rule"):
        indices(frame, structure, df="psu")
    with pytest.raises(ValueError, match="level"):
        indices(frame, structure, level=95)


def row_scores(result, frame, structure, domain_rows, column):
    """Weighted linearised row scores of one criterion in one domain, by hand."""
    code = structure.criteria[column]
    w = result.design.weights
    answered = frame[code].notna().to_numpy() & domain_rows
    satisfied = (frame[code] >= 4).to_numpy() & domain_rows
    total = np.sum(w * answered)
    ratio = np.sum(w * satisfied) / total
    return w * (satisfied - ratio * answered) / total


@pytest.mark.parametrize("name", ["cluster", "crossed", "lonely"])
def test_linearize_variance_equals_total_covariance_of_row_scores(structure, name):
    frame, design = reference_design(name)
    result = linearize(frame, structure, design=design)
    column = structure.criteria.index("3.2")
    j = result.indicators.index("3.2")
    for label in result.domains:
        rows = np.ones(len(frame), bool) if label == "ALL" else frame["unit"] == label
        x = row_scores(result, frame, structure, np.asarray(rows), column)
        expected = total_covariance(design, x)[0, 0]
        d = result.domain_index(label)[0]
        assert result.variance[d, j] == pytest.approx(expected, rel=1e-9, abs=1e-30)


@pytest.mark.parametrize("name", ["cluster", "crossed"])
def test_covariance_of_domains_matches_stacked_scores(structure, name):
    frame, design = reference_design(name)
    parents = read_parents() if name == "cluster" else None
    result = linearize(
        frame, structure, design=design, parents=parents, keep_scores=True
    )
    column = structure.criteria.index("1.3")
    j = result.indicators.index("1.3")
    first, second = ("u01", "P1") if name == "cluster" else ("a", "ALL")
    members = {"P1": {"u01", "u02", "u03", "u04", "u05"}}

    def rows(label):
        if label == "ALL":
            return np.ones(len(frame), bool)
        return frame["unit"].isin(members.get(label, {label})).to_numpy()

    x = np.column_stack(
        [row_scores(result, frame, structure, rows(d), column) for d in (first, second)]
    )
    expected = total_covariance(design, x)
    a, b = result.domain_index([first, second])
    got = result.covariance(np.array([a, a, b]), np.array([b, a, b]))[:, j]
    np.testing.assert_allclose(
        got, [expected[0, 1], expected[0, 0], expected[1, 1]], rtol=1e-9
    )
    assert got[1] == pytest.approx(result.variance[a, j], rel=1e-12)


class MeanShift:
    """A toy calibration: residuals from the weighted mean within two groups."""

    def __init__(self, groups: np.ndarray, weights: np.ndarray) -> None:
        self.groups = groups
        self.weights = weights

    def residualize(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, dtype=float)
        for g in np.unique(self.groups):
            rows = self.groups == g
            share = self.weights[rows] / self.weights[rows].sum()
            out[rows] -= share[:, None] * out[rows].sum(axis=0)
        return out


def test_linearize_calibrated_design_residualizes_row_scores(structure):
    frame, design = reference_design("crossed")
    groups = (frame.index % 2).to_numpy()
    calibrated = design.with_weights(design.weights, MeanShift(groups, design.weights))
    result = linearize(frame, structure, design=calibrated, keep_scores=True)
    column = structure.criteria.index("4.2")
    j = result.indicators.index("4.2")
    for label in ("ALL", "b"):
        rows = np.ones(len(frame), bool) if label == "ALL" else frame["unit"] == label
        x = row_scores(result, frame, structure, np.asarray(rows), column)
        expected = total_covariance(calibrated, x)[0, 0]
        d = result.domain_index(label)[0]
        assert result.variance[d, j] == pytest.approx(expected, rel=1e-9)
        assert result.covariance(np.array([d]), np.array([d]))[0, j] == pytest.approx(
            expected, rel=1e-9
        )
    plain = linearize(frame, structure, design=design)
    assert not np.allclose(plain.variance, result.variance)


def test_covariance_under_average_rescales_over_the_whole_design(structure):
    """lonely_psu="average": the variance of a domain averages over the strata it
    touches (R's svyratio on subset(design, unit == d)), its covariances over all
    strata of the design (R's svytotal on the whole design), so that the variance of
    a difference, V_a + V_b - 2 C_ab from covariance(), cannot go negative."""
    frame, design = reference_design("lonely", "average")
    result = linearize(frame, structure, design=design, keep_scores=True)
    column = structure.criteria.index("3.2")
    j = result.indicators.index("3.2")
    rescaled = 0
    for label in result.domains:
        rows = np.ones(len(frame), bool) if label == "ALL" else frame["unit"] == label
        x = row_scores(result, frame, structure, np.asarray(rows), column)
        d = result.domain_index(label)
        whole = result.covariance(d, d)[0, j]
        assert whole == pytest.approx(total_covariance(design, x)[0, 0], rel=1e-9)
        rescaled += not np.isclose(whole, result.variance[d[0], j], rtol=1e-9)
    assert rescaled  # a domain that does not touch every stratum


@pytest.mark.parametrize(
    ("name", "rule"),
    [("cluster", "adjust"), ("crossed", "adjust"), ("lonely", "adjust")],
)
def test_covariance_of_a_domain_with_itself_is_its_variance(structure, name, rule):
    frame, design = reference_design(name, rule)
    parents = read_parents() if name == "cluster" else None
    result = linearize(
        frame, structure, design=design, parents=parents, keep_scores=True
    )
    every = np.arange(len(result.domains))
    np.testing.assert_allclose(
        result.covariance(every, every), result.variance, rtol=1e-9, atol=1e-30
    )


def test_indices_follow_the_questionnaire_scale(make_responses, structure):
    frame = make_responses()
    answered = frame["1.1"].notna()
    odd = Structure("odd", structure.elements, satisfied=(3, 5))
    table = indices(frame, odd).set_index(["unit", "indicator"])
    share = frame.loc[answered, "1.1"].isin([3, 5]).mean()
    assert table.loc[("ALL", "1.1"), "estimate"] == pytest.approx(100 * share)
    gap = Structure("gap", structure.elements, scale=(1, 2, 4, 5))
    with pytest.raises(DesignError, match="is outside 1-5"):
        indices(frame, gap)


def test_indices_accept_nullable_integer_answers(make_responses, structure):
    frame = make_responses()
    expected = indices(frame, structure)
    nullable = frame.astype({code: "Int64" for code in structure.criteria})
    pd.testing.assert_frame_equal(indices(nullable, structure), expected)


def test_linearize_uneven_tree_with_psus_across_units(structure, make_responses):
    """Units at different depths, a unit that is also a parent, PSUs crossing units."""
    frame = make_responses(n=600, units=("a", "b", "c", "d"), psus_per_stratum=5)
    parents = {"a": "X", "c": "a", "X": "R", "b": "R"}
    members = {
        "a": {"a", "c"},
        "X": {"a", "c"},
        "R": {"a", "b", "c"},
        "ALL": {"a", "b", "c", "d"},
    }
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    result = linearize(frame, structure, design=design, parents=parents)
    assert set(result.domains) == {"ALL", "R", "X", "a", "b", "c", "d"}
    column = structure.criteria.index("2.3")
    j = result.indicators.index("2.3")
    for label in result.domains:
        rows = frame["unit"].isin(members.get(label, {label})).to_numpy()
        x = row_scores(result, frame, structure, rows, column)
        d = result.domain_index(label)[0]
        expected = total_covariance(design, x)[0, 0]
        assert result.variance[d, j] == pytest.approx(expected, rel=1e-9)
        assert result.nobs[d, j] == frame.loc[rows, "2.3"].notna().sum()


class Opaque:
    """A calibration that cannot tell whether its cells lie within units."""

    def __init__(self, calibration: object) -> None:
        self.calibration = calibration

    def residualize(self, x: np.ndarray) -> np.ndarray:
        return self.calibration.residualize(x)


@pytest.mark.parametrize("psu", ["psu", None])
def test_linearize_calibration_within_units_equals_dense_residuals(
    structure, make_responses, psu
):
    """Residualising one column per tree level gives every domain's residuals."""
    frame = make_responses(n=500, units=("a", "b", "c"), psus_per_stratum=6)
    frame["gender"] = np.where(np.arange(len(frame)) % 3 == 0, "f", "m")
    design = make_design(frame, strata="stratum", psu=psu, weight="weight")
    margin = frame.groupby(["unit", "gender"], as_index=False)["weight"].sum()
    margin["population"] = margin.pop("weight") * np.linspace(0.9, 1.2, len(margin))
    calibrated = post_stratify(design, frame, ["unit", "gender"], margin)
    assert calibrated.calibrations[-1].nests_within(frame["unit"].to_numpy())
    dense = replace(calibrated, calibrations=(Opaque(calibrated.calibrations[-1]),))
    parents = {"a": "P", "b": "P"}
    fast = linearize(frame, structure, design=calibrated, parents=parents)
    slow = linearize(frame, structure, design=dense, parents=parents)
    np.testing.assert_allclose(fast.variance, slow.variance, rtol=1e-10, atol=1e-30)
    np.testing.assert_allclose(fast.unit_variance, slow.unit_variance, rtol=1e-12)
    plain = linearize(frame, structure, design=design, parents=parents)
    assert not np.allclose(plain.variance, fast.variance)
