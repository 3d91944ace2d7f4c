"""Units and counters: the unit tree from CSV, counters and their rotatable QR tokens."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app

from .. import tokens
from ..errors import ServiceError
from ..extensions import db
from ..models import Counter, Unit, new_nonce, utcnow

UNIT_LEVELS = (
    "province",
    "department",
    "district",
    "commune",
    "ward",
    "special_zone",
    "office",
)
UNIT_COLUMNS = ("code", "name", "level", "parent_code")


class ImportRejected(ServiceError):
    """A CSV import with bad rows; nothing was stored."""

    status = 422

    def __init__(self, report: "ImportReport"):
        super().__init__(report.summary())
        self.report = report


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.errors:
            lines = [f"row {row}: {reason}" for row, reason in self.errors]
            return f"{len(self.errors)} bad row(s), nothing imported:\n" + "\n".join(
                lines
            )
        return f"{self.created} unit(s) created, {self.updated} updated"


def import_units(text: str, *, valid_from: date | None = None) -> ImportReport:
    """Create or update units from CSV (code, name, level, parent_code); all or nothing.

    Row numbers in the report count the header as row 1, as a spreadsheet shows them.
    :raise ImportRejected: with the report, if any row is bad.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in UNIT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        report.errors.append((1, f"missing column(s): {', '.join(missing)}"))
        raise ImportRejected(report)
    rows = list(reader)
    existing = {u.code: u for u in db.session.scalars(sa.select(Unit))}
    new_codes = {}
    for number, row in enumerate(rows, start=2):
        code, name = (row["code"] or "").strip(), (row["name"] or "").strip()
        level, parent = (row["level"] or "").strip(), (row["parent_code"] or "").strip()
        reason = None
        if not code or len(code) > 32:
            reason = "code is empty or longer than 32 characters"
        elif code in new_codes:
            reason = f"code {code} repeats row {new_codes[code]}"
        elif not name or len(name) > 200:
            reason = "name is empty or longer than 200 characters"
        elif level not in UNIT_LEVELS:
            reason = f"level {level!r} is not one of {', '.join(UNIT_LEVELS)}"
        elif (
            parent
            and parent not in existing
            and parent not in {r["code"].strip() for r in rows}
        ):
            reason = f"parent code {parent} is neither in the file nor in the database"
        elif parent == code:
            reason = "a unit cannot be its own parent"
        if reason:
            report.errors.append((number, reason))
        new_codes.setdefault(code, number)
    if report.errors:
        raise ImportRejected(report)
    units = {}
    for row in rows:
        code = row["code"].strip()
        unit = existing.get(code)
        if unit is None:
            unit = Unit(code=code, valid_from=valid_from)
            db.session.add(unit)
            report.created += 1
        else:
            report.updated += 1
        unit.name, unit.level = row["name"].strip(), row["level"].strip()
        units[code] = unit
    lookup = existing | units
    for row in rows:
        parent = row["parent_code"].strip()
        units[row["code"].strip()].parent = lookup[parent] if parent else None
    _check_no_cycles(lookup.values())
    db.session.commit()
    return report


def _check_no_cycles(units) -> None:
    for unit in units:
        seen, node = set(), unit
        while node is not None:
            if node.code in seen:
                db.session.rollback()
                raise ImportRejected(
                    ImportReport(errors=[(0, f"unit {unit.code} is its own ancestor")])
                )
            seen.add(node.code)
            node = node.parent


def get_unit(code: str) -> Unit | None:
    return db.session.scalar(sa.select(Unit).filter_by(code=code))


def create_counter(unit: Unit, name: str) -> Counter:
    """Add a counter (service point) to a unit."""
    counter = Counter(unit=unit, name=name.strip())
    db.session.add(counter)
    db.session.commit()
    return counter


def rotate_counter_token(counter: Counter) -> str:
    """Give a counter a new QR token; posters with the old one stop working."""
    counter.token_nonce = new_nonce()
    counter.token_rotated_at = utcnow()
    db.session.commit()
    return counter_token(counter)


def counter_token(counter: Counter) -> str:
    return tokens.counter_token(
        current_app.config["SECRET_KEY"], counter.id, counter.token_nonce
    )


def find_counter(token: str) -> Counter | None:
    """Return the active counter a QR token belongs to, or None for an unknown or revoked token."""
    counter_id = tokens.counter_id_from_token(token)
    if counter_id is None:
        return None
    query = (
        sa.select(Counter)
        .join(Counter.unit)
        .options(sa.orm.contains_eager(Counter.unit))
        .where(Counter.id == counter_id)
    )
    counter = db.session.scalar(query)
    if counter is None or not counter.is_active or not counter.unit.is_active:
        return None
    secret = current_app.config["SECRET_KEY"]
    return (
        counter
        if tokens.token_matches(secret, token, counter.id, counter.token_nonce)
        else None
    )


def counters_with_units() -> list[Counter]:
    query = sa.select(Counter).join(Counter.unit).order_by(Unit.code, Counter.id)
    return list(db.session.scalars(query.options(sa.orm.contains_eager(Counter.unit))))
