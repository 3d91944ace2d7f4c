"""National calibration: raking 1,000,000 responses to the margins of 3,321 communes.

The data of the analysis benchmark (:mod:`bench.analysis.data`: stratified cluster
sample, strata = commune, counter-day PSUs) with an age group per respondent, raked
to the population by commune x gender and commune x age group (2 + 5 cells in each
of 3,321 communes: 23,247 cells; :func:`bench.analysis.data.calibration_margins`).
Each task runs in a fresh process (:mod:`bench.analysis.worker`) that loads the data
and derives the margins before the clock starts; the peak resident memory is that
process's, data included.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from bench.analysis.data import COMMUNES
from bench.analysis_speed import measure, measures_table, write_data
from bench.results import write_section

ROWS = 1_000_000
REPEATS = 3
GOAL_SECONDS = 10.0
CELLS = COMMUNES * (2 + 5)
TASKS = {
    "rake": "`rake`: iterative proportional fitting, then the GREG residual "
    "operator for the variance (block inverses)",
    "calibrate": '`calibrate(calfun="raking")`: Newton steps, one block-diagonal '
    "solve each",
    "raked": "`rake` + `indices` with parents: every index of every commune, "
    "province and the country, SEs from the calibration residuals",
}


def run() -> dict:
    started = time.monotonic()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as name:
        data = write_data(Path(name), ROWS)
        results = {task: measure(task, data, repeats=REPEATS) for task in TASKS}
    total = time.monotonic() - started
    body = f"""
{ROWS:,} responses x 22 criteria in {COMMUNES:,} communes (34 provinces), stratified
cluster design (strata = commune, ~10 counter-day PSUs each), raked to commune x
gender and commune x age group: {CELLS:,} calibration cells. The normal equations of
the calibration couple only cells that share respondents, so they are solved in
{COMMUNES:,} blocks of 7 x 7, stacked (`analysis.weights.blocks`); one dense
{CELLS:,}² matrix would take {CELLS**2 * 8 / 1e9:.1f} GB and a pseudo-inverse of cubic
cost. Each task runs in a fresh process; data and margins are made before the clock
starts and count in the peak RSS. CPU s is the process's CPU time of a run, a better
guide than wall time on a busy machine.

{measures_table(results, TASKS, first="task", goal_seconds=GOAL_SECONDS)}

Whole benchmark: {total / 60:.1f} min; load average at the start {load:.1f} on
{os.cpu_count()} cores (wall times above the CPU times mean other work shared them).
"""
    write_section("National calibration", body, "python -m bench calibration")
    return results
