"""The survey design: codes, population sizes, lonely-PSU rules and input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import Design, DesignError, make_design
from analysis.variance import psu_total_covariance, total_covariance


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stratum": ["b", "b", "b", "a", "a", "a", "a"],
            "psu": ["b1", "b1", "b2", "a1", "a2", "a3", "a3"],
            "weight": [2.0, 2.0, 4.0, 1.0, 1.0, 3.0, 3.0],
            "fpc": [10, 10, 10, 6, 6, 6, 6],
            "fraction": [0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5],
        }
    )


def test_make_design_codes_strata_and_psus(frame):
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    assert design.stratum.tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert design.psu_labels.tolist() == ["a1", "a2", "a3", "b1", "b2"]
    assert design.psu_stratum.tolist() == [0, 0, 0, 1, 1]
    assert design.psu_count.tolist() == [3, 2]
    assert design.fpc.tolist() == [6.0, 10.0]
    assert design.sampling_fraction.tolist() == pytest.approx([0.5, 0.2])
    assert design.degrees_of_freedom == 5 - 2


def test_make_design_reads_fpc_fractions_as_r(frame):
    design = make_design(frame, strata="stratum", psu="psu", fpc="fraction")
    assert design.fpc.tolist() == pytest.approx([3 / 0.5, 2 / 0.2])


def test_make_design_defaults_to_rows_as_psus():
    design = make_design(pd.DataFrame({"x": [1, 2, 3]}))
    assert design.n_psu == 3
    assert design.n_strata == 1
    assert design.weights.tolist() == [1.0, 1.0, 1.0]
    assert design.fpc is None


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (None, {"strata": "region"}, "unknown stratum column 'region'"),
        (None, {"weight": "w"}, "unknown weight column 'w'"),
        (("weight", 2, -1.0), {"weight": "weight"}, "1 negative values"),
        (("weight", 2, np.nan), {"weight": "weight"}, "missing values"),
        (("psu", 0, None), {"psu": "psu"}, "PSU column 'psu' has 1 missing"),
        (("psu", 0, "a1"), {"psu": "psu", "strata": "stratum"}, "PSU 'a1' is in more"),
        (("fpc", 0, 11), {"strata": "stratum", "fpc": "fpc"}, "fpc varies"),
        (("fpc", 0, 0.1), {"strata": "stratum", "fpc": "fpc"}, "fpc varies"),
        (None, {"strata": "stratum", "psu": "psu", "fpc": "small"}, "implies 2 PSUs"),
        (None, {"strata": "stratum", "fpc": "mixed"}, "mixes sampling fractions"),
        (None, {"lonely_psu": "drop"}, "unknown lonely_psu rule 'drop'"),
    ],
)
def test_make_design_rejects_bad_input(frame, change, kwargs, message):
    frame["small"] = [10, 10, 10, 2, 2, 2, 2]
    frame["mixed"] = [0.5, 0.5, 0.5, 6, 6, 6, 6]
    if change is not None:
        column, row, value = change
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
    with pytest.raises(DesignError, match=message):
        make_design(frame, **kwargs)


def test_make_design_rejects_empty_stratum(frame):
    frame["stratum"] = pd.Categorical(frame["stratum"], categories=["a", "b", "c"])
    with pytest.raises(DesignError, match="stratum 'c' is empty"):
        make_design(frame, strata="stratum", psu="psu")
    frame["stratum"] = frame["stratum"].astype(str)
    frame.loc[frame["stratum"] == "b", "weight"] = 0.0
    with pytest.raises(
        DesignError, match="stratum 'b' has no responses with a positive"
    ):
        make_design(frame, strata="stratum", psu="psu", weight="weight")


def test_make_design_fail_rule_rejects_lonely_stratum_but_not_census(frame):
    frame.loc[frame["psu"] == "b2", "psu"] = "b1"
    with pytest.raises(DesignError, match="stratum 'b' has only one PSU"):
        make_design(frame, strata="stratum", psu="psu", lonely_psu="fail")
    frame["census"] = np.where(frame["stratum"] == "b", 1, 6)
    design = make_design(
        frame, strata="stratum", psu="psu", fpc="census", lonely_psu="fail"
    )
    assert design.psu_count.tolist() == [3, 1]


def test_with_weights_appends_calibration(frame):
    design = make_design(frame, strata="stratum", psu="psu", weight="weight")
    marker = object()
    new = design.with_weights(design.weights * 2, calibration=marker)
    assert new.calibrations == (marker,)
    assert new.weights.tolist() == (design.weights * 2).tolist()
    assert design.calibrations == ()
    with pytest.raises(DesignError, match="one value per row"):
        design.with_weights(np.ones(3))


def test_total_covariance_is_stratified_with_replacement_with_fpc(frame):
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    # PSU totals: a: 4, 5, 13; b: 3, 3
    a = np.array([4.0, 5.0, 13.0])
    b = np.array([3.0, 3.0])
    expected = (1 - 3 / 6) * 3 / 2 * np.sum((a - a.mean()) ** 2) + (1 - 2 / 10) * 2 * 0
    assert total_covariance(design, x)[0, 0] == pytest.approx(expected)
    assert psu_total_covariance(design, np.r_[a, b])[0, 0] == pytest.approx(expected)


SQUARES_A = np.sum((np.array([4.0, 5.0, 13.0]) - 22 / 3) ** 2)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("adjust", 1.5 * SQUARES_A + 1.0 * 3.0**2),  # lonely PSU deviates from 0, f=1
        ("remove", 1.5 * SQUARES_A),
        ("certainty", 1.5 * SQUARES_A),
        ("average", 1.5 * SQUARES_A * 2 / 1),  # times strata / strata kept
    ],
)
def test_total_covariance_lonely_psu_rules(frame, rule, expected):
    frame.loc[frame["psu"] == "b2", "psu"] = "b1"
    design = make_design(frame, strata="stratum", psu="psu", lonely_psu=rule)
    x = np.array([1.0, 1.0, 1.0, 4.0, 5.0, 6.0, 7.0])
    # stratum a: PSU totals 4, 5, 13; stratum b: one PSU with total 3
    assert total_covariance(design, x)[0, 0] == pytest.approx(expected)


def test_simple_random_sample_design():
    design = Design.simple_random_sample(4)
    assert design.n_psu == 4
    assert design.degrees_of_freedom == 3
