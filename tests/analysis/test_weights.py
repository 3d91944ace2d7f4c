"""Weights, calibration and trimming (analysis.weights) against R's survey package.

Reference values: tests/analysis/reference/reference_weights.csv and
reference_weights_estimates.csv, written by make_reference_weights.R (R 4.2.2,
survey 4.1.1) from the synthetic data of make_weights_data.py: postStratify, rake,
calibrate(calfun = "raking" | "linear"), trimWeights, then svyratio, svyby, svymean
and svytotal on each design.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.design import make_design
from analysis.linearization import linearize
from analysis.questionnaire import load_structure
from analysis.variance import total_covariance
from analysis.weights import (
    ConvergenceError,
    GregCalibration,
    PostStratification,
    RakingCalibration,
    WeightingError,
    base_weights,
    calibrate,
    nonresponse_adjust,
    post_stratify,
    rake,
    trim_weights,
    weight_diagnostics,
)

REFERENCE = Path(__file__).parent / "reference"
RTOL = 1e-8


@pytest.fixture(scope="module")
def frame():
    return pd.read_csv(REFERENCE / "responses_current.csv")


@pytest.fixture(scope="module")
def margins():
    return (
        pd.read_csv(REFERENCE / "margin_unit_gender.csv"),
        pd.read_csv(REFERENCE / "margin_unit_age.csv"),
    )


@pytest.fixture(scope="module")
def base(frame):
    return make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")


def build(name, base, frame, margins):
    """The Python counterpart of each design of make_reference_weights.R."""
    gender, age = margins
    if name == "base":
        return base
    if name == "poststrat":
        return post_stratify(base, frame, ["unit", "gender"], gender)
    if name == "rake":  # R's rake() with its default control
        return rake(base, frame, margins, epsilon=1, maxit=10, variance="rake")
    if name == "calibrate":
        return calibrate(base, frame, margins, epsilon=1e-12, maxit=100)
    if name == "linear":
        return calibrate(base, frame, margins, calfun="linear")
    if name.startswith("trim"):
        calibrated = build("calibrate", base, frame, margins)
        strict = name == "trim_strict"
        return trim_weights(calibrated, lower=8, upper=100, strict=strict)
    if name.startswith("ps_trim"):
        poststratified = build("poststrat", base, frame, margins)
        return trim_weights(poststratified, upper=59.5, strict=name == "ps_trim_strict")
    raise KeyError(name)


DESIGNS = [
    "base",
    "poststrat",
    "rake",
    "calibrate",
    "linear",
    "trim",
    "trim_strict",
    "ps_trim",
    "ps_trim_strict",
]


@pytest.fixture(scope="module")
def designs(base, frame, margins):
    return {name: build(name, base, frame, margins) for name in DESIGNS}


@pytest.fixture(scope="module")
def reference_weights():
    return pd.read_csv(REFERENCE / "reference_weights.csv")


@pytest.fixture(scope="module")
def reference_estimates():
    return pd.read_csv(REFERENCE / "reference_weights_estimates.csv")


def _estimates(design, frame):
    """Estimates and SEs of the statistics of the R script, from the Python design."""
    structure = load_structure("sipas-2640")
    result = linearize(frame, structure, design=design)
    rows = []
    for code in ("1.1", "3.2"):
        j = result.indicators.index(code)
        domains = result.domains if code == "1.1" else np.array(["ALL"])
        for domain in domains:
            d = result.domain_index(domain)[0]
            rows.append(
                (f"ratio_{code}", domain, result.estimate[d, j], result.variance[d, j])
            )
    w = design.weights
    answer = frame["2.5"].to_numpy(float)
    satisfied = (answer >= 4).astype(float)  # NaN >= 4 is False, as in R
    mean = np.sum(w * satisfied) / w.sum()
    score = w * (satisfied - mean) / w.sum()
    rows.append(("mean_s_2.5", "ALL", mean, total_covariance(design, score)[0, 0]))
    opinion = frame["1.1"].notna().to_numpy(float)
    variance = total_covariance(design, w * opinion)[0, 0]
    rows.append(("total_o_1.1", "ALL", np.sum(w * opinion), variance))
    female = (frame["gender"] == "nu").to_numpy(float)
    units = np.sort(frame["unit"].unique())
    x = w[:, None] * female[:, None] * (frame["unit"].to_numpy()[:, None] == units)
    variance = np.diag(total_covariance(design, x))
    totals = zip(units, x.sum(axis=0), variance, strict=True)
    rows += [("total_female", u, t, v) for u, t, v in totals]
    out = pd.DataFrame(rows, columns=["statistic", "domain", "estimate", "variance"])
    out["se"] = np.sqrt(out.pop("variance"))
    return out


@pytest.mark.parametrize("name", DESIGNS)
def test_weights_match_r(name, designs, reference_weights):
    np.testing.assert_allclose(
        designs[name].weights, reference_weights[name], rtol=RTOL, atol=0
    )


@pytest.mark.parametrize("name", DESIGNS)
def test_estimates_and_se_match_r(name, designs, frame, reference_estimates):
    ours = _estimates(designs[name], frame)
    theirs = reference_estimates[reference_estimates["design"] == name]
    merged = theirs.merge(ours, on=["statistic", "domain"], suffixes=("_r", ""))
    assert len(merged) == len(theirs) == len(ours)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=RTOL)
    # calibrated totals of calibration variables have SE 0 (R: about 1e-13)
    zero = merged["se_r"] < 1e-6 * merged["estimate_r"].abs()
    np.testing.assert_allclose(
        merged.loc[~zero, "se"], merged.loc[~zero, "se_r"], rtol=RTOL
    )
    assert np.all(merged.loc[zero, "se"] < 1e-6 * merged.loc[zero, "estimate"])


def test_rake_default_is_r_calibrate_raking(
    base, frame, margins, reference_weights, reference_estimates
):
    raked = rake(base, frame, margins)
    assert isinstance(raked.calibrations[-1], GregCalibration)
    np.testing.assert_allclose(
        raked.weights, reference_weights["calibrate"], rtol=RTOL, atol=0
    )
    ours = _estimates(raked, frame)
    theirs = reference_estimates[reference_estimates["design"] == "calibrate"]
    merged = theirs.merge(ours, on=["statistic", "domain"], suffixes=("_r", ""))
    ratio = merged["statistic"].str.startswith(("ratio", "mean"))
    np.testing.assert_allclose(
        merged.loc[ratio, "se"], merged.loc[ratio, "se_r"], rtol=RTOL
    )


def test_calibration_objects(designs):
    assert isinstance(designs["poststrat"].calibrations[-1], PostStratification)
    assert isinstance(designs["rake"].calibrations[-1], RakingCalibration)
    assert isinstance(designs["linear"].calibrations[-1], GregCalibration)
    # trimming keeps the calibration of the design it trims, as R does
    trimmed = trim_weights(designs["calibrate"], upper=100)
    assert trimmed.calibrations == designs["calibrate"].calibrations


def test_calibrated_weights_hit_the_margins(designs, frame, margins):
    for name in ("rake", "calibrate", "linear"):
        w = designs[name].weights
        for margin in margins:
            keys = [c for c in margin.columns if c != "population"]
            totals = pd.Series(w).groupby([frame[k] for k in keys]).sum()
            expected = margin.set_index(keys)["population"]
            # R's rake() stops at a change below 1 (weight unit) per cell
            tol = 1.0 if name == "rake" else 1e-6
            np.testing.assert_allclose(totals[expected.index], expected, atol=tol)


def test_rake_with_one_margin_is_post_stratification(base, frame, margins):
    gender, _ = margins
    empty_cell = pd.DataFrame({"unit": ["U01"], "gender": ["khac"], "population": [0]})
    gender = pd.concat([gender, empty_cell], ignore_index=True)
    poststratified = post_stratify(base, frame, ["unit", "gender"], gender)
    x = np.random.default_rng(1).normal(size=(len(frame), 3))
    x *= poststratified.weights[:, None]
    expected = total_covariance(poststratified, x)
    raked = rake(base, frame, [gender])
    np.testing.assert_allclose(raked.weights, poststratified.weights, rtol=1e-12)
    np.testing.assert_allclose(total_covariance(raked, x), expected, rtol=1e-9)
    # R's rake() variance uses unweighted cell means of x / w: not the same when the
    # base weights vary within a cell, as here (strata are unit x field)
    raked = rake(base, frame, [gender], variance="rake")
    np.testing.assert_allclose(raked.weights, poststratified.weights, rtol=1e-12)
    assert not np.allclose(total_covariance(raked, x), expected, rtol=1e-3)


def test_residualize_keeps_shape(designs):
    calibration = designs["calibrate"].calibrations[-1]
    x = np.arange(len(designs["base"].weights), dtype=float)
    assert calibration.residualize(x).shape == x.shape
    assert calibration.residualize(x[:, None]).shape == (len(x), 1)


def test_post_stratify_rejects_empty_cell(base, frame, margins):
    gender, _ = margins
    keep = ~((frame["unit"] == "U03") & (frame["gender"] == "nu")).to_numpy()
    design = make_design(frame[keep], strata="stratum", psu="psu", weight="weight")
    with pytest.raises(WeightingError, match="population but no respondents: unit=U03"):
        post_stratify(design, frame[keep], ["unit", "gender"], gender)


def test_rake_rejects_empty_cell(frame, margins):
    keep = (frame["age_group"] != "61+").to_numpy()
    design = make_design(frame[keep], strata="stratum", psu="psu", weight="weight")
    with pytest.raises(ValueError, match="age_group=61\\+"):
        rake(design, frame[keep], margins)


def test_rake_rejects_inconsistent_margins(base, frame, margins):
    gender, age = margins
    age = age.copy()
    age.loc[0, "population"] += 10
    with pytest.raises(WeightingError, match="disagree .* over \\['unit'\\] at U01"):
        rake(base, frame, [gender, age])


def test_rake_reports_non_convergence(base, frame, margins):
    with pytest.raises(ConvergenceError, match="did not converge in 2 passes"):
        rake(base, frame, margins, maxit=2)
    assert issubclass(ConvergenceError, ValueError)


def test_calibrate_reports_non_convergence(base, frame, margins):
    with pytest.raises(ConvergenceError, match="did not converge in 1 steps"):
        calibrate(base, frame, margins, maxit=1, epsilon=1e-15)


def test_margin_must_cover_every_response(base, frame, margins):
    gender, _ = margins
    partial = gender[gender["unit"] != "U05"]
    with pytest.raises(WeightingError, match="fall in no cell .*unit=U05"):
        post_stratify(base, frame, ["unit", "gender"], partial)


def test_margin_checks(base, frame, margins):
    gender, _ = margins
    with pytest.raises(WeightingError, match="population"):
        post_stratify(base, frame, ["unit"], gender[["unit"]])
    with pytest.raises(WeightingError, match="duplicated cells"):
        post_stratify(base, frame, ["unit", "gender"], pd.concat([gender, gender]))
    with pytest.raises(WeightingError, match="no column"):
        post_stratify(base, frame.drop(columns="gender"), ["unit", "gender"], gender)
    zero = gender.copy()
    zero.loc[0, "population"] = 0
    with pytest.raises(WeightingError, match="population is zero"):
        post_stratify(base, frame, ["unit", "gender"], zero)


def test_trim_weights_keeps_total_and_bounds(designs):
    calibrated = designs["calibrate"]
    trimmed = designs["trim_strict"]
    assert trimmed.weights.sum() == pytest.approx(calibrated.weights.sum(), rel=1e-12)
    assert trimmed.weights.min() >= 8
    assert trimmed.weights.max() <= 100
    assert trim_weights(calibrated, upper=1e6) is calibrated


def test_trim_weights_rejects_impossible_bounds(designs):
    design = designs["calibrate"]
    mean = design.weights.mean()
    with pytest.raises(WeightingError, match="cannot all lie"):
        trim_weights(design, upper=0.9 * mean, strict=True)
    with pytest.raises(WeightingError, match="every weight is outside"):
        trim_weights(design, lower=1e6, upper=2e6)
    with pytest.raises(WeightingError, match="lower bound"):
        trim_weights(design, lower=5, upper=1)


def test_base_weights_are_dossiers_over_responses(frame):
    register = pd.read_csv(REFERENCE / "register_strata.csv")
    w = base_weights(frame, ["unit", "field"], register)
    np.testing.assert_allclose(w, frame["weight"], rtol=1e-12)
    with pytest.raises(WeightingError, match="fewer population units"):
        base_weights(frame, "stratum", register.assign(population=3))
    with pytest.raises(WeightingError, match="no cell"):
        base_weights(frame, "stratum", register.iloc[1:])


def test_nonresponse_adjust():
    weights = np.array([10.0, 10.0, 10.0, 20.0, 20.0])
    responded = np.array([True, False, True, True, True])
    cells = np.array(["a", "a", "a", "b", "b"])
    adjusted = nonresponse_adjust(weights, responded, cells)
    np.testing.assert_allclose(adjusted, [15.0, 0.0, 15.0, 20.0, 20.0])
    cells_two = pd.DataFrame({"unit": ["u"] * 5, "cell": cells})
    np.testing.assert_allclose(
        nonresponse_adjust(weights, responded, cells_two), adjusted
    )
    with pytest.raises(WeightingError, match="no respondents: cell=a"):
        nonresponse_adjust(weights, [False, False, False, True, True], cells)


def test_weight_diagnostics():
    # n = 4, sum 8, sum of squares 22: deff = 4 * 22 / 64, n_eff = 64 / 22
    out = weight_diagnostics([1.0, 1.0, 2.0, 4.0])
    row = out.loc["ALL"]
    assert row[["n", "total", "min", "max", "mean"]].tolist() == [4, 8, 1, 4, 2]
    assert row["deff"] == pytest.approx(88 / 64)
    assert row["n_eff"] == pytest.approx(64 / 22)
    assert row["cv"] ** 2 == pytest.approx(row["deff"] - 1)
    by = weight_diagnostics([1.0, 1.0, 2.0, 4.0], by=["a", "a", "b", "b"])
    assert list(by.index) == ["a", "b"]
    assert by.loc["a", "deff"] == pytest.approx(1.0)
    assert by.loc["b", "n_eff"] == pytest.approx(36 / 20)


def test_calibrations_tell_whether_cells_lie_within_units(designs, frame, margins):
    units = frame["unit"].to_numpy()
    for name in ("poststrat", "rake", "calibrate"):
        assert designs[name].calibrations[-1].nests_within(units)
    gender = margins[0].groupby("gender", as_index=False)["population"].sum()
    across = post_stratify(designs["base"], frame, "gender", gender)
    assert not across.calibrations[-1].nests_within(units)
    assert across.calibrations[-1].nests_within(np.zeros(len(frame)))
