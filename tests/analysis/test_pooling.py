"""Pooled estimates over several periods, checked against R's survey package.

Reference values: tests/analysis/reference/reference_pooled.csv, written by
make_method_reference.R (R 4.2.2, survey 4.1-1): the three periods of data_pool.csv
as one stacked design, svydesign(ids = ~period:psu, strata = ~period:stratum,
weights = ~weight), as it is and post-stratified to each (period, unit, field)'s
register count; svyratio for every item and svycontrast for the composites.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import DesignError, make_design
from analysis.estimate import linearize
from analysis.pooling import PERIOD, StackedCalibration, stack_periods
from analysis.questionnaire import load_structure
from analysis.weights import post_stratify
from tests.analysis.conftest import REFERENCE, read_reference_data

SERVICES = load_structure("sipas-1001-dv")


def periods(poststratified: bool):
    data = read_reference_data("pool")
    parts = []
    for label, frame in data.groupby("period", sort=True):
        frame = frame.drop(columns="period").reset_index(drop=True)
        design = make_design(frame, strata="stratum", psu="psu", weight="weight")
        if poststratified:
            population = frame.groupby(["unit", "field"], as_index=False)[
                "population"
            ].first()
            design = post_stratify(design, frame, ["unit", "field"], population)
        parts.append((label, frame, design))
    return parts


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    table = pd.read_csv(REFERENCE / "reference_pooled.csv", dtype={"indicator": str})
    return table.set_index(["case", "unit", "indicator"])


@pytest.mark.parametrize("case", ["weights", "poststratified"])
def test_pooled_estimates_match_r_on_the_stacked_design(reference, case):
    frame, design = stack_periods(periods(case == "poststratified"))
    assert bool(design.calibrations) == (case == "poststratified")
    result = linearize(frame, SERVICES, design=design)
    compared = 0
    for d, unit in enumerate(result.domains):
        for j, code in enumerate(result.indicators):
            expected = reference.loc[(case, unit, code)]
            assert result.estimate[d, j] == pytest.approx(
                expected["estimate"], rel=1e-9
            )
            assert result.variance[d, j] == pytest.approx(
                expected["variance"], rel=1e-7
            )
            compared += 1
    assert compared == 4 * (1 + 5 + 16)


def test_stacked_frame_and_design_keep_each_period_apart():
    parts = periods(False)
    frame, design = stack_periods(parts)
    assert list(frame[PERIOD].unique()) == ["p1", "p2", "p3"]
    assert len(frame) == sum(len(f) for _, f, _ in parts)
    assert design.n_strata == sum(d.n_strata for _, _, d in parts)
    assert design.n_psu == sum(d.n_psu for _, _, d in parts)
    assert design.stratum_labels[0] == "p1|big"
    assert str(design.psu_labels[-1]).startswith("p3|")
    np.testing.assert_allclose(
        design.weights, np.concatenate([d.weights for *_, d in parts])
    )


def test_one_period_pooled_is_the_period_itself():
    label, frame, design = periods(True)[2]
    stacked, pooled = stack_periods([(label, frame, design)])
    alone = linearize(frame, SERVICES, design=design)
    together = linearize(stacked, SERVICES, design=pooled)
    np.testing.assert_allclose(together.estimate, alone.estimate)
    np.testing.assert_allclose(together.variance, alone.variance)


def test_pooling_gives_a_small_unit_more_answers_and_degrees_of_freedom():
    parts = periods(False)
    latest = linearize(parts[-1][1], SERVICES, design=parts[-1][2])
    frame, design = stack_periods(parts)
    pooled = linearize(frame, SERVICES, design=design)
    now, together = latest.domain_index(["tiny"])[0], pooled.domain_index(["tiny"])[0]
    assert pooled.nobs[together, 0] == (frame["unit"] == "tiny").sum()
    assert pooled.nobs[together, 0] > 2.5 * latest.nobs[now, 0]
    assert pooled.df[together] > 2 * latest.df[now]


def test_stacked_calibration_nests_only_if_every_period_does():
    parts = periods(True)
    frame, design = stack_periods(parts)
    (calibration,) = design.calibrations
    assert isinstance(calibration, StackedCalibration)
    units = pd.factorize(frame["unit"])[0]
    assert calibration.nests_within(units)
    assert not calibration.nests_within(np.arange(len(frame)) % 2)


def test_periods_that_do_not_fit_together_are_refused():
    parts = periods(False)
    with pytest.raises(DesignError, match="no periods"):
        stack_periods([])
    with pytest.raises(DesignError, match="its own label"):
        stack_periods([parts[0], parts[0]])
    label, frame, design = parts[1]
    with pytest.raises(DesignError, match="other columns"):
        stack_periods([parts[0], (label, frame.drop(columns="II.A.1"), design)])
