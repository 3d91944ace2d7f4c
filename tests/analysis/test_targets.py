"""Improvement targets judged on the next period: change, interval, verdict, power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.power import power_two_proportions
from analysis.targets import EFFECT_COLUMNS, evaluate_targets


def periods(rows):
    columns = ["estimate", "se", "df", "n", "n_eff"]
    before = pd.DataFrame([r[0] for r in rows], columns=columns)
    after = pd.DataFrame([r[1] for r in rows], columns=columns)
    return before, after


CASES = [  # (before, after) as estimate, se, df, n, n_eff; then the target
    ((46.0, 3.0, 250, 300, 280), (61.0, 2.9, 260, 310, 290), 60.0),  # improved
    ((46.0, 3.0, 250, 300, 280), (47.0, 3.0, 250, 300, 280), 60.0),  # no change
    ((46.0, 8.2, 36, 37, 37), (52.0, 8.0, 38, 39, 39), 60.0),  # too few to tell
    ((70.0, 2.0, 400, 500, 480), (60.0, 2.1, 420, 520, 500), 75.0),  # worse
    ((70.0, np.nan, 0, 1, 1), (72.0, 2.0, 100, 120, 110), 75.0),  # not tested
]


@pytest.fixture(scope="module")
def effects():
    before, after = periods([(b, a) for b, a, _ in CASES])
    return evaluate_targets([t for *_, t in CASES], before, after)


def test_each_target_gets_its_verdict(effects):
    assert list(effects.columns) == EFFECT_COLUMNS
    assert list(effects["verdict"]) == [
        "improved", "no_change", "too_few", "worse", "not_tested",
    ]  # fmt: skip
    assert list(effects["reached"]) == [True, False, False, False, False]


def test_change_and_interval_use_independent_samples_and_welch_df(effects):
    row = effects.iloc[0]
    se = np.hypot(3.0, 2.9)
    df = (9.0 + 2.9**2) ** 2 / (9.0**2 / 250 + 2.9**4 / 260)
    assert row["change"] == pytest.approx(15.0)
    assert row["se"] == pytest.approx(se)
    assert row["df"] == pytest.approx(df)
    half = stats.t.ppf(0.975, df) * se
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((15.0 - half, 15.0 + half))
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(15.0 / se, df))


def test_power_is_that_of_the_baseline_against_the_target(effects):
    expected = power_two_proportions(0.46, 0.60, 37, 39)
    assert effects.iloc[2]["power"] == pytest.approx(expected)
    assert effects.iloc[2]["power"] < 0.8 <= effects.iloc[1]["power"]


def test_too_few_proposes_the_sample_of_each_period_with_the_design_effect(effects):
    # Hmisc::bsamsize(0.46, 0.60): 198.3 per period (tests/analysis/test_power.py)
    assert effects.iloc[2]["responses_needed"] == 199
    assert effects["responses_needed"].notna().sum() == 1
    before, after = periods([CASES[2][:2]])
    clustered = after.assign(n=2 * after["n"])  # a design effect of 2
    doubled = evaluate_targets([60.0], before, clustered).iloc[0]["responses_needed"]
    assert doubled == 397  # 2 x 198.32, rounded up
