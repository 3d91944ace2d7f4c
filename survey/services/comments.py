"""Citizens' comments: search, filter by scores, page and export at any volume.

A comment is the free-text answer of a response (``extra["suggestion"]``); its folded
copy (``comment_key``: no case, no accents) is what the search reads, through the
partial indexes of commented responses, newest first by keyset on the id. Counts stop
at COUNT_CAP ("more than 10,000") instead of counting a million rows on every page.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from analysis.questionnaire import Questionnaire

from .. import clock
from ..errors import ServiceError
from ..extensions import db
from ..models import Counter, SurveyPeriod, SurveyResponse, Unit, User
from ..textsearch import COMMENT, fold
from . import audit, exports
from .questionnaires import definition_of

PAGE_SIZE = 50
COUNT_CAP = 10_000
SCORES = (1, 2, 3, 4, 5)
ANY = "any"  # any criterion (the overall question aside)
EXPORT_FORMATS = ("csv", "xlsx")


class BadFilter(ServiceError):
    """A comment filter that does not fit the questionnaire (a 400 for the view)."""


@dataclass
class CommentFilter:
    period_id: int
    unit_id: int | None = None
    text: str = ""
    item: str = ANY  # a scale item code, or ANY
    score_max: int | None = None  # answers of 1..score_max on the item


@dataclass
class Comment:
    id: int
    submitted_at: datetime  # Vietnam time
    unit_code: str
    unit_name: str
    counter: str
    field: str
    overall: int | None
    low: list[str]  # criteria answered 1 or 2
    text: str


def _query(
    filters: CommentFilter, definition: Questionnaire, visible: set[int] | None
) -> sa.Select:
    """The commented responses of a period that pass the filter (no order, no limit)."""
    response = SurveyResponse
    query = sa.select(response.id).where(
        response.period_id == filters.period_id, response.comment_key.is_not(None)
    )
    if filters.unit_id:
        query = query.where(response.unit_id == filters.unit_id)
    if visible is not None:
        query = query.where(response.unit_id.in_(sorted(visible)))
    words = fold(filters.text or "")
    for word in words.split(" ") if words else ():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(response.comment_key.like(f"%{escaped}%", escape="\\"))
    if filters.score_max:
        query = query.where(_score_condition(filters, definition))
    return query


def _score_condition(filters: CommentFilter, definition: Questionnaire):
    """Answers 1..score_max on the chosen item, or on any criterion (digits in order)."""
    if filters.score_max not in SCORES:
        raise BadFilter("Điểm lọc phải từ 1 đến 5.")
    digits = [str(d) for d in range(1, filters.score_max + 1)]
    items = definition.scale_items
    if filters.item == ANY:
        criteria = sa.func.substr(SurveyResponse.answers, 1, len(definition.criteria))
        return sa.or_(*(criteria.contains(d) for d in digits))
    if filters.item not in items:
        raise BadFilter("Không có tiêu chí này trong bảng hỏi của đợt.")
    position = items.index(filters.item) + 1
    return sa.func.substr(SurveyResponse.answers, position, 1).in_(digits)


def page(
    period: SurveyPeriod,
    filters: CommentFilter,
    *,
    before_id: int | None = None,
    visible: set[int] | None = None,
) -> tuple[list[Comment], int | None, int]:
    """Return one page of comments (newest first), the id to continue from, and the count.

    The count stops at COUNT_CAP + 1: more than COUNT_CAP means "more than".
    :raise BadFilter: for a score or item outside the questionnaire.
    """
    definition = definition_of(period.questionnaire)
    query = _query(filters, definition, visible).order_by(SurveyResponse.id.desc())
    # One scan gives the count (up to the cap) and, on the first pages, the page too.
    found = list(db.session.scalars(query.limit(COUNT_CAP + 1)))
    count = len(found)
    ids = [i for i in found if not before_id or i < before_id][: PAGE_SIZE + 1]
    if len(ids) <= PAGE_SIZE and count > COUNT_CAP:  # the page lies past the cap
        if before_id:
            query = query.where(SurveyResponse.id < before_id)
        ids = list(db.session.scalars(query.limit(PAGE_SIZE + 1)))
    more = len(ids) > PAGE_SIZE
    ids = ids[:PAGE_SIZE]
    return _comments(ids, definition), (ids[-1] if more else None), count


def _comments(ids: list[int], definition: Questionnaire) -> list[Comment]:
    if not ids:
        return []
    rows = db.session.execute(
        sa.select(
            SurveyResponse.id,
            SurveyResponse.submitted_at,
            Unit.code,
            Unit.name,
            Counter.name,
            SurveyResponse.field,
            SurveyResponse.answers,
            SurveyResponse.extra,
        )
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .outerjoin(Counter, Counter.id == SurveyResponse.counter_id)
        .where(SurveyResponse.id.in_(ids))
        .order_by(SurveyResponse.id.desc())
    ).all()
    return [_comment(row, definition) for row in rows]


def _comment(row, definition: Questionnaire) -> Comment:
    rid, submitted, code, name, counter, field, answers, extra = row
    scores = definition.decode_answers(answers)
    field_question = definition.question("field")
    labels = {o.code: o.label for o in field_question.options} if field_question else {}
    criteria = [c.code for c in definition.criteria]
    return Comment(
        id=rid,
        submitted_at=clock.local(submitted),
        unit_code=code,
        unit_name=name,
        counter=counter or "",
        field=labels.get(field, field or ""),
        overall=scores.get("overall") or None,
        low=[c for c in criteria if scores[c] in (1, 2)],
        text=(extra or {}).get(COMMENT) or "",
    )


# ---- export of the filtered comments ---------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "submitted_at",
    "unit",
    "unit_name",
    "counter",
    "field",
    "overall",
    "low_criteria",
    "comment",
)
EXPORT_CHUNK = 2_000


def start_export(
    period: SurveyPeriod,
    filters: CommentFilter,
    fmt: str,
    *,
    by: User,
    visible: set[int] | None = None,
) -> Iterator[str] | Iterator[bytes]:
    """Record an export of the filtered comments and return the stream of its file.

    :raise BadFilter: for a filter outside the questionnaire or an unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise BadFilter("Định dạng tải về không hỗ trợ.")
    definition = definition_of(period.questionnaire)
    query = _query(filters, definition, visible)  # checks the filter before the audit
    after = {
        "format": fmt,
        "unit_id": filters.unit_id,
        "text": filters.text,
        "item": filters.item,
        "score_max": filters.score_max,
        "subtree_of": None if visible is None else by.unit_id,
    }
    audit.record("comment.export", period, after=after, by=by)
    db.session.commit()
    rows = _export_rows(query, definition)
    if fmt == "csv":
        return exports.csv_chunks(list(EXPORT_COLUMNS), rows, time_at=1)
    return exports.xlsx_chunks(list(EXPORT_COLUMNS), rows, time_at=1)


def _export_rows(query: sa.Select, definition: Questionnaire) -> Iterator[list]:
    """Rows of the filtered comments, newest first, read by keyset chunks of ids."""
    before = None
    while True:
        chunk = query if before is None else query.where(SurveyResponse.id < before)
        ids = list(
            db.session.scalars(
                chunk.order_by(SurveyResponse.id.desc()).limit(EXPORT_CHUNK)
            )
        )
        for comment in _comments(ids, definition):
            yield [
                comment.id, comment.submitted_at, comment.unit_code, comment.unit_name,
                comment.counter, comment.field, comment.overall, " ".join(comment.low),
                comment.text,
            ]  # fmt: skip
        if len(ids) < EXPORT_CHUNK:
            return
        before = ids[-1]
