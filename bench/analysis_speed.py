"""Analysis speed: national-scale indices, and the same statistic with R and Python peers.

Synthetic data (:mod:`bench.analysis.data`): 1,000,000 responses x 22 criteria over
3,321 communes in 34 provinces; stratified cluster design with strata = commune and
about 10 counter-day PSUs per commune. Every measurement runs in a fresh process
(:mod:`bench.analysis.worker` or ``Rscript``) that loads the data, then times the work
only; the peak resident memory is that process's. Peers get a time budget each and
run on growing samples (communes in proportion to rows, ~300 responses per commune)
until the next size, projected from the growth so far, would not fit.
"""

from __future__ import annotations

import json
import math
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.analysis.data import COMMUNES, commune_codes, make_responses, province_of
from bench.results import write_section

ROWS = 1_000_000
REPEATS = 3
GOAL_SECONDS = 5.0
GOAL_MB = 2048
PEER_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
PEER_BUDGET = 180.0  # seconds per peer, all sizes together
HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "analysis" / "peer_survey.R"
WORKER = [sys.executable, "-m", "bench.analysis.worker"]
VARIANTS = {
    "cluster": "stratified cluster (PSU = counter-day)",
    "respondent": "respondent as PSU",
    "poststratified": "cluster, post-stratified to commune x gender",
}


@dataclass
class Measure:
    """One finished (or failed) timed task."""

    seconds: list[float]
    cpu_seconds: list[float] = field(default_factory=list)
    peak_mb: float = float("nan")
    loaded_mb: float = float("nan")
    shares: Path | None = None
    failure: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def write_data(folder: Path, rows: int) -> Path:
    """Generate ``rows`` responses (communes in proportion) and pickle them."""
    communes = max(1, round(rows * COMMUNES / ROWS))
    frame = make_responses(rows, communes=communes)
    parents = province_of(commune_codes(communes))
    path = folder / f"responses_{rows}.pkl"
    with path.open("wb") as file:
        pickle.dump((frame, parents), file, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _launch(command: list[str], shares: Path, timeout: float) -> Measure:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Measure([], failure=f"no result within {timeout:.0f} s")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Measure([], failure=f"failed: {last[:120]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Measure(
        seconds=report["seconds"],
        cpu_seconds=report.get("cpu_seconds", []),
        peak_mb=report.get("peak_mb", float("nan")),
        loaded_mb=report.get("loaded_mb", float("nan")),
        shares=shares if shares.exists() else None,
    )


def measure(task: str, data: Path, repeats: int = 1, timeout: float = 600) -> Measure:
    """Run a task of :mod:`bench.analysis.worker` in a fresh Python process."""
    shares = data.with_name(f"{task}_{data.stem}.csv")
    command = [*WORKER, task, str(data), str(shares), str(repeats)]
    return _launch(command, shares, timeout)


# --------------------------------------------------------------------------------------
# peers: criterion share and SE per unit, all 22 criteria


def peer_r_survey(data: Path, timeout: float) -> Measure:
    """R's survey: svydesign + svyby(~y_k, ~unit, svyratio, denominator = ~a_k)."""
    with data.open("rb") as file:
        frame, _ = pickle.load(file)
    csv = data.with_suffix(".csv")
    frame.to_csv(csv, index=False)
    shares = data.with_name(f"r_survey_{data.stem}.csv")
    return _launch(["Rscript", str(R_SCRIPT), str(csv), str(shares)], shares, timeout)


def peer_samplics(data: Path, timeout: float) -> Measure:
    """samplics: TaylorEstimator(PopParam.ratio) with domain = unit, per criterion."""
    return measure("samplics", data, timeout=timeout)


def peer_svy(data: Path, timeout: float) -> Measure:
    """svy: Sample.estimation.ratio(y=[22 criteria], x=[...], by="unit")."""
    return measure("svy", data, timeout=timeout)


PEERS: dict[str, Callable[[Path, float], Measure]] = {
    "R survey 4.1-1": peer_r_survey,
    "samplics": peer_samplics,
    "svy": peer_svy,
}


def largest_differences(peer: Path, ours: Path) -> tuple[float, float]:
    """Largest absolute differences in shares and SEs (0-1 scale) over unit x criterion."""
    keys = ["unit", "criterion"]
    read = {"dtype": {"unit": str, "criterion": str}}
    merged = pd.read_csv(peer, **read).merge(
        pd.read_csv(ours, **read), on=keys, suffixes=("_peer", "_ours"), validate="1:1"
    )
    if merged.empty:
        return float("nan"), float("nan")
    estimate = (merged["estimate_peer"] - merged["estimate_ours"]).abs().max()
    se = (merged["se_peer"] - merged["se_ours"]).abs().max()
    return float(estimate), float(se)


def projected_seconds(history: list[tuple[int, float]], rows: int) -> float:
    """Time at ``rows`` from the growth between the last two sizes (at least linear)."""
    last_rows, last_seconds = history[-1]
    exponent = 1.0
    if len(history) > 1:
        rows_before, seconds_before = history[-2]
        growth = math.log(last_seconds / seconds_before)
        exponent = max(1.0, growth / math.log(last_rows / rows_before))
    return last_seconds * (rows / last_rows) ** exponent


def peer_ladder(name: str, folder: Path, datasets: dict[int, Path]) -> list[dict]:
    """Run a peer on growing sizes within :data:`PEER_BUDGET`; compare with ours."""
    run_peer, rows_out = PEERS[name], []
    deadline = time.monotonic() + PEER_BUDGET
    history: list[tuple[int, float]] = []
    for rows in PEER_SIZES:
        remaining = deadline - time.monotonic()
        if history and projected_seconds(history, rows) > remaining:
            note = (
                f"not tried: projected {projected_seconds(history, rows):,.0f} s, "
                f"{remaining:.0f} s of the budget left"
            )
            rows_out.append({"peer": name, "rows": rows, "note": note})
            break
        if rows not in datasets:
            datasets[rows] = write_data(folder, rows)
        result = run_peer(datasets[rows], remaining)
        if result.failure:
            rows_out.append({"peer": name, "rows": rows, "note": result.failure})
            break
        ours = measure("shares", datasets[rows], repeats=REPEATS)
        estimate, se = largest_differences(result.shares, ours.shares)
        rows_out.append(
            {
                "peer": name,
                "rows": rows,
                "peer_s": result.median,
                "ours_s": ours.median,
                "estimate": estimate,
                "se": se,
            }
        )
        history.append((rows, result.median))
    return rows_out


# --------------------------------------------------------------------------------------
# report


def measures_table(
    results: dict[str, Measure],
    labels: dict[str, str],
    *,
    first: str = "design",
    goal_seconds: float = GOAL_SECONDS,
    goal_mb: float = GOAL_MB,
) -> str:
    """One row per task: wall and CPU seconds, peak memory, and the goal."""
    lines = [
        f"| {first} | wall s (median of 3) | runs s | CPU s (median) | peak RSS MB "
        f"| data loaded MB | goal < {goal_seconds:g} s, < {goal_mb / 1024:g} GB |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for task, label in labels.items():
        m = results[task]
        if m.failure:
            lines.append(f"| {label} | – | {m.failure} | | | | MISSED |")
            continue
        met = m.median < goal_seconds and m.peak_mb < goal_mb
        runs = ", ".join(f"{s:.2f}" for s in m.seconds)
        cpu = statistics.median(m.cpu_seconds) if m.cpu_seconds else float("nan")
        lines.append(
            f"| {label} | **{m.median:.2f}** | {runs} | {cpu:.2f} | {m.peak_mb:,.0f} "
            f"| {m.loaded_mb:,.0f} | {'met' if met else 'MISSED'} |"
        )
    return "\n".join(lines)


def peers_table(rows: list[dict]) -> str:
    lines = [
        "| peer | rows | units | peer s | ours s | ours faster by | max abs diff share "
        "| max abs diff SE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        units = max(1, round(row["rows"] * COMMUNES / ROWS))
        if "note" in row:
            lines.append(
                f"| {row['peer']} | {row['rows']:,} | {units:,} | {row['note']} "
                "| | | | |"
            )
            continue
        lines.append(
            f"| {row['peer']} | {row['rows']:,} | {units:,} | {row['peer_s']:.2f} "
            f"| {row['ours_s']:.3f} | {row['peer_s'] / row['ours_s']:,.0f}x "
            f"| {row['estimate']:.1e} | {row['se']:.1e} |"
        )
    return "\n".join(lines)


def run() -> dict:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as name:
        folder = Path(name)
        datasets = {ROWS: write_data(folder, ROWS)}
        variants = {
            task: measure(task, datasets[ROWS], repeats=REPEATS) for task in VARIANTS
        }
        peers = [row for peer in PEERS for row in peer_ladder(peer, folder, datasets)]
    total = time.monotonic() - started
    body = f"""
Synthetic national data: {ROWS:,} responses x 22 criteria, {COMMUNES:,} communes in 34
provinces, strata = commune, ~10 counter-day PSUs per commune, fpc = 250 counter-days.
`make_design` + `indices` (criterion, element and overall indices with SE,
Korn-Graubard CI, df, n, n_eff, deff and MOE for every commune, province and the
country: 3,356 domains x 28 indicators), each variant in a fresh process; the data are
loaded before the clock starts and count in the peak RSS.

{measures_table(variants, VARIANTS)}

Peers, same data and design, same statistic: the share satisfied among opinions
(ratio estimator) and its linearised SE for each of the 22 criteria in every unit
(svyby over units in R; samplics with one call per criterion; svy batched). Samples
keep ~300 responses per commune, so units grow with rows. Each peer has
{PEER_BUDGET:.0f} s in all and stops before a size that would not fit (projected from
its growth between the last two sizes). "Ours" is the
whole `indices` table (all 28 indicators, every unit and ALL), median of 3; peers are
timed once, data preparation excluded. Differences are on the 0-1 scale.

{peers_table(peers)}

Whole benchmark: {total / 60:.1f} min.
"""
    write_section("Analysis speed", body, "python -m bench analysis")
    return {"variants": variants, "peers": peers}
