"""A period's responses as columns for the indices: one SELECT, no object per response.

PostgreSQL streams the SELECT with ``COPY ... TO STDOUT`` and Arrow parses it while the
next rows arrive; SQLite (the demo) fetches the same SELECT through its cursor. The PSU
is computed by the database, the answer digits are decoded in one vectorised step.
"""

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import sqlalchemy as sa
from psycopg import pq
from pyarrow import csv

from ..extensions import db
from ..models import SurveyPeriod, SurveyResponse, Unit
from . import flagging
from .questionnaires import definition_of
from .steps import step

#: Vietnam's offset from UTC (Asia/Ho_Chi_Minh keeps +07:00 all year, no DST).
VIETNAM_OFFSET_S = 7 * 3600


def _vietnam_day(column):
    """SQL: the Vietnamese calendar day of a UTC timestamp, as days since 1970."""
    if db.engine.dialect.name == "postgresql":
        # date_part is a float (extract is a NUMERIC, slower to compute and format).
        seconds = sa.func.date_part("epoch", column, type_=sa.Float) + VIETNAM_OFFSET_S
        return sa.cast(sa.func.floor(seconds / 86400), sa.BigInteger)
    # SQLite keeps naive UTC text ("YYYY-MM-DD HH:MM:SS.ffffff"). The fraction is cut
    # off (strftime would round it to milliseconds: 16:59:59.9999 to the next day), and
    # integers divide as integers (floor: every epoch here is positive).
    whole = sa.func.substr(column, 1, 19)
    seconds = sa.cast(sa.func.strftime("%s", whole), sa.Integer)
    return (seconds + VIETNAM_OFFSET_S) // 86400


def _psu(response) -> sa.ColumnElement:
    """SQL: the PSU code, counter × Vietnam day, or minus the id without a counter.

    Answers given at one desk on one day are alike; a response without a counter (a
    sampled invitation) is its own PSU. One integer: counter id × 10⁶ + day.
    """
    counter = sa.cast(response.counter_id, sa.BigInteger)
    return sa.case(
        (response.counter_id.is_(None), -response.id),
        else_=counter * 1_000_000 + _vietnam_day(response.submitted_at),
    )


#: Arrow types of the dtypes read_columns is given.
_ARROW_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    str: pa.large_string(),
}


#: Bytes of CSV rows parsed at once, while the next rows arrive.
COPY_BLOCK = 4 << 20


def _copy_out(connection, sql: str) -> Iterator[memoryview]:
    """Run ``COPY (sql) TO STDOUT WITH (FORMAT csv)``: blocks of whole CSV rows.

    The server sends one message per row. psycopg's ``Copy.read()`` waits for the next
    one (the GIL released); the rows libpq already holds are then taken straight from
    it, one C call each, instead of one pass through psycopg's wait loop each.
    """
    pgconn = connection.pgconn
    buffer = io.BytesIO()
    with connection.cursor().copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        while row := copy.read():
            write = buffer.write
            write(row)
            size, row = pgconn.get_copy_data(1)  # 1: never wait
            while size > 0:
                write(row)
                size, row = pgconn.get_copy_data(1)
            if size == 0:  # nothing more received yet
                if buffer.tell() >= COPY_BLOCK:
                    yield buffer.getbuffer()
                    buffer = io.BytesIO()
                continue
            if size == -2:
                raise psycopg.OperationalError(pgconn.get_error_message())
            # -1: the copy is done; its final result, as Copy.read() would take it.
            while (result := pgconn.get_result()) is not None:
                if result.status != pq.ExecStatus.COMMAND_OK:
                    raise psycopg.errors.error_from_result(result)
            break
    if buffer.tell():
        yield buffer.getbuffer()


def _parse_csv(block: memoryview, columns: list[str], dtypes: dict) -> pa.Table:
    """CSV rows from COPY as an Arrow table of the given column types."""
    # An empty unquoted CSV field is NULL; an empty text is quoted ("") and stays one.
    return csv.read_csv(
        pa.BufferReader(block),
        read_options=csv.ReadOptions(column_names=columns, block_size=1 << 23),
        parse_options=csv.ParseOptions(newlines_in_values=True),
        convert_options=csv.ConvertOptions(
            column_types={c: _ARROW_TYPES[dtypes.get(c, str)] for c in columns},
            null_values=[""],
            strings_can_be_null=False,
        ),
    )


def read_columns(query: sa.Select, columns: list[str], dtypes: dict) -> pd.DataFrame:
    """The rows of a SELECT as a DataFrame, without building a Python object per row.

    PostgreSQL streams the result with ``COPY (SELECT ...) TO STDOUT`` (CSV), parsed
    by Arrow block by block in a thread while the next rows arrive; SQLite fetches the
    same SELECT through its cursor. Both run in the session's transaction, so they see
    what it has written.
    """
    dtypes = {k: v for k, v in dtypes.items() if k in columns}
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        rows = connection.execute(query).fetchall()
        frame = pd.DataFrame(rows, columns=columns)
        return (
            frame.astype({k: v for k, v in dtypes.items() if v is not str})
            if len(frame)
            else frame.astype(dtypes)
        )
    sql = str(
        query.compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
    )
    with ThreadPoolExecutor(1) as parser:
        parsed = [
            parser.submit(_parse_csv, block, columns, dtypes)
            for block in _copy_out(connection.connection.driver_connection, sql)
        ]
        tables = [block.result() for block in parsed]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c)) for c in columns})
    table = pa.concat_tables(tables)
    del parsed, tables  # the table alone holds the columns: freed as they convert
    return table.to_pandas(split_blocks=True, self_destruct=True)


def response_frame(
    period: SurveyPeriod,
    response_ids: list[int] | None = None,
    exclude_flags: tuple[str, ...] = (),
    extras: bool = True,
    channel: str | None = None,
) -> pd.DataFrame:
    """Valid responses of a period (or exactly the ids given) as one row per response.

    ``exclude_flags`` also leaves out responses with an unreviewed flag of those kinds.
    One SELECT read as columns (read_columns), the PSU computed by the database; the
    answer digits are decoded in one vectorised step. Given ids are matched in memory
    (no giant ``IN`` list). Without ``extras`` the gender and age group (read from
    JSON, the slowest part of the SELECT) are left out: only raking needs them.
    ``channel`` keeps one channel.
    """
    definition = definition_of(period.questionnaire)
    columns, query = response_query(period, response_ids is None, exclude_flags, extras)
    if channel is not None:
        query = query.where(SurveyResponse.channel == channel)
    text = ("field", "answers", "gender", "age_group", "channel")
    with step("read"):
        frame = read_columns(
            query,
            list(columns),
            {"id": "int64", "unit_id": "int64", "counter": "float64", "psu": "int64"}
            | {"flagged": "bool"}
            | dict.fromkeys(text, str),
        )
    with step("decode"):
        return _decoded(frame, response_ids, definition.scale_items)


def response_query(
    period: SurveyPeriod,
    valid_only: bool = True,
    exclude_flags: tuple[str, ...] = (),
    extras: bool = True,
) -> tuple[dict[str, sa.ColumnElement], sa.Select]:
    """The SELECT response_frame reads (one row per response, by id) and its columns."""
    columns = {
        "id": SurveyResponse.id,
        "unit_id": SurveyResponse.unit_id,
        "counter": SurveyResponse.counter_id,
        "field": sa.func.coalesce(SurveyResponse.field, "khac"),
        "answers": SurveyResponse.answers,
        "channel": SurveyResponse.channel,
        "flagged": sa.case((flagging.has_flag(), 1), else_=0),
    }
    if extras:
        columns |= {
            key: sa.func.coalesce(SurveyResponse.extra[key].as_string(), "")
            for key in ("gender", "age_group")
        }
    columns["psu"] = _psu(SurveyResponse)
    query = (
        sa.select(*(column.label(name) for name, column in columns.items()))
        .where(SurveyResponse.period_id == period.id)
        .order_by(SurveyResponse.id)
    )
    if valid_only:
        query = query.where(SurveyResponse.status == "valid")
        if exclude_flags:
            query = query.where(~flagging.excluded_by_policy(exclude_flags))
    return columns, query


def _decoded(frame: pd.DataFrame, response_ids, items) -> pd.DataFrame:
    """Unit codes and the answer digits as scores (NaN: no opinion)."""
    if response_ids is not None:
        chosen = np.asarray(response_ids, dtype=np.int64)  # np.unique would hash them
        frame = frame[np.isin(frame["id"].to_numpy(), chosen)].reset_index(drop=True)
    unit = pd.Series(_unit_codes(frame["unit_id"].to_numpy()), dtype=object)
    frame.insert(1, "unit", unit.set_axis(frame.index))
    matrix = _SCORES.take(_digit_columns(frame["answers"], len(items)))
    scores = pd.DataFrame(matrix.T, columns=list(items), index=frame.index, copy=False)
    return pd.concat([frame.drop(columns=["answers", "unit_id"]), scores], axis=1)


#: The score of each byte of an answer string: its digit, NaN for "0" (no opinion:
#: out of every denominator). Single precision holds 1-5 and NaN exactly, in half
#: the memory of a million responses' scores.
_SCORES = (np.arange(256) - ord("0")).astype(np.float32)
_SCORES[ord("0")] = np.nan


def _unit_codes(unit_ids: np.ndarray) -> np.ndarray:
    """The unit code of each unit id (objects), looked up by position, not by hashing."""
    # Unit codes joined here (a few thousand units) rather than per row in SQL.
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    table = np.full(max(codes, default=0) + 1, np.nan, dtype=object)
    table[list(codes)] = list(codes.values())
    return table[unit_ids]


def _digit_columns(answers: pd.Series, width: int) -> np.ndarray:
    """The bytes (ASCII digits) of the answer strings, one row per item: (width, n).

    Read from the Arrow buffers of the strings (where pandas keeps them), without a
    Python object per answer; the item-major layout is that of a DataFrame's block.
    """
    strings = pa.array(answers, type=pa.large_string())
    chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
    columns = np.empty((width, len(answers)), dtype=np.uint8)
    start = 0
    for chunk in filter(len, chunks):
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
        if chunk.null_count or np.any(np.diff(offsets) != width):
            raise ValueError(f"every answer string must hold {width} digits")
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
        digits = data[offsets[0] : offsets[-1]].reshape(len(chunk), width)
        columns[:, start : start + len(chunk)] = digits.T
        start += len(chunk)
    return columns


def only_channel(frame: pd.DataFrame, channel: str) -> pd.DataFrame:
    """The rows of one channel (the frame itself when it holds no other)."""
    mine = (frame["channel"] == channel).to_numpy()
    return frame if mine.all() else frame[mine].reset_index(drop=True)
