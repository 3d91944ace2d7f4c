"""``python -m analysis compare | plan`` and the ``--rake`` / ``--trim`` options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.cli.common import CommandError, parse_trim
from analysis.columns import OUTPUT_COLUMNS
from analysis.compare import COMPARE_COLUMNS, RANK_COLUMNS, compare_to_parent
from analysis.design import make_design
from analysis.estimate import indices
from analysis.linearization import linearize
from analysis.plan import PLAN_COLUMNS, plan_sample
from analysis.questionnaire import load_structure
from analysis.weights import rake, trim_weights

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(__file__).resolve().parent / "reference"
CURRENT = REFERENCE / "responses_current.csv"
PREVIOUS = REFERENCE / "responses_previous.csv"
MARGINS = [REFERENCE / "margin_unit_gender.csv", REFERENCE / "margin_unit_age.csv"]
PARENTS = {"U01": "D1", "U02": "D1", "U03": "D1", "U04": "D2", "U05": "D2"}


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def design_of(frame):
    return make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")


@pytest.fixture
def parents_csv(tmp_path):
    path = tmp_path / "parents.csv"
    pd.DataFrame({"unit": list(PARENTS), "parent": list(PARENTS.values())}).to_csv(
        path, index=False
    )
    return path


def test_plan_writes_table(tmp_path):
    units = pd.DataFrame(
        {"unit": ["001", "002"], "population": [1000, 250], "share": [80.0, None]}
    )
    source = tmp_path / "units.csv"
    units.to_csv(source, index=False)
    out = tmp_path / "plan.csv"
    args = ["plan", str(source), "--moe", "4", "--deff", "1.5", "--out", str(out)]
    assert cli.main(args) == 0
    got = pd.read_csv(out, dtype={"unit": str})
    expected = plan_sample(units, moe=4, deff=1.5)
    assert list(got.columns) == PLAN_COLUMNS
    assert got["unit"].tolist() == ["001", "002"]
    assert got["n_needed"].tolist() == expected["n_needed"].tolist()
    assert got["n_official"].tolist() == expected["n_official"].tolist()


def test_plan_reports_errors_without_output(tmp_path, capsys):
    source = tmp_path / "units.csv"
    pd.DataFrame({"unit": ["a"], "size": [10]}).to_csv(source, index=False)
    out = tmp_path / "plan.csv"
    assert cli.main(["plan", str(source), "--out", str(out)]) == 2
    assert "population" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [source]


def test_compare_matches_the_api(tmp_path, parents_csv):
    out, ranks = tmp_path / "compare.csv", tmp_path / "ranks.csv"
    args = ["compare", str(CURRENT), "--parents", str(parents_csv)]
    args += ["--previous", str(PREVIOUS), "--pairs", "--draws", "500"]
    assert cli.main([*args, "--out", str(out), "--ranks", str(ranks)]) == 0
    table = read(out)
    assert list(table.columns) == COMPARE_COLUMNS
    assert set(table["kind"]) == {"parent", "pair", "previous"}
    frame = cli.read_responses(CURRENT)
    result = linearize(
        frame,
        load_structure("sipas-2640"),
        design=design_of(frame),
        parents=PARENTS,
        keep_scores=True,
    )
    expected = compare_to_parent(result, PARENTS)
    got = table[table["kind"] == "parent"].reset_index(drop=True)
    np.testing.assert_array_equal(got["unit"], expected["unit"])
    np.testing.assert_allclose(got["se"], expected["se"], rtol=1e-15)
    assert len(table[table["kind"] == "pair"]) == 10 * len(result.indicators)
    rank_table = read(ranks)
    assert list(rank_table.columns) == RANK_COLUMNS
    assert rank_table["unit"].tolist() == ["U01", "U02", "U03", "U04", "U05"]


def test_compare_prints_both_tables(capsys):
    args = ["compare", str(CURRENT), "--indicator", "SIPAS", "--draws", "200"]
    assert cli.main(args) == 0
    comparisons, ranks = capsys.readouterr().out.split("\n\n")
    assert comparisons.splitlines()[0] == ",".join(COMPARE_COLUMNS)
    assert len(comparisons.splitlines()) == 1 + 5
    assert ranks.splitlines()[0] == ",".join(RANK_COLUMNS)
    assert len(ranks.splitlines()) == 1 + 5


def test_compare_reports_errors_without_output(tmp_path, capsys):
    out = tmp_path / "compare.csv"
    args = ["compare", str(CURRENT), "--indicator", "9.9", "--out", str(out)]
    assert cli.main(args) == 2
    assert "unknown indicators" in capsys.readouterr().err
    assert not out.exists()
    ranks = tmp_path / "missing" / "ranks.csv"
    args = ["compare", str(CURRENT), "--out", str(out), "--ranks", str(ranks)]
    assert cli.main(args) == 2
    assert not out.exists()


def test_indices_rake_and_trim(tmp_path):
    out = tmp_path / "indices.csv"
    args = ["indices", str(CURRENT), "--rake", str(MARGINS[0])]
    args += ["--rake", str(MARGINS[1]), "--trim", "0.3x,3x", "--out", str(out)]
    assert cli.main(args) == 0
    frame = cli.read_responses(CURRENT)
    margins = [pd.read_csv(path, dtype={"unit": str}) for path in MARGINS]
    raked = rake(design_of(frame), frame, margins)
    mean = raked.weights.mean()
    design = trim_weights(raked, lower=0.3 * mean, upper=3 * mean, strict=True)
    expected = indices(frame, load_structure("sipas-2640"), design=design)
    got = read(out)
    assert list(got.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-14)
    np.testing.assert_allclose(got["se"], expected["se"], rtol=1e-14)


def test_indices_rake_matches_r_calibrate(tmp_path):
    """--rake gives R's calibrate(calfun="raking") SEs (reference_weights_estimates)."""
    out = tmp_path / "indices.csv"
    args = ["indices", str(CURRENT), "--out", str(out)]
    assert cli.main([*args, "--rake", str(MARGINS[0]), "--rake", str(MARGINS[1])]) == 0
    got = read(out)
    got = got[got["indicator"] == "1.1"].set_index("unit")
    reference = pd.read_csv(REFERENCE / "reference_weights_estimates.csv")
    reference = reference[
        (reference["design"] == "calibrate") & (reference["statistic"] == "ratio_1.1")
    ].set_index("domain")
    np.testing.assert_allclose(
        got.loc[reference.index, "estimate"], 100 * reference["estimate"], rtol=1e-8
    )
    np.testing.assert_allclose(
        got.loc[reference.index, "se"], 100 * reference["se"], rtol=1e-8
    )


def test_indices_rake_reports_empty_cell(tmp_path, capsys):
    margin = pd.read_csv(MARGINS[1])
    margin.loc[len(margin)] = ["U01", "99+", 10]
    path = tmp_path / "age.csv"
    margin.to_csv(path, index=False)
    out = tmp_path / "indices.csv"
    args = ["indices", str(CURRENT), "--rake", str(path), "--out", str(out)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: margin (unit, age_group): cells with a population")
    assert "unit=U01, age_group=99+" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "bounds"),
    [("0.5x,2x", (5.0, 20.0)), (",40", (-np.inf, 40.0)), ("3,", (3.0, np.inf))],
)
def test_parse_trim(text, bounds):
    assert parse_trim(text, 10.0) == bounds


@pytest.mark.parametrize("text", ["1", "a,2", "1,2,3"])
def test_parse_trim_rejects(text):
    with pytest.raises(CommandError, match="--trim"):
        parse_trim(text, 10.0)


def test_module_entry_point_runs_plan(tmp_path):
    source = tmp_path / "units.csv"
    source.write_text("unit,population\nA,1000\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "plan", str(source)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ",".join(PLAN_COLUMNS)
    assert lines[1].endswith(",278,286")
