"""``python -m analysis indices``: CSV in, result table out, errors on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.columns import OUTPUT_COLUMNS
from analysis.design import make_design
from analysis.estimate import indices
from tests.analysis.conftest import REFERENCE, read_parents, read_reference_data

ROOT = Path(__file__).resolve().parents[2]
DATA = REFERENCE / "data_cluster.csv"
PARENTS = REFERENCE / "parents_cluster.csv"


def expected_table(structure, **options) -> pd.DataFrame:
    frame = read_reference_data("cluster")
    design = make_design(frame, strata="stratum", psu="psu", weight="weight", fpc="fpc")
    return indices(frame, structure, design=design, **options)


def read_output(path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"unit": str, "indicator": str, "note": str},
        keep_default_na=False,
        na_values=[""],
    )


def test_cli_indices_writes_full_precision_csv(tmp_path, structure):
    out = tmp_path / "indices.csv"
    code = cli.main(
        ["indices", str(DATA), "--parents", str(PARENTS), "--out", str(out)]
    )
    assert code == 0
    got = read_output(out)
    expected = expected_table(structure, parents=read_parents())
    assert list(got.columns) == OUTPUT_COLUMNS
    expected["note"] = expected["note"].replace("", np.nan)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=False)


def test_cli_indices_options_reach_the_estimator(tmp_path, structure):
    out = tmp_path / "indices.csv"
    args = ["indices", str(DATA), "--ci", "logit", "--level", "0.9", "--df", "design"]
    assert cli.main([*args, "--out", str(out)]) == 0
    expected = expected_table(structure, ci="logit", level=0.9, df="design")
    got = read_output(out)
    np.testing.assert_array_equal(got["ci_low"], expected["ci_low"])
    assert (got["df"] == 18 - 4).all()


def test_cli_indices_writes_stdout_by_default(capsys, structure):
    assert cli.main(["indices", str(DATA)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(OUTPUT_COLUMNS)
    assert len(lines) == 1 + len(expected_table(structure))


def test_cli_indices_writes_xlsx(tmp_path, structure):
    out = tmp_path / "indices.xlsx"
    assert cli.main(["indices", str(DATA), "--out", str(out)]) == 0
    got = pd.read_excel(out)
    expected = expected_table(structure)
    assert list(got.columns) == OUTPUT_COLUMNS
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-15)


def test_cli_indices_keeps_unit_codes_as_text(tmp_path):
    frame = read_reference_data("srs")
    frame["unit"] = frame["unit"].map({"u1": "001", "u2": "NA", "u3": "010"})
    source = tmp_path / "responses.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "indices.csv"
    assert cli.main(["indices", str(source), "--out", str(out)]) == 0
    units = read_output(out)["unit"].unique().tolist()
    assert units == ["ALL", "001", "010", "NA"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(**{"2.1": f["2.1"].fillna(6)}), "outside 1-5"),
        (lambda f: f.drop(columns="4.3"), "(criterion columns missing: 4.3)"),
        (lambda f: f.assign(weight=-f["weight"]), "negative"),
        (lambda f: f.assign(psu="p1"), "more than one stratum"),
    ],
)
def test_cli_indices_reports_bad_data_without_output(tmp_path, capsys, change, message):
    source = tmp_path / "responses.csv"
    change(read_reference_data("cluster")).to_csv(source, index=False)
    out = tmp_path / "indices.csv"
    assert cli.main(["indices", str(source), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [source]  # no output, no temporary file


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "table.json"], "--out must end in .csv or .xlsx"),
        (["--questionnaire", "sipas-9999"], "questionnaire not found"),
        (["--level", "95"], "--level must be between 0 and 1"),
        (["--by", "field"], "unknown domain column 'field'"),
        (["--lonely-psu", "fail"], None),
    ],
)
def test_cli_indices_reports_bad_options(tmp_path, capsys, args, message):
    out_args = [] if "--out" in args else ["--out", str(tmp_path / "x.csv")]
    data = REFERENCE / ("data_lonely.csv" if message is None else "data_cluster.csv")
    assert cli.main(["indices", str(data), *args, *out_args]) == 2
    assert (message or "only one PSU") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_indices_missing_file_is_an_error(tmp_path, capsys):
    assert cli.main(["indices", str(tmp_path / "none.csv")]) == 2
    assert "none.csv" in capsys.readouterr().err


def test_cli_runs_as_module(tmp_path):
    out = tmp_path / "indices.csv"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "indices", str(DATA), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert read_output(out).shape == (9 * 28, len(OUTPUT_COLUMNS))
    usage = subprocess.run(
        [sys.executable, "-m", "analysis"], cwd=ROOT, capture_output=True, check=False
    )
    assert usage.returncode == 2
