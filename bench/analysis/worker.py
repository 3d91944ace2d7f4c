"""One timed task of the analysis benchmark, in a process of its own.

``python -m bench.analysis.worker TASK DATA OUT [REPEATS]`` loads the pickled
``(frame, parents)`` from DATA, runs TASK REPEATS times (loading excluded from the
time), writes the criterion shares per unit to OUT (CSV: unit, criterion, estimate,
se on the 0-1 scale) when the task gives them, and prints one JSON line: the seconds
of each run, the peak resident memory of the process and the memory after loading.

Tasks: ``cluster``, ``respondent``, ``poststratified`` (this package's full tables,
see :data:`VARIANTS`), ``shares`` (this package on the peers' statistic),
``samplics`` and ``svy`` (the Python peers); ``rake``, ``calibrate`` (the weights
alone) and ``raked`` (raking and the full tables) for the national calibration
benchmark (:mod:`bench.calibration`).
"""

from __future__ import annotations

import json
import pickle
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis import (
    calibrate,
    indices,
    load_structure,
    make_design,
    post_stratify,
    rake,
)
from analysis.weights import weight_diagnostics
from bench.analysis.data import calibration_margins, gender_margin

STRUCTURE = load_structure("sipas-2640")
CRITERIA = STRUCTURE.criteria


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def cluster_tables(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """All indices for communes, provinces and the country: strata = commune,
    PSU = counter-day, fpc = counter-days in the year."""
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    return indices(frame, STRUCTURE, design=design, parents=parents)


def respondent_tables(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """The same with every respondent its own PSU (1,000,000 PSUs at full size)."""
    design = make_design(frame, strata="stratum", weight="weight")
    return indices(frame, STRUCTURE, design=design, parents=parents)


def poststratified_tables(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """The cluster design post-stratified to commune x gender counts."""
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    design = post_stratify(design, frame, ["unit", "gender"], gender_margin(frame))
    return indices(frame, STRUCTURE, design=design, parents=parents)


def cluster_design(frame: pd.DataFrame):
    return make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")


def with_margins(frame: pd.DataFrame, parents: dict) -> tuple[dict, list]:
    """Before the clock: the parents and the commune x gender, x age margins."""
    return parents, calibration_margins(frame)


def raked_weights(frame: pd.DataFrame, context: tuple) -> pd.DataFrame:
    """Rake the cluster design to commune x gender and commune x age group."""
    design = rake(cluster_design(frame), frame, context[1])
    return weight_diagnostics(design.weights)


def calibrated_weights(frame: pd.DataFrame, context: tuple) -> pd.DataFrame:
    """The same margins by Newton's method (R's calibrate(calfun = "raking"))."""
    design = calibrate(cluster_design(frame), frame, context[1])
    return weight_diagnostics(design.weights)


def raked_tables(frame: pd.DataFrame, context: tuple) -> pd.DataFrame:
    """Raking, then every index of every commune, province and the country."""
    parents, margins = context
    design = rake(cluster_design(frame), frame, margins)
    return indices(frame, STRUCTURE, design=design, parents=parents)


def our_shares(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """This package on the peers' data and design (all indicators, units and ALL)."""
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    table = indices(frame, STRUCTURE, design=design)
    shares = table[table["indicator"].isin(CRITERIA) & (table["unit"] != "ALL")]
    return pd.DataFrame(
        {
            "unit": shares["unit"].to_numpy(),
            "criterion": shares["indicator"].to_numpy(),
            "estimate": shares["estimate"].to_numpy() / 100,
            "se": shares["se"].to_numpy() / 100,
        }
    )


def _indicators(frame: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per criterion: satisfied (4-5) and answered, as 0/1 floats."""
    out = {}
    for code in CRITERIA:
        answer = frame[code].to_numpy(dtype=float)
        out[code] = ((answer >= 4).astype(float), (~np.isnan(answer)).astype(float))
    return out


def samplics_shares(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """samplics: ``TaylorEstimator(PopParam.ratio)`` by domain, one criterion a call.

    samplics takes the finite population correction as the factor 1 - n_h / N_h.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "samplics is archived"
        from samplics import PopParam, TaylorEstimator

    stratum = frame["stratum"].to_numpy()
    sampled = frame.groupby("stratum")["psu"].nunique()
    population = frame.groupby("stratum")["fpc"].first()
    fpc = (1 - sampled / population).to_dict()
    unit = frame["unit"].astype(str).to_numpy()
    frames = []
    for code, (satisfied, answered) in _indicators(frame).items():  # criteria
        estimator = TaylorEstimator(PopParam.ratio)
        estimator.estimate(
            y=satisfied,
            x=answered,
            samp_weight=frame["weight"].to_numpy(),
            stratum=stratum,
            psu=frame["psu"].to_numpy(),
            domain=unit,
            fpc=fpc,
        )
        frames.append(
            pd.DataFrame(
                {
                    "unit": list(estimator.point_est),
                    "criterion": code,
                    "estimate": list(estimator.point_est.values()),
                    "se": list(estimator.stderror.values()),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def svy_shares(frame: pd.DataFrame, parents: dict) -> pd.DataFrame:
    """svy: one batched ``estimation.ratio(y=[...], x=[...], by="unit")`` call."""
    import polars as pl
    import svy

    columns = {"unit": frame["unit"].astype(str).to_numpy()}
    for name in ("stratum", "psu", "weight", "fpc"):
        columns[name] = frame[name].to_numpy()
    ys, xs = [], []
    for k, (satisfied, answered) in enumerate(_indicators(frame).values()):
        columns[f"y{k}"], columns[f"a{k}"] = satisfied, answered
        ys.append(f"y{k}")
        xs.append(f"a{k}")
    data = pl.DataFrame(columns)
    design = svy.Design(stratum="stratum", psu="psu", wgt="weight", pop_size="fpc")
    results = svy.Sample(data, design).estimation.ratio(y=ys, x=xs, by="unit")
    frames = []
    for code, result in zip(CRITERIA, results, strict=True):
        table = result.to_polars().to_pandas()
        frames.append(
            pd.DataFrame(
                {
                    "unit": table["unit"].astype(str),
                    "criterion": code,
                    "estimate": table["est"],
                    "se": table["se"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


TASKS: dict[str, Callable[[pd.DataFrame, Any], pd.DataFrame]] = {
    "cluster": cluster_tables,
    "respondent": respondent_tables,
    "poststratified": poststratified_tables,
    "shares": our_shares,
    "samplics": samplics_shares,
    "svy": svy_shares,
    "rake": raked_weights,
    "calibrate": calibrated_weights,
    "raked": raked_tables,
}
#: What a task needs besides the data, made before the clock starts.
SETUP: dict[str, Callable[[pd.DataFrame, dict], object]] = {
    "rake": with_margins,
    "calibrate": with_margins,
    "raked": with_margins,
}


def main() -> None:
    task, data, out = sys.argv[1:4]
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    with open(data, "rb") as file:
        frame, parents = pickle.load(file)
    context = SETUP.get(task, lambda _, p: p)(frame, parents)
    loaded = _peak_mb()
    seconds, cpu = [], []
    for _ in range(repeats):
        started, used = time.perf_counter(), time.process_time()
        result = TASKS[task](frame, context)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    if {"criterion", "se"} <= set(result.columns):
        result.to_csv(out, index=False)
    report = {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": _peak_mb()}
    print(json.dumps(report | {"loaded_mb": loaded}))


if __name__ == "__main__":
    main()
