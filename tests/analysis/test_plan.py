"""Sample-size planning (analysis.plan).

Reference values (both tables round to the nearest integer; the functions here are
not rounded, so they must lie within 0.5 of the table):
- Krejcie, R. V. and Morgan, D. W. (1970). Determining sample size for research
  activities. Educational and Psychological Measurement 30, 607-610, Table 1
  (chi-square 3.841, P = 0.5, d = 0.05): N = 100, 500, 1000, 5000, 10000 give
  80, 217, 278, 357, 370. Their formula X^2 N P (1-P) / (d^2 (N-1) + X^2 P (1-P)) is
  Cochran's n0 / (1 + (n0 - 1) / N).
- Israel, G. D. (1992). Determining Sample Size. University of Florida IFAS Fact
  Sheet PEOD-6, Table 2 (Yamane, +-5%): N = 500, 1000, 5000, 10000 give 222, 286, 370,
  385.
"""

import numpy as np
import pandas as pd
import pytest

from analysis.plan import (
    PLAN_COLUMNS,
    initial_sample_size,
    plan_sample,
    sample_size_proportion,
    sample_size_yamane,
)


def test_initial_sample_size_cochran():
    z = 1.959963984540054
    assert initial_sample_size(0.05) == pytest.approx(z**2 * 0.25 / 0.0025, rel=1e-12)
    assert initial_sample_size(0.05, p=0.8, deff=2.0) == pytest.approx(
        z**2 * 0.16 * 2 / 0.0025, rel=1e-12
    )


def test_sample_size_matches_krejcie_morgan():
    size = np.array([100, 500, 1000, 5000, 10000])
    table = np.array([80, 217, 278, 357, 370])
    assert np.all(np.abs(sample_size_proportion(size) - table) < 0.5)


def test_sample_size_yamane_matches_israel():
    size = np.array([500, 1000, 5000, 10000])
    table = np.array([222, 286, 370, 385])
    assert np.all(np.abs(sample_size_yamane(size) - table) < 0.5)


def test_sample_size_without_fpc_is_n0():
    assert sample_size_proportion(np.inf) == pytest.approx(initial_sample_size())
    assert sample_size_yamane(np.inf) == pytest.approx(400.0)


def test_sample_size_never_exceeds_population():
    size = np.array([1.0, 5.0, 50.0, 400.0])
    n = sample_size_proportion(size, 0.01, deff=3.0)
    assert np.all(n <= size + 1e-12)


def test_plan_sample_table():
    units = pd.DataFrame(
        {
            "unit": ["A", "B", "C"],
            "population": [1000, 2000, 5000],
            "share": [np.nan, 80.0, 50.0],
            "deff": [1.0, np.nan, 2.0],
        }
    )
    out = plan_sample(units)
    assert list(out.columns) == PLAN_COLUMNS
    assert out["share"].tolist() == [50.0, 80.0, 50.0]
    assert out["deff"].tolist() == [1.0, 1.0, 2.0]
    n0_b = 1.959963984540054**2 * 0.16 / 0.0025
    n0_c = 2 * 1.959963984540054**2 * 0.25 / 0.0025
    assert out["n_needed"].tolist() == [
        278,
        int(np.ceil(n0_b / (1 + (n0_b - 1) / 2000))),
        int(np.ceil(n0_c / (1 + (n0_c - 1) / 5000))),
    ]
    assert out["n_needed"].tolist()[2] == 667
    assert out["n_official"].tolist() == [286, 334, 371]


def test_plan_sample_options():
    units = pd.DataFrame({"unit": ["A"], "population": [1000]})
    out = plan_sample(units, moe=3.0, level=0.90)
    z = 1.6448536269514722
    n0 = z**2 * 0.25 / 0.03**2
    assert out["n0"].iloc[0] == pytest.approx(n0)
    assert out["n_needed"].iloc[0] == int(np.ceil(n0 / (1 + (n0 - 1) / 1000)))
    assert out["n_official"].iloc[0] == int(np.ceil(1000 / (1 + 1000 * 0.0009)))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"unit": ["A"]}), "population"),
        (pd.DataFrame({"unit": ["A"], "population": [0]}), "population must be"),
        (pd.DataFrame({"unit": ["A"], "population": [None]}), "population must be"),
        (
            pd.DataFrame({"unit": ["A"], "population": [10], "share": [120]}),
            "between 0 and 100",
        ),
        (
            pd.DataFrame({"unit": ["A"], "population": [10], "deff": [0]}),
            "design effects",
        ),
    ],
)
def test_plan_sample_rejects_bad_input(frame, message):
    with pytest.raises(ValueError, match=message):
        plan_sample(frame)
