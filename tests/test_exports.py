"""Exports of raw responses: columns, round trip, XLSX, access, audit, and the CLI."""

import csv
import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

import analysis
from analysis.cli import main as analysis_main
from survey import clock
from survey.extensions import db
from survey.models import AuditEntry, SurveyPeriod, SurveyResponse
from survey.services import exports, indices
from tests.helpers import DEFINITION
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID, PERIOD_ID, REVOKED_COUNTER_ID

STP, XHB = 2, 3  # unit ids of the seed
# counter, unit: two counters of STP, one of X-HB, and STP's sampled channel (no counter)
SOURCES = ((OPEN_COUNTER_ID, STP), (REVOKED_COUNTER_ID, STP), (OTHER_COUNTER_ID, XHB),
           (None, STP))  # fmt: skip
COUNT = 60
EXCLUDED = {5, 17, 42}  # response ids
CSV_PATH = f"/admin/periods/{PERIOD_ID}/responses.csv"
XLSX_PATH = f"/admin/periods/{PERIOD_ID}/responses.xlsx"


def add_responses() -> None:
    """Store COUNT responses over several days, some no-opinion, a few excluded."""
    rng = random.Random(11)
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    items = DEFINITION.scale_items
    rows = []
    for number in range(1, COUNT + 1):
        counter_id, unit_id = SOURCES[number % len(SOURCES)]
        # 18:30 UTC is 01:30 of the next day in Vietnam: the PSU takes the Vietnam day.
        submitted = start + timedelta(
            days=number % 5, hours=17.5 if number % 7 == 0 else 2
        )
        answers = "".join(
            str(
                rng.choice((0, 1, 2, 3, 4, 5))
                if code != "overall"
                else rng.randint(1, 5)
            )
            for code in items
        )
        rows.append(SurveyResponse(
            period_id=PERIOD_ID, unit_id=unit_id, counter_id=counter_id,
            channel="sample" if counter_id is None else "counter",
            field=None if number % 9 == 0 else "ho-tich",
            submission_key=f"key-{number}", form_served_at=submitted - timedelta(minutes=3),
            submitted_at=submitted, answers=answers,
            extra={"gender": "nu", "age_group": "26-35"} if number % 2 else {},
            status="excluded" if number in EXCLUDED else "valid",
            flags=["device-repeat", "fast"] if number % 11 == 0 else [],
        ))  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()


@pytest.fixture
def stored(app) -> dict[int, dict]:
    """The seeded app with responses; returns what was stored, by response id."""
    with app.app_context():
        add_responses()
        query = sa.select(SurveyResponse).order_by(SurveyResponse.id)
        return {
            r.id: {"unit_id": r.unit_id, "answers": r.answers, "counter_id": r.counter_id,
                   "submitted_at": r.submitted_at, "field": r.field, "extra": dict(r.extra),
                   "flags": list(r.flags)}
            for r in db.session.scalars(query)
        }  # fmt: skip


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def vietnam_day(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(clock.VIETNAM).strftime("%Y%m%d")


def test_csv_columns_and_values_round_trip(stored, admin_client):
    response = admin_client.get(CSV_PATH)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    questions = [
        q for q in DEFINITION.questions if not q.on_scale and q.code != "field"
    ]
    assert header[: len(exports.BASE_COLUMNS)] == list(exports.BASE_COLUMNS)
    assert header[-len(exports.TAIL_COLUMNS) :] == list(exports.TAIL_COLUMNS)
    for question in questions:  # every question leaves the system, labelled if a choice
        assert question.code in header
        assert (f"{question.code}_label" in header) == bool(question.options)
    for code in ("suggestion", "overall", "expectations", "late", "harassment"):
        assert code in header
    assert {c.code for c in DEFINITION.criteria} <= set(header)
    rows = read_csv(body)
    assert [int(r["id"]) for r in rows] == [i for i in stored if i not in EXCLUDED]
    codes = {STP: "STP", XHB: "X-HB"}
    for row in rows:
        original = stored[int(row["id"])]
        cells = "".join(row[code] or "0" for code in DEFINITION.scale_items)
        assert DEFINITION.decode_answers(cells) == DEFINITION.decode_answers(
            original["answers"]
        )
        assert row["unit"] == codes[original["unit_id"]]
        if original["counter_id"] is None:  # a sampled respondent: a PSU of its own
            assert row["psu"] == f"r{row['id']}"
            assert row["stratum"] == f"{row['unit']}:{original['field'] or ''}"
        else:
            day = vietnam_day(original["submitted_at"])
            assert row["psu"] == f"{original['counter_id']}:{day}"
            assert row["stratum"] == row["unit"]
            assert row["counter"]
        assert row["status"] == "valid"
        assert row["field"] == (original["field"] or "")
        assert row["gender"] == original["extra"].get("gender", "")
        assert row["flags"] == ";".join(original["flags"])
        moment = datetime.fromisoformat(row["submitted_at"])
        assert moment.utcoffset() == timedelta(hours=7)
        expected = original["submitted_at"]
        assert moment == (expected if expected.tzinfo else expected.replace(tzinfo=UTC))
    assert any(row["1.1"] == "" for row in rows), "no-opinion answers are blank cells"
    assert any(row["flags"] == "device-repeat;fast" for row in rows)


def test_csv_with_all_keeps_excluded_responses_and_their_status(stored, admin_client):
    rows = read_csv(admin_client.get(CSV_PATH + "?all=1").get_data())
    assert len(rows) == COUNT
    assert {int(r["id"]) for r in rows if r["status"] == "excluded"} == EXCLUDED


def test_xlsx_has_the_same_rows_as_csv(stored, admin_client):
    rows = read_csv(admin_client.get(CSV_PATH).get_data())
    response = admin_client.get(XLSX_PATH)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    book.close()
    # Readable headings that end with the CSV column's code.
    codes = list(rows[0].keys())
    assert [h.rsplit(" [", 1)[-1].rstrip("]") for h in values[0]] == codes
    assert "Nơi ngồi chờ có đủ chỗ ngồi [1.1]" in values[0]
    assert len(values) - 1 == len(rows)
    for row, cells in zip(rows, values[1:], strict=True):
        as_text = {
            key: "" if cell is None else str(cell)
            for key, cell in zip(codes, cells, strict=True)
        }
        moment = datetime.fromisoformat(row.pop("submitted_at"))
        assert cells[codes.index("submitted_at")] == moment.replace(tzinfo=None)
        as_text.pop("submitted_at")
        assert as_text == row


def test_unit_head_exports_only_own_subtree(stored, client, auth):
    auth.login("head")
    rows = read_csv(client.get(CSV_PATH).get_data())
    assert rows
    assert {r["unit"] for r in rows} == {"STP"}
    expected = [
        i for i, r in stored.items() if r["unit_id"] == STP and i not in EXCLUDED
    ]
    assert [int(r["id"]) for r in rows] == expected
    book = openpyxl.load_workbook(io.BytesIO(client.get(XLSX_PATH).get_data()))
    units = {
        row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)
    }
    book.close()
    assert units == {"STP"}


def test_response_list_links_both_exports(admin_client):
    html = admin_client.get(f"/admin/responses?period_id={PERIOD_ID}").get_data(
        as_text=True
    )
    assert f'href="{CSV_PATH}"' in html
    assert f'href="{XLSX_PATH}"' in html


@pytest.mark.parametrize("path", [CSV_PATH, XLSX_PATH])
def test_anonymous_export_redirects_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_unknown_period_is_404(admin_client):
    assert admin_client.get("/admin/periods/999/responses.csv").status_code == 404


def test_export_is_audited(app, stored, client, auth):
    auth.login("head")
    client.get(XLSX_PATH).get_data()
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).filter_by(action="response.export")
        )
        assert entry.target_type == "surveyperiod"
        assert entry.target_id == str(PERIOD_ID)
        assert entry.after == {"format": "xlsx", "only_valid": True, "subtree_of": STP}
        assert entry.user.username == "head"


def test_rows_are_read_in_keyset_chunks(app, stored, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 7)
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        ids = [row[0] for row in exports.export_rows(period, only_valid=False)]
        assert ids == sorted(stored)
        ids = [row[0] for row in exports.export_rows(period, {XHB})]
        assert ids == [
            i for i, r in stored.items() if r["unit_id"] == XHB and i not in EXCLUDED
        ]


def test_long_xlsx_export_continues_on_a_second_sheet(app, stored, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 50)
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        body = b"".join(exports.stream_xlsx(period))
    book = openpyxl.load_workbook(io.BytesIO(body))
    sizes = [sheet.max_row for sheet in book.worksheets]
    header = [
        [cell.value for cell in next(sheet.iter_rows())] for sheet in book.worksheets
    ]
    book.close()
    assert sizes == [50, COUNT - len(EXCLUDED) - 49 + 1]
    assert header[0] == header[1]


def test_empty_period_exports_headers_only(admin_client):
    assert len(read_csv(admin_client.get(CSV_PATH).get_data())) == 0
    book = openpyxl.load_workbook(io.BytesIO(admin_client.get(XLSX_PATH).get_data()))
    assert book.worksheets[0].max_row == 1
    book.close()


def test_csv_feeds_python_m_analysis_indices(
    app, stored, admin_client, tmp_path, capsys
):
    export = tmp_path / "export.csv"
    rows = pd.read_csv(io.BytesIO(admin_client.get(CSV_PATH).get_data()), dtype=str)
    # Channels are never pooled: the counter's rows, as the workspace's counter channel.
    rows[rows["channel"] == "counter"].to_csv(export, index=False)
    out = tmp_path / "indices.csv"
    assert analysis_main(["indices", str(export), "--out", str(out)]) == 0, (
        capsys.readouterr()
    )
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    overall = table[table["indicator"] == analysis.OVERALL].set_index("unit")
    assert {"STP", "X-HB", analysis.ALL} <= set(overall.index)
    # The same numbers as the workspace computes from the database.
    with app.app_context():
        computed = indices.compute(
            db.session.get(SurveyPeriod, PERIOD_ID), indices.Settings(channel="counter")
        )
    web = computed.table[computed.table["indicator"] == analysis.OVERALL].set_index(
        "unit"
    )
    for unit in ("STP", "X-HB"):
        assert overall.loc[unit, "estimate"] == pytest.approx(web.loc[unit, "estimate"])
        assert overall.loc[unit, "n"] == web.loc[unit, "n"]
    # X-HB has counter responses only: the same PSUs, so the same standard error.
    assert overall.loc["X-HB", "se"] == pytest.approx(web.loc["X-HB", "se"])


def test_sampled_responses_in_two_units_still_feed_analysis(
    app, stored, admin_client, tmp_path, capsys
):
    with app.app_context():
        db.session.add_all(
            SurveyResponse(period_id=PERIOD_ID, unit_id=XHB, counter_id=None, channel="sample",
                     field="ho-tich", submission_key=f"sampled-{n}", answers="4" * 23,
                     form_served_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
                     submitted_at=datetime(2026, 3, 2, 2, 5, tzinfo=UTC))
            for n in range(3)
        )  # fmt: skip
        db.session.commit()
    export = tmp_path / "export.csv"
    export.write_bytes(admin_client.get(CSV_PATH).get_data())
    sampled = [r for r in read_csv(export.read_bytes()) if r["channel"] == "sample"]
    assert {r["unit"] for r in sampled} == {"STP", "X-HB"}
    assert all(r["psu"] == f"r{r['id']}" for r in sampled)
    out = tmp_path / "indices.csv"
    assert analysis_main(["indices", str(export), "--out", str(out)]) == 0, (
        capsys.readouterr()
    )


EXTRA = {
    "gender": "nu",
    "age_group": "26-35",
    "expectations": ["E3", "time"],
    "late": "late-no-apology",
    "harassment": "some",
    "suggestion": "Cán bộ nhiệt tình 👍, nhưng phải chờ lâu",
}


def add_one(unit_id=STP, counter_id=OPEN_COUNTER_ID, **values) -> int:
    response = SurveyResponse(
        period_id=PERIOD_ID, unit_id=unit_id, counter_id=counter_id,
        channel="counter" if counter_id else "sample", field="ho-tich",
        submission_key=f"one-{random.random()}",
        form_served_at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
        submitted_at=datetime(2026, 3, 2, 2, 5, tzinfo=UTC),
        **{"answers": "4" * len(DEFINITION.scale_items), "extra": EXTRA} | values,
    )  # fmt: skip
    db.session.add(response)
    db.session.commit()
    return response.id


def test_every_question_is_exported_with_codes_and_labels(app, admin_client):
    with app.app_context():
        add_one()
    (row,) = read_csv(admin_client.get(CSV_PATH).get_data())
    assert row["suggestion"] == EXTRA["suggestion"]
    assert row["overall"] == "4"
    assert row["expectations"] == "E3;time"
    assert row["expectations_label"] == (
        "Thái độ và năng lực của công chức;Rút ngắn thời gian giải quyết"
    )
    assert (row["late"], row["late_label"]) == (
        "late-no-apology",
        "Trễ hẹn, không được thông báo, xin lỗi",
    )
    assert (row["harassment"], row["harassment_label"]) == ("some", "Có gặp, ít")
    assert (row["gender"], row["gender_label"]) == ("nu", "Nữ")
    assert row["age_group"] == "26-35"
    assert (row["field"], row["field_label"]) == ("ho-tich", "Hộ tịch")
    assert row["channel_label"] == "Tại quầy (mã QR)"
    assert row["unit_name"]
    assert row["counter"]
    assert row["inclusion_probability"] == row["base_weight"] == ""


def test_the_1001_questionnaire_exports_its_own_items(app, admin_client):
    from analysis.questionnaire import load_file
    from survey.services.questionnaires import get_questionnaire

    folder = app.config["QUESTIONNAIRE_DIR"]
    definition, _ = load_file(Path(folder) / "sipas-1001-dv.toml")
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.questionnaire = get_questionnaire("sipas-1001-dv")
        db.session.commit()
        add_one(
            answers="5" * len(definition.scale_items),
            extra={"harassment": "none", "suggestion": "Tốt"},
        )
    body = admin_client.get(CSV_PATH).get_data()
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [c for c in header if c in definition.scale_items] == list(
        definition.scale_items
    )
    assert len(definition.criteria) == 16
    assert header.count("suggestion") == 1
    (row,) = read_csv(body)
    assert all(row[code] == "5" for code in definition.scale_items)
    assert (row["harassment_label"], row["suggestion"]) == ("Không gặp", "Tốt")


def test_sampled_response_carries_its_design(app, admin_client):
    from survey.models import Dossier, Invitation, InvitationBatch

    with app.app_context():
        dossier = Dossier(code="HS-1", unit_id=XHB, field="ho-tich",
                          received_on=datetime(2026, 2, 1).date())  # fmt: skip
        batch = InvitationBatch(period_id=PERIOD_ID, unit_id=XHB)
        db.session.add_all([dossier, batch])
        db.session.flush()
        invitation = Invitation(
            period_id=PERIOD_ID, dossier_id=dossier.id, batch_id=batch.id,
            unit_id=XHB, field="ho-tich", inclusion_probability=0.25, code="ABC123",
            expires_on=datetime(2026, 4, 1).date(),
        )  # fmt: skip
        db.session.add(invitation)
        db.session.commit()
        add_one(unit_id=XHB, counter_id=None, invitation_id=invitation.id)
    (row,) = read_csv(admin_client.get(CSV_PATH).get_data())
    assert (row["channel"], row["stratum"], row["psu"]) == (
        "sample",
        "X-HB:ho-tich",
        f"r{row['id']}",
    )
    assert float(row["inclusion_probability"]) == 0.25
    assert float(row["base_weight"]) == 4.0
    assert row["counter"] == ""


def test_parquet_has_the_same_rows_as_csv(stored, admin_client):
    rows = read_csv(admin_client.get(CSV_PATH).get_data())
    response = admin_client.get(CSV_PATH.replace(".csv", ".parquet"))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.apache.parquet"
    frame = pd.read_parquet(io.BytesIO(response.get_data()))
    assert list(frame.columns) == list(rows[0].keys())
    assert frame["id"].tolist() == [int(r["id"]) for r in rows]
    assert str(frame["submitted_at"].dt.tz) == "Asia/Ho_Chi_Minh"
    assert [datetime.fromisoformat(r["submitted_at"]) for r in rows] == frame[
        "submitted_at"
    ].dt.to_pydatetime().tolist()
    for code in DEFINITION.scale_items:
        expected = [int(r[code]) if r[code] else None for r in rows]
        got = [None if pd.isna(v) else int(v) for v in frame[code]]
        assert got == expected, code


def test_empty_period_exports_an_empty_parquet(admin_client):
    body = admin_client.get(CSV_PATH.replace(".csv", ".parquet")).get_data()
    frame = pd.read_parquet(io.BytesIO(body))
    assert len(frame) == 0
    assert "suggestion" in frame.columns
