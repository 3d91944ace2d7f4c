"""Questionnaire versions: the official 2640 file, validation, and freezing after responses."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from analysis.questionnaire import QuestionnaireError, load_file, parse_questionnaire
from survey.extensions import db
from survey.models import Questionnaire
from survey.services.questionnaires import QuestionnaireFrozen, sync_questionnaires
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID

FOLDER = Path(__file__).resolve().parent.parent / "questionnaires"
SIPAS_2640 = (FOLDER / "sipas-2640.toml").read_text(encoding="utf-8")


def test_sipas_2640_has_five_elements_and_22_criteria():
    definition, _ = load_file(FOLDER / "sipas-2640.toml")
    assert [e.code for e in definition.elements] == ["E1", "E2", "E3", "E4", "E5"]
    assert [len(e.criteria) for e in definition.elements] == [4, 5, 6, 3, 4]
    assert definition.criteria[0].code == "1.1"
    assert definition.criteria[-1].code == "5.4"
    assert definition.aggregation == "criteria_then_elements"
    assert [o.label for o in definition.scale][0] == "Rất không hài lòng"
    assert definition.question("overall").on_scale
    assert definition.question("suggestion").max_length == 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('aggregation = "criteria_then_elements"', 'aggregation = "median"'),
            "aggregation must be one of",
        ),
        (('code = "1.2"', 'code = "1.1"'), "duplicate code '1.1'"),
        (('5 = "Rất hài lòng"', ""), "scale must list the answers 1 to 5"),
        (('kind = "multi"', 'kind = "ranking"'), "kind must be one of"),
        (("[[elements]]", "[[elements"), "not valid TOML"),
    ],
)
def test_invalid_questionnaire_names_the_problem(change, message):
    with pytest.raises(QuestionnaireError, match=message) as error:
        parse_questionnaire(SIPAS_2640.replace(*change, 1), "broken.toml")
    assert str(error.value).startswith("broken.toml: ")


def test_missing_key_is_reported():
    with pytest.raises(QuestionnaireError, match="missing key 'aggregation'"):
        parse_questionnaire(
            SIPAS_2640.replace('aggregation = "criteria_then_elements"', "")
        )


def write_version(folder: Path, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "sipas-2640.toml").write_text(text, encoding="utf-8")


def test_version_without_responses_can_be_corrected(app_ctx, tmp_path):
    write_version(tmp_path, SIPAS_2640.replace("Nơi ngồi chờ", "Nơi chờ"))
    assert sync_questionnaires(str(tmp_path)) == ["sipas-2640"]
    stored = db.session.scalar(sa.select(Questionnaire).filter_by(code="sipas-2640"))
    assert "Nơi chờ có đủ chỗ ngồi" in stored.content


def test_version_with_responses_is_frozen(app, client, tmp_path):
    path = counter_path(OPEN_COUNTER_ID)
    assert (
        client.post(
            path, data=complete_answers() | served_form(client, path)
        ).status_code
        == 303
    )
    write_version(tmp_path, SIPAS_2640.replace("Nơi ngồi chờ", "Nơi chờ"))
    with app.app_context():
        with pytest.raises(QuestionnaireFrozen, match="đã có phiếu trả lời"):
            sync_questionnaires(str(tmp_path))
        stored = db.session.scalar(
            sa.select(Questionnaire).filter_by(code="sipas-2640")
        )
        assert "Nơi ngồi chờ" in stored.content
        assert sync_questionnaires() == []  # the unchanged file is accepted
