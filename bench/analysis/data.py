"""Synthetic national survey data for the analysis benchmarks.

One row per response: commune (``unit``), province, counter-day PSU, stratum (the
commune), design weight, population PSUs per stratum (``fpc``), gender, the 22
criterion answers 1-5 (NaN for "no opinion") and the age group. Deterministic for a
given seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.questionnaire import load_structure

COMMUNES = 3_321
PROVINCES = 34
PSUS_PER_COMMUNE = 10
#: Counter-days in a commune's population (about a year of opening days).
DAYS_PER_COMMUNE = 250
NO_OPINION = 0.08
AGE_GROUPS = ("18-25", "26-35", "36-45", "46-60", "61+")
#: Population over sample by age group: the young answer less often.
AGE_SHIFT = (1.15, 1.05, 1.0, 0.92, 0.9)


def commune_codes(count: int = COMMUNES) -> np.ndarray:
    return np.array([f"c{i:04d}" for i in range(count)], dtype=object)


def province_of(communes: np.ndarray, provinces: int = PROVINCES) -> dict[str, str]:
    """Parent mapping commune -> province, communes dealt out in blocks."""
    block = -(-len(communes) // provinces)
    return {c: f"p{i // block:02d}" for i, c in enumerate(communes)}


def make_responses(
    n: int,
    *,
    communes: int = COMMUNES,
    psus_per_commune: int = PSUS_PER_COMMUNE,
    seed: int = 2024,
) -> pd.DataFrame:
    """Responses of a stratified cluster sample over ``communes`` communes.

    Parameters
    ----------
    n : int
        Number of responses.
    communes : int
        Number of communes (strata); each gets about ``n / communes`` responses
        spread over ``psus_per_commune`` counter-days (PSUs).
    psus_per_commune : int
        Sampled counter-days per commune.
    seed : int
        Random seed.

    Returns
    -------
    DataFrame
        Columns ``unit, stratum, psu, weight, fpc, gender``, one float column per
        criterion of ``sipas-2640`` and ``age_group``, rows sorted by PSU.
    """
    rng = np.random.default_rng(seed)
    criteria = load_structure("sipas-2640").criteria
    # commune sizes vary (busy towns, quiet villages); every commune has all PSUs
    share = rng.lognormal(0.0, 0.5, communes)
    per_commune = psus_per_commune + rng.multinomial(
        n - communes * psus_per_commune, share / share.sum()
    )
    unit = np.repeat(np.arange(communes), per_commune)
    day = np.concatenate([rng.permutation(m) % psus_per_commune for m in per_commune])
    psu = unit * psus_per_commune + day
    # weight: dossiers of the commune over its responses, with a counter-day factor
    dossiers = per_commune * rng.uniform(3.0, 12.0, communes)
    weight = (dossiers / per_commune)[unit] * rng.uniform(0.8, 1.25, n)
    # satisfaction varies by commune, by counter-day and by criterion
    level = (
        rng.normal(0.8, 0.35, communes)[unit] + rng.normal(0.0, 0.3, psu.max() + 1)[psu]
    )
    labels = commune_codes(communes)
    frame = pd.DataFrame(
        {
            "unit": pd.Categorical.from_codes(unit, labels),
            "stratum": unit,
            "psu": psu,
            "weight": weight,
            "fpc": np.full(n, DAYS_PER_COMMUNE),
            "gender": rng.choice(np.array(["f", "m"], dtype=object), n),
        }
    )
    for k, code in enumerate(criteria):
        logit = level + 0.4 * np.sin(k) + rng.normal(0.0, 1.0, n)
        satisfied = logit > 0
        answer = np.where(satisfied, rng.integers(4, 6, n), rng.integers(1, 4, n))
        answer = answer.astype(float)
        answer[rng.random(n) < NO_OPINION] = np.nan
        frame[code] = answer
    # drawn last, so that the columns above are the same as without it
    frame["age_group"] = rng.choice(np.array(AGE_GROUPS, dtype=object), n)
    return frame


def gender_margin(frame: pd.DataFrame) -> pd.DataFrame:
    """Population counts per commune x gender for post-stratification.

    The design-weighted sample totals, shifted so that the calibration changes the
    weights (women are slightly over-represented among respondents).
    """
    totals = frame.groupby(["unit", "gender"], observed=True)["weight"].sum()
    shift = np.where(totals.index.get_level_values("gender") == "f", 0.95, 1.05)
    margin = (totals * shift).rename("population").reset_index()
    margin["unit"] = margin["unit"].astype(str)
    return margin


def calibration_margins(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """Population counts per commune x gender and per commune x age group.

    The design-weighted sample totals per commune x gender x age group, shifted
    (women slightly over-represented, the young under-represented), then summed to
    the two margins, which therefore agree on every commune's total.
    """
    keys = ["unit", "gender", "age_group"]
    totals = frame.groupby(keys, observed=True)["weight"].sum()
    gender = totals.index.get_level_values("gender")
    age = pd.Index(AGE_GROUPS).get_indexer(totals.index.get_level_values("age_group"))
    shift = np.where(gender == "f", 0.95, 1.05) * np.asarray(AGE_SHIFT)[age]
    population = (totals * shift).rename("population")
    margins = []
    for variable in ("gender", "age_group"):
        margin = population.groupby(["unit", variable], observed=True).sum()
        margin = margin.reset_index()
        margin["unit"] = margin["unit"].astype(str)
        margins.append(margin)
    return margins
