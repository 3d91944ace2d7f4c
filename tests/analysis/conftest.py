"""Fixtures for the analysis tests: questionnaire structure, reference data, factories.

Reference values come from R's survey package (tests/analysis/reference/, made by
make_reference_estimates.R); the tests only read the CSV files and do not need R.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.questionnaire import Structure, load_structure

REFERENCE = Path(__file__).resolve().parent / "reference"
CRITERIA = load_structure("sipas-2640").criteria


def read_reference_data(name: str) -> pd.DataFrame:
    """One of the synthetic data sets ``reference/data_<name>.csv``."""
    return pd.read_csv(
        REFERENCE / f"data_{name}.csv",
        dtype={"unit": str, "stratum": str, "psu": str},
    )


def read_parents(name: str = "cluster") -> dict[str, str]:
    table = pd.read_csv(REFERENCE / f"parents_{name}.csv", dtype=str)
    return dict(zip(table["unit"], table["parent"], strict=True))


@pytest.fixture(scope="session")
def structure() -> Structure:
    return load_structure("sipas-2640")


@pytest.fixture(scope="session")
def reference_estimates() -> pd.DataFrame:
    """R's estimates for every data set, lonely-PSU rule, level, domain, indicator."""
    return pd.read_csv(
        REFERENCE / "reference_estimates.csv",
        dtype={"unit": str, "indicator": str, "dataset": str, "lonely_psu": str},
    )


@pytest.fixture
def make_responses() -> Callable[..., pd.DataFrame]:
    """Factory for random response frames with a stratified cluster design."""

    def make(
        n: int = 400,
        units: tuple[str, ...] = ("a", "b", "c"),
        psus_per_stratum: int = 4,
        strata: int = 2,
        missing: float = 0.1,
        seed: int = 1,
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        stratum = rng.integers(0, strata, n)
        frame = pd.DataFrame(
            {
                "unit": rng.choice(list(units), n),
                "stratum": [f"h{h}" for h in stratum],
                "psu": [
                    f"h{h}-{c}"
                    for h, c in zip(
                        stratum, rng.integers(0, psus_per_stratum, n), strict=True
                    )
                ],
                "weight": rng.uniform(5, 20, n),
            }
        )
        for code in CRITERIA:
            answers = rng.integers(1, 6, n).astype(float)
            answers[rng.random(n) < missing] = np.nan
            frame[code] = answers
        return frame

    return make
