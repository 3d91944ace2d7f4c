"""Intervals, design effects and effective sample sizes.

Binomial reference values: tests/analysis/reference/reference_intervals.csv from R
4.2.2 (``binom.test`` for Clopper-Pearson, ``prop.test(correct = FALSE)`` for
Wilson). The survey versions are checked against R's survey package in
test_estimate.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.intervals import (
    beta_interval,
    clopper_pearson_interval,
    design_effect,
    effective_sample_size,
    kish_weighting_effect,
    korn_graubard_interval,
    logit_interval,
    proportion_interval,
    t_interval,
    t_quantile,
    wilson_interval,
)
from tests.analysis.conftest import REFERENCE


@pytest.fixture(scope="module")
def binomial() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "reference_intervals.csv")


def test_clopper_pearson_interval_matches_r_binom_test(binomial):
    for level, rows in binomial.groupby("level"):
        low, high = clopper_pearson_interval(rows["count"], rows["nobs"], 1 - level)
        np.testing.assert_allclose(low, rows["cp_low"], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(high, rows["cp_high"], rtol=1e-10)


def test_wilson_interval_matches_r_prop_test(binomial):
    for level, rows in binomial.groupby("level"):
        low, high = wilson_interval(rows["count"], rows["nobs"], 1 - level)
        np.testing.assert_allclose(low, rows["wilson_low"], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(high, rows["wilson_high"], rtol=1e-10)


def test_wilson_interval_uses_t_with_df():
    low, high = wilson_interval(30, 100, 0.05, df=5)
    crit = stats.t.ppf(0.975, 5)
    centre = (0.3 + crit**2 / 200) / (1 + crit**2 / 100)
    half = crit * np.sqrt(0.3 * 0.7 / 100 + crit**2 / 40000) / (1 + crit**2 / 100)
    assert (low, high) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_clopper_pearson_interval_boundaries_are_one_sided():
    low, high = clopper_pearson_interval([0.0, 12.5], [12.5, 12.5], 0.05)
    assert low[0] == 0.0
    assert high[0] == pytest.approx(1 - 0.025 ** (1 / 12.5), rel=1e-12)
    assert low[1] == pytest.approx(0.025 ** (1 / 12.5), rel=1e-12)
    assert high[1] == 1.0


def test_effective_sample_size_is_capped_at_n():
    n_eff = effective_sample_size([0.5, 0.5, 0.0, 0.3], [0.01, 0.0001, 0.0, 0.0], 100)
    np.testing.assert_allclose(n_eff, [25.0, 100.0, 100.0, 100.0])


def test_korn_graubard_interval_follows_nchs_formula():
    p, v, n, df = 0.3, 0.0025, 200, 12
    n_eff = p * (1 - p) / v
    n_df = n_eff * (stats.t.ppf(0.975, n - 1) / stats.t.ppf(0.975, df)) ** 2
    x = p * n_df
    expected = (
        stats.beta.ppf(0.025, x, n_df - x + 1),
        stats.beta.ppf(0.975, x + 1, n_df - x),
    )
    assert korn_graubard_interval(p, v, n, df) == pytest.approx(expected, rel=1e-10)


def test_korn_graubard_interval_at_zero_is_one_sided():
    low, high = korn_graubard_interval(0.0, 0.0, 40, 39)
    assert low == 0.0
    assert high == pytest.approx(1 - 0.025 ** (1 / 40), rel=1e-12)


def test_korn_graubard_interval_without_df_is_nan():
    low, high = korn_graubard_interval([0.4, 0.4], [0.01, 0.01], [1, 50], [10, 0])
    assert np.isnan(low).all()
    assert np.isnan(high).all()


def test_beta_interval_is_not_capped():
    # design effect below one: the beta interval uses n_eff > n, Korn-Graubard caps it
    p, v, n, df = 0.4, 0.4 * 0.6 / 400, 100, 99
    beta = beta_interval(p, v, n, df)
    kg = korn_graubard_interval(p, v, n, df)
    assert beta[1] - beta[0] < kg[1] - kg[0]


def test_beta_interval_is_nan_without_variance():
    low, high = beta_interval([0.0, 0.5], [0.0, 0.0], [30, 30], [29, 29])
    assert np.isnan(low).all()
    assert np.isnan(high).all()


def test_logit_interval_closed_form():
    p, v, df = 0.8, 0.0009, 20
    half = stats.t.ppf(0.975, df) * 0.03 / (0.8 * 0.2)
    expected = 1 / (1 + np.exp(-(np.log(4) + np.array([-half, half]))))
    assert logit_interval(p, v, df) == pytest.approx(tuple(expected), rel=1e-12)


def test_logit_interval_is_nan_at_boundaries():
    low, high = logit_interval([0.0, 1.0], [0.0, 0.0], [10, 10])
    assert np.isnan(low).all()
    assert np.isnan(high).all()


def test_t_interval_is_clipped():
    low, high = t_interval([0.02, 0.5], [0.05, 0.01], [10, np.inf])
    assert low[0] == 0.0
    assert high[1] == pytest.approx(0.5 + stats.norm.ppf(0.975) * 0.01, rel=1e-12)


def test_t_quantile_without_df_is_nan():
    q = t_quantile([0, -1, 3, np.inf], 0.1)
    assert np.isnan(q[:2]).all()
    assert q[2:] == pytest.approx([stats.t.ppf(0.95, 3), stats.norm.ppf(0.95)])


def test_design_effect_matches_srs_without_replacement():
    # S^2 = p(1-p); SRS variance (1 - n/N) S^2 / (n - 1)
    srs = 0.25 * (1 - 100 / 1000) / 99
    assert design_effect(2 * srs, 0.25, 100, 1000) == pytest.approx(2.0)
    assert np.isnan(design_effect(0.01, 0.25, 100, 100))  # weights not scaled


def test_kish_weighting_effect_overall_and_by_group():
    assert kish_weighting_effect([1, 1, 1]) == pytest.approx(1.0)
    assert kish_weighting_effect([1, 3]) == pytest.approx(2 * 10 / 16)
    by_group = kish_weighting_effect([1, 3, 2, 2], groups=[0, 0, 1, 1])
    np.testing.assert_allclose(by_group, [1.25, 1.0])


def test_proportion_interval_dispatches_and_rejects_unknown():
    args = (0.3, 0.001, 150, 20)
    assert proportion_interval("beta", *args) == pytest.approx(beta_interval(*args))
    assert proportion_interval("korn-graubard", *args) == pytest.approx(
        korn_graubard_interval(*args)
    )
    with pytest.raises(ValueError, match="unknown interval method"):
        proportion_interval("exact", *args)
