"""A period on the 1001/QĐ-BNV counter questionnaire, end to end.

Citizens answer at the counter (QR) and through sampled invitations, some items left
blank; the workspace computes every block and item with its standard error; the
period is published, read by the public and verified from the raw responses.
"""

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

import analysis
from analysis.questionnaire import load_questionnaire
from survey import clock
from survey.extensions import db
from survey.models import Publication, SurveyPeriod, SurveyResponse
from survey.services import demo, indices
from survey.services.questionnaires import get_questionnaire
from tests.helpers import counter_path, field_name, logged_in, served_form
from tests.sample_data import codes, drawn_period
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID, PERIOD_ID

COUNTER = load_questionnaire("sipas-1001-dv")
BLOCKS = ["II.A", "II.B", "II.C", "II.D", "II.E"]


def answer_sheet(rng: random.Random) -> dict[str, str]:
    data = {
        field_name("overall"): str(rng.randint(3, 5)),
        field_name("field"): "ho-tich",
    }
    for criterion in COUNTER.criteria:
        if criterion.code.startswith("II.E") and rng.random() < 0.4:
            continue  # no feedback given: left blank
        data[field_name(criterion.code)] = str(rng.choice((2, 3, 4, 4, 5, 5)))
    return data


def test_a_1001_counter_period_runs_end_to_end(app, runner):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001-dv")
        db.session.commit()
    rng = random.Random(1001)
    for visit, counter in enumerate((OPEN_COUNTER_ID, OTHER_COUNTER_ID) * 45):
        day = clock.today() - timedelta(days=visit % 15)  # PSUs are counter-days
        with clock.travel(clock.day_start(day) + timedelta(hours=2, minutes=visit)):
            client = app.test_client()
            path = counter_path(counter)
            sheet = answer_sheet(rng) | served_form(client, path)
            assert client.post(path, data=sheet).status_code == 303

    with app.app_context():
        invited = codes(drawn_period())[:12]
    for invitation in invited:  # sampled citizens answer on the same questionnaire
        client = app.test_client()
        sheet = answer_sheet(rng)
        del sheet[field_name("field")]  # the register knows the dossier's field
        form = served_form(client, f"/i/{invitation}")
        assert client.post(f"/i/{invitation}", data=sheet | form).status_code == 303
    with app.app_context():
        channels = db.session.execute(
            sa.select(SurveyResponse.channel, sa.func.count()).group_by(
                SurveyResponse.channel
            )
        ).all()
    assert dict(channels) == {"counter": 90, "sample": 12}

    admin = logged_in(app, "admin")
    results = admin.get(f"/admin/periods/{PERIOD_ID}/results")
    assert results.status_code == 200
    unit_page = admin.get(f"/admin/periods/{PERIOD_ID}/results/units/STP")
    html = unit_page.get_data(as_text=True)
    for block in COUNTER.elements:
        assert block.title in html
    assert "Thông báo kết quả xử lý phản ánh, kiến nghị kịp thời" in html
    with app.app_context():
        computed = indices.compute(
            db.session.get(SurveyPeriod, PERIOD_ID), indices.Settings(channel="counter")
        )
        table = computed.table.set_index(["unit", "indicator"])
        both = indices.compute(
            db.session.get(SurveyPeriod, PERIOD_ID), indices.Settings()
        )
    assert both.channel == "both"  # the sample's table, the counter's beside it
    sampled = both.table.set_index(["unit", "indicator"])
    assert sampled.loc[(analysis.ALL, "II.A"), "n"] == 12
    for code in ["SIPAS", *BLOCKS, *(c.code for c in COUNTER.criteria)]:
        row = table.loc[(analysis.ALL, code)]
        assert 0 < row["se"] < 15, code
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
    # the overall index is the mean of the 16 items, not of the five blocks
    items = [table.loc[(analysis.ALL, c.code), "estimate"] for c in COUNTER.criteria]
    assert table.loc[(analysis.ALL, "SIPAS"), "estimate"] == pytest.approx(
        sum(items) / 16
    )
    assert table.loc[(analysis.ALL, "II.E.1"), "n"] < 90  # blanks are out

    admin.post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})
    published = admin.post(
        f"/admin/periods/{PERIOD_ID}/publish",
        data={
            "weighting": "none",
            "ci": "korn-graubard",
            "level": "0.95",
            "channel": "counter",
            "confirm": "1",
        },
    )
    assert published.status_code == 302
    public = app.test_client().get(f"/results/{PERIOD_ID}").get_data(as_text=True)
    assert "trung bình của tất cả các tiêu chí" in public
    assert "chưa đối chiếu với văn bản quyết định" in public
    with app.app_context():
        publication = db.session.scalar(sa.select(Publication))
        assert publication.questionnaire_code == "sipas-1001-dv"
        indicators = {r["indicator"] for r in publication.results}
        assert {"SIPAS", *BLOCKS, "II.E.3"} <= indicators
    verified = runner.invoke(args=["verify-publication", str(PERIOD_ID)])
    assert verified.exit_code == 0, verified.output


def test_household_results_show_fields_above_their_blocks(app):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001")
        db.session.commit()
        demo.add_synthetic_responses(period, 200, random.Random(39))
        table = indices.compute(period, indices.Settings()).table
    overall = table[table["unit"] == analysis.ALL].set_index("indicator")["estimate"]
    items = overall[[c.code for c in load_questionnaire("sipas-1001").criteria]]
    assert overall["SIPAS"] == pytest.approx(items.mean())
    assert overall["I"] == pytest.approx(items.iloc[:23].mean())
    html = logged_in(app, "admin").get(f"/admin/periods/{PERIOD_ID}/results/units/STP")
    text = html.get_data(as_text=True)
    assert text.index("Sự hài lòng về chính sách") < text.index(
        "Trách nhiệm giải trình"
    )
    assert text.index("Sự hài lòng về dịch vụ hành chính công") < text.index(
        "Tiếp cận dịch vụ hành chính công"
    )
