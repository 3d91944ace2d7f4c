"""The 1001/QĐ-BNV questionnaires: their structure, and answering one at a counter."""

import pytest
import sqlalchemy as sa

from analysis.questionnaire import QuestionnaireError, load_questionnaire
from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse
from survey.services.questionnaires import get_questionnaire
from tests.helpers import counter_path, field_name, served_form
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

PATH = counter_path(OPEN_COUNTER_ID)
HOUSEHOLD = load_questionnaire("sipas-1001")
COUNTER = load_questionnaire("sipas-1001-dv")


def test_household_version_has_39_items_in_the_methods_blocks():
    assert [a.code for a in HOUSEHOLD.areas] == ["I", "II"]
    sizes = {e.code: len(e.criteria) for e in HOUSEHOLD.elements}
    assert sizes == {
        "I.A": 2,
        "I.B": 2,
        "I.C": 9,
        "I.D": 10,
        "II.A": 3,
        "II.B": 4,
        "II.C": 3,
        "II.D": 3,
        "II.E": 3,
    }
    structure = HOUSEHOLD.structure
    items = [
        sum(len(structure.elements[e]) for e in codes)
        for codes in structure.areas.values()
    ]
    assert items == [23, 16]
    assert structure.composites[:3] == ["SIPAS", "I", "II"]
    assert HOUSEHOLD.aggregation == "items"
    priorities = [q for q in HOUSEHOLD.questions if q.section == "priorities"]
    assert len(priorities) == 10
    assert {tuple(o.label for o in q.options) for q in priorities} == {
        ("Không", "Khá", "Mong muốn", "Rất mong muốn")
    }


def test_counter_version_asks_the_16_service_items_of_the_household_form():
    assert len(COUNTER.criteria) == 16
    assert [(c.code, c.text) for c in COUNTER.criteria] == [
        (c.code, c.text) for c in HOUSEHOLD.criteria[23:]
    ]
    assert [e.code for e in COUNTER.elements] == [
        "II.A",
        "II.B",
        "II.C",
        "II.D",
        "II.E",
    ]
    assert COUNTER.areas == ()
    assert {"field", "overall", "suggestion"} <= {q.code for q in COUNTER.questions}


@pytest.mark.parametrize("version", [HOUSEHOLD, COUNTER])
def test_1001_versions_have_no_no_opinion_and_are_marked_unconfirmed(version):
    assert version.no_opinion is None
    assert not version.criteria_required
    assert not version.confirmed
    assert "chưa đối chiếu" in version.source
    assert [o.label for o in version.scale] == [
        "Rất không hài lòng",
        "Không hài lòng",
        "Bình thường",
        "Hài lòng",
        "Rất hài lòng",
    ]


def test_areas_must_cover_every_element_once():
    text = (HOUSEHOLD_TEXT := _text("sipas-1001")).replace(
        'elements = ["I.A", "I.B", "I.C", "I.D"]', 'elements = ["I.A", "I.B", "I.C"]'
    )
    assert text != HOUSEHOLD_TEXT
    with pytest.raises(QuestionnaireError, match="areas must hold every element"):
        _parse(text)


def test_satisfied_codes_must_be_on_the_scale():
    with pytest.raises(QuestionnaireError, match="satisfied codes"):
        _parse(_text("sipas-1001-dv").replace("satisfied = [4, 5]", "satisfied = [6]"))


def _text(code: str) -> str:
    from analysis.questionnaire import QUESTIONNAIRE_DIR

    return (QUESTIONNAIRE_DIR / f"{code}.toml").read_text(encoding="utf-8")


def _parse(text: str):
    from analysis.questionnaire import parse_questionnaire

    return parse_questionnaire(text, "edited.toml")


# answering -----------------------------------------------------------------------


@pytest.fixture
def counter_period(app):
    """The seeded open period, switched to the counter version of 1001/QĐ-BNV."""
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001-dv")
        db.session.commit()
    return app


def answers_1001(value: str = "4", skip: tuple[str, ...] = ()) -> dict[str, str]:
    data = {field_name(c.code): value for c in COUNTER.criteria if c.code not in skip}
    return data | {field_name("overall"): value, field_name("field"): "dat-dai"}


def stored_answers(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(SurveyResponse.answers)))


def test_form_offers_five_labelled_levels_and_no_no_opinion(counter_period, client):
    html = client.get(PATH).get_data(as_text=True)
    assert "Không ý kiến" not in html
    assert 'value="0"' not in html
    assert html.count('class="scale five"') == 16
    assert "Điểm phục vụ hành chính công có biển hiệu" in html
    assert "Tiêu chí nào Ông/Bà chưa trải nghiệm thì bỏ qua." in html


def test_unanswered_items_are_stored_as_missing(counter_period, client):
    skip = ("II.E.1", "II.E.2", "II.E.3")
    data = answers_1001("5", skip=skip) | served_form(client, PATH)
    assert client.post(PATH, data=data).status_code == 303
    (stored,) = stored_answers(counter_period)
    assert stored == "5" * 13 + "000" + "5"  # 16 items, then the overall question


def test_a_sheet_without_any_item_is_refused_with_a_reason(counter_period, client):
    skip = tuple(c.code for c in COUNTER.criteria)
    response = client.post(
        PATH, data=answers_1001(skip=skip) | served_form(client, PATH)
    )
    assert response.status_code == 422
    assert "Vui lòng trả lời ít nhất một tiêu chí." in response.get_data(as_text=True)
    assert stored_answers(counter_period) == []


def test_no_opinion_is_not_an_answer_of_this_method(counter_period, client):
    data = answers_1001() | {field_name("II.A.1"): "0"} | served_form(client, PATH)
    response = client.post(PATH, data=data)
    assert response.status_code == 422
    assert "Câu trả lời không hợp lệ" in response.get_data(as_text=True)
    assert stored_answers(counter_period) == []


def test_household_form_shows_areas_and_priorities(app, client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001")
        db.session.commit()
    html = client.get(PATH).get_data(as_text=True)
    assert "I. Sự hài lòng về chính sách" in html
    assert "II. Sự hài lòng về dịch vụ hành chính công" in html
    assert "Ông/Bà mong muốn chính quyền cải thiện điều gì?" in html
    assert html.count('class="scale five"') == 39
    assert "Khoảng 4 phút, 39 tiêu chí" in html
