"""Exports of raw responses: one row per response, CSV or XLSX, in constant memory.

The columns are the ones ``python -m analysis indices`` reads (``unit``, ``stratum``,
``psu`` and the criterion codes with 1-5 or blank for no opinion), so a CSV export
feeds the command line as it is. Rows are read in id order by keyset chunks, each
streamed from the server in batches, so memory does not grow with the period.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

import sqlalchemy as sa
from openpyxl import Workbook

from .. import clock
from ..extensions import db
from ..models import SurveyPeriod, SurveyResponse, Unit, User
from ..spreadsheet import neutralise_row
from . import audit
from .questionnaires import definition_of

FORMATS = ("csv", "xlsx")
BASE_COLUMNS = (
    "id",
    "unit",
    "stratum",
    "psu",
    "status",
    "channel",
    "field",
    "submitted_at",
)
PROFILE_COLUMNS = ("gender", "age_group")
SUBMITTED_AT = BASE_COLUMNS.index("submitted_at")
# A keyset chunk is one short query on ix_response_period_id; within it rows arrive
# FETCH at a time (a server-side cursor on PostgreSQL).
CHUNK = 20_000
FETCH = 2_000
CSV_BATCH = 1_000  # rows per yielded CSV chunk (about 100 kB)
FILE_CHUNK = 256 * 1024
XLSX_MAX_ROWS = 1_048_576  # rows of one worksheet, header included
# A stored answer digit as an export cell: 0 = no opinion = blank.
ANSWER = {"0": None, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}


def export_columns(period: SurveyPeriod) -> list[str]:
    """Return the header of a period's export: base columns, scale items, profile."""
    items = definition_of(period.questionnaire).scale_items
    return [*BASE_COLUMNS, *items, *PROFILE_COLUMNS]


def export_rows(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[list]:
    """Return an iterator of a period's responses in id order, rows of `export_columns`.

    The PSU is the counter and the submission day in Vietnam time (``"12:20260501"``),
    as the results use it; a response without a counter (a sampled invitation) is
    its own PSU (``"r<id>"``), so no PSU spans two units. submitted_at is ISO 8601
    in Vietnam time; answers are 1-5 or None.
    Nothing is read until iteration, which needs an app context but no ORM object:
    a streamed download runs after the view's session is gone.
    """
    query = (
        sa.select(
            SurveyResponse.id,
            SurveyResponse.unit_id,
            SurveyResponse.counter_id,
            SurveyResponse.status,
            SurveyResponse.channel,
            SurveyResponse.field,
            SurveyResponse.submitted_at,
            SurveyResponse.answers,
            SurveyResponse.extra["gender"].as_string(),
            SurveyResponse.extra["age_group"].as_string(),
        )
        .where(SurveyResponse.period_id == period.id)
        .order_by(SurveyResponse.id)
        .limit(CHUNK)
    )
    if only_valid:
        query = query.where(SurveyResponse.status == "valid")
    if visible_unit_ids is not None:
        query = query.where(SurveyResponse.unit_id.in_(sorted(visible_unit_ids)))
    return _read_rows(query)


def _read_rows(query: sa.Select) -> Iterator[list]:
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    last_id, count = 0, CHUNK
    while count == CHUNK:
        result = db.session.execute(
            query.where(SurveyResponse.id > last_id),
            execution_options={"yield_per": FETCH},
        )
        count = 0
        try:
            for record in result:
                (last_id, unit_id, counter_id, status, channel, field, submitted,
                 answers, gender, age_group) = record  # fmt: skip
                count += 1
                stamp = clock.local(submitted).isoformat(timespec="seconds")
                code = codes[unit_id]
                psu = (
                    f"{counter_id}:{stamp[:10].replace('-', '')}"
                    if counter_id is not None
                    else f"r{last_id}"  # a sampled respondent is a PSU of its own
                )
                row = [last_id, code, code, psu, status, channel, field or "", stamp]
                row.extend(map(ANSWER.__getitem__, answers))
                row.append(gender or "")
                row.append(age_group or "")
                yield row
        finally:
            result.close()


def stream_csv(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[str]:
    """Return an iterator of a period's export as UTF-8 CSV text chunks, BOM first.

    The byte-order mark lets spreadsheet programs read Vietnamese text;
    ``python -m analysis`` accepts it.
    """
    columns = export_columns(period)
    return _csv_chunks(
        columns, export_rows(period, visible_unit_ids, only_valid=only_valid)
    )


def _csv_chunks(columns: list[str], rows: Iterator[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    yield buffer.getvalue()
    while batch := list(islice(rows, CSV_BATCH)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(neutralise_row, batch))
        yield buffer.getvalue()


def stream_xlsx(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[bytes]:
    """Return an iterator of a period's export as an XLSX file in chunks.

    openpyxl's write-only mode keeps rows in a temporary file, and the finished
    workbook goes to another one that is read back in chunks, so memory stays flat.
    A worksheet holds 1,048,576 rows: a longer export continues on further sheets.
    """
    columns = export_columns(period)
    return _xlsx_chunks(
        columns, export_rows(period, visible_unit_ids, only_valid=only_valid)
    )


def _xlsx_chunks(columns: list[str], rows: Iterator[list]) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet, used = None, XLSX_MAX_ROWS
    for row in rows:
        if used == XLSX_MAX_ROWS:
            sheet = workbook.create_sheet(f"responses-{len(workbook.worksheets) + 1}")
            sheet.append(columns)
            used = 1
        # Excel has no time zones: the cell holds Vietnam local time.
        stamp = datetime.fromisoformat(row[SUBMITTED_AT])
        row[SUBMITTED_AT] = stamp.replace(tzinfo=None)
        sheet.append(neutralise_row(row))
        used += 1
    if sheet is None:
        workbook.create_sheet("responses-1").append(columns)
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


def start_export(
    period: SurveyPeriod,
    fmt: str,
    *,
    by: User,
    visible_unit_ids: set[int] | None = None,
    only_valid: bool = True,
) -> Iterator[str] | Iterator[bytes]:
    """Record an export of a period's responses and return the stream of its file.

    :raise ValueError: for a format other than csv or xlsx.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt}.")
    scope = None if visible_unit_ids is None else by.unit_id
    after = {"format": fmt, "only_valid": only_valid, "subtree_of": scope}
    audit.record("response.export", period, after=after, by=by)
    db.session.commit()
    stream = stream_csv if fmt == "csv" else stream_xlsx
    return stream(period, visible_unit_ids, only_valid=only_valid)
