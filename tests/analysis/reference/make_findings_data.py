"""Write the small data set behind the ``lonely_psu="average"`` comparison check.

Run from the repository root (deterministic; the CSV file is committed)::

    python tests/analysis/reference/make_findings_data.py
    Rscript tests/analysis/reference/make_reference_findings.R

``data_average.csv``: a stratified cluster sample with three strata, ``A`` and ``B``
with three PSUs each and ``C`` with a single PSU (a lonely stratum). Unit ``u1`` has
PSUs in ``A`` and ``C``, unit ``u2`` in ``A`` and ``B`` (two strata, neither lonely),
unit ``u3`` in ``B``. Columns unit, stratum, psu, weight and the criteria 1.1 .. 5.4
(1-5, blank for "no opinion").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from make_reference_data import HERE, answers

LAYOUT = [  # stratum, PSU, unit
    ("A", "A-1", "u1"),
    ("A", "A-2", "u2"),
    ("A", "A-3", "u2"),
    ("B", "B-1", "u2"),
    ("B", "B-2", "u2"),
    ("B", "B-3", "u3"),
    ("C", "C-1", "u1"),
]


def average(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for stratum, psu, unit in LAYOUT:
        effect = rng.normal(0, 0.15)
        for _ in range(int(rng.integers(6, 13))):
            rows.append(
                {
                    "unit": unit,
                    "stratum": stratum,
                    "psu": psu,
                    "weight": rng.uniform(5, 25),
                    "effect": effect,
                }
            )
    frame = pd.DataFrame(rows)
    propensity = 0.7 + frame["effect"].to_numpy()
    return pd.concat([frame.drop(columns="effect"), answers(rng, propensity)], axis=1)


def main() -> None:
    frame = average(np.random.default_rng(1001))
    frame.to_csv(HERE / "data_average.csv", index=False, float_format="%.10g")


if __name__ == "__main__":
    main()
