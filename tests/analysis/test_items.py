"""Composites defined by the questionnaire version: items, blocks and areas (1001/QĐ-BNV).

Reference values: tests/analysis/reference/reference_items.csv, written by
make_method_reference.R (R 4.2.2, survey 4.1-1): svyratio for every item and
svycontrast of svytotal for the overall index, the two areas and the nine blocks,
each the mean of its items that have answers in the domain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.design import make_design
from analysis.estimate import indices, linearize
from analysis.questionnaire import Structure, load_structure
from tests.analysis.conftest import CRITERIA, REFERENCE, read_reference_data

RTOL = 1e-8
HOUSEHOLD = load_structure("sipas-1001")


@pytest.fixture(scope="module")
def items_result():
    frame = read_reference_data("items")
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    return linearize(frame, HOUSEHOLD, design=design)


@pytest.fixture(scope="module")
def reference():
    table = pd.read_csv(REFERENCE / "reference_items.csv", dtype={"indicator": str})
    return table.set_index(["unit", "indicator"])


def test_indicators_are_overall_areas_blocks_items(items_result):
    assert items_result.indicators[:12] == (
        "SIPAS", "I", "II", "I.A", "I.B", "I.C", "I.D", "II.A", "II.B", "II.C", "II.D", "II.E",
    )  # fmt: skip
    assert len(items_result.indicators) == 1 + 2 + 9 + 39
    assert items_result.n_composites == 12


def test_every_item_and_composite_matches_r(items_result, reference):
    compared = 0
    for d, unit in enumerate(items_result.domains):
        for j, code in enumerate(items_result.indicators):
            expected = reference.loc[(unit, code)]
            if np.isnan(expected["estimate"]):
                assert np.isnan(items_result.estimate[d, j]), (unit, code)
                continue
            assert items_result.estimate[d, j] == pytest.approx(
                expected["estimate"], rel=RTOL
            ), (unit, code)
            assert items_result.variance[d, j] == pytest.approx(
                expected["variance"], rel=1e-7
            ), (unit, code)
            compared += 1
    assert compared == 5 * 51 - 4  # u3 has no I.B (block and 2 items), u4 no II.E.3


def test_overall_is_the_mean_of_items_not_of_areas(items_result):
    i = list(items_result.indicators)
    overall, area_i, area_ii = (
        items_result.estimate[0, i.index(c)] for c in ("SIPAS", "I", "II")
    )
    items = items_result.estimate[0, items_result.n_composites :]
    assert overall == pytest.approx(items.mean())
    assert overall == pytest.approx((23 * area_i + 16 * area_ii) / 39)
    assert overall != pytest.approx((area_i + area_ii) / 2, rel=1e-6)


def test_a_unit_that_skipped_a_block_averages_the_items_it_answered(items_result):
    u3 = list(items_result.domains).index("u3")
    i = list(items_result.indicators)
    assert np.isnan(items_result.estimate[u3, i.index("I.B")])
    blocks = [b for b in HOUSEHOLD.areas["I"] if b != "I.B"]
    answered = [c for b in blocks for c in HOUSEHOLD.elements[b]]
    expected = np.mean([items_result.estimate[u3, i.index(c)] for c in answered])
    assert items_result.estimate[u3, i.index("I")] == pytest.approx(expected)
    assert items_result.parts_used[u3, i.index("I")] == 21
    assert items_result.parts_total[u3, i.index("I")] == 23


def test_result_table_notes_composites_averaged_over_fewer_items():
    frame = read_reference_data("items")
    table = indices(frame, HOUSEHOLD).set_index(["unit", "indicator"])
    assert "mean of 21 of 23 criteria" in table.loc[("u3", "I"), "note"]
    assert (
        table.loc[("u3", "II"), "note"] == ""
        or "of 16" not in table.loc[("u3", "II"), "note"]
    )


@pytest.mark.parametrize("aggregation", ["criteria_then_elements", "items"])
def test_an_area_is_the_overall_index_of_its_own_elements(make_responses, aggregation):
    frame = make_responses(n=300)
    elements = load_structure("sipas-2640").elements
    areas = {"A": ["E1", "E2"], "B": ["E3", "E4", "E5"]}
    structure = Structure("two-areas", elements, aggregation, areas=areas)
    result = linearize(frame, structure)
    i = list(result.indicators)
    for area, codes in areas.items():
        alone = Structure(area, {e: elements[e] for e in codes}, aggregation)
        others = [c for c in CRITERIA if c not in alone.criteria]
        own = linearize(frame.drop(columns=others), alone)
        np.testing.assert_allclose(
            result.estimate[:, i.index(area)], own.estimate[:, 0]
        )
        np.testing.assert_allclose(
            result.variance[:, i.index(area)], own.variance[:, 0]
        )
        np.testing.assert_allclose(
            result.unit_variance[:, i.index(area)], own.unit_variance[:, 0]
        )
    row = result.estimate[0]
    if aggregation == "criteria_then_elements":
        assert row[i.index("A")] == pytest.approx(
            row[[i.index("E1"), i.index("E2")]].mean()
        )
