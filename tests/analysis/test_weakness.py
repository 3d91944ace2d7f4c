"""Real weaknesses: each unit's criteria tested as a family against a reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.columns import ALL
from analysis.compare import compare_periods, difference_table
from analysis.estimate import index_table, linearize
from analysis.multiplicity import p_adjust
from analysis.weakness import WEAKNESS_COLUMNS, real_weaknesses
from tests.analysis.conftest import CRITERIA


@pytest.fixture(scope="module")
def weak_unit(structure):
    """Unit "w" answers 1.1 and 5.4 much worse than the other units; 2.1 a bit worse."""
    rng = np.random.default_rng(22)
    n = 900
    frame = pd.DataFrame({"unit": rng.choice(["w", "x", "y"], n, p=[0.2, 0.4, 0.4])})
    for code in CRITERIA:
        p = np.full(n, 0.75)
        if code in ("1.1", "5.4"):
            p[frame["unit"] == "w"] = 0.35
        if code == "2.1":
            p[frame["unit"] == "w"] = 0.62
        satisfied = rng.random(n) < p
        frame[code] = np.where(satisfied, rng.integers(4, 6, n), rng.integers(1, 4, n))
    result = linearize(frame, structure, keep_scores=True)
    return result, index_table(result)


def province_comparisons(result):
    units = ["w", "x", "y"]
    return difference_table(
        result, units, [ALL] * 3, kind="province", indicators=CRITERIA
    )


def test_the_real_weaknesses_survive_the_adjustment(weak_unit):
    result, table = weak_unit
    found = real_weaknesses(province_comparisons(result), table)
    assert list(found.columns) == WEAKNESS_COLUMNS
    mine = found[found["unit"] == "w"].set_index("indicator")
    assert set(mine.index[mine["verdict"] == "below"]) == {"1.1", "5.4"}
    assert (mine["family_size"] == 22).all()
    assert (found[found["unit"] != "w"]["verdict"] != "below").all()


def test_p_values_are_adjusted_within_each_units_family(weak_unit):
    result, table = weak_unit
    comparisons = province_comparisons(result)
    for method in ("holm", "bh"):
        found = real_weaknesses(comparisons, table, method=method)
        for unit in ("w", "x", "y"):
            rows = found["unit"] == unit
            np.testing.assert_allclose(
                found.loc[rows, "p_adjusted"],
                p_adjust(found.loc[rows, "p_value"], method),
            )


def test_a_gap_significant_alone_but_not_in_the_family_is_not_a_weakness(weak_unit):
    result, table = weak_unit
    found = real_weaknesses(province_comparisons(result), table).set_index(
        ["unit", "indicator"]
    )
    row = found.loc[("w", "2.1")]
    assert row["p_value"] < 0.05 <= row["p_adjusted"]
    assert row["verdict"] == "no_difference"
    # the responses that would tell: the SE must shrink to |d| / (z_{a/2m} + z_0.8)
    factor = stats.norm.isf(0.05 / 22 / 2) + stats.norm.ppf(0.8)
    expected = row["n"] * (factor * row["se"] / abs(row["difference"])) ** 2
    assert row["responses_to_tell"] == np.ceil(expected)
    assert row["responses_to_tell"] > row["n"]


def test_only_gaps_below_the_reference_get_a_sample_size(weak_unit):
    result, table = weak_unit
    found = real_weaknesses(province_comparisons(result), table)
    has_size = found["responses_to_tell"].notna()
    assert has_size.any()
    assert (found.loc[has_size, "difference"] < 0).all()
    assert (found.loc[has_size, "verdict"] == "no_difference").all()


def test_previous_period_is_a_family_of_its_own(weak_unit, structure):
    result, table = weak_unit
    before = table.assign(estimate=table["estimate"] + 10.0)  # every criterion fell
    previous = compare_periods(table, before)
    previous = previous[
        previous["indicator"].isin(CRITERIA) & (previous["unit"] != ALL)
    ]
    both = pd.concat([province_comparisons(result), previous], ignore_index=True)
    found = real_weaknesses(both, table)
    assert found.groupby(["unit", "kind"]).size().eq(22).all()
    fell = found[(found["kind"] == "previous") & (found["unit"] == "x")]
    assert (fell["verdict"] == "below").sum() >= 15
