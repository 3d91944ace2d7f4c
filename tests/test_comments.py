"""The comments page: search without accents, score filters, keyset pages, access, export."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEntry, SurveyResponse
from survey.services import comments
from survey.textsearch import comment_key, fold
from tests.helpers import DEFINITION
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID, PERIOD_ID

STP, XHB = 2, 3
PAGE = f"/admin/periods/{PERIOD_ID}/comments"
ITEMS = len(DEFINITION.scale_items)
LONG = "x" * 1000  # one word of 1,000 characters: the page must still wrap it
# (unit, counter, answers, comment); answers: all "4" unless overridden by position
COMMENTS = [
    (STP, OPEN_COUNTER_ID, {}, "Cán bộ NHIỆT TÌNH 👍"),
    (STP, OPEN_COUNTER_ID, {"3.1": 1}, "Thái độ chưa tốt, phải chờ lâu"),
    (STP, OPEN_COUNTER_ID, {"2.5": 2, "overall": 2}, "Trả kết quả trễ hẹn"),
    (STP, OPEN_COUNTER_ID, {}, "<script>alert(1)</script> Đường đi khó"),
    (STP, OPEN_COUNTER_ID, {}, LONG),
    (XHB, OTHER_COUNTER_ID, {"3.1": 1}, "Xã Hòa Bình: công chức thiếu nhiệt tình"),
]


def answers(overrides: dict[str, int]) -> str:
    return "".join(str(overrides.get(code, 4)) for code in DEFINITION.scale_items)


@pytest.fixture
def stored(app) -> list[int]:
    """The seeded app with the COMMENTS and a response without one; returns their ids."""
    start = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 00:30 of 3/3 in Vietnam
    with app.app_context():
        rows = [
            SurveyResponse(
                period_id=PERIOD_ID, unit_id=unit, counter_id=counter, channel="counter",
                field="ho-tich", submission_key=f"c-{n}",
                form_served_at=start, submitted_at=start + timedelta(minutes=n),
                answers=answers(scores), extra={"suggestion": text, "gender": "nu"},
            )
            for n, (unit, counter, scores, text) in enumerate(COMMENTS)
        ]  # fmt: skip
        rows.append(
            SurveyResponse(
                period_id=PERIOD_ID, unit_id=STP, counter_id=OPEN_COUNTER_ID,
                channel="counter", submission_key="none", form_served_at=start,
                submitted_at=start, answers=answers({"3.1": 1}), extra={},
            )
        )  # fmt: skip
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def listed(html: str) -> list[int]:
    """The response ids of the comments on a page, in order."""
    marker = "/admin/responses/"
    return [
        int(part.split('"', 1)[0])
        for part in html.split(marker)[1:]
        if part[0].isdigit()
    ]


def test_fold_drops_case_accents_and_spaces():
    assert fold("  Cán bộ   NHIỆT TÌNH ") == "can bo nhiet tinh"
    assert fold("Đường ĐI") == "duong di"
    assert comment_key({"suggestion": "   "}) is None
    assert comment_key({}) is None


def test_comment_key_is_filled_on_insert(app, stored):
    with app.app_context():
        keys = dict(
            db.session.execute(
                sa.select(SurveyResponse.id, SurveyResponse.comment_key)
            ).all()
        )
    assert keys[stored[0]] == "can bo nhiet tinh 👍"
    assert keys[stored[-1]] is None


def test_page_lists_comments_newest_first_with_their_context(stored, admin_client):
    html = admin_client.get(PAGE).get_data(as_text=True)
    assert (
        listed(html) == stored[-2::-1]
    )  # the response without a comment is not listed
    assert "Cán bộ NHIỆT TÌNH 👍" in html
    assert "03/03/2026 00:30" in html  # Vietnam time of 17:30 UTC the day before
    assert "Sở Tư pháp" in html
    assert "Quầy 1" in html
    assert "Hộ tịch" in html
    assert "Hài lòng chung: 2/5" in html
    assert "<script>alert(1)</script>" not in html  # escaped, shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'<p class="comment-text">{LONG}</p>' in html
    assert "6 góp ý" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nhiet tinh", [5, 0]),  # no accents, any case: both spellings
        ("NHIỆT", [5, 0]),
        ("cho lau", [1]),
        ("duong", [3]),
        ("script", [3]),
        ("khong co", []),
        ("100%", []),  # LIKE wildcards are searched as text
    ],
)
def test_search_ignores_case_and_accents(stored, admin_client, query, expected):
    html = admin_client.get(PAGE, query_string={"q": query}).get_data(as_text=True)
    assert listed(html) == [stored[i] for i in expected]


def test_filter_any_criterion_at_most_two(stored, admin_client):
    html = admin_client.get(PAGE, query_string={"score": 2}).get_data(as_text=True)
    # the overall question alone (2) does not count as a criterion, 2.5 = 2 does
    assert listed(html) == [stored[5], stored[2], stored[1]]
    html = admin_client.get(PAGE, query_string={"score": 1}).get_data(as_text=True)
    assert listed(html) == [stored[5], stored[1]]


def test_filter_one_chosen_item(stored, admin_client):
    got = admin_client.get(PAGE, query_string={"item": "2.5", "score": 2})
    assert listed(got.get_data(as_text=True)) == [stored[2]]
    got = admin_client.get(PAGE, query_string={"item": "overall", "score": 3})
    assert listed(got.get_data(as_text=True)) == [stored[2]]
    got = admin_client.get(
        PAGE, query_string={"item": "3.1", "score": 1, "unit_id": STP, "q": "thai do"}
    )
    assert listed(got.get_data(as_text=True)) == [stored[1]]


@pytest.mark.parametrize(
    "query", [{"score": 9}, {"score": 0}, {"item": "9.9", "score": 2}, {"score": "x"}]
)
def test_bad_filter_is_400(stored, admin_client, query):
    if query == {"score": "x"}:  # not a number: read as no score filter
        assert admin_client.get(PAGE, query_string=query).status_code == 200
    else:
        assert admin_client.get(PAGE, query_string=query).status_code == 400


@pytest.mark.parametrize("cap", [10_000, 1])  # pages within and past the capped count
def test_pages_follow_the_keyset(stored, admin_client, monkeypatch, cap):
    monkeypatch.setattr(comments, "PAGE_SIZE", 2)
    monkeypatch.setattr(comments, "COUNT_CAP", cap)
    seen, url = [], PAGE + "?unit_id=2"
    while url:
        html = admin_client.get(url).get_data(as_text=True)
        seen += listed(html)
        marker = 'href="' + PAGE + "?before="
        url = html.split(marker, 1)[1].split('"', 1)[0] if marker in html else None
        url = PAGE + "?before=" + url.replace("&amp;", "&") if url else None
    assert seen == [i for i in stored[4::-1]]


def test_count_is_capped(stored, admin_client, monkeypatch):
    monkeypatch.setattr(comments, "COUNT_CAP", 3)
    assert "Hơn 3 góp ý" in admin_client.get(PAGE).get_data(as_text=True)


def test_unit_head_sees_own_unit_only(stored, client, auth):
    auth.login("head")
    html = client.get(PAGE).get_data(as_text=True)
    assert listed(html) == stored[4::-1]
    assert "Xã Hòa Bình" not in html
    assert client.get(PAGE, query_string={"unit_id": XHB}).status_code == 403
    export = client.get(PAGE + ".csv", query_string={"unit_id": XHB})
    assert export.status_code == 403
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(PAGE + ".csv").get_data(as_text=True).lstrip("\ufeff")
            )
        )
    )
    assert {r["unit"] for r in rows} == {"STP"}


def test_export_holds_the_filtered_comments(app, stored, admin_client):
    got = admin_client.get(PAGE + ".csv", query_string={"q": "nhiet tinh"})
    assert got.mimetype == "text/csv"
    rows = list(
        csv.DictReader(io.StringIO(got.get_data(as_text=True).lstrip("\ufeff")))
    )
    assert [int(r["id"]) for r in rows] == [stored[5], stored[0]]
    assert rows[1]["comment"] == "Cán bộ NHIỆT TÌNH 👍"
    assert rows[1]["submitted_at"] == "2026-03-03T00:30:00+07:00"
    assert rows[0]["low_criteria"] == "3.1"
    book = openpyxl.load_workbook(
        io.BytesIO(
            admin_client.get(PAGE + ".xlsx", query_string={"score": 1}).get_data()
        )
    )
    values = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert values[0][-1] == "comment"
    assert [row[0] for row in values[1:]] == [stored[5], stored[1]]
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).filter_by(action="comment.export")
        )
        assert entry.after["text"] == "nhiet tinh"


def test_comments_linked_from_unit_page_and_responses(stored, admin_client):
    link = f'href="{PAGE}?unit_id={STP}"'
    assert link in admin_client.get(
        f"/admin/responses?period_id={PERIOD_ID}&unit_id={STP}"
    ).get_data(as_text=True)
    html = admin_client.get(f"/admin/periods/{PERIOD_ID}/results/units/STP").get_data(
        as_text=True
    )
    assert link in html


def test_unknown_parameters_do_not_ride_along(stored, admin_client):
    """`fmt` or `period_id` in the query string once clashed with the download links."""
    response = admin_client.get(f"{PAGE}?fmt=pdf&period_id=9&q=nhiet&x=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "comments.csv?q=nhiet" in html
    assert "x=1" not in html
