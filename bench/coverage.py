"""Coverage of the sampled channel's intervals: 1,000 samples from a known register.

A synthetic register of 20 units x 5 fields holds every dossier's answers to the 22
criteria, so each unit's true SIPAS index is known (the census value). Each replicate
plans per unit for a 6-point margin (analysis.sampling.plan_strata), draws a stratified
SRSWOR (select_srswor on fresh uniforms, the product's selection), lets citizens respond
with a probability that depends on their field (35-80 %) while satisfaction also
depends on the field (so ignoring nonresponse would bias), weights respondents with
sample_weights (1/pi, nonresponse within strata) and estimates with the product's
make_design(strata, weights, fpc) + indices(). It reports, per unit, how often the 95 %
interval covers the truth (goal 93.5-96.5 %), the bias of the point estimate and the
estimated against the empirical standard error: ``python -m bench coverage``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from analysis.columns import ALL, OVERALL
from analysis.design import make_design
from analysis.estimate import indices
from analysis.questionnaire import load_structure
from analysis.sampling import plan_strata, sample_weights, select_srswor
from bench.results import write_section

REPLICATES = 1000
UNITS = 20
FIELDS = ("dat-dai", "ho-tich", "xay-dung", "tu-phap", "khac")
FIELD_SHIFT = np.array([-0.45, 0.35, -0.2, 0.1, 0.0])  # satisfaction by field
FIELD_RESPONSE = np.array([0.35, 0.8, 0.45, 0.6, 0.55])  # response propensity by field
GOAL = (93.5, 96.5)
SEED = 20240707


def make_register(rng: np.random.Generator) -> pd.DataFrame:
    """Every dossier of the period with its answers (the population)."""
    structure = load_structure("sipas-2640")
    sizes = rng.integers(600, 6000, UNITS)
    field_share = rng.dirichlet(np.full(len(FIELDS), 2.0), UNITS)
    rows = []
    for unit, (size, shares) in enumerate(zip(sizes, field_share, strict=True)):
        counts = rng.multinomial(size, shares)
        rows.append(
            pd.DataFrame(
                {
                    "unit": f"U{unit + 1:02d}",
                    "f": np.repeat(np.arange(len(FIELDS)), counts),
                }
            )
        )
    register = pd.concat(rows, ignore_index=True)
    level = rng.uniform(-0.2, 1.6, UNITS)[register["unit"].str[1:].astype(int) - 1]
    latent = level + FIELD_SHIFT[register["f"]] + rng.normal(0, 1, len(register))
    cuts = np.array([-1.6, -0.9, -0.2, 1.0])
    for k, code in enumerate(structure.criteria):
        shift = 0.35 * np.sin(k)  # criteria differ
        noisy = latent + shift + rng.normal(0, 0.6, len(register))
        answer = 1 + (noisy[:, None] > cuts).sum(axis=1)
        no_opinion = rng.random(len(register)) < (0.2 if code.startswith("5") else 0.05)
        register[code] = np.where(no_opinion, np.nan, answer)
    register["field"] = np.asarray(FIELDS)[register["f"]]
    register["stratum"] = register["unit"] + "|" + register["field"]
    return register


def truth(register: pd.DataFrame, structure) -> pd.Series:
    """Each unit's census SIPAS (and the province's), in percent."""
    census = indices(register, structure, include_all=True)
    return census[census["indicator"] == OVERALL].set_index("unit")["estimate"]


def replicate(
    register: pd.DataFrame,
    strata: pd.DataFrame,
    code: np.ndarray,
    structure,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One sample: draw, nonresponse, weights, estimates; the SIPAS rows."""
    chosen = select_srswor(rng.random(len(register)), code, strata["draw"].to_numpy())
    drawn = register[chosen]
    probability = (strata["draw"] / strata["population"]).to_numpy()[code[chosen]]
    responded = rng.random(len(drawn)) < FIELD_RESPONSE[drawn["f"].to_numpy()]
    weights = sample_weights(probability, responded, drawn["stratum"], drawn["unit"])
    answered = drawn[responded].assign(
        weight=weights[responded],
        fpc=strata["population"].to_numpy()[code[chosen][responded]],
    )
    design = make_design(answered, strata="stratum", weight="weight", fpc="fpc")
    table = indices(answered, structure, design=design, include_all=True)
    overall = table[table["indicator"] == OVERALL].set_index("unit")
    return overall[["estimate", "se", "ci_low", "ci_high", "n"]]


def simulate(
    replicates: int = REPLICATES, seed: int = SEED
) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    structure = load_structure("sipas-2640")
    register = make_register(rng)
    true = truth(register, structure)
    strata = (
        register.groupby(["unit", "field", "stratum"], sort=True)
        .size()
        .rename("population")
        .reset_index()
    )
    response = pd.Series(FIELD_RESPONSE, index=FIELDS)
    expected = strata["field"].map(response).groupby(strata["unit"]).transform("mean")
    plan = plan_strata(
        strata.assign(response_rate=100 * expected),
        moe=6,
        share=70,
        deff=1.3,
        minimum=8,
    )
    strata["draw"] = plan["draw"].to_numpy()
    code = pd.Index(strata["stratum"]).get_indexer(register["stratum"])
    started = time.perf_counter()
    runs = []
    for r in range(replicates):
        runs.append(replicate(register, strata, code, structure, rng).assign(rep=r))
    seconds = time.perf_counter() - started
    results = pd.concat(runs).reset_index()
    results["truth"] = results["unit"].map(true)
    results["covered"] = (results["ci_low"] <= results["truth"]) & (
        results["truth"] <= results["ci_high"]
    )
    summary = results.groupby("unit").agg(
        truth=("truth", "first"),
        mean=("estimate", "mean"),
        sd=("estimate", "std"),
        se=("se", "mean"),
        n=("n", "mean"),
        coverage=("covered", "mean"),
        estimated=("estimate", "count"),
    )
    population = register.groupby("unit").size()
    population[ALL] = len(register)
    summary["population"] = population
    drawn = strata.groupby("unit")["draw"].sum()
    drawn[ALL] = strata["draw"].sum()
    summary["drawn"] = drawn
    summary["coverage"] *= 100
    summary["bias"] = summary["mean"] - summary["truth"]
    meta = {
        "seconds": seconds,
        "replicates": replicates,
        "dossiers": len(register),
        "drawn": int(strata["draw"].sum()),
    }
    return summary, meta


def run(reps: int = REPLICATES) -> pd.DataFrame:
    summary, meta = simulate(reps)
    units = summary.drop(index=ALL)
    low, high = GOAL
    inside = units["coverage"].between(low, high)
    mc_se = 100 * np.sqrt(0.95 * 0.05 / reps)
    lines = [
        "| unit | dossiers | drawn | respondents (mean) | true SIPAS | mean estimate "
        "| bias (points) | empirical SE | mean estimated SE | 95 % coverage |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for unit, row in summary.iterrows():
        mark = "" if unit == ALL or low <= row["coverage"] <= high else " ✗"
        lines.append(
            f"| {'province' if unit == ALL else unit} | {int(row['population']):,} | "
            f"{int(row['drawn']):,} | {row['n']:.0f} | {row['truth']:.2f} | "
            f"{row['mean']:.2f} | {row['bias']:+.3f} | {row['sd']:.3f} | "
            f"{row['se']:.3f} | {row['coverage']:.1f} %{mark} |"
        )
    body = (
        f"{meta['replicates']:,} stratified SRSWOR samples from one synthetic register "
        f"of {meta['dossiers']:,} dossiers (20 units x 5 fields), {meta['drawn']:,} "
        "drawn per sample (plan: ±6 points per unit, expected share 70 %, deff 1.3, "
        "at least 8 per field, inflated by each unit's expected response rate). "
        "Response 35-80 % by field, satisfaction also by field; respondents weighted "
        "1/pi with nonresponse adjustment within strata; fpc from the register; "
        "SIPAS with its linearised SE and t interval (analysis.estimate.indices, the "
        "product's code). Truth = the census SIPAS of each unit.\n\n"
        + "\n".join(lines)
        + f"\n\nUnits with coverage in {low}-{high} %: **{inside.sum()} of {len(units)}** "
        f"(mean {units['coverage'].mean():.1f} %, min {units['coverage'].min():.1f} %, "
        f"max {units['coverage'].max():.1f} %; Monte Carlo SE of one unit's coverage "
        f"{mc_se:.2f} points, so about {len(units) * 0.029:.1f} of {len(units)} units "
        f"fall outside by chance alone). Largest |bias| "
        f"{units['bias'].abs().max():.3f} points (mean |bias|/SE "
        f"{(units['bias'].abs() / units['sd']).mean():.3f}). "
        f"{meta['seconds']:.0f} s for the replicates on a shared 2-core machine."
    )
    write_section("Coverage of the sampled channel", body, "python -m bench coverage")
    return summary
