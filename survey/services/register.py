"""The dossier register from the one-stop system: the sampling frame and transaction volumes."""

from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Dossier, SurveyPeriod, Unit
from . import audit, sampling
from .imports import ImportRejected, ImportReport, read_table

REGISTER_COLUMNS = (
    "dossier_code",
    "unit_code",
    "field",
    "received_on",
    "returned_on",
    "on_time",
)
TRUE_WORDS = {"1", "true", "yes", "y", "co", "có", "dung han", "đúng hạn"}
FALSE_WORDS = {"0", "false", "no", "n", "khong", "không", "tre han", "trễ hạn"}


def _date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"date {text!r} is neither YYYY-MM-DD nor DD/MM/YYYY")


def import_register(text: str, *, by=None) -> ImportReport:
    """Import dossiers from CSV; all or nothing, with a report naming every bad row.

    Columns: dossier_code, unit_code, field, received_on, returned_on (blank while open),
    on_time (1/0, yes/no, đúng hạn/trễ hạn). A known dossier code is updated.
    :raise ImportRejected: with the report, if any row is bad.
    """
    report = ImportReport()
    reader = read_table(text, REGISTER_COLUMNS)
    unit_ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    rows, seen = [], {}
    for number, row in enumerate(reader, start=2):
        try:
            code = (row["dossier_code"] or "").strip()
            if not code or len(code) > 60:
                raise ValueError("dossier code is empty or longer than 60 characters")
            if code in seen:
                raise ValueError(f"dossier code repeats row {seen[code]}")
            unit_id = unit_ids.get((row["unit_code"] or "").strip())
            if unit_id is None:
                raise ValueError(f"unknown unit code {row['unit_code']!r}")
            received, returned = (
                _date(row["received_on"] or ""),
                _date(row["returned_on"] or ""),
            )
            if received is None:
                raise ValueError("received_on is empty")
            if returned is not None and returned < received:
                raise ValueError("returned_on is before received_on")
            on_time = (row["on_time"] or "").strip().lower()
            if on_time not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(f"on_time {row['on_time']!r} is not yes/no")
            field = (row["field"] or "").strip()[:40] or "khac"
        except ValueError as exc:
            report.errors.append((number, str(exc)))
            continue
        seen[code] = number
        rows.append(
            {
                "code": code,
                "unit_id": unit_id,
                "field": field,
                "received_on": received,
                "returned_on": returned,
                "is_late": on_time in FALSE_WORDS,
            }
        )
    if report.errors:
        raise ImportRejected(report)
    known = (
        set(
            db.session.scalars(
                sa.select(Dossier.code).where(
                    Dossier.code.in_([r["code"] for r in rows])
                )
            )
        )
        if rows
        else set()
    )
    new = [r for r in rows if r["code"] not in known]
    if new:
        db.session.execute(sa.insert(Dossier), new)
    for row in (r for r in rows if r["code"] in known):
        db.session.execute(
            sa.update(Dossier).where(Dossier.code == row["code"]).values(row)
        )
    report.created, report.updated = len(new), len(rows) - len(new)
    audit.record(
        "register.import",
        None,
        after={"created": report.created, "updated": report.updated},
        by=by,
    )
    db.session.commit()
    # A running Poisson sample draws the new dossiers as their import arrives.
    sampling.draw_arrivals()
    return report


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
