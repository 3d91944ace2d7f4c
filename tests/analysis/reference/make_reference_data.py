"""Write the synthetic survey data sets that the R reference estimates are made from.

Run from the repository root (deterministic; the CSV files are committed)::

    python tests/analysis/reference/make_reference_data.py
    Rscript tests/analysis/reference/make_reference_estimates.R

Data sets (columns unit, stratum, psu, weight, fpc, criteria 1.1 .. 5.4 with 1-5 or
blank for "no opinion"):

``data_srs.csv``
    Simple random sample of 150 from 4,000, three units, no strata or clusters.
``data_stratified.csv``
    Stratified sample (4 strata, population counts as fpc), units crossing strata.
``data_cluster.csv``
    Stratified cluster sample, PSUs nested in units, fpc as population PSU counts,
    units grouped into two provinces by ``parents_cluster.csv``; unit ``u05`` has a
    single PSU in a stratum with several (a lonely PSU in a domain).
``data_crossed.csv``
    Stratified cluster sample whose units cut across PSUs, fpc as sampling
    fractions.
``data_lonely.csv``
    Stratified cluster sample with a stratum that has a single PSU (a lonely
    stratum), for each ``lonely_psu`` rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CRITERIA = [
    f"{element}.{item}"
    for element, items in ((1, 4), (2, 5), (3, 6), (4, 3), (5, 4))
    for item in range(1, items + 1)
]


def answers(rng: np.random.Generator, propensity: np.ndarray) -> pd.DataFrame:
    """Answers 1-5 with satisfaction propensity per row and ~12% "no opinion"."""
    n = len(propensity)
    columns = {}
    for k, code in enumerate(CRITERIA):
        shift = 0.15 * np.sin(k)  # criteria differ
        satisfied = rng.random(n) < np.clip(propensity + shift, 0.02, 0.98)
        high = rng.integers(4, 6, n)
        low = rng.integers(1, 4, n)
        value = np.where(satisfied, high, low).astype(float)
        value[rng.random(n) < 0.08 + 0.01 * (k % 5)] = np.nan
        columns[code] = pd.array(value, dtype="Int64")
    return pd.DataFrame(columns)


def clustered(
    rng: np.random.Generator,
    strata: dict[str, tuple[int, int]],
    psu_size: tuple[int, int],
) -> pd.DataFrame:
    """Rows of a stratified cluster sample; strata: name -> (sampled, total PSUs)."""
    rows = []
    for stratum, (sampled, population) in strata.items():
        for c in range(sampled):
            size = int(rng.integers(*psu_size))
            effect = rng.normal(0, 0.12)
            base = population / sampled * rng.uniform(8, 30)
            for _ in range(size):
                rows.append(
                    {
                        "stratum": stratum,
                        "psu": f"{stratum}-{c + 1}",
                        "weight": base * rng.uniform(0.7, 1.3),
                        "fpc": population,
                        "effect": effect,
                    }
                )
    return pd.DataFrame(rows)


def srs(rng: np.random.Generator) -> pd.DataFrame:
    n, population = 150, 4000
    frame = pd.DataFrame(
        {
            "unit": rng.choice(["u1", "u2", "u3"], n, p=[0.5, 0.3, 0.2]),
            "stratum": "all",
            "psu": [f"r{i:03d}" for i in range(n)],
            "weight": population / n,
            "fpc": population,
        }
    )
    propensity = frame["unit"].map({"u1": 0.75, "u2": 0.6, "u3": 0.85}).to_numpy()
    return pd.concat([frame, answers(rng, propensity)], axis=1)


def stratified(rng: np.random.Generator) -> pd.DataFrame:
    sizes = {"h1": (120, 3000), "h2": (80, 900), "h3": (60, 2500), "h4": (40, 400)}
    parts = []
    for stratum, (n, population) in sizes.items():
        parts.append(
            pd.DataFrame(
                {
                    "stratum": stratum,
                    "weight": population / n,
                    "fpc": population,
                    "unit": rng.choice(["u1", "u2", "u3", "u4"], n),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    frame["psu"] = [f"r{i:03d}" for i in range(len(frame))]
    effect = frame["stratum"].map({"h1": 0.0, "h2": 0.1, "h3": -0.1, "h4": 0.15})
    propensity = 0.65 + effect.to_numpy()
    return pd.concat([frame, answers(rng, propensity)], axis=1)


def cluster(rng: np.random.Generator) -> pd.DataFrame:
    strata = {"s1": (4, 12), "s2": (5, 20), "s3": (3, 9), "s4": (6, 30)}
    frame = clustered(rng, strata, (6, 16))
    # PSUs nested in units: s1 -> u01 (2 PSUs), u02 (2); s2 -> u03 (2), u04 (2), u05 (1)
    units = {
        "s1-1": "u01", "s1-2": "u01", "s1-3": "u02", "s1-4": "u02",
        "s2-1": "u03", "s2-2": "u03", "s2-3": "u04", "s2-4": "u04", "s2-5": "u05",
        "s3-1": "u06", "s3-2": "u06", "s3-3": "u07",
        "s4-1": "u07", "s4-2": "u07", "s4-3": "u08", "s4-4": "u08",
        "s4-5": "u08", "s4-6": "u08",
    }  # fmt: skip
    frame.insert(0, "unit", frame["psu"].map(units))
    propensity = 0.7 + frame["effect"].to_numpy()
    return pd.concat([frame.drop(columns="effect"), answers(rng, propensity)], axis=1)


def crossed(rng: np.random.Generator) -> pd.DataFrame:
    strata = {"c1": (4, 10), "c2": (5, 25), "c3": (4, 8)}
    frame = clustered(rng, strata, (8, 20))
    frame["fpc"] = frame["stratum"].map({k: s / p for k, (s, p) in strata.items()})
    frame.insert(0, "unit", rng.choice(["a", "b", "c"], len(frame), p=[0.5, 0.3, 0.2]))
    propensity = 0.6 + frame["effect"].to_numpy()
    return pd.concat([frame.drop(columns="effect"), answers(rng, propensity)], axis=1)


def lonely(rng: np.random.Generator) -> pd.DataFrame:
    strata = {"l1": (3, 10), "l2": (1, 4), "l3": (4, 12), "l4": (2, 5)}
    frame = clustered(rng, strata, (8, 18))
    unit = np.where(frame["stratum"].isin(["l1", "l2"]), "x", "y")
    unit = np.where(rng.random(len(frame)) < 0.3, "z", unit)
    frame.insert(0, "unit", unit)
    propensity = 0.65 + frame["effect"].to_numpy()
    return pd.concat([frame.drop(columns="effect"), answers(rng, propensity)], axis=1)


def main() -> None:
    makers = {
        "srs": srs,
        "stratified": stratified,
        "cluster": cluster,
        "crossed": crossed,
        "lonely": lonely,
    }
    for seed, (name, make) in enumerate(makers.items(), start=2640):
        frame = make(np.random.default_rng(seed))
        frame.to_csv(HERE / f"data_{name}.csv", index=False, float_format="%.10g")
    parents = pd.DataFrame(
        {
            "unit": ["u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08"],
            "parent": ["P1", "P1", "P1", "P1", "P1", "P2", "P2", "P2"],
        }
    )
    parents.to_csv(HERE / "parents_cluster.csv", index=False)


if __name__ == "__main__":
    main()
