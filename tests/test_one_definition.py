"""One questionnaire definition: the command line and the web app agree on an export.

A period's CSV export, fed to ``python -m analysis indices`` with the period's
questionnaire, gives the numbers of the workspace's results, for the 1001/QĐ-BNV
counter version and for a version whose "satisfied" answers are 5 only (which the web
path once ignored).
"""

import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import analysis
from analysis.questionnaire import QUESTIONNAIRE_DIR, parse_questionnaire
from survey.extensions import db
from survey.models import SurveyPeriod
from survey.services import demo, indices
from survey.services.questionnaires import get_questionnaire, sync_questionnaires
from tests.helpers import logged_in
from tests.seed import PERIOD_ID

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ["estimate", "se", "ci_low", "ci_high", "df", "n", "n_eff", "deff"]


def top_box_version(folder: Path) -> Path:
    """The counter version with only "Rất hài lòng" (5) counted as satisfied."""
    text = (QUESTIONNAIRE_DIR / "sipas-1001-dv.toml").read_text(encoding="utf-8")
    text = text.replace('code = "sipas-1001-dv"', 'code = "test-top-box"', 1)
    text = text.replace("satisfied = [4, 5]", "satisfied = [5]", 1)
    folder.mkdir(exist_ok=True)
    path = folder / "test-top-box.toml"
    path.write_text(text, encoding="utf-8")
    return path


def web_and_cli(app, tmp_path: Path, version: str, file: str) -> tuple:
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire(version)
        db.session.commit()
        demo.add_synthetic_responses(period, 260, random.Random(3))
        web = indices.compute(period, indices.Settings()).table
    export = logged_in(app, "admin").get(f"/admin/periods/{PERIOD_ID}/responses.csv")
    assert export.status_code == 200
    responses = tmp_path / "responses.csv"
    responses.write_bytes(export.data)
    out = tmp_path / "indices.csv"
    run = subprocess.run(
        [sys.executable, "-m", "analysis", "indices", str(responses)]
        + ["--questionnaire", file, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    cli = pd.read_csv(out, dtype={"unit": str, "indicator": str})
    return web, cli


def assert_same_numbers(web: pd.DataFrame, cli: pd.DataFrame) -> None:
    keys = ["unit", "indicator"]
    mine = web[web["kind"] != "group"][keys + COMPARED].sort_values(keys)
    theirs = cli[keys + COMPARED].sort_values(keys)
    assert len(mine) == len(theirs) > 0
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True),
        theirs.reset_index(drop=True),
        check_dtype=False,
        rtol=1e-9,
    )


def test_cli_and_web_agree_on_a_1001_counter_period(app, tmp_path):
    web, cli = web_and_cli(app, tmp_path, "sipas-1001-dv", "sipas-1001-dv")
    assert set(cli["indicator"]) >= {"SIPAS", "II.A", "II.E", "II.E.3"}
    assert_same_numbers(web, cli)


def test_cli_and_web_agree_on_the_versions_satisfied_codes(app, tmp_path):
    path = top_box_version(tmp_path / "versions")
    with app.app_context():
        assert sync_questionnaires(str(path.parent)) == ["test-top-box"]
    web, cli = web_and_cli(app, tmp_path, "test-top-box", str(path))
    assert_same_numbers(web, cli)
    with app.app_context():
        definition = parse_questionnaire(path.read_text(encoding="utf-8"))
        answers = [
            definition.decode_answers(a)["II.A.1"]
            for a in db.session.scalars(sa.select(demo.SurveyResponse.answers))
        ]
    only_fives = 100 * sum(a == 5 for a in answers) / sum(a > 0 for a in answers)
    overall = web[(web["unit"] == analysis.ALL) & (web["indicator"] == "II.A.1")]
    assert overall["estimate"].iloc[0] == pytest.approx(only_fives)
