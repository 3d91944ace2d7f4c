"""The findings of the independent check against R's survey package (issue 10).

Reference values: tests/analysis/reference/reference_findings.csv, written by
make_reference_findings.R (R 4.2.2, survey 4.1-1) from data_average.csv
(make_findings_data.py), responses_current.csv with its margins, and
data_cluster.csv. The df conventions of the intervals are checked against R in
test_estimate.py (columns df_answers, beta_domain, xlogit_answers, ... of
reference_estimates.csv).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.cli.common import read_margin, read_responses
from analysis.compare import compare_to_parent
from analysis.design import DesignError, make_design
from analysis.estimate import indices
from analysis.intervals import beta_interval
from analysis.linearization import linearize
from analysis.weights import post_stratify, rake
from tests.analysis.conftest import CRITERIA, REFERENCE, read_reference_data

RTOL = 1e-8
AVERAGE = REFERENCE / "data_average.csv"
CURRENT = REFERENCE / "responses_current.csv"
MARGINS = [REFERENCE / "margin_unit_gender.csv", REFERENCE / "margin_unit_age.csv"]


@pytest.fixture(scope="module")
def findings() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "reference_findings.csv", dtype={"domain": str})


def write_csv(frame: pd.DataFrame, path) -> None:
    """A response file as an export writes it: whole answers, blank for none."""
    frame.astype({code: "Int64" for code in CRITERIA}).to_csv(path, index=False)


def of(findings: pd.DataFrame, finding: str, design: str) -> pd.DataFrame:
    rows = findings[(findings["finding"] == finding) & (findings["design"] == design)]
    return rows.rename(columns={"domain": "unit"})


# --------------------------------------------------------------------------------------
# compare --lonely-psu average: one rule for the unit, the province and their covariance


def average_comparison(structure) -> pd.DataFrame:
    frame = read_responses(AVERAGE)
    design = make_design(
        frame, strata="stratum", psu="psu", weight="weight", lonely_psu="average"
    )
    result = linearize(frame, structure, design=design, keep_scores=True)
    return compare_to_parent(result)


def test_difference_from_province_under_average_matches_r(structure, findings):
    """R: svytotal of both domains' numerators and denominators, then svycontrast.

    Unit u2 lies in two of three strata and the third has a single PSU: rescaling
    its variance over its own strata but the covariance over all made the variance
    of the difference negative (SE 0, "not tested") for several criteria.
    """
    expected = of(findings, "average", "average")
    merged = expected.merge(
        average_comparison(structure), on=["unit", "indicator"], suffixes=("_r", "")
    )
    assert len(merged) == len(expected) == 3 * 23
    np.testing.assert_allclose(merged["difference"], merged["estimate_r"], rtol=RTOL)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL)
    u2 = merged[merged["unit"] == "u2"]
    assert (u2["se"] > 1).all()
    assert not (u2["verdict"] == "not_tested").any()  # df 2: every test is possible


def test_cli_compare_average_matches_r(tmp_path, findings):
    out = tmp_path / "compare.csv"
    args = ["compare", str(AVERAGE), "--lonely-psu", "average", "--out", str(out)]
    assert cli.main([*args, "--ranks", str(tmp_path / "ranks.csv")]) == 0
    table = pd.read_csv(out, dtype={"unit": str})
    row = table[(table["unit"] == "u2") & (table["indicator"] == "2.1")].iloc[0]
    expected = of(findings, "average", "average").set_index(["unit", "indicator"])
    assert row["se"] == pytest.approx(expected.loc[("u2", "2.1"), "se"], rel=RTOL)
    assert row["verdict"] == "no_difference"


# --------------------------------------------------------------------------------------
# the beta interval's n after calibration and with zero weights


def interval_designs(structure) -> dict:
    frame = read_responses(CURRENT)
    base = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    margins = [read_margin(path) for path in MARGINS]
    zero = frame.assign(weight=np.where(np.arange(len(frame)) % 7 == 0, 0.0, 1.0))
    zero["weight"] *= frame["weight"]  # every 7th row weighs nothing, as in R
    zero_design = make_design(
        zero, strata="stratum", psu="psu", weight="weight", fpc="fpc"
    )
    return {
        "calibrate": (frame, rake(base, frame, margins)),
        "poststrat": (
            frame,
            post_stratify(base, frame, ["unit", "gender"], margins[0]),
        ),
        "zero": (zero, zero_design),
    }


@pytest.mark.parametrize("name", ["calibrate", "poststrat", "zero"])
def test_beta_interval_counts_answers_with_weight_where_r_counts_rows(
    structure, findings, name
):
    frame, design = interval_designs(structure)[name]
    table = indices(frame, structure, design=design, ci="beta", df="answers")
    expected = of(findings, "beta", name)
    merged = expected.merge(table, on=["unit", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == 6 * 22
    # the same estimate, SE and df as svyciprop ...
    np.testing.assert_allclose(
        merged["estimate"] / 100, merged["estimate_r"], rtol=RTOL
    )
    np.testing.assert_allclose(merged["se"] / 100, merged["se_r"], rtol=RTOL)
    np.testing.assert_array_equal(merged["df"], merged["df_r"])
    # ... but R's n is every row of its subset: zero weights, and after calibration
    # the whole sample; with R's count the formula gives R's interval exactly
    assert (merged["nrow"] > merged["n"]).all()
    low, high = beta_interval(
        merged["estimate"] / 100,
        (merged["se"] / 100) ** 2,
        merged["nrow"],
        merged["df"],
    )
    np.testing.assert_allclose(low, merged["low"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(high, merged["high"], rtol=RTOL, atol=1e-12)
    # a smaller n gives a larger effective size: ours are narrower, never wider
    assert (merged["ci_low"] / 100 >= merged["low"] - 1e-12).all()
    assert (merged["ci_high"] - merged["ci_low"]).max() > 0
    gap = 100 * (merged["ci_low"] / 100 - merged["low"])
    assert 0.01 < gap.max() < 0.9  # the documented size of the difference


@pytest.mark.parametrize("name", ["calibrate", "poststrat", "zero"])
def test_logit_interval_with_answer_df_matches_svyciprop(structure, findings, name):
    frame, design = interval_designs(structure)[name]
    table = indices(frame, structure, design=design, ci="logit", df="answers")
    expected = of(findings, "xlogit", name)
    merged = expected.merge(table, on=["unit", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(expected)
    np.testing.assert_array_equal(merged["df"], merged["df_r"])
    np.testing.assert_allclose(merged["ci_low"] / 100, merged["low"], rtol=1e-7)
    np.testing.assert_allclose(merged["ci_high"] / 100, merged["high"], rtol=1e-7)


def test_one_df_for_every_interval_method(structure):
    """beta and logit (and the df column) take the same df under each rule."""
    frame = read_reference_data("srs")
    design = make_design(frame, weight="weight", fpc="fpc")
    for rule in ("domain", "answers"):
        beta = indices(frame, structure, design=design, ci="beta", df=rule)
        logit = indices(frame, structure, design=design, ci="logit", df=rule)
        kg = indices(frame, structure, design=design, df=rule)
        pd.testing.assert_series_equal(beta["df"], logit["df"])
        pd.testing.assert_series_equal(beta["df"], kg["df"])
    by_domain = indices(frame, structure, design=design, ci="beta", df="domain")
    by_answers = indices(frame, structure, design=design, ci="beta", df="answers")
    assert (by_answers["df"] < by_domain["df"]).any()  # "no opinion" answers
    assert not np.allclose(by_answers["ci_low"], by_domain["ci_low"])


def test_df_answers_needs_answer_df_from_linearize(structure):
    frame = read_reference_data("srs")
    result = linearize(frame, structure)
    from analysis.estimate import index_table

    with pytest.raises(ValueError, match="answer_df=True"):
        index_table(result, df="answers")


# --------------------------------------------------------------------------------------
# responses to another questionnaire are refused, never read as a subset


def test_unknown_criterion_columns_are_refused(structure):
    frame = read_reference_data("cluster")
    extra = {f"6.{i}": 4 for i in range(1, 18)}  # 39 items where 22 are known
    with pytest.raises(DesignError) as raised:
        indices(frame.assign(**extra), structure)
    message = str(raised.value)
    assert "do not fit questionnaire sipas-2640" in message
    assert "look like criteria but are not in it: 6.1, 6.2" in message
    assert "and 7 more" in message


def test_other_columns_are_still_ignored(structure):
    frame = read_reference_data("cluster")
    extended = frame.assign(gender="nam", note="x", **{"unit.1": "a", "v1.2": 3})
    pd.testing.assert_frame_equal(
        indices(extended, structure), indices(frame, structure)
    )


def test_cli_reads_the_questionnaire_from_the_columns(tmp_path, capsys):
    frame = read_reference_data("cluster")
    source = tmp_path / "responses.csv"
    frame.to_csv(source, index=False)
    named = tmp_path / "named.csv"
    found = tmp_path / "found.csv"
    assert cli.main(["indices", str(source), "--questionnaire", "sipas-2640",
                     "--out", str(named)]) == 0  # fmt: skip
    assert cli.main(["indices", str(source), "--out", str(found)]) == 0
    assert named.read_bytes() == found.read_bytes()

    frame.assign(**{f"6.{i}": 4 for i in range(1, 18)}).to_csv(source, index=False)
    assert cli.main(["indices", str(source), "--out", str(found)]) == 2
    err = capsys.readouterr().err
    assert "no questionnaire in questionnaires/ fits" in err
    assert "the closest is sipas-2640" in err
    assert "6.1, 6.2" in err
    assert cli.main(["indices", str(source), "--questionnaire", "sipas-2640"]) == 2
    assert "look like criteria but are not in it: 6.1" in capsys.readouterr().err


def test_cli_compare_refuses_a_previous_period_of_another_questionnaire(
    tmp_path, capsys
):
    frame = read_reference_data("cluster")
    current, previous = tmp_path / "current.csv", tmp_path / "previous.csv"
    frame.to_csv(current, index=False)
    frame.assign(**{"6.1": 4}).to_csv(previous, index=False)
    args = ["compare", str(current), "--previous", str(previous), "--draws", "10"]
    assert cli.main(args) == 2
    assert "6.1" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# 0 is "no opinion", as the web form stores it


def test_zero_is_no_opinion(structure):
    frame = read_reference_data("cluster")
    blanks = frame["2.1"].isna()
    zeros = frame.assign(**{"2.1": frame["2.1"].fillna(0)})
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    pd.testing.assert_frame_equal(
        indices(zeros, structure, design=design),
        indices(frame, structure, design=design),
    )
    assert (zeros.loc[blanks, "2.1"] == 0).all()  # the caller's frame is untouched


def test_cli_accepts_zero_as_no_opinion(tmp_path):
    frame = read_reference_data("cluster")
    blank, zero = tmp_path / "blank.csv", tmp_path / "zero.csv"
    write_csv(frame, blank)
    write_csv(frame.fillna({code: 0 for code in ("1.1", "3.4", "5.4")}), zero)
    assert re.search(r",0(,|\n)", zero.read_text())  # answers of 0 in the file
    out_blank, out_zero = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli.main(["indices", str(blank), "--out", str(out_blank)]) == 0
    assert cli.main(["indices", str(zero), "--out", str(out_zero)]) == 0
    assert out_blank.read_bytes() == out_zero.read_bytes()


# --------------------------------------------------------------------------------------
# rows are counted as a spreadsheet shows them


def test_error_rows_count_as_a_spreadsheet(tmp_path, capsys):
    frame = read_reference_data("cluster")
    frame.loc[16, "3.3"] = 7  # the 17th response: line 18 of the file, header line 1
    source = tmp_path / "responses.csv"
    write_csv(frame, source)
    assert cli.main(["indices", str(source)]) == 2
    err = capsys.readouterr().err
    assert "answer 7 to criterion 3.3 at row 18 " in err
    line = source.read_text().splitlines()[17]  # row 18 of a spreadsheet
    assert line.split(",")[list(frame.columns).index("3.3")] == "7"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "weight",
            -1.0,
            "weight column 'weight' has 1 negative values (first at row 6)",
        ),
        (
            "stratum",
            None,
            "stratum column 'stratum' has 1 missing values (first at row 6)",
        ),
    ],
)
def test_design_error_rows_count_as_a_spreadsheet(column, value, message):
    frame = read_reference_data("cluster")
    frame.index = frame.index + 100  # positions count, not the index
    frame.iloc[4, frame.columns.get_loc(column)] = value
    with pytest.raises(
        DesignError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        make_design(frame, strata="stratum", psu="psu", weight="weight")


# --------------------------------------------------------------------------------------
# PSU ids numbered within strata: nest=True


def nested_frame() -> pd.DataFrame:
    frame = read_reference_data("cluster")
    frame["psu"] = frame["psu"].str.replace(r".*-", "", regex=True)  # "s1-3" -> "3"
    return frame


def test_nested_psu_ids_match_r(structure, findings):
    frame = nested_frame()
    with pytest.raises(DesignError, match="nest=True, --nest"):
        make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    design = make_design(
        frame, strata="stratum", psu="psu", weight="weight", fpc="fpc", nest=True
    )
    assert design.n_psu == 18
    table = indices(frame, structure, design=design)
    expected = of(findings, "nest", "nest")
    merged = expected.merge(table, on=["unit", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(expected) == 8 * 22
    np.testing.assert_allclose(
        merged["estimate"] / 100, merged["estimate_r"], rtol=RTOL
    )
    # (u05 has one PSU: R leaves a rounding residue of 1e-17 where we have 0)
    np.testing.assert_allclose(
        merged["se"] / 100, merged["se_r"], rtol=RTOL, atol=1e-15
    )
    np.testing.assert_array_equal(merged["df"], merged["df_r"])


def test_cli_nest(tmp_path, capsys):
    source = tmp_path / "nested.csv"
    nested_frame().to_csv(source, index=False)
    assert cli.main(["indices", str(source)]) == 2
    assert "--nest" in capsys.readouterr().err
    nested, unique = tmp_path / "nested_out.csv", tmp_path / "unique_out.csv"
    assert cli.main(["indices", str(source), "--nest", "--out", str(nested)]) == 0
    original = tmp_path / "original.csv"
    read_reference_data("cluster").to_csv(original, index=False)
    assert cli.main(["indices", str(original), "--out", str(unique)]) == 0
    assert nested.read_bytes() == unique.read_bytes()
