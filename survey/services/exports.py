"""Exports of raw responses: one row per response, CSV, XLSX or Parquet, in constant memory.

Every question of the period's questionnaire leaves the system: the scale items (the
criteria and the overall question) as 1-5 or blank for no opinion, the other questions
as their answer codes with a readable label column beside the choice questions, and the
free-text suggestion as text. The code columns are the ones ``python -m analysis
indices`` reads (``unit``, ``stratum``, ``psu`` and the criterion codes), so a CSV or
Parquet export feeds the command line as it is; the XLSX header, read by people, puts
the Vietnamese wording beside each code.

A sampled response (an invitation drawn from the register) carries its own design:
stratum unit × field, a PSU of its own, its inclusion probability and base weight
(1 / probability); a counter response has the counter-day PSU and no weight.

Rows are read in id order by keyset chunks, each streamed from the server in batches;
CSV and XLSX go out as they are written; Parquet (one row group per chunk) is written
to a temporary file read back in chunks (its footer comes last), so memory does not
grow with the period.
"""

import csv
import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from flask_babel import gettext as _

from analysis.questionnaire import Questionnaire

from .. import clock
from ..extensions import db
from ..models import Counter, Invitation, SurveyPeriod, SurveyResponse, Unit, User
from ..spreadsheet import neutralise_row, xlsx_stream
from . import audit
from .questionnaires import definition_of

FORMATS = ("csv", "xlsx", "parquet")
BASE_COLUMNS = (
    "id",
    "unit",
    "unit_name",
    "stratum",
    "psu",
    "status",
    "channel",
    "channel_label",
    "counter",
    "field",
    "field_label",
    "submitted_at",
)
# Integrity flags not cleared by a review, codes separated by ";" (empty when none);
# then the design of a sampled response (blank for the counter channel).
TAIL_COLUMNS = ("flags", "declared_repeat", "inclusion_probability", "base_weight")
SUBMITTED_AT = BASE_COLUMNS.index("submitted_at")
# A keyset chunk is one short query on ix_response_period_id; within it rows arrive
# FETCH at a time (a server-side cursor on PostgreSQL).
CHUNK = 20_000
FETCH = 2_000
CSV_BATCH = 1_000  # rows per yielded CSV chunk (about 100 kB)
PARQUET_BATCH = 10_000  # rows per Parquet row group (about 25 MB as Python objects)
FILE_CHUNK = 256 * 1024
XLSX_MAX_ROWS = 1_048_576  # rows of one worksheet, header included
# A stored answer digit as an export cell: 0 = no opinion = blank.
ANSWER = {"0": None, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
SEPARATOR = ";"  # between the codes (and labels) of a multiple-choice answer


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    kind: str = "text"  # text, int, answer (1-5 or blank), float, time

    @property
    def heading(self) -> str:
        """The XLSX heading: the wording, then the code that CSV and Parquet use."""
        return f"{self.label} [{self.code}]" if self.label else self.code


def _base_columns() -> list[Column]:
    return [
        Column("id", _("Mã phiếu"), "int"),
        Column("unit", _("Mã đơn vị")),
        Column("unit_name", _("Tên đơn vị")),
        Column("stratum", _("Tầng chọn mẫu")),
        Column("psu", _("Đơn vị mẫu bậc một (PSU)")),
        Column("status", _("Trạng thái")),
        Column("channel", _("Kênh")),
        Column("channel_label", _("Kênh (tên)")),
        Column("counter", _("Quầy")),
        Column("field", _("Lĩnh vực")),
        Column("field_label", _("Lĩnh vực (tên)")),
        Column("submitted_at", _("Thời điểm gửi (giờ Việt Nam)"), "time"),
    ]


def _question_columns(definition: Questionnaire) -> list[Column]:
    """The scale items, then every other question but the field (a base column)."""
    scale = {c.code: c.text for c in definition.criteria} | {
        q.code: q.label for q in definition.questions if q.on_scale
    }
    columns = [Column(code, scale[code], "answer") for code in definition.scale_items]
    for question in definition.questions:
        if question.on_scale or question.code == "field":
            continue
        columns.append(Column(question.code, question.label))
        if question.options:
            columns.append(
                Column(
                    f"{question.code}_label", _("%(label)s (tên)", label=question.label)
                )
            )
    return columns


def _tail_columns() -> list[Column]:
    return [
        Column("flags", _("Dấu hiệu bất thường")),
        Column("declared_repeat", _("Tự khai đánh giá hồ sơ khác"), "int"),
        Column("inclusion_probability", _("Xác suất chọn vào mẫu"), "float"),
        Column("base_weight", _("Trọng số cơ sở (1 / xác suất)"), "float"),
    ]


def columns_of(period: SurveyPeriod) -> list[Column]:
    """Return the columns of a period's export, with their readable labels."""
    definition = definition_of(period.questionnaire)
    return [*_base_columns(), *_question_columns(definition), *_tail_columns()]


def export_columns(period: SurveyPeriod) -> list[str]:
    """Return the header of a period's CSV export (codes)."""
    return [column.code for column in columns_of(period)]


def _channel_labels() -> dict[str, str]:
    return {"counter": _("Tại quầy (mã QR)"), "sample": _("Được mời theo mẫu")}


def export_rows(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[list]:
    """Return an iterator of a period's responses in id order, rows of `columns_of`.

    The PSU is the counter and the submission day in Vietnam time (``"12:20260501"``),
    as the results use it; a response without a counter (a sampled invitation) is
    its own PSU (``"r<id>"``) in the stratum unit × field (``"STP:ho-tich"``), so no
    PSU spans two units. submitted_at is an aware datetime in Vietnam time; answers
    are 1-5 or None. Nothing is read until iteration, which needs an app context but
    no ORM object: a streamed download runs after the view's session is gone.
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
            SurveyResponse.extra,
            SurveyResponse.flags,
            SurveyResponse.declared_repeat,
            Invitation.inclusion_probability,
        )
        .outerjoin(Invitation, Invitation.id == SurveyResponse.invitation_id)
        .where(SurveyResponse.period_id == period.id)
        .order_by(SurveyResponse.id)
        .limit(CHUNK)
    )
    if only_valid:
        query = query.where(SurveyResponse.status == "valid")
    if visible_unit_ids is not None:
        query = query.where(SurveyResponse.unit_id.in_(sorted(visible_unit_ids)))
    return _read_rows(query, definition_of(period.questionnaire), _channel_labels())


def _read_rows(
    query: sa.Select, definition: Questionnaire, channels: dict[str, str]
) -> Iterator[list]:
    units = {
        unit_id: (code, name)
        for unit_id, code, name in db.session.execute(
            sa.select(Unit.id, Unit.code, Unit.name)
        )
    }
    counters = dict(db.session.execute(sa.select(Counter.id, Counter.name)).all())
    field = definition.question("field")
    field_labels = {o.code: o.label for o in field.options} if field else {}
    # (code, options by code or None for text) of the questions after the scale items
    questions = [
        (q.code, {o.code: o.label for o in q.options} if q.options else None)
        for q in definition.questions
        if not q.on_scale and q.code != "field"
    ]
    last_id, count = 0, CHUNK
    while count == CHUNK:
        result = db.session.execute(
            query.where(SurveyResponse.id > last_id),
            execution_options={"yield_per": FETCH},
        )
        count = 0
        try:
            for record in result:
                (last_id, unit_id, counter_id, status, channel, field_code, submitted,
                 answers, extra, flags, repeat, probability) = record  # fmt: skip
                count += 1
                stamp = clock.local(submitted)
                code, name = units[unit_id]
                if counter_id is not None:
                    psu = f"{counter_id}:{stamp:%Y%m%d}"
                    stratum = code
                else:  # a sampled respondent is a PSU of its own
                    psu = f"r{last_id}"
                    stratum = f"{code}:{field_code or ''}"
                row = [
                    last_id, code, name, stratum, psu, status, channel,
                    channels.get(channel, channel), counters.get(counter_id, ""),
                    field_code or "", field_labels.get(field_code, field_code or ""),
                    stamp,
                ]  # fmt: skip
                row.extend(map(ANSWER.__getitem__, answers))
                extra = extra or {}
                for question, options in questions:
                    value = extra.get(question)
                    if options is None:
                        row.append(value or "")
                        continue
                    chosen = value if isinstance(value, list) else [value] * bool(value)
                    row.append(SEPARATOR.join(map(str, chosen)))
                    row.append(SEPARATOR.join(options.get(c, str(c)) for c in chosen))
                row.append(SEPARATOR.join(flags or ()))
                row.append(int(bool(repeat)))
                row.append(probability)
                row.append(1 / probability if probability else None)
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
    return csv_chunks(
        columns, export_rows(period, visible_unit_ids, only_valid=only_valid)
    )


def csv_chunks(
    columns: list[str], rows: Iterator[list], time_at: int = SUBMITTED_AT
) -> Iterator[str]:
    """Return CSV text chunks (BOM, header, rows); the cell at time_at is a datetime."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns)
    yield buffer.getvalue()
    while batch := list(islice(rows, CSV_BATCH)):
        buffer.seek(0)
        buffer.truncate()
        for row in batch:
            row[time_at] = row[time_at].isoformat(timespec="seconds")
        writer.writerows(map(neutralise_row, batch))
        yield buffer.getvalue()


def stream_xlsx(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[bytes]:
    """Return an iterator of a period's export as an XLSX file in chunks.

    The workbook is streamed as it is written (survey.spreadsheet.xlsx_stream), so
    memory stays flat and the download starts at once. A worksheet holds 1,048,576
    rows: a longer export continues on further sheets.
    """
    headings = [column.heading for column in columns_of(period)]
    return xlsx_chunks(
        headings, export_rows(period, visible_unit_ids, only_valid=only_valid)
    )


def xlsx_chunks(
    headings: list[str], rows: Iterator[list], time_at: int = SUBMITTED_AT
) -> Iterator[bytes]:
    """Return an XLSX file in chunks (one header per sheet); time_at as in csv_chunks."""
    return xlsx_stream(headings, _local_times(rows, time_at), max_rows=XLSX_MAX_ROWS)


def _local_times(rows: Iterator[list], time_at: int) -> Iterator[list]:
    for row in rows:
        # Excel has no time zones: the cell holds Vietnam local time.
        row[time_at] = row[time_at].replace(tzinfo=None)
        yield row


def parquet_schema(columns: list[Column]) -> pa.Schema:
    """Return the Parquet schema of an export: answers as small integers, times in Vietnam."""
    types = {
        "int": pa.int64(),
        "answer": pa.int8(),
        "float": pa.float64(),
        "time": pa.timestamp("us", tz=clock.VIETNAM.key),
        "text": pa.string(),
    }
    return pa.schema(
        [pa.field(c.code, types[c.kind], metadata={"label": c.label}) for c in columns]
    )


def stream_parquet(
    period: SurveyPeriod,
    visible_unit_ids: set[int] | None = None,
    *,
    only_valid: bool = True,
) -> Iterator[bytes]:
    """Return an iterator of a period's export as a Parquet file in chunks.

    One row group per PARQUET_BATCH rows, written to a temporary file read back in chunks.
    Columns carry their codes (what pandas and R read) and their wording as metadata.
    """
    schema = parquet_schema(columns_of(period))
    return _parquet_chunks(
        schema, export_rows(period, visible_unit_ids, only_valid=only_valid)
    )


def _parquet_chunks(schema: pa.Schema, rows: Iterator[list]) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as handle:
        with pq.ParquetWriter(handle, schema, compression="zstd") as writer:
            while batch := list(islice(rows, PARQUET_BATCH)):
                columns = zip(*batch, strict=True)
                writer.write_table(
                    pa.Table.from_arrays(
                        [
                            pa.array(values, type=field.type)
                            for values, field in zip(columns, schema, strict=True)
                        ],
                        schema=schema,
                    )
                )
        handle.seek(0)
        while chunk := handle.read(FILE_CHUNK):
            yield chunk


STREAMS = {"csv": stream_csv, "xlsx": stream_xlsx, "parquet": stream_parquet}


def start_export(
    period: SurveyPeriod,
    fmt: str,
    *,
    by: User,
    visible_unit_ids: set[int] | None = None,
    only_valid: bool = True,
) -> Iterator[str] | Iterator[bytes]:
    """Record an export of a period's responses and return the stream of its file.

    :raise ValueError: for a format other than csv, xlsx or parquet.
    """
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt}.")
    scope = None if visible_unit_ids is None else by.unit_id
    after = {"format": fmt, "only_valid": only_valid, "subtree_of": scope}
    audit.record("response.export", period, after=after, by=by)
    db.session.commit()
    return STREAMS[fmt](period, visible_unit_ids, only_valid=only_valid)
