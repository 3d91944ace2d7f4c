"""Sample selection, allocation, weights, response rates and the channel difference.

The sampled channel's estimates against R's survey package: reference values in
tests/analysis/reference/reference_sampled*.csv, written by make_reference_sampled.R
(R 4.2.2, survey 4.1-1) from data_sampled.csv, with the weights computed by R itself.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.channels import compare_channels
from analysis.compare import compare_periods
from analysis.design import make_design
from analysis.estimate import indices
from analysis.plan import sample_size_proportion
from analysis.sampling import (
    allocate_proportional,
    permanent_random_numbers,
    plan_strata,
    response_rates,
    sample_weights,
    select_poisson,
    select_srswor,
    srswor_probabilities,
)
from analysis.weights import WeightingError
from tests.analysis.conftest import REFERENCE

CODES = np.array([f"HS-{i:06d}" for i in range(20_000)], dtype=object)


# --------------------------------------------------------------------------------------
# permanent random numbers


def test_prn_are_fixed_by_seed_and_code_whatever_the_order():
    u = permanent_random_numbers(CODES[:500], "seed-1")
    again = permanent_random_numbers(CODES[:500][::-1], "seed-1")[::-1]
    np.testing.assert_array_equal(u, again)
    assert permanent_random_numbers(CODES[10:11], "seed-1")[0] == u[10]
    assert not np.array_equal(u, permanent_random_numbers(CODES[:500], "seed-2"))


def test_prn_are_uniform_and_inside_the_open_interval():
    u = permanent_random_numbers(CODES, "uniform?")
    assert ((u > 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    # neighbouring codes are not correlated
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03


def test_prn_known_value_pins_the_algorithm():
    # BLAKE2b-64 keyed with "sipas" of "HS-000001", top 53 bits: a changed hash or
    # scaling would silently change every past draw.
    import hashlib

    digest = hashlib.blake2b(b"HS-000001", key=b"sipas", digest_size=8).digest()
    expected = ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2**53
    assert permanent_random_numbers(["HS-000001"], "sipas")[0] == expected


@pytest.mark.parametrize("seed", ["", "x" * 65])
def test_prn_refuse_an_empty_or_long_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        permanent_random_numbers(CODES[:2], seed)


# --------------------------------------------------------------------------------------
# selection


def test_srswor_takes_the_smallest_numbers_of_each_stratum():
    u = np.array([0.9, 0.1, 0.5, 0.3, 0.8, 0.2, 0.7])
    stratum = np.array([0, 0, 0, 0, 1, 1, 1])
    chosen = select_srswor(u, stratum, [2, 1])
    assert chosen.tolist() == [False, True, False, True, False, True, False]


def test_srswor_draws_exact_sizes():
    u = permanent_random_numbers(CODES, "sizes")
    stratum = np.arange(len(CODES)) % 7
    sizes = np.array([0, 1, 5, 50, 100, 2857, 13])
    chosen = select_srswor(u, stratum, sizes)
    np.testing.assert_array_equal(np.bincount(stratum[chosen], minlength=7), sizes)


def test_srswor_refuses_a_stratum_smaller_than_its_sample():
    with pytest.raises(ValueError, match="stratum 1 has 2 dossiers but a sample of 3"):
        select_srswor([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], [1, 3])


def test_srswor_gives_every_subset_the_same_chance():
    # N = 5, n = 2: ten pairs, each drawn with probability 1/10 over many seeds.
    codes = np.array(["a", "b", "c", "d", "e"], dtype=object)
    counts = dict.fromkeys(itertools.combinations(range(5), 2), 0)
    draws = 4000
    for seed in range(draws):
        u = permanent_random_numbers(codes, f"s{seed}")
        chosen = tuple(np.flatnonzero(select_srswor(u, np.zeros(5, int), [2])))
        counts[chosen] += 1
    observed = np.array(list(counts.values()))
    assert stats.chisquare(observed).pvalue > 1e-3
    np.testing.assert_allclose(
        srswor_probabilities(np.zeros(5, int), [2]), np.full(5, 0.4)
    )


def test_poisson_draws_below_the_rate_and_expects_the_planned_size():
    u = permanent_random_numbers(CODES, "poisson")
    rate = np.where(np.arange(len(CODES)) % 2 == 0, 0.05, 0.2)
    chosen = select_poisson(u, rate)
    np.testing.assert_array_equal(chosen, u < rate)
    expected = rate.sum()
    assert abs(chosen.sum() - expected) < 4 * np.sqrt((rate * (1 - rate)).sum())


def test_poisson_decision_of_a_dossier_never_depends_on_the_others():
    u = permanent_random_numbers(CODES, "arrivals")
    rate = np.full(len(CODES), 0.1)
    whole = select_poisson(u, rate)
    first_week = select_poisson(u[:5000], rate[:5000])
    np.testing.assert_array_equal(whole[:5000], first_week)


def test_poisson_refuses_probabilities_outside_0_1():
    with pytest.raises(ValueError, match="probabilities"):
        select_poisson([0.5], [1.5])


# --------------------------------------------------------------------------------------
# allocation and plans


def test_allocation_is_proportional_and_adds_up():
    allocated = allocate_proportional([10, 7], [5, 3, 2, 100, 1], [0, 0, 0, 1, 1])
    assert allocated.tolist() == [5, 3, 2, 7, 0]


def test_allocation_rounds_by_largest_remainder():
    # 10 over 1:1:1 = 3.33 each: one stratum gets the extra seat, the total is 10
    allocated = allocate_proportional([10], [30, 30, 30], [0, 0, 0])
    assert sorted(allocated.tolist()) == [3, 3, 4]
    assert allocated.sum() == 10


def test_allocation_minimum_adds_and_never_exceeds_the_population():
    allocated = allocate_proportional([20], [1000, 10, 3], [0, 0, 0], minimum=5)
    assert allocated.tolist() == [20, 5, 3]


def test_plan_per_unit_follows_cochran_and_inflates_by_response_rate():
    strata = pd.DataFrame(
        {
            "unit": ["A", "A", "B"],
            "field": ["x", "y", "x"],
            "population": [600, 400, 50],
            "deff": [1.2, 1.2, None],
            "response_rate": [40, 40, None],
        }
    )
    plan = plan_strata(strata, moe=5, share=80, deff=1.5, response_rate=50)
    n_a = np.ceil(sample_size_proportion(1000, 0.05, p=0.8, deff=1.2))
    n_b = np.ceil(sample_size_proportion(50, 0.05, p=0.8, deff=1.5))
    assert plan["unit_needed"].tolist() == [n_a, n_a, n_b]
    assert plan.loc[0:1, "needed"].sum() == n_a
    assert plan.loc[0, "needed"] == round(n_a * 0.6)
    assert plan.loc[0, "draw"] == np.ceil(plan.loc[0, "needed"] / 0.4)
    # B: 45 respondents at 50% would need 90 of 50 dossiers: all are drawn
    assert plan.loc[2, "draw"] == 50


def test_plan_takes_the_analysts_respondents_per_unit():
    strata = pd.DataFrame(
        {
            "unit": ["A", "A"],
            "field": ["x", "y"],
            "population": [300, 100],
            "unit_needed": [80, 80],
        }
    )
    plan = plan_strata(strata, response_rate=100)
    assert plan["needed"].tolist() == [60, 20]
    assert plan["draw"].tolist() == [60, 20]


def test_plan_refuses_impossible_response_rates():
    strata = pd.DataFrame({"unit": ["A"], "field": ["x"], "population": [10]})
    with pytest.raises(ValueError, match="response rates"):
        plan_strata(strata, response_rate=0)


# --------------------------------------------------------------------------------------
# weights


def test_weights_are_population_over_respondents_in_srs_strata():
    probability = np.repeat([10 / 100, 5 / 40], [10, 5])
    responded = np.array([1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0], dtype=bool)
    strata = np.repeat(["h1", "h2"], [10, 5])
    weights = sample_weights(probability, responded, strata)
    np.testing.assert_allclose(weights[responded & (strata == "h1")], 100 / 6)
    np.testing.assert_allclose(weights[responded & (strata == "h2")], 40 / 2)
    assert (weights[~responded] == 0).all()


def test_empty_cell_passes_its_weight_to_its_unit():
    probability = [0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5]
    responded = [1, 0, 1, 0, 0, 0, 0]
    cells = ["a", "a", "b", "b", "c", "c", "d"]
    units = ["U", "U", "U", "U", "U", "U", "V"]
    weights = sample_weights(probability, responded, cells, units)
    # U: 4 x 10 + 2 x 2 = 44 carried by two respondents of 20 each -> x 1.1
    np.testing.assert_allclose(weights, [22, 0, 22, 0, 0, 0, 0])
    # V has nobody: it cannot be estimated, and says so by having no weight
    assert weights[6] == 0


def test_empty_cell_without_a_fallback_is_an_error():
    with pytest.raises(WeightingError, match="no respondents"):
        sample_weights([0.5, 0.5], [True, False], ["a", "b"])


def test_weights_refuse_zero_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        sample_weights([0.0, 0.5], [True, True], ["a", "a"])


# --------------------------------------------------------------------------------------
# response rates


def test_rr1_counts_undelivered_invitations_as_noncontacts():
    table = response_rates(
        completed=[1, 0, 1, 0, 0, 1],
        delivered=[1, 1, 1, 0, 0, 1],
        by=["A", "A", "A", "A", "B", "B"],
    )
    assert table["group"].tolist() == ["A", "B"]
    assert table["sampled"].tolist() == [4, 2]
    assert table["completed"].tolist() == [2, 1]
    assert table["rr1"].tolist() == [50.0, 50.0]
    assert table["contact_rate"].tolist() == [75.0, 50.0]


def test_rr1_overall_row():
    table = response_rates([1, 0, 0, 0], [1, 1, 1, 1], None)
    assert table[["sampled", "completed", "rr1"]].iloc[0].tolist() == [4, 1, 25.0]


# --------------------------------------------------------------------------------------
# counter - sample


def test_channel_difference_is_counter_minus_sample_of_independent_samples():
    counter = pd.DataFrame(
        {"unit": ["A", "B"], "indicator": "SIPAS", "estimate": [92.0, 80.0]}
        | {"se": [1.5, 2.0], "df": [40, 60]}
    )
    sample = pd.DataFrame(
        {"unit": ["A", "C"], "indicator": "SIPAS", "estimate": [71.0, 70.0]}
        | {"se": [2.0, 1.0], "df": [120, 80]}
    )
    table = compare_channels(counter, sample)
    row = table.iloc[0]
    assert len(table) == 1
    assert row["unit"] == "A"
    assert row["difference"] == pytest.approx(21.0)
    assert row["se"] == pytest.approx(np.hypot(1.5, 2.0))
    assert (row["kind"], row["reference"], row["verdict"]) == (
        "channel",
        "sample",
        "above",
    )
    assert row["statement"] == "significantly above the sampled channel"
    periods = compare_periods(counter, sample).iloc[0]
    assert row["p_value"] == periods["p_value"]
    assert row["df"] == periods["df"]


# --------------------------------------------------------------------------------------
# against R


@pytest.fixture(scope="module")
def drawn() -> pd.DataFrame:
    return pd.read_csv(
        REFERENCE / "data_sampled.csv",
        dtype={"unit": str, "field": str, "stratum": str},
    )


def weighted_respondents(drawn: pd.DataFrame) -> pd.DataFrame:
    responded = drawn["responded"].to_numpy() == 1
    weights = sample_weights(drawn["pi"], responded, drawn["stratum"], drawn["unit"])
    return drawn[responded].assign(weight=weights[responded]).reset_index(drop=True)


def test_sample_weights_match_r(drawn):
    ours = weighted_respondents(drawn)
    theirs = pd.read_csv(REFERENCE / "reference_sampled_weights.csv")
    merged = ours.merge(theirs, on="case")
    assert len(merged) == len(ours) == len(theirs)
    np.testing.assert_allclose(merged["weight"], merged["w"], rtol=1e-12)
    # the weights of a unit add up to its dossiers, empty strata included
    totals = merged.groupby("unit")["weight"].sum()
    populations = drawn.groupby(["unit", "stratum"])["N"].first().groupby("unit").sum()
    np.testing.assert_allclose(totals, populations[totals.index])


# R's svyciprop(method = "beta") takes its degrees of freedom from the answered subset
# whatever df it is given: the platform's df="answers"; Korn-Graubard by its formula
# with the domain's df (see make_reference_sampled.R).
@pytest.mark.parametrize(
    ("ci", "df", "low", "high"),
    [
        ("korn-graubard", "domain", "kg_low", "kg_high"),
        ("beta", "answers", "beta_low", "beta_high"),
    ],
)
def test_sampled_estimates_match_r(drawn, structure, ci, df, low, high):
    respondents = weighted_respondents(drawn)
    design = make_design(respondents, strata="stratum", weight="weight", fpc="N")
    table = indices(respondents, structure, design=design, ci=ci, df=df)
    reference = pd.read_csv(
        REFERENCE / "reference_sampled.csv", dtype={"unit": str, "indicator": str}
    )
    merged = reference.merge(table, on=["unit", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(reference) == len(table)
    np.testing.assert_allclose(merged["estimate"] / 100, merged["estimate_r"], 1e-10)
    np.testing.assert_allclose(merged["se"] / 100, merged["se_r"], rtol=1e-8)
    composite = merged["indicator"].str.fullmatch(r"SIPAS|E\d")
    # A zero standard error (all of a unit satisfied) gets no interval here: it is
    # flagged not reliable, where R would still give one (as test_estimate.regular).
    criteria = merged[~composite & merged[low].notna() & (merged["se_r"] > 1e-15)]
    np.testing.assert_allclose(criteria["ci_low"] / 100, criteria[low], rtol=1e-7)
    np.testing.assert_allclose(criteria["ci_high"] / 100, criteria[high], rtol=1e-7)
    if df == "domain":  # degf of each domain, as R's degf(subset(design, ...))
        np.testing.assert_array_equal(merged["df"], merged["df_r"])
        composites = merged[composite]
        np.testing.assert_allclose(
            composites["ci_low"] / 100, composites["t_low"], 1e-8
        )
        np.testing.assert_allclose(
            composites["ci_high"] / 100, composites["t_high"], 1e-8
        )
