"""Real weaknesses and plan targets at real sizes.

Three steps the workspace runs: a unit page's weakness analysis in a large province
(300,000 responses in 300 units on the 39 items of 1001/QĐ-BNV, counter-day PSUs, the
units in peer blocks: every domain linearised with its scores, then the unit's family
against the province adjusted by Holm); the Holm and Benjamini-Hochberg adjustment of
every commune's family of 39 at once (3,321 x 39 p-values); and the measurement of
every plan target of the country when a period is published (3,321 units x 3 targets).
Each step runs three times in this process; the medians are reported, with the peak
resident memory of the process.
"""

from __future__ import annotations

import os
import resource
import statistics
import time

import numpy as np
import pandas as pd

from analysis.compare import difference_table
from analysis.design import make_design
from analysis.estimate import index_table
from analysis.linearization import linearize
from analysis.multiplicity import p_adjust
from analysis.questionnaire import load_structure
from analysis.targets import evaluate_targets
from analysis.weakness import real_weaknesses
from bench.results import write_section

ROWS, UNITS, COMMUNES, TARGETS = 300_000, 300, 3_321, 3
REPEATS = 3


def province(rng: np.random.Generator) -> tuple[pd.DataFrame, object, dict]:
    structure = load_structure("sipas-1001")
    unit = rng.integers(0, UNITS, ROWS)
    counter = rng.integers(0, 3, ROWS)
    day = rng.integers(0, 60, ROWS)
    frame = pd.DataFrame(
        {
            "unit": np.char.add("u", unit.astype(str)),
            "psu": unit * 1000 + counter * 100 + day,
        }
    )
    level = rng.normal(0.65, 0.08, UNITS)[unit]
    for code in structure.criteria:
        satisfied = rng.random(ROWS) < level
        answer = np.where(satisfied, rng.integers(4, 6, ROWS), rng.integers(1, 4, ROWS))
        answer = answer.astype(float)
        answer[rng.random(ROWS) < 0.1] = np.nan
        frame[code] = answer
    design = make_design(frame, strata="unit", psu="psu")
    blocks = {f"u{u}": f"block:{u % 3}" for u in range(UNITS)}
    return frame, design, blocks


def timed(step) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def run() -> dict:
    rng = np.random.default_rng(10)
    load = os.getloadavg()[0]
    frame, design, blocks = province(rng)
    structure = load_structure("sipas-1001")

    def unit_page():
        linear = linearize(
            frame, structure, design=design, parents=blocks, keep_scores=True
        )
        table = index_table(linear)
        comparisons = difference_table(
            linear, ["u7"], ["ALL"], kind="province", indicators=structure.criteria
        )
        return real_weaknesses(comparisons, table)

    pvalues = rng.uniform(0, 1, COMMUNES * 39) ** 3
    families = np.repeat(np.arange(COMMUNES), 39)

    def adjust():
        return p_adjust(pvalues, "holm", families), p_adjust(pvalues, "bh", families)

    count = COMMUNES * TARGETS
    before = pd.DataFrame(
        {
            "estimate": rng.uniform(30, 80, count),
            "se": rng.uniform(2, 9, count),
            "df": rng.integers(8, 200, count),
            "n": rng.integers(30, 400, count),
        }
    )
    before["n_eff"] = before["n"] * 0.8
    after = before.assign(estimate=before["estimate"] + rng.normal(3, 5, count))
    goals = np.minimum(100, before["estimate"] + 10)

    def measure_targets():
        return evaluate_targets(goals, before, after)

    results = {
        "unit page": timed(unit_page),
        "adjust": timed(adjust),
        "targets": timed(measure_targets),
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = "\n".join(
        f"| {what} | {results[key][0]:.2f} | {results[key][1]:.2f} |"
        for key, what in (
            (
                "unit page",
                f"a unit page's weaknesses: {ROWS:,} responses, {UNITS} units, 39 items",
            ),
            ("adjust", f"Holm and BH over {COMMUNES:,} families of 39"),
            ("targets", f"{COMMUNES * TARGETS:,} plan targets measured at publication"),
        )
    )
    body = f"""
| step | wall s (median of {REPEATS}) | CPU s |
|---|---|---|
{rows}

Peak resident memory of the process (data included): {peak:.0f} MB. Load average at
the start {load:.1f} on {os.cpu_count()} cores: the machine was shared, so wall times
above the CPU times mean other work took the cores.
"""
    write_section("Weaknesses and plan targets", body, "python -m bench weaknesses")
    return results


if __name__ == "__main__":
    run()
