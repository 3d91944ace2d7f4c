"""Units and counters: the unit tree from CSV, counters and their rotatable QR tokens."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from .. import clock, integrity, tokens
from ..errors import ServiceError
from ..extensions import db
from ..models import Counter, Unit, new_nonce
from ..readers import TableError, open_table
from ..spreadsheet import neutralise_row
from . import audit, imports
from .imports import ImportReport, Problem

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


# The columns of Unit: code String(32), name String(200).
MAX_CODE, MAX_NAME = 32, 200


def import_units(
    source: BinaryIO | str,
    *,
    filename: str = "",
    encoding: str | None = None,
    valid_from: date | None = None,
    by=None,
) -> ImportReport:
    """Create or update units from CSV or XLSX (code, name, level, parent_code); all or nothing.

    `source` is the uploaded file, or CSV text. Row numbers in the report count the
    header as row 1, as a spreadsheet shows them.
    :raise ImportRejected: with every problem of every row, if any row is bad.
    """
    stream = io.BytesIO(source.encode()) if isinstance(source, str) else source
    try:
        table = open_table(stream, UNIT_COLUMNS, encoding=encoding)
        rows = [
            dict(zip(UNIT_COLUMNS, row.cells, strict=True))
            | {"row": row.number, "extra": row.extra}
            for row in table.rows
        ]
    except TableError as exc:
        raise imports.unreadable("units", filename, stream, exc, by=by) from None
    existing = {u.code: u for u in db.session.scalars(sa.select(Unit))}
    problems = list(_unit_problems(rows, existing))
    if not rows:
        problems.append(Problem(None, None, None, _("Tệp không có dòng dữ liệu nào.")))
    if problems:
        raise imports.reject("units", filename, table, problems, rows=len(rows), by=by)
    record = imports.begin("units", filename, table, by=by)
    report = ImportReport(rows=len(rows))
    units = {}
    for row in rows:
        unit = existing.get(row["code"])
        if unit is None:
            unit = Unit(code=row["code"], valid_from=valid_from)
            db.session.add(unit)
            report.created += 1
        elif (unit.name, unit.level) == (row["name"], row["level"]) and (
            unit.parent.code if unit.parent else ""
        ) == row["parent_code"]:
            report.unchanged += 1
        else:
            report.updated += 1
        unit.name, unit.level = row["name"], row["level"]
        units[row["code"]] = unit
    lookup = existing | units
    for row in rows:
        parent = row["parent_code"]
        units[row["code"]].parent = lookup[parent] if parent else None
    cycles = [
        Problem(
            row["row"],
            "parent_code",
            row["parent_code"],
            _("đơn vị %(code)s thành cấp trên của chính nó", code=row["code"]),
        )
        for row in rows
        if _in_cycle(units[row["code"]])
    ]
    if cycles:
        raise imports.reject("units", filename, table, cycles, rows=len(rows), by=by)
    imports.finish(record, report, "unit.import", by=by)
    return report


def _unit_problems(rows: list[dict], existing: dict) -> Iterator[Problem]:
    """Every problem of every row of a unit file, in row order."""
    first_row: dict[str, int] = {}
    for row in rows:
        first_row.setdefault(row["code"], row["row"])
    in_file = set(first_row)
    levels = ", ".join(UNIT_LEVELS)
    for row in rows:
        number, code, name = row["row"], row["code"], row["name"]
        level, parent = row["level"], row["parent_code"]
        if row["extra"]:
            yield Problem(
                number,
                None,
                None,
                _(
                    "dòng có %(count)s ô thừa ngoài các cột của dòng tiêu đề",
                    count=row["extra"],
                ),
            )
        if not code:
            yield Problem(number, "code", code, _("thiếu mã đơn vị"))
        elif len(code) > 32:
            yield Problem(number, "code", code, _("mã đơn vị dài hơn 32 ký tự"))
        elif first_row[code] != number:
            yield Problem(
                number,
                "code",
                code,
                _("mã đơn vị trùng với dòng %(row)s", row=first_row[code]),
            )
        if not name:
            yield Problem(number, "name", name, _("thiếu tên đơn vị"))
        elif len(name) > 200:
            yield Problem(number, "name", name, _("tên đơn vị dài hơn 200 ký tự"))
        if level not in UNIT_LEVELS:
            yield Problem(
                number,
                "level",
                level,
                _("cấp không hợp lệ; dùng một trong: %(levels)s", levels=levels),
            )
        if parent and parent == code:
            yield Problem(
                number,
                "parent_code",
                parent,
                _("một đơn vị không thể là cấp trên của chính nó"),
            )
        elif parent and parent not in existing and parent not in in_file:
            yield Problem(
                number,
                "parent_code",
                parent,
                _("đơn vị cấp trên không có trong tệp lẫn trong cơ sở dữ liệu"),
            )


def _in_cycle(unit: Unit) -> bool:
    seen, node = set(), unit.parent
    while node is not None:
        if node is unit:
            return True
        if node.code in seen:
            return False  # a cycle above, reported at its own rows
        seen.add(node.code)
        node = node.parent
    return False


def get_unit(code: str) -> Unit | None:
    return db.session.scalar(sa.select(Unit).filter_by(code=code))


def create_counter(unit: Unit, name: str, *, by=None) -> Counter:
    """Add a counter (service point) to a unit."""
    counter = Counter(unit=unit, name=name.strip())
    db.session.add(counter)
    db.session.flush()
    audit.record(
        "counter.create",
        counter,
        after={"unit": unit.code, "name": counter.name},
        by=by,
    )
    db.session.commit()
    return counter


# How long a rotation can be undone (the old posters work again).
UNDO_ROTATION = timedelta(hours=24)


def rotate_counter_token(counter: Counter, *, by=None) -> str:
    """Give a counter a new QR token; posters with the old one stop working."""
    counter.previous_nonce = counter.token_nonce
    counter.token_nonce = new_nonce()
    counter.token_rotated_at = clock.now()
    audit.record("counter.rotate_token", counter, by=by)
    db.session.commit()
    return counter_token(counter)


def can_restore_token(counter: Counter) -> bool:
    """True while the last rotation of a counter's QR token can still be undone."""
    return (
        counter.previous_nonce is not None
        and counter.token_rotated_at is not None
        and clock.now() - counter.token_rotated_at <= UNDO_ROTATION
    )


def restore_counter_token(counter: Counter, *, by=None) -> None:
    """Undo the last rotation: the posters printed before it work again.

    :raise ServiceError: if there is no rotation to undo or its time has passed.
    """
    if not can_restore_token(counter):
        raise ServiceError(
            _(
                "Không khôi phục được mã QR cũ: chỉ hoàn tác được trong %(hours)s giờ "
                "sau lần đổi mã gần nhất.",
                hours=int(UNDO_ROTATION.total_seconds() // 3600),
            )
        )
    counter.token_nonce, counter.previous_nonce = counter.previous_nonce, None
    audit.record("counter.restore_token", counter, by=by)
    db.session.commit()


def counter_token(counter: Counter) -> str:
    return tokens.counter_token(
        current_app.config["SECRET_KEY"], counter.id, counter.token_nonce
    )


# Built once: a prebuilt statement keeps its cache key, which saves work per page view.
_COUNTER_BY_ID = (
    sa.select(
        Counter.name,
        Counter.token_nonce,
        Counter.is_active,
        Unit.id,
        Unit.name,
        Unit.valid_to,
    )
    .join(Unit, Unit.id == Counter.unit_id)
    .where(Counter.id == sa.bindparam("counter_id"))
)


@dataclass(frozen=True)
class UnitRef:
    id: int
    name: str


@dataclass(frozen=True)
class CounterRef:
    """A counter as the public pages use it: read in one query, free of the session."""

    id: int
    name: str
    unit_id: int
    unit: UnitRef


def find_counter(token: str) -> CounterRef | None:
    """Return the active counter a QR token belongs to, or None for an unknown or revoked token.

    One Core query (no ORM loading): this runs on every citizen's page view and submission.
    """
    counter_id = tokens.counter_id_from_token(token)
    if counter_id is None:
        return None
    row = db.session.execute(_COUNTER_BY_ID, {"counter_id": counter_id}).first()
    if row is None:
        return None
    name, nonce, is_active, unit_id, unit_name, valid_to = row
    if not is_active or (valid_to is not None and valid_to < clock.today()):
        return None
    if not tokens.token_matches(
        current_app.config["SECRET_KEY"], token, counter_id, nonce
    ):
        return None
    return CounterRef(counter_id, name, unit_id, UnitRef(unit_id, unit_name))


def counters_with_units() -> list[Counter]:
    query = sa.select(Counter).join(Counter.unit).order_by(Unit.code, Counter.id)
    return list(db.session.scalars(query.options(sa.orm.contains_eager(Counter.unit))))


def unit_tree(visible: set[int] | None = None) -> list[tuple[Unit, int]]:
    """Return units depth-first as (unit, depth), limited to `visible` ids if given."""
    all_units = list(db.session.scalars(sa.select(Unit).order_by(Unit.code)))
    children: dict[int | None, list[Unit]] = {}
    for unit in all_units:
        children.setdefault(unit.parent_id, []).append(unit)
    roots = [
        u
        for u in all_units
        if visible is None
        and u.parent_id is None
        or visible is not None
        and u.id in visible
        and u.parent_id not in visible
    ]
    out: list[tuple[Unit, int]] = []
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        unit, depth = stack.pop()
        out.append((unit, depth))
        stack.extend(
            (child, depth + 1) for child in reversed(children.get(unit.id, []))
        )
    return out


def _unit_state(unit: Unit) -> dict:
    return {
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "parent": unit.parent.code if unit.parent else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "opening_hours": unit.opening_hours,
    }


class InvalidHours(ServiceError):
    """Opening hours that cannot be read."""


def save_unit(
    unit: Unit | None,
    code: str,
    name: str,
    level: str,
    parent: Unit | None,
    *,
    by,
    opening_hours: str | None = None,
) -> Unit:
    """Create a unit (unit=None) or change one; empty opening hours = the parent's.

    :raise ServiceError: if the code is taken, the level unknown or the parent a descendant.
    :raise InvalidHours: if the opening hours cannot be read.
    """
    code, name = code.strip(), name.strip()
    opening_hours = (opening_hours or "").strip() or None
    if opening_hours:
        try:
            integrity.parse_hours(opening_hours)
        except integrity.HoursError as exc:
            raise InvalidHours(str(exc)) from None
    if level not in UNIT_LEVELS:
        raise ServiceError(_("Cấp %(level)s không hợp lệ.", level=level))
    clash = db.session.scalar(sa.select(Unit).filter_by(code=code))
    if clash is not None and clash is not unit:
        raise ServiceError(_("Mã đơn vị %(code)s đã được dùng.", code=code))
    node = parent
    while node is not None:
        if unit is not None and node.id == unit.id:
            raise ServiceError(
                _("Đơn vị cấp trên không thể là chính nó hoặc đơn vị cấp dưới của nó.")
            )
        node = node.parent
    before = _unit_state(unit) if unit else None
    if unit is None:
        unit = Unit(valid_from=clock.today())
        db.session.add(unit)
    unit.code, unit.name, unit.level, unit.parent = code, name, level, parent
    unit.opening_hours = opening_hours
    db.session.flush()
    audit.record(
        "unit.create" if before is None else "unit.edit",
        unit,
        before=before,
        after=_unit_state(unit),
        by=by,
    )
    db.session.commit()
    return unit


def deactivate_unit(unit: Unit, on: date, *, by) -> None:
    """End a unit's validity (it keeps its history and old periods keep it)."""
    before = _unit_state(unit)
    unit.valid_to = on
    audit.record("unit.deactivate", unit, before=before, after=_unit_state(unit), by=by)
    db.session.commit()


def reactivate_unit(unit: Unit, *, by) -> None:
    """Undo a deactivation: the unit is valid again from its original start."""
    if unit.valid_to is None:
        raise ServiceError(_("Đơn vị đang hoạt động."))
    before = _unit_state(unit)
    unit.valid_to = None
    audit.record("unit.reactivate", unit, before=before, after=_unit_state(unit), by=by)
    db.session.commit()


def restructure(
    kind: str,
    old_codes: list[str],
    new_rows: list[tuple[str, str, str]],
    effective_on: date,
    *,
    by,
) -> list[Unit]:
    """Merge old units into one new unit, or split one unit into several, on a date.

    Old units end the day before; new units start that day under the old units' parent.
    :raise ServiceError: if codes are unknown or taken, or the shape does not fit the kind.
    """
    old = [get_unit(code.strip()) for code in old_codes if code.strip()]
    if not old or any(u is None for u in old):
        raise ServiceError(_("Có mã đơn vị cũ không tồn tại."))
    if kind == "merge" and (len(old) < 2 or len(new_rows) != 1):
        raise ServiceError(
            _("Hợp nhất: ít nhất hai đơn vị cũ thành đúng một đơn vị mới.")
        )
    if kind == "split" and (len(old) != 1 or len(new_rows) < 2):
        raise ServiceError(_("Chia tách: một đơn vị cũ thành ít nhất hai đơn vị mới."))
    parent = old[0].parent
    new_units = []
    for code, name, level in new_rows:
        if not code or len(code) > MAX_CODE or not name or len(name) > MAX_NAME:
            raise ServiceError(
                _(
                    "Đơn vị mới %(code)s…: mã cần 1–%(MAX_CODE)s ký tự, tên 1–%(MAX_NAME)s ký tự.",
                    code=code[:MAX_CODE],
                    MAX_CODE=MAX_CODE,
                    MAX_NAME=MAX_NAME,
                )
            )
        if level not in UNIT_LEVELS or get_unit(code) is not None:
            raise ServiceError(
                _(
                    "Đơn vị mới %(code)s: mã đã dùng, thiếu tên hoặc cấp không hợp lệ.",
                    code=code,
                )
            )
        unit = Unit(
            code=code, name=name, level=level, parent=parent, valid_from=effective_on
        )
        db.session.add(unit)
        new_units.append(unit)
    for unit in old:
        unit.valid_to = effective_on - timedelta(days=1)
    db.session.flush()
    audit.record(
        f"unit.{kind}",
        None,
        before={"units": [u.code for u in old]},
        after={"units": [u.code for u in new_units], "on": effective_on.isoformat()},
        by=by,
    )
    db.session.commit()
    return new_units


def export_units_csv(visible: set[int] | None = None) -> str:
    """Return the unit tree (or a visible subtree) as CSV in the import format, plus dates."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*UNIT_COLUMNS, "valid_from", "valid_to"])
    for unit, _depth in unit_tree(visible):
        writer.writerow(
            neutralise_row(
                [
                    unit.code,
                    unit.name,
                    unit.level,
                    unit.parent.code if unit.parent else "",
                    unit.valid_from or "",
                    unit.valid_to or "",
                ]
            )
        )
    return out.getvalue()


def rename_counter(counter: Counter, name: str, *, by) -> None:
    before = {"name": counter.name}
    counter.name = name.strip()
    audit.record(
        "counter.rename", counter, before=before, after={"name": counter.name}, by=by
    )
    db.session.commit()


def unit_counters(unit: Unit) -> list[Counter]:
    return list(
        db.session.scalars(
            sa.select(Counter).filter_by(unit_id=unit.id).order_by(Counter.id)
        )
    )
