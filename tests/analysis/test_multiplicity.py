"""Adjusted p-values, checked against R's p.adjust.

Reference values: tests/analysis/reference/reference_p_adjust.csv, written by
make_method_reference.R (R 4.2.2): p.adjust(p, "holm" / "BH" / "bonferroni") within
each family of pvalues.csv, which holds ties, a p-value of one and missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare import holm
from analysis.multiplicity import family_threshold, p_adjust
from tests.analysis.conftest import REFERENCE


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "reference_p_adjust.csv", na_values=["NA"])


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni"])
def test_families_adjusted_at_once_match_r(reference, method):
    adjusted = p_adjust(reference["p"], method, groups=reference["family"])
    np.testing.assert_allclose(adjusted, reference[method], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("method", ["holm", "bh", "bonferroni"])
def test_shuffled_input_gives_the_same_adjustment(reference, method):
    order = np.random.default_rng(3).permutation(len(reference))
    shuffled = reference.iloc[order]
    adjusted = p_adjust(shuffled["p"], method, groups=shuffled["family"])
    np.testing.assert_allclose(adjusted, shuffled[method], rtol=1e-12, equal_nan=True)


def test_one_family_agrees_with_the_existing_holm(reference):
    family = reference[reference["family"] == "b"]["p"].to_numpy()
    np.testing.assert_allclose(p_adjust(family, "holm"), holm(family))


def test_bh_finds_at_least_what_holm_finds(reference):
    groups = reference["family"]
    bh = p_adjust(reference["p"], "bh", groups)
    holm_adjusted = p_adjust(reference["p"], "holm", groups)
    assert np.all((bh <= holm_adjusted) | np.isnan(bh))
    assert ((bh < 0.05) & ~(holm_adjusted < 0.05)).any()


def test_textbook_example():
    # Benjamini and Hochberg (1995), sec. 4: 15 p-values, 4 rejected by BH at 0.05,
    # 3 by Holm (Bonferroni-type step-down)
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0]  # fmt: skip
    assert (p_adjust(p, "bh") < 0.05).sum() == 4
    assert (p_adjust(p, "holm") < 0.05).sum() == 3


def test_unknown_method_and_misaligned_groups_are_refused():
    with pytest.raises(ValueError, match="unknown adjustment"):
        p_adjust([0.1], "sidak")
    with pytest.raises(ValueError, match="one label per p-value"):
        p_adjust([0.1, 0.2], "holm", groups=["a"])


def test_family_threshold_is_alpha_over_m():
    np.testing.assert_allclose(
        family_threshold(0.05, [22, 39, 0]), [0.05 / 22, 0.05 / 39, 0.05]
    )
