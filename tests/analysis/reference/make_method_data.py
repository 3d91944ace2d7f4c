"""Write the data behind the R reference values of the method's statistics.

Run from the repository root (deterministic; the CSV files are committed)::

    python tests/analysis/reference/make_method_data.py
    Rscript tests/analysis/reference/make_method_reference.R

Files:

``data_items.csv``
    The 39 items of 1001/QĐ-BNV (areas I and II, blocks I.A .. II.E), a stratified
    cluster sample with PSUs nested in four units, fpc as population PSU counts,
    answers 1-5 or blank (unanswered). Unit ``u3`` never answers block I.B and unit
    ``u4`` never answers item II.E.3, so their composites average fewer items.
``data_pool.csv``
    Three periods (``p1`` .. ``p3``) of the 16 service items, strata = unit, PSUs =
    counter-days, weights that differ between periods, a procedure field and the
    register counts per (period, unit, field) in ``population``; unit ``tiny`` has
    about a dozen responses a period.
``pvalues.csv``
    Families of p-values (with ties, ones and missing values) for ``p.adjust``.
``power_inputs.csv``
    Proportions, sizes, levels and powers for ``power.prop.test`` and
    ``Hmisc::bpower`` / ``Hmisc::bsamsize``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from analysis.questionnaire import load_structure  # noqa: E402

ITEMS = load_structure("sipas-1001").criteria
SERVICE_ITEMS = load_structure("sipas-1001-dv").criteria


def likert(rng: np.random.Generator, propensity: np.ndarray, codes: list[str]):
    """Answers 1-5 with a satisfaction propensity per row and ~10 % unanswered."""
    n = len(propensity)
    columns = {}
    for k, code in enumerate(codes):
        shift = 0.12 * np.sin(1.7 * k)
        satisfied = rng.random(n) < np.clip(propensity + shift, 0.03, 0.97)
        value = np.where(satisfied, rng.integers(4, 6, n), rng.integers(1, 4, n))
        value = value.astype(float)
        value[rng.random(n) < 0.06 + 0.01 * (k % 6)] = np.nan
        columns[code] = pd.array(value, dtype="Int64")
    return pd.DataFrame(columns)


def items(rng: np.random.Generator) -> pd.DataFrame:
    psus = {  # stratum: [(psu, unit, population PSUs of the stratum)]
        "s1": [("s1-1", "u1"), ("s1-2", "u1"), ("s1-3", "u2"), ("s1-4", "u2")],
        "s2": [("s2-1", "u3"), ("s2-2", "u3"), ("s2-3", "u3")],
        "s3": [("s3-1", "u4"), ("s3-2", "u4"), ("s3-3", "u4"), ("s3-4", "u2")],
    }
    population = {"s1": 15, "s2": 8, "s3": 22}
    rows = []
    for stratum, members in psus.items():
        for psu, unit in members:
            effect = rng.normal(0, 0.1)
            base = population[stratum] / len(members) * rng.uniform(10, 25)
            for _ in range(int(rng.integers(7, 15))):
                rows.append(
                    {
                        "unit": unit,
                        "stratum": stratum,
                        "psu": psu,
                        "weight": base * rng.uniform(0.7, 1.3),
                        "fpc": population[stratum],
                        "effect": effect,
                    }
                )
    frame = pd.DataFrame(rows)
    answers = likert(rng, 0.68 + frame["effect"].to_numpy(), ITEMS)
    answers.loc[frame["unit"] == "u3", ["I.B.1", "I.B.2"]] = pd.NA
    answers.loc[frame["unit"] == "u4", "II.E.3"] = pd.NA
    return pd.concat([frame.drop(columns="effect"), answers], axis=1)


def pool(rng: np.random.Generator) -> pd.DataFrame:
    sizes = {"big": 90, "mid": 45, "tiny": 12}
    level = {"big": 0.72, "mid": 0.6, "tiny": 0.5}
    fields = ["dat-dai", "ho-tich", "khac"]
    parts = []
    for period, drift in (("p1", -0.04), ("p2", 0.0), ("p3", 0.05)):
        for unit, size in sizes.items():
            n = int(size * rng.uniform(0.8, 1.2))
            counter = rng.integers(1, 3, n)
            day = rng.integers(1, 6 if unit != "tiny" else 3, n)
            field = rng.choice(fields, n, p=[0.5, 0.3, 0.2])
            frame = pd.DataFrame(
                {
                    "period": period,
                    "unit": unit,
                    "stratum": unit,
                    "psu": [
                        f"{unit}-c{c}:d{d}" for c, d in zip(counter, day, strict=True)
                    ],
                    "field": field,
                    "weight": rng.uniform(3, 9) * rng.uniform(0.9, 1.1, n),
                }
            )
            answers = likert(rng, np.full(n, level[unit] + drift), SERVICE_ITEMS)
            parts.append(pd.concat([frame, answers], axis=1))
    frame = pd.concat(parts, ignore_index=True)
    # register counts per (period, unit, field), for post-stratification
    counts = frame.groupby(["period", "unit", "field"]).size()
    register = (counts * rng.uniform(4, 12, len(counts))).round().astype(int)
    frame["population"] = register.reindex(
        pd.MultiIndex.from_frame(frame[["period", "unit", "field"]])
    ).to_numpy()
    return frame


def pvalues(rng: np.random.Generator) -> pd.DataFrame:
    families = []
    for family, size in (("a", 22), ("b", 39), ("c", 5), ("d", 16)):
        p = np.concatenate([rng.uniform(0, 0.01, size // 4), rng.uniform(0, 1, size)])
        p = p[:size]
        if family == "c":
            p = np.array([0.01, 0.01, 0.04, 1.0, np.nan])  # ties, a one, a missing
        if family == "d":
            p[3] = np.nan
        families.append(pd.DataFrame({"family": family, "p": p}))
    return pd.concat(families, ignore_index=True)


def power_inputs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "p1": [0.46, 0.46, 0.8, 0.3, 0.9, 0.55, 0.62],
            "p2": [0.6, 0.6, 0.9, 0.45, 0.95, 0.5, 0.75],
            "n1": [37, 120, 200, 50, 400, 80, 25],
            "n2": [37, 60, 200, 140, 150, 300, 90],
            "alpha": [0.05, 0.05, 0.05, 0.01, 0.05, 0.1, 0.05 / 22],
            "power": [0.8, 0.8, 0.9, 0.8, 0.8, 0.85, 0.8],
            "fraction": [0.5, 0.4, 0.5, 0.3, 0.6, 0.5, 0.5],
        }
    )


def main() -> None:
    rng = np.random.default_rng(1001)
    items(rng).to_csv(HERE / "data_items.csv", index=False, float_format="%.10g")
    pool(rng).to_csv(HERE / "data_pool.csv", index=False, float_format="%.10g")
    pvalues(rng).to_csv(HERE / "pvalues.csv", index=False, float_format="%.17g")
    power_inputs().to_csv(HERE / "power_inputs.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
