"""Scale answers in words on the response page, and the questionnaires' English renderings
(``<code>.en.toml`` beside a frozen version, ``label_en`` in a file)."""

import re
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa

from analysis.questionnaire import (
    QUESTIONNAIRE_DIR,
    QuestionnaireError,
    content_hash,
    english_path,
    load_questionnaire,
    parse_questionnaire,
    with_english,
)
from survey.extensions import db
from survey.models import Questionnaire, SurveyPeriod, SurveyResponse
from survey.services.questionnaires import get_questionnaire, sync_questionnaires
from tests.helpers import complete_answers, counter_path, field_name, served_form
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

ENGLISH = ("sipas-2640", "sipas-1001-dv")


def vietnamese_texts(definition) -> set[str]:
    """Every worded item of a version whose English is missing or differs."""
    texts = {(c.text, c.text_en) for c in definition.criteria}
    texts |= {(e.title, e.title_en) for e in definition.elements}
    texts |= {(q.label, q.label_en) for q in definition.questions}
    texts |= {(o.label, o.label_en) for q in definition.questions for o in q.options}
    texts |= {(o.label, o.label_en) for o in definition.scale}
    return {vi for vi, en in texts if en != vi and re.search(r"[^\W\d_]", vi)}


def visible_text(html: str) -> str:
    body = html[html.index("<main") :]
    return unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize("code", ENGLISH)
def test_every_item_of_the_shipped_versions_has_english(code):
    definition = load_questionnaire(code)
    assert all(c.text_en for c in definition.criteria)
    assert all(e.title_en for e in definition.elements)
    for question in definition.questions:
        assert question.label_en, question.code
        # options whose wording is a number range need none ("18–25")
        worded = [o for o in question.options if re.search(r"[^\d–+ ]", o.label)]
        assert all(o.label_en for o in worded if o.label != "Kinh"), question.code
    assert all(o.label_en for o in definition.scale)
    assert (definition.no_opinion is None) == (definition.no_opinion_en == "")


def test_english_lives_beside_the_file_and_leaves_its_hash(app):
    """The English file is not a version and does not change the stored content."""
    text = (QUESTIONNAIRE_DIR / "sipas-2640.toml").read_text(encoding="utf-8")
    with app.app_context():
        stored = get_questionnaire("sipas-2640")
        assert stored.content_hash == content_hash(text)
        assert "Very dissatisfied" not in stored.content
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(Questionnaire.code.like("%.en"))
            )
            == 0
        )
        assert sync_questionnaires() == []  # nothing changed, nothing frozen refused


def test_sync_ignores_english_files_even_when_a_version_has_responses(
    app, client, tmp_path
):
    path = counter_path(OPEN_COUNTER_ID)
    client.post(path, data=complete_answers() | served_form(client, path))
    for name in ("sipas-2640.toml", "sipas-2640.en.toml"):
        (tmp_path / name).write_text(
            (QUESTIONNAIRE_DIR / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    edited = tmp_path / "sipas-2640.en.toml"
    edited.write_text(
        edited.read_text(encoding="utf-8").replace("Gender", "Sex"), encoding="utf-8"
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 1
        assert sync_questionnaires(str(tmp_path)) == []


def test_english_file_with_an_unknown_code_is_refused(tmp_path):
    definition = load_questionnaire("sipas-2640")
    for text, word in (
        ('[criteria]\n"9.9" = "x"\n', "9.9"),
        ('[questions.field]\noptions = { nowhere = "x" }\n', "nowhere"),
        ("[elements\n", "TOML"),
    ):
        wrong = tmp_path / "sipas-2640.en.toml"
        wrong.write_text(text, encoding="utf-8")
        with pytest.raises(QuestionnaireError, match=word):
            with_english(definition, wrong)


def test_label_en_is_read_from_the_version_file():
    text = (QUESTIONNAIRE_DIR / "sipas-2640.toml").read_text(encoding="utf-8")
    text = text.replace(
        'label = "Giới tính"', 'label = "Giới tính"\nlabel_en = "Gender (file)"'
    ).replace(
        '{ code = "nam", label = "Nam" }',
        '{ code = "nam", label = "Nam", label_en = "Male (file)" }',
    )
    definition = parse_questionnaire(text, "edited.toml")
    gender = definition.question("gender")
    assert gender.label_en == "Gender (file)"
    assert gender.option_en("nam") == "Male (file)"
    assert gender.option_en("nu") == ""
    # the file beside it wins where it speaks, the version's own rendering elsewhere
    merged = with_english(definition, english_path(QUESTIONNAIRE_DIR, "sipas-2640"))
    assert merged.question("gender").label_en == "Gender"
    assert merged.question("age_group").option_en("61+") == "Over 60"


@pytest.mark.parametrize("code", ENGLISH)
def test_english_survey_shows_no_vietnamese_item_text(app, client, code):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire(code)
        db.session.commit()
    path = counter_path(OPEN_COUNTER_ID)
    client.get("/lang/en")
    page = visible_text(client.get(path).get_data(as_text=True))
    definition = load_questionnaire(code)
    for text in vietnamese_texts(definition):
        assert text not in page, text
    assert definition.criteria[0].text_en in page
    assert definition.question("field").option_en("ho-tich") in page
    assert "Very dissatisfied" in page
    # the error summary names the questions in English too
    failed = client.post(
        path, data={field_name("overall"): "4"} | served_form(client, path)
    )
    summary = visible_text(failed.get_data(as_text=True))
    summary = summary[: summary.index(definition.elements[0].title_en)]
    assert definition.criteria[0].text_en[:40] in summary
    assert definition.criteria[0].text[:40] not in summary
    client.get("/lang/vi")
    vietnamese = visible_text(client.get(path).get_data(as_text=True))
    assert definition.criteria[0].text in vietnamese
    assert definition.question("field").options[1].label in vietnamese


def answered(app, client, **overrides) -> int:
    path = counter_path(OPEN_COUNTER_ID)
    client.post(path, data=complete_answers(**overrides) | served_form(client, path))
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))


def answer_cells(html: str) -> list[str]:
    return [unescape(c) for c in re.findall(r'<td class="answer">([^<]*)</td>', html)]


def test_response_page_shows_scale_answers_in_words(app, client, admin_client):
    response_id = answered(
        app, client, **{field_name("1.1"): "0", field_name("1.2"): "1"}
    )
    html = admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    cells = answer_cells(html)
    assert cells[:3] == [
        "Không có ý kiến / không áp dụng",
        "1 · Rất không hài lòng",
        "4 · Hài lòng",
    ]
    assert cells[-1] == "4 · Hài lòng"  # the overall question
    assert len(cells) == 22 + 1
    admin_client.get("/lang/en")
    english = admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert answer_cells(english)[:3] == [
        "No opinion / not applicable",
        "1 · Very dissatisfied",
        "4 · Satisfied",
    ]
    assert "The waiting area has enough seats" in english
    assert "Nơi ngồi chờ có đủ chỗ ngồi" not in english
    assert "Civil status" in english  # the field, and the extra answers in English
    assert (
        "Attitude and competence of civil servants, Shorter processing time" in english
    )
    assert "Thái độ và năng lực của công chức" not in english


def test_response_page_of_a_1001_version_says_unanswered(app, client, admin_client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001-dv")
        db.session.commit()
    definition = load_questionnaire("sipas-1001-dv")
    path = counter_path(OPEN_COUNTER_ID)
    data = {field_name(c.code): "5" for c in definition.criteria[1:]}
    data |= {field_name("overall"): "3", field_name("field"): "dat-dai"}
    client.post(path, data=data | served_form(client, path))
    with app.app_context():
        response_id = db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))
    html = admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    cells = answer_cells(html)
    assert cells[:2] == ["Không trả lời", "5 · Rất hài lòng"]
    assert cells[-1] == "3 · Bình thường"
    admin_client.get("/lang/en")
    english = answer_cells(
        admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    )
    assert english[:2] == ["Not answered", "5 · Very satisfied"]


def test_english_file_path_is_beside_the_version():
    assert english_path(Path("q"), "sipas-2640") == Path("q/sipas-2640.en.toml")
