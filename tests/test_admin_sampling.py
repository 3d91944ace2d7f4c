"""The sampled channel in the workspace and from the command line: plan, draw, slips,
links, delivery, and the channels side by side on the results pages."""

import csv
import io
import random

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    Invitation,
    InvitationBatch,
    SamplePlan,
    SurveyPeriod,
    Unit,
)
from survey.services import demo, sampling
from tests.helpers import logged_in
from tests.sample_data import add_register, deliver_all, drawn_period
from tests.seed import PERIOD_ID

PLAN = f"/admin/periods/{PERIOD_ID}/sample"
INVITATIONS = f"/admin/periods/{PERIOD_ID}/invitations"
INPUTS = {
    "design": "srswor",
    "moe": "10",
    "level": "0.95",
    "share": "50",
    "deff": "1,5",
    "response_rate": "50",
    "min_per_field": "0",
}


@pytest.fixture
def with_register(app):
    with app.app_context():
        add_register()


@pytest.fixture
def drawn(app):
    with app.app_context():
        period = drawn_period()
        return [b.id for b in db.session.scalars(sa.select(InvitationBatch))], period.id


def test_plan_page_proposes_from_the_register(admin_client, with_register):
    html = admin_client.get(PLAN).get_data(as_text=True)
    assert "Sở Tư pháp" in html
    assert "Hộ tịch" in html  # fields in words, not codes
    assert "Lưu kế hoạch" in html
    assert 'name="n2"' in html  # respondents of Sở Tư pháp, editable


def test_plan_page_reproposes_and_refuses_bad_inputs(admin_client, with_register):
    response = admin_client.post(PLAN, data=INPUTS | {"action": "propose"})
    assert response.status_code == 200
    bad = admin_client.post(PLAN, data=INPUTS | {"moe": "0,1", "action": "propose"})
    assert bad.status_code == 422
    assert "Từ 0.5 đến 30" in bad.get_data(as_text=True)


def test_saving_a_plan_with_an_adjusted_unit(app, admin_client, with_register):
    response = admin_client.post(
        PLAN, data=INPUTS | {"action": "save", "n2": "30", "n3": ""}
    )
    assert response.status_code == 302
    with app.app_context():
        plan = db.session.scalars(sa.select(SamplePlan)).one()
        stp = [s for s in plan.strata if s.unit_id == 2]
        assert sum(s.needed for s in stp) == 30
        assert plan.deff == 1.5
        assert db.session.scalar(
            sa.select(AuditEntry.user_id).filter_by(action="sample.plan")
        )
    assert "Rút mẫu" in admin_client.get(PLAN).get_data(as_text=True)


def test_draw_then_deliver_then_slips_and_links(app, admin_client, with_register):
    admin_client.post(PLAN, data=INPUTS | {"action": "save"})
    response = admin_client.post(f"{PLAN}/draw")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(INVITATIONS)
    page = admin_client.get(INVITATIONS).get_data(as_text=True)
    assert "Đã rút" in page
    assert "chưa giao" in page
    with app.app_context():
        batch = db.session.scalars(sa.select(InvitationBatch).limit(1)).one()
        mine = db.session.scalars(
            sa.select(Invitation.code).filter_by(batch_id=batch.id)
        ).all()
    slips = admin_client.get(f"{INVITATIONS}/slips", query_string={"batch": batch.id})
    html = slips.get_data(as_text=True)
    assert slips.status_code == 200
    assert html.count('class="slip"') == len(mine)
    assert html.count('class="sheet"') == -(-len(mine) // 8)
    assert html.count("<svg") == len(mine)
    assert "Hạn trả lời" in html
    links = admin_client.get(
        f"{INVITATIONS}/links.csv", query_string={"batch": batch.id}
    )
    rows = list(
        csv.DictReader(io.StringIO(links.get_data(as_text=True).lstrip("\ufeff")))
    )
    assert len(rows) == len(mine)
    assert {r["link"].rsplit("/", 1)[1] for r in rows} == set(mine)
    assert all(r["dossier_code"].startswith("HS-") for r in rows)
    delivered = admin_client.post(
        f"{INVITATIONS}/delivered", data={"batch": [str(batch.id)]}
    )
    assert delivered.status_code == 302
    with app.app_context():
        assert db.session.get(InvitationBatch, batch.id).delivered_at is not None
    assert "đã giao" in admin_client.get(INVITATIONS).get_data(as_text=True)
    # a drawn plan is shown, not editable, and can be checked for reproducibility
    plan = admin_client.get(PLAN, query_string={"verify": 1}).get_data(as_text=True)
    assert "Lưu kế hoạch" not in plan
    assert "Kiểm tra tái lập: rút lại" in plan


def test_draw_refusal_is_a_message_not_an_error(admin_client, with_register):
    response = admin_client.post(f"{PLAN}/draw", follow_redirects=True)
    assert response.status_code == 200
    assert "Chưa có kế hoạch mẫu" in response.get_data(as_text=True)


def test_slips_of_another_periods_batch_are_not_found(admin_client, drawn):
    batches, _ = drawn
    missing = admin_client.get(f"{INVITATIONS}/slips", query_string={"batch": 9999})
    assert missing.status_code == 404
    assert admin_client.get(f"{INVITATIONS}/slips").status_code == 404


def test_viewer_reads_the_plan_but_cannot_print_codes(app, drawn):
    viewer = logged_in(app, "viewer")
    assert viewer.get(PLAN).status_code == 200
    assert viewer.get(INVITATIONS).status_code == 200
    batches, _ = drawn
    assert viewer.get(f"{INVITATIONS}/slips?batch={batches[0]}").status_code == 403
    assert viewer.get(f"{INVITATIONS}/links.csv").status_code == 403


@pytest.fixture
def both_channels(app):
    with app.app_context():
        period = drawn_period()
        deliver_all(period)
        demo.add_sampled_responses(period, 0.6, random.Random(2))
        demo.add_synthetic_responses(period, 150, random.Random(3))


def test_results_show_the_sample_with_the_counter_beside_it(
    admin_client, both_channels
):
    html = admin_client.get(f"/admin/periods/{PERIOD_ID}/results").get_data(
        as_text=True
    )
    assert "phiếu mẫu ngẫu nhiên dùng để tính" in html
    assert "QR tại quầy" in html
    assert "Quầy − mẫu" in html
    counter_only = admin_client.get(
        f"/admin/periods/{PERIOD_ID}/results", query_string={"channel": "counter"}
    ).get_data(as_text=True)
    assert "Quầy − mẫu" not in counter_only


def test_dashboard_shows_response_rates(admin_client, both_channels):
    html = admin_client.get(f"/admin/?period_id={PERIOD_ID}").get_data(as_text=True)
    assert "Mẫu ngẫu nhiên: tỷ lệ phản hồi" in html
    assert "RR1" in html


def test_publication_names_each_numbers_channel(app, admin_client, both_channels):
    with app.app_context():
        db.session.get(SurveyPeriod, PERIOD_ID).status = "closed"
        db.session.commit()
    published = admin_client.post(
        f"/admin/periods/{PERIOD_ID}/publish", data={"channel": "auto", "confirm": "1"}
    )
    assert published.status_code == 302
    html = admin_client.get(f"/results/{PERIOD_ID}").get_data(as_text=True)
    assert "mẫu ngẫu nhiên" in html
    assert "tỷ lệ phản hồi" in html
    assert "Hai kênh: mẫu ngẫu nhiên và QR tại quầy" in html
    assert "AAPOR RR1" in html
    download = admin_client.get(f"/results/{PERIOD_ID}.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(download.lstrip("\ufeff"))))
    assert {r["channel"] for r in rows} == {"sample", "counter"}
    stp = [r for r in rows if r["unit"] == "STP" and r["indicator"] == "SIPAS"]
    assert sorted(r["channel"] for r in stp) == ["counter", "sample"]
    assert next(r for r in stp if r["channel"] == "sample")["rr1"]


# --------------------------------------------------------------------------------------
# command line


def test_cli_plan_draw_verify_export(app, runner, tmp_path, with_register):
    units = tmp_path / "units.csv"
    units.write_text("unit_code,needed\nSTP,40\n", encoding="utf-8")
    shown = runner.invoke(
        args=["sample-plan", str(PERIOD_ID), "--moe", "10", "--units", str(units)]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("unit,name,field,expected")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SamplePlan.id))) == 0
    strata = tmp_path / "strata.csv"
    strata.write_text("unit_code,field,draw\nX-HB,dat-dai,45\n", encoding="utf-8")
    saved = runner.invoke(
        args=["sample-plan", str(PERIOD_ID), "--strata", str(strata), "--save"]
    )
    assert saved.exit_code == 0, saved.output
    drawn = runner.invoke(args=["sample-draw", str(PERIOD_ID)])
    assert drawn.exit_code == 0, drawn.output
    assert "drawn" in drawn.output
    with app.app_context():
        xhb = db.session.scalar(sa.select(Unit.id).filter_by(code="X-HB"))
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Invitation.id)).filter_by(
                    unit_id=xhb, field="dat-dai"
                )
            )
            == 45
        )
        batch = db.session.scalars(sa.select(InvitationBatch.id).limit(1)).one()
    assert runner.invoke(args=["sample-verify", str(PERIOD_ID)]).output.startswith(
        "ok: the same"
    )
    again = runner.invoke(args=["sample-draw", str(PERIOD_ID)])
    assert again.exit_code == 1
    links, slips = tmp_path / "links.csv", tmp_path / "slips.html"
    exported = runner.invoke(
        args=[
            "invitations",
            str(PERIOD_ID),
            "--batch",
            str(batch),
            "--links",
            str(links),
            "--slips",
            str(slips),
            "--delivered",
            "--base-url",
            "https://khaosat.example.vn",
        ]
    )
    assert exported.exit_code == 0, exported.output
    assert "https://khaosat.example.vn/i/" in links.read_text(encoding="utf-8")
    page = slips.read_text(encoding="utf-8")
    assert "<style>" in page
    assert "khaosat.example.vn/i" in page
    assert "1 batch(es) marked" in exported.output


def test_cli_refuses_unknown_units_and_periods(runner, tmp_path, with_register):
    units = tmp_path / "units.csv"
    units.write_text("unit_code,needed\nNOPE,4\n", encoding="utf-8")
    result = runner.invoke(args=["sample-plan", str(PERIOD_ID), "--units", str(units)])
    assert result.exit_code == 1
    assert "unknown unit(s) NOPE" in result.output
    assert runner.invoke(args=["sample-draw", "999"]).exit_code == 1


def test_service_and_cli_agree_on_the_plan(app, runner, with_register):
    output = runner.invoke(args=["sample-plan", str(PERIOD_ID)]).output
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        proposal = sampling.propose(period, sampling.PlanSettings())
    rows = [line.split(",") for line in output.splitlines()[1:] if "," in line]
    rows = [row for row in rows if len(row) > 5]
    assert [(r[0], r[2], int(r[-2])) for r in rows] == list(
        zip(proposal["unit"], proposal["field"], proposal["draw"], strict=True)
    )
