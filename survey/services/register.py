"""The dossier register from the one-stop system: the sampling frame and transaction volumes.

An import streams the file into a staging table (PostgreSQL COPY, batched inserts on
SQLite), checks every row with set-based SQL, and applies one upsert: new dossiers are
added, changed ones updated, identical ones left alone, so re-importing a file changes
nothing. Python only turns the file's dates, yes/no words and field names into values,
because the two databases read those differently.
"""

import itertools
from collections.abc import Iterator
from typing import BinaryIO

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Dossier, Questionnaire, SurveyPeriod, Unit
from ..readers import Row, TableError, open_table, parse_date, plain_key
from . import imports, sampling
from .imports import ImportReport, Problem
from .questionnaires import definition_of

REGISTER_COLUMNS = (
    "dossier_code",
    "unit_code",
    "field",
    "received_on",
    "returned_on",
    "on_time",
)
ON_TIME_WORDS = {
    **dict.fromkeys(
        ("1", "true", "yes", "y", "x", "co", "dung han", "truoc han"), False
    ),
    **dict.fromkeys(("0", "false", "no", "n", "khong", "tre han", "qua han"), True),
}  # word (without diacritics) -> is_late
CODE_LENGTH = Dossier.code.type.length
BATCH = 5000

STAGING = sa.Table(
    "register_staging",
    sa.MetaData(),
    sa.Column("row_number", sa.Integer),
    sa.Column("code", sa.Text),
    sa.Column("unit_code", sa.Text),
    sa.Column("field_text", sa.Text),
    sa.Column("field", sa.Text),  # the questionnaire's code, None when unmatched
    sa.Column("received_text", sa.Text),
    sa.Column("received_on", sa.Date),
    sa.Column("returned_text", sa.Text),
    sa.Column("returned_on", sa.Date),
    sa.Column("on_time_text", sa.Text),
    sa.Column("is_late", sa.Boolean),
    sa.Column("extra", sa.Integer),
    prefixes=["TEMPORARY"],
)


def import_register(
    stream: BinaryIO, *, filename: str = "", encoding: str | None = None, by=None
) -> ImportReport:
    """Import dossiers from a CSV or XLSX export; all or nothing.

    The report's `import_id` is the record of this import; the dossiers it created or
    changed carry it (see `changed_dossiers` and `newly_returned`), so one call after
    this one can act on them, e.g. a Poisson draw of the newly returned.
    :raise ImportRejected: with every problem of every row; nothing is stored.
    """
    try:
        table = open_table(stream, REGISTER_COLUMNS, encoding=encoding)
    except TableError as exc:
        raise imports.unreadable("register", filename, stream, exc, by=by) from None
    fields = field_matcher()
    if not fields.accepted:
        problem = Problem(
            None,
            None,
            None,
            _(
                "Chưa có phiếu khảo sát nào có câu hỏi lĩnh vực để đối chiếu cột "
                "field: chạy flask sync-questionnaires rồi nhập lại."
            ),
        )
        raise imports.reject("register", filename, table, [problem], by=by)
    conn = db.session.connection()
    STAGING.drop(conn, checkfirst=True)
    STAGING.create(conn)
    try:
        rows = _stage(conn, _staged_rows(table.rows, fields))
    except TableError as exc:  # a row the CSV reader cannot split
        raise imports.unreadable("register", filename, stream, exc, by=by) from None
    if rows == 0:
        problem = Problem(None, None, None, _("Tệp không có dòng dữ liệu nào."))
        raise imports.reject("register", filename, table, [problem], by=by)
    checks = _checks()
    if conn.scalar(sa.select(sa.func.count()).select_from(checks)):
        problems = _problems(conn, checks, fields)
        raise imports.reject("register", filename, table, problems, rows=rows, by=by)
    record = imports.begin("register", filename, table, by=by)
    report = ImportReport(rows=rows, **_upsert(conn, record.id, rows))
    STAGING.drop(conn)
    if conn.dialect.name == "postgresql" and report.created + report.updated:
        # Fresh statistics at once (autovacuum would take up to a minute): the
        # volume weights group a period's dossiers, and a plan made for an empty
        # register sorts a million rows on disk instead of hashing them.
        conn.exec_driver_sql(f"ANALYZE {Dossier.__table__.name}")
    imports.finish(record, report, "register.import", by=by)
    # A running Poisson sample draws the newly returned dossiers as their import arrives.
    sampling.draw_arrivals()
    return report


#: Former names of fields that one-stop systems still write (the 2025 merger of ministries).
FORMER_NAMES = {
    "lao-dong-xa-hoi": (
        "Lao động – Thương binh và Xã hội",
        "Lao động, Thương binh và Xã hội",
        "LĐTBXH",
    ),
}


class FieldMatcher:
    """Match a register's field to a questionnaire's field code or label.

    Case, spacing and diacritics do not matter: "Đất đai", "dat dai" and "dat-dai" all
    give ``dat-dai``.
    """

    def __init__(self, options):
        self.codes: dict[str, str] = {}
        labels: dict[str, str] = {}
        for option in options:
            labels.setdefault(option.code, option.label)
            for text in (option.code, option.label, *FORMER_NAMES.get(option.code, ())):
                self.codes.setdefault(plain_key(text), option.code)
        self.accepted = [f"{label} ({code})" for code, label in labels.items()]
        self.options = list(labels.items())  # (code, label)
        self.match = remembered(lambda text: self.codes.get(plain_key(text)))


def remembered(func):
    """`func` of a cell's text, remembered for the few distinct values a column holds.

    At most 10,000 are kept, so that a column of distinct values cannot grow memory.
    """
    seen: dict = {}

    def lookup(text: str):
        try:
            return seen[text]
        except KeyError:
            value = func(text)
            if len(seen) < 10_000:
                seen[text] = value
            return value

    return lookup


def field_matcher() -> FieldMatcher:
    """The field question's options of every stored questionnaire version.

    Every version's label of a field is accepted, and its former names (`FORMER_NAMES`):
    a one-stop system that still writes "Lao động – Thương binh và Xã hội" names the same
    field as the current "Lao động, việc làm, an sinh xã hội".
    """
    options = []
    for questionnaire in db.session.scalars(
        sa.select(Questionnaire).order_by(Questionnaire.id)
    ):
        question = definition_of(questionnaire).question("field")
        options.extend(question.options if question else ())
    return FieldMatcher(options)


def _iso_date(text: str) -> str | None:
    day = parse_date(text)
    return day.isoformat() if day else None


def _staged_rows(rows: Iterator[Row], fields: FieldMatcher) -> Iterator[tuple]:
    """The file's rows as staging tuples: text as read, and values where they parse.

    A register holds few distinct dates, fields and on-time words, so each is read
    once and remembered.
    """
    is_late = remembered(lambda text: ON_TIME_WORDS.get(plain_key(text)))
    iso_date = remembered(_iso_date)
    field_code = fields.match
    for number, (code, unit, field, received, returned, on_time), extra in rows:
        yield (
            number,
            code,
            unit,
            field,
            field_code(field) if field else None,
            received,
            iso_date(received) if received else None,
            returned,
            iso_date(returned) if returned else None,
            on_time,
            is_late(on_time) if on_time else None,
            extra,
        )


def _stage(conn: sa.Connection, rows: Iterator[tuple]) -> int:
    """Load rows into the staging table: COPY on PostgreSQL, batches on SQLite."""
    count = 0
    if conn.dialect.name == "postgresql":
        names = ", ".join(c.name for c in STAGING.columns)
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {STAGING.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            cursor.execute(f"ANALYZE {STAGING.name}")  # temp tables get no autovacuum
        return count
    marks = ", ".join("?" * len(STAGING.columns))
    insert = f"INSERT INTO {STAGING.name} VALUES ({marks})"
    while batch := list(itertools.islice(rows, BATCH)):
        conn.exec_driver_sql(insert, batch)
        count += len(batch)
    return count


CHECKS = (
    "extra",
    "code_empty",
    "code_long",
    "code_repeats",
    "unit",
    "field",
    "received",
    "returned",
    "returned_before",
    "on_time",
)


def _checks() -> sa.Subquery:
    """Every problem of every staged row, one row per problem, in one set-based query."""
    s = STAGING.c
    none = sa.cast(sa.null(), sa.Integer)

    def check(kind, column, value, where, other=none, source=STAGING):
        return (
            sa.select(
                s.row_number.label("row"),
                sa.literal(CHECKS.index(kind), sa.Integer).label("kind"),
                sa.literal(column, sa.Text).label("column"),
                sa.cast(value, sa.Text).label("value"),
                other.label("other"),
            )
            .select_from(source)
            .where(where)
        )

    firsts = (
        sa.select(s.code, sa.func.min(s.row_number).label("first"))
        .where(s.code != "")
        .group_by(s.code)
        .having(sa.func.count() > 1)
        .subquery()
    )
    unit = Unit.__table__
    return sa.union_all(
        check("extra", None, sa.null(), s.extra > 0, other=s.extra),
        check("code_empty", "dossier_code", s.code, s.code == ""),
        check(
            "code_long", "dossier_code", s.code, sa.func.length(s.code) > CODE_LENGTH
        ),
        check(
            "code_repeats",
            "dossier_code",
            s.code,
            s.row_number > firsts.c.first,
            other=firsts.c.first,
            source=STAGING.join(firsts, firsts.c.code == s.code),
        ),
        check(
            "unit",
            "unit_code",
            s.unit_code,
            unit.c.id.is_(None),
            source=STAGING.outerjoin(unit, unit.c.code == s.unit_code),
        ),
        check("field", "field", s.field_text, s.field.is_(None)),
        check("received", "received_on", s.received_text, s.received_on.is_(None)),
        check(
            "returned",
            "returned_on",
            s.returned_text,
            (s.returned_text != "") & s.returned_on.is_(None),
        ),
        check(
            "returned_before",
            "returned_on",
            s.returned_text,
            s.returned_on < s.received_on,
        ),
        check(
            "on_time",
            "on_time",
            s.on_time_text,
            s.is_late.is_(None) & ((s.on_time_text != "") | (s.returned_text != "")),
        ),
    ).subquery()


def _problems(
    conn: sa.Connection, checks: sa.Subquery, fields: FieldMatcher
) -> Iterator[Problem]:
    """Stream the problems in row order, each in words that say how to fix it."""
    query = sa.select(checks).order_by(checks.c.row, checks.c.kind)
    result = conn.execute(query.execution_options(stream_results=True, yield_per=5000))
    accepted = "; ".join(fields.accepted)
    for row, kind, column, value, other in result:
        message = _message(CHECKS[kind], value or "", other, accepted)
        yield Problem(row, column, value, message)


def _message(kind: str, value: str, other: int | None, accepted: str) -> str:
    if kind == "extra":
        return _(
            "dòng có %(count)s ô thừa ngoài các cột của dòng tiêu đề (có thể dấu phân "
            "cách nằm trong một ô chưa đặt trong ngoặc kép)",
            count=other,
        )
    if kind == "code_empty":
        return _("thiếu mã hồ sơ")
    if kind == "code_long":
        return _("mã hồ sơ dài hơn %(count)s ký tự", count=CODE_LENGTH)
    if kind == "code_repeats":
        return _("mã hồ sơ trùng với dòng %(row)s", row=other)
    if kind == "unit":
        if not value:
            return _("thiếu mã đơn vị")
        return _("không có đơn vị mang mã %(code)s (xem mã ở trang Đơn vị)", code=value)
    if kind == "field":
        if not value:
            return _("thiếu lĩnh vực; dùng một trong: %(accepted)s", accepted=accepted)
        return _(
            "lĩnh vực không khớp lĩnh vực nào của phiếu khảo sát; dùng một trong: "
            "%(accepted)s",
            accepted=accepted,
        )
    if kind == "received":
        if not value:
            return _("thiếu ngày tiếp nhận")
        return _("ngày tiếp nhận không hợp lệ (dùng YYYY-MM-DD hoặc DD/MM/YYYY)")
    if kind == "returned":
        return _(
            "ngày trả kết quả không hợp lệ (dùng YYYY-MM-DD hoặc DD/MM/YYYY; "
            "để trống nếu chưa trả)"
        )
    if kind == "returned_before":
        return _("ngày trả kết quả trước ngày tiếp nhận")
    if not value:
        return _("hồ sơ đã trả kết quả nhưng thiếu đúng hạn/trễ hạn")
    return _(
        "không phải giá trị đúng hạn/trễ hạn; dùng 1/0, có/không, đúng hạn/trễ hạn"
    )


def _upsert(conn: sa.Connection, import_id: int, rows: int) -> dict[str, int]:
    """Insert new dossiers and update changed ones in one statement; count both.

    PostgreSQL counts inside the statement (a row it inserted has xmax 0); SQLite
    counts the dossiers known before and those that carry this import after.
    """
    s, dossier = STAGING.c, Dossier.__table__
    source = (
        sa.select(
            s.code,
            Unit.id,
            s.field,
            s.received_on,
            s.returned_on,
            sa.func.coalesce(s.is_late, sa.false()),
            sa.literal(import_id, sa.Integer),
            sa.case((s.returned_on.is_not(None), import_id)),
        )
        .select_from(STAGING)
        .join(Unit, Unit.code == s.unit_code)
        .where(sa.true())  # SQLite needs a WHERE before ON CONFLICT after a join
    )
    columns = ["code", "unit_id", "field", "received_on", "returned_on", "is_late"]
    postgres = conn.dialect.name == "postgresql"
    insert = (postgresql if postgres else sqlite).insert(dossier)
    insert = insert.from_select([*columns, "import_id", "returned_import_id"], source)
    new, compared = insert.excluded, columns[1:]
    first_return = dossier.c.returned_on.is_(None) & new.returned_on.is_not(None)
    upsert = insert.on_conflict_do_update(
        index_elements=[dossier.c.code],
        set_={
            **{c: new[c] for c in compared},
            "import_id": new.import_id,
            "returned_import_id": sa.case(
                (first_return, new.import_id), else_=dossier.c.returned_import_id
            ),
        },
        where=sa.or_(*(dossier.c[c].is_distinct_from(new[c]) for c in compared)),
    )
    if postgres:
        written = upsert.returning(sa.literal_column("xmax = 0").label("created")).cte(
            "written"
        )
        created, changed = conn.execute(
            sa.select(
                sa.func.count().filter(written.c.created), sa.func.count()
            ).select_from(written)
        ).one()
    else:
        known = conn.scalar(
            sa.select(sa.func.count()).select_from(
                STAGING.join(dossier, dossier.c.code == s.code)
            )
        )
        conn.execute(upsert)
        changed = conn.scalar(
            sa.select(sa.func.count()).where(dossier.c.import_id == import_id)
        )
        created = rows - known
    return {
        "created": created,
        "updated": changed - created,
        "unchanged": rows - changed,
    }


def changed_dossiers(import_id: int) -> sa.Select:
    """Dossiers an import created or changed (unchanged ones keep their last import)."""
    return sa.select(Dossier).where(Dossier.import_id == import_id)


def newly_returned(import_id: int) -> sa.Select:
    """Dossiers whose result first appeared as returned in an import.

    Each dossier is newly returned in exactly one import, which is what a Poisson draw
    needs: every dossier gets its one chance to be sampled, never a second one.
    """
    return sa.select(Dossier).where(Dossier.returned_import_id == import_id)


def recent_imports():
    return imports.recent("register")


def returned_per_unit(period: SurveyPeriod) -> dict[int, int]:
    """Dossiers whose result was returned within the period, per unit."""
    query = (
        sa.select(Dossier.unit_id, sa.func.count())
        .where(Dossier.returned_on.between(period.starts_on, period.ends_on))
        .group_by(Dossier.unit_id)
    )
    return dict(db.session.execute(query).all())


def volumes(period: SurveyPeriod) -> list[tuple[int, str, int]]:
    """Dossiers returned within the period per unit × field: the population of each stratum."""
    query = (
        sa.select(Dossier.unit_id, Dossier.field, sa.func.count())
        .where(Dossier.returned_on.between(period.starts_on, period.ends_on))
        .group_by(Dossier.unit_id, Dossier.field)
    )
    return list(db.session.execute(query).all())


def summary() -> dict:
    """Counts for the register page: dossiers, returned, late, date range."""
    row = db.session.execute(
        sa.select(
            sa.func.count(Dossier.id),
            sa.func.count(Dossier.returned_on),
            sa.func.sum(sa.case((Dossier.is_late, 1), else_=0)),
            sa.func.min(Dossier.received_on),
            sa.func.max(Dossier.returned_on),
        )
    ).one()
    return dict(
        zip(("dossiers", "returned", "late", "first", "last"), row, strict=True)
    )
