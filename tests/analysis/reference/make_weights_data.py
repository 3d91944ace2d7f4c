"""Write the synthetic responses and margins used by make_reference_weights.R.

Run from the repository root: ``python tests/analysis/reference/make_weights_data.py``.
The data are deterministic (fixed seed) and committed as CSV, so the R reference
values and the Python tests read the very same numbers.

Design: 5 units x 2 procedure fields = 10 strata; in each stratum 3-6 counter-days
(PSUs) out of ``fpc`` in the period, 4-18 respondents per counter-day; base weight =
dossiers of the stratum / responses of the stratum. Answers to the 22 criteria of
sipas-2640 on 1-5 (empty = no opinion) depend on the unit, the counter-day (cluster
effect) and the respondent's age; two periods (``responses_current.csv`` and
``responses_previous.csv``) are independent samples. Margins of the population by
unit x gender and unit x age group agree with the dossier counts per unit.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
CRITERIA = (
    ["1.1", "1.2", "1.3", "1.4"]
    + [f"2.{i}" for i in range(1, 6)]
    + [f"3.{i}" for i in range(1, 7)]
    + ["4.1", "4.2", "4.3"]
    + [f"5.{i}" for i in range(1, 5)]
)
UNITS = ["U01", "U02", "U03", "U04", "U05"]
FIELDS = ["dat-dai", "ho-tich"]
GENDERS = ["nam", "nu"]
AGES = ["18-25", "26-35", "36-45", "46-60", "61+"]
UNIT_LEVEL = {"U01": 1.2, "U02": 0.6, "U03": 1.0, "U04": 0.3, "U05": 1.5}


def responses(seed: int, shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One period's responses and the dossier count per stratum."""
    rng = np.random.default_rng(seed)
    rows, strata = [], []
    psu_id = 0
    for unit in UNITS:
        p_female = rng.uniform(0.4, 0.6)
        age_p = rng.dirichlet(np.full(len(AGES), 6.0))
        for field in FIELDS:
            stratum = f"{unit}:{field}"
            npsu = int(rng.integers(3, 7))
            fpc = int(rng.integers(20, 60))
            dossiers = int(rng.integers(300, 2500))
            strata.append((unit, field, stratum, dossiers))
            for _ in range(npsu):
                psu_id += 1
                effect = rng.normal(0.0, 0.35)
                m = int(rng.integers(4, 19))
                gender = np.where(rng.random(m) < p_female, "nu", "nam")
                age = rng.choice(AGES, size=m, p=age_p)
                age_effect = np.array([AGES.index(a) for a in age]) * 0.15
                latent = (
                    UNIT_LEVEL[unit]
                    + shift
                    + effect
                    + age_effect
                    + 0.4 * (gender == "nu")
                )
                crit_level = rng.normal(0.0, 0.3, len(CRITERIA))
                eta = (
                    latent[:, None]
                    + crit_level[None, :]
                    + rng.normal(0.0, 1.0, (m, len(CRITERIA)))
                )
                answers = np.clip(np.round(3.2 + eta), 1, 5)
                answers[rng.random((m, len(CRITERIA))) < 0.08] = np.nan
                for i in range(m):
                    rows.append(
                        {
                            "unit": unit,
                            "field": field,
                            "stratum": stratum,
                            "psu": f"D{psu_id:03d}",
                            "fpc": fpc,
                            "gender": gender[i],
                            "age_group": age[i],
                            **dict(zip(CRITERIA, answers[i], strict=True)),
                        }
                    )
    frame = pd.DataFrame(rows)
    register = pd.DataFrame(strata, columns=["unit", "field", "stratum", "population"])
    n_h = frame.groupby("stratum").size()
    frame.insert(
        4,
        "weight",
        frame["stratum"].map(register.set_index("stratum")["population"])
        / frame["stratum"].map(n_h),
    )
    for c in CRITERIA:
        frame[c] = frame[c].astype("Int64")
    return frame, register


def split(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer split of ``total`` in proportion to ``shares`` (largest remainder)."""
    raw = total * shares / shares.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(out - raw)[: total - out.sum()]] += 1
    return out


def margins(register: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population by unit x gender and unit x age group, consistent per unit."""
    rng = np.random.default_rng(seed)
    totals = register.groupby("unit")["population"].sum()
    by_gender, by_age = [], []
    for unit, total in totals.items():
        counts = split(int(total), rng.uniform(0.4, 0.6, 2))
        for g, k in zip(GENDERS, counts, strict=True):
            by_gender.append((unit, g, k))
        counts = split(int(total), rng.dirichlet(np.full(5, 8.0)))
        for a, k in zip(AGES, counts, strict=True):
            by_age.append((unit, a, k))
    return (
        pd.DataFrame(by_gender, columns=["unit", "gender", "population"]),
        pd.DataFrame(by_age, columns=["unit", "age_group", "population"]),
    )


def main() -> None:
    current, register = responses(20250101, 0.0)
    previous, _ = responses(20240101, -0.25)
    gender, age = margins(register, 7)
    current.to_csv(HERE / "responses_current.csv", index=False)
    previous.to_csv(HERE / "responses_previous.csv", index=False)
    register.to_csv(HERE / "register_strata.csv", index=False)
    gender.to_csv(HERE / "margin_unit_gender.csv", index=False)
    age.to_csv(HERE / "margin_unit_age.csv", index=False)


if __name__ == "__main__":
    main()
