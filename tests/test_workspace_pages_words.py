"""Every workspace page, as administrator, unit head and viewer, in both languages,
over the demo province: no codes, slugs, raw JSON, UTC times or Python values where an
official expects words."""

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    Counter,
    FlagGroup,
    ImprovementPlan,
    PlanItem,
    Publication,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from survey.services import demo, periods
from tests.helpers import logged_in
from tests.seed import PERIOD_ID

# Text that gives away a code or a raw value. Each: (what it is, pattern).
EVERYWHERE = (
    ("a channel code", r"^(counter|sample)$"),
    ("a method slug", r"\b(korn-graubard|clopper-pearson|agresti-coull)\b"),
    ("an option slug", r"\b(late-no-apology|late-apology|ho-tich|dat-dai|tu-phap)\b"),
    ("an audit action code", r"\b(period|unit|counter|response|plan|flag)\.[a-z_]+\b"),
    ("an escaped character", r"\\u[0-9a-fA-F]{2}"),
    ("a model name", r"\b(surveyperiod|surveyresponse|improvementplan)\b"),
    ("an ISO time", r"\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00|\d\d:\d\d:\d\dZ\b"),
    (
        "a Python value",
        r"^(None|True|False|nan|NaN)$|[:=(] ?(None|True|False|nan)\b|\{'|\['|<function",
    ),
)
VIETNAMESE_ONLY = (
    ("a channel code", r"\b(counter|sample)\b"),
    (
        "English words",
        r"\b(the|cannot|must|should|Unknown|invalid|not found|period|unit|weighting)\b",
    ),
)
ENGLISH_ONLY = (
    (
        "Vietnamese words",
        r"(?i)\b(của|và|không|được|các|những|trong|chưa|đợt|phiếu|trạng thái|lúc)\b",
    ),
)
ROLES = ("admin", "head", "viewer")
# Known and owned elsewhere: the message of survey/services/indices.py about a broken
# series is Vietnamese in both languages until that module's messages are wrapped.
PENDING: tuple[str, ...] = ()


class Visible(HTMLParser):
    """The text a reader sees, without citizens' comments (data, in their words)."""

    SKIP = ("script", "style", "textarea", "code")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if not self.skipping():  # what a tooltip, a screen reader or a field shows
            for name in ("title", "aria-label", "alt", "placeholder"):
                if (found.get(name) or "").strip():
                    self.parts.append(found[name].strip())
        if tag in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            return
        classes = (found.get("class") or "").split()
        skip = tag in self.SKIP or any(c.startswith("comment") for c in classes)
        self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            opened, _ = self.stack.pop()
            if opened == tag:
                break

    def handle_data(self, data):
        if not self.skipping() and data.strip():
            self.parts.append(data.strip())


def texts(html: str) -> list[str]:
    parser = Visible()
    parser.feed(html)
    return parser.parts


@pytest.fixture
def demo_province(app):
    """The demo, with flags reviewed in the open period: ids of what the pages show."""
    with app.app_context():
        periods.close_period(db.session.get(SurveyPeriod, PERIOD_ID))
        current = demo.seed_demo(responses=120)
        published = db.session.scalar(
            sa.select(Publication.period_id).order_by(Publication.id.desc())
        )
        unit = db.session.scalar(sa.select(Unit).filter_by(code="STP"))
        ids = {
            "period_id": [current.id, published],
            "unit_id": [unit.id],
            "unit_code": ["STP"],
            "counter_id": [
                db.session.scalar(sa.select(Counter.id).filter_by(unit_id=unit.id))
            ],
            "response_id": [
                db.session.scalar(
                    sa.select(SurveyResponse.id)
                    .filter_by(period_id=published, unit_id=unit.id)
                    .limit(1)
                )
            ],
            "plan_id": [db.session.scalar(sa.select(ImprovementPlan.id).limit(1))],
            "group_id": [db.session.scalar(sa.select(FlagGroup.id).limit(1))],
        }
        names = [
            *db.session.scalars(sa.select(Unit.name)),
            *db.session.scalars(sa.select(Counter.name)),
            *db.session.scalars(sa.select(SurveyPeriod.name)),
            # what officials typed into the plans: their words, not the interface's
            *(
                text
                for item in db.session.scalars(sa.select(PlanItem))
                for text in (item.cause, item.actions, item.responsible)
            ),
        ]
    # longest first: "Quầy 1 – Tiếp nhận hồ sơ" before "Quầy 1"
    return ids, tuple(sorted(set(names), key=len, reverse=True))


def pages(app, ids) -> list[str]:
    """A URL for every GET page of the workspace, with the demo's ids."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or "GET" not in rule.methods:
            continue
        if rule.arguments - set(ids) or "." in rule.rule.rsplit("/", 1)[-1]:
            continue  # a download (csv, xlsx, png, svg)
        choices = [{}]
        for name in sorted(rule.arguments):
            choices = [c | {name: v} for c in choices for v in ids[name] if v]
        for values in choices:
            if len(values) == len(rule.arguments):
                with app.test_request_context():
                    from flask import url_for

                    urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


def problems_of(html: str, language: str, names: tuple[str, ...] = ()) -> list[str]:
    """What gives away a code on a page; ``names`` are data (unit, counter, period
    names), in Vietnamese whatever the language, left out of the check."""
    found = []
    checks = EVERYWHERE + (VIETNAMESE_ONLY if language == "vi" else ENGLISH_ONLY)
    for text in texts(html):
        if any(pending in text for pending in PENDING):
            continue
        for name in names:
            text = text.replace(name, "")
        for what, pattern in checks:
            match = re.search(pattern, text)
            if match:
                found.append(f"{what}: {match.group(0)!r} in {text[:80]!r}")
    return found


def test_every_workspace_page_reads_as_words(app, demo_province):
    ids, names = demo_province
    urls = pages(app, ids)
    assert len(urls) > 30
    problems, seen = [], 0
    for role in ROLES:
        client = logged_in(app, role)
        for language in ("vi", "en"):
            client.get(f"/lang/{language}")
            for url in urls:
                page = client.get(url)
                if page.status_code in (301, 302, 303) or page.mimetype != "text/html":
                    continue  # error pages (403, 404, 422) are read too
                seen += 1
                for problem in problems_of(
                    page.get_data(as_text=True), language, names
                ):
                    problems.append(f"{role} {language} {url}: {problem}")
    assert seen > 150  # pages that answered with HTML
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_scan_finds_what_it_looks_for():
    page = (
        "<main><td>counter</td><p>2026-11-29T10:00:00+00:00</p><p>None</p>"
        "<p>korn-graubard</p><p>C\\u00e1n</p><p>surveyperiod 2</p>"
        '<p class="comment">không None</p></main>'
    )
    found = problems_of(page, "vi")
    assert [f.split(":")[0] for f in found] == [
        "a channel code",
        "a channel code",
        "an ISO time",
        "a Python value",
        "a method slug",
        "an escaped character",
        "a model name",
    ]
    assert problems_of('<abbr title="surveyperiod 2">x</abbr>', "vi")  # tooltips too
    assert not problems_of("<p>None chosen: all responses count.</p>", "en")
    assert problems_of("<p>Đợt của đơn vị</p>", "en")
    assert not problems_of("<p>Đợt của đơn vị</p>", "vi")
