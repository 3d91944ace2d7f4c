"""Write the drawn sample that R checks the sampled channel's estimates on.

Run from the repository root (deterministic; the CSV file is committed)::

    python tests/analysis/reference/make_sampled_data.py
    Rscript tests/analysis/reference/make_reference_sampled.R

``data_sampled.csv`` holds every drawn dossier of a stratified sample (strata = unit x
field, simple random sampling without replacement in each), respondents and
nonrespondents alike: columns ``case, unit, field, stratum, N`` (the stratum's
dossiers in the register), ``pi`` (inclusion probability n_h / N_h), ``responded``
(0/1) and the criteria 1.1 .. 5.4 (1-5, blank for "no opinion" or a nonrespondent).
Response propensity differs by field and satisfaction by unit and field, so the
nonresponse adjustment matters. Special strata: ``u3|xd`` has no respondent (its
weight passes to the unit), ``u2|tp`` one respondent (a lonely PSU), ``u4|hk`` is
taken whole and answers in full (a census stratum, no variance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from make_reference_data import answers

HERE = Path(__file__).resolve().parent
#: (unit, field): (dossiers N_h, drawn n_h, response propensity or None for all/none)
STRATA = {
    ("u1", "dd"): (420, 36, 0.55),
    ("u1", "ht"): (260, 24, 0.7),
    ("u1", "xd"): (90, 12, 0.45),
    ("u2", "dd"): (150, 20, 0.5),
    ("u2", "ht"): (310, 30, 0.65),
    ("u2", "tp"): (40, 6, "one"),
    ("u3", "dd"): (520, 40, 0.6),
    ("u3", "ht"): (200, 22, 0.75),
    ("u3", "xd"): (60, 8, "none"),
    ("u4", "dd"): (130, 18, 0.5),
    ("u4", "ht"): (240, 26, 0.6),
    ("u4", "hk"): (12, 12, "all"),
}
UNIT_LEVEL = {"u1": 0.78, "u2": 0.62, "u3": 0.7, "u4": 0.55}
FIELD_SHIFT = {"dd": -0.12, "ht": 0.08, "xd": -0.05, "tp": 0.0, "hk": 0.1}


def main() -> None:
    rng = np.random.default_rng(20240707)
    frames = []
    for (unit, field), (population, drawn, propensity) in STRATA.items():
        if propensity == "one":
            responded = np.zeros(drawn, dtype=bool)
            responded[rng.integers(drawn)] = True
        elif propensity in ("all", "none"):
            responded = np.full(drawn, propensity == "all")
        else:
            responded = rng.random(drawn) < propensity
        level = np.full(drawn, UNIT_LEVEL[unit] + FIELD_SHIFT[field])
        table = answers(rng, level).astype("Float64")
        table[~responded] = np.nan
        frames.append(
            pd.concat(
                [
                    pd.DataFrame(
                        {
                            "unit": unit,
                            "field": field,
                            "stratum": f"{unit}|{field}",
                            "N": population,
                            "pi": drawn / population,
                            "responded": responded.astype(int),
                        }
                    ),
                    table.astype("Int64"),
                ],
                axis=1,
            )
        )
    data = pd.concat(frames, ignore_index=True)
    data.insert(0, "case", np.arange(1, len(data) + 1))
    data.to_csv(HERE / "data_sampled.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
