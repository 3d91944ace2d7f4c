"""Power and sample size for two proportions, checked against R.

Reference values: tests/analysis/reference/reference_power.csv, written by
make_method_reference.R (R 4.2.2, Hmisc): power.prop.test(strict = TRUE) for equal
sizes, Hmisc::bpower for unequal sizes and Hmisc::bsamsize for sizes with a given
power and allocation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.power import (
    power_two_proportions,
    responses_to_detect,
    sample_size_two_proportions,
)
from tests.analysis.conftest import REFERENCE


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "reference_power.csv")


def test_power_with_equal_sizes_matches_power_prop_test(reference):
    r = reference
    power = power_two_proportions(r["p1"], r["p2"], r["n1"], r["n1"], r["alpha"])
    np.testing.assert_allclose(power, r["power_equal"], rtol=1e-10)


def test_power_with_unequal_sizes_matches_hmisc_bpower(reference):
    r = reference
    power = power_two_proportions(r["p1"], r["p2"], r["n1"], r["n2"], r["alpha"])
    np.testing.assert_allclose(power, r["power_unequal"], rtol=1e-10)


def test_sample_sizes_match_hmisc_bsamsize_and_power_prop_test(reference):
    r = reference
    n1, n2 = sample_size_two_proportions(
        r["p1"], r["p2"], fraction=r["fraction"], alpha=r["alpha"], power=r["power"]
    )
    np.testing.assert_allclose(n1, r["bsamsize_n1"], rtol=1e-10)
    np.testing.assert_allclose(n2, r["bsamsize_n2"], rtol=1e-10)
    equal, _ = sample_size_two_proportions(
        r["p1"], r["p2"], alpha=r["alpha"], power=r["power"]
    )
    # power.prop.test solves with uniroot (tolerance 1e-4) and counts the far tail,
    # which bsamsize's closed form leaves out
    np.testing.assert_allclose(equal, r["n_equal"], rtol=1e-4)


def test_power_is_alpha_without_a_difference_and_grows_with_the_samples():
    assert power_two_proportions(0.5, 0.5, 100, 100) == pytest.approx(0.05)
    powers = power_two_proportions(0.46, 0.6, [20, 50, 200, 1000], [20, 50, 200, 1000])
    assert np.all(np.diff(powers) > 0)
    assert np.isnan(power_two_proportions(0.46, 0.6, 0, 50))


def test_responses_to_detect_is_the_textbook_size_for_a_simple_random_sample():
    # one-sample test of a proportion: n = (z_a/2 + z_b)^2 p (1 - p) / d^2
    p, d, n = 0.459, -0.12, 37
    se = np.sqrt(p * (1 - p) / n)
    textbook = (stats.norm.isf(0.025) + stats.norm.ppf(0.8)) ** 2 * p * (1 - p) / d**2
    assert responses_to_detect(d, se, n) == pytest.approx(textbook)
    assert responses_to_detect(0.0, se, n) == np.inf
    assert np.isnan(responses_to_detect(d, 0.0, n))
