"""Indices of a period: responses -> arrays -> analysis, under chosen method settings.

With publications.py, the only caller of `analysis`: it reads valid responses (and
register volumes) into a DataFrame, chooses the design and weights from the method
settings, and returns the tables that the pages and publications show.
"""

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import sqlalchemy as sa
from flask_babel import gettext as _
from psycopg import pq
from pyarrow import csv

import analysis
from analysis.channels import compare_channels
from analysis.compare import compare_periods, compare_to_parent, rank_intervals
from analysis.multiplicity import ADJUSTMENTS
from analysis.sampling import sample_weights
from analysis.weights import post_stratify, rake, trim_weights

from ..errors import ServiceError
from ..extensions import db
from ..models import Channel, SurveyPeriod, SurveyResponse, Unit
from . import flagging, register, sampling
from .questionnaires import definition_of

FLAG_CODES = flagging.rules.CODES

WEIGHTINGS = ("none", "volume", "rake")
# "auto": the sample where one exists, with the counter beside it where both exist.
CHANNELS = ("auto", "sample", "counter", "both")
NONRESPONSE_CELLS = ("stratum", "unit")
#: What a unit's criteria are compared with to find its weaknesses.
REFERENCES = ("province", "block")
#: Most periods a small unit's pooled estimate may span.
MAX_POOL = 8
PEER_BLOCKS = {
    "department": "Sở, ban, ngành",
    "ward": "Phường",
    "commune": "Xã",
    "special_zone": "Xã",
    "district": "Huyện",
}


#: Seconds per step of the computation running under `time_split()` (benchmarks).
_split: ContextVar[dict | None] = ContextVar("split", default=None)
_in_step: ContextVar[bool] = ContextVar("in_step", default=False)


@contextmanager
def time_split() -> Iterator[dict]:
    """Collect the seconds spent in each step of the computations run inside."""
    found: dict[str, float] = {}
    token = _split.set(found)
    try:
        yield found
    finally:
        _split.reset(token)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Count the time of a block under `name` when a `time_split()` is active.

    A step inside another counts as the outer one (the split adds up to the total).
    """
    found = _split.get()
    if found is None or _in_step.get():
        yield
        return
    started = time.perf_counter()
    token = _in_step.set(True)
    try:
        yield
    finally:
        _in_step.reset(token)
        found[name] = found.get(name, 0.0) + time.perf_counter() - started


#: What one computation has read already (the register's volumes), under `_reading()`.
_read: ContextVar[dict | None] = ContextVar("read", default=None)


@contextmanager
def _reading() -> Iterator[None]:
    """One computation: a figure it reads twice (the weights of the index with and
    without the flagged responses) is read once."""
    token = _read.set({})
    try:
        yield
    finally:
        _read.reset(token)


def _volumes(period: SurveyPeriod) -> list[tuple[int, str, int]]:
    read = _read.get()
    if read is None:
        return register.volumes(period)
    if ("volumes", period.id) not in read:
        read["volumes", period.id] = register.volumes(period)
    return read["volumes", period.id]


class ResultsError(ServiceError):
    status = 422


@dataclass(frozen=True)
class Settings:
    """Method settings of one computation; stored with a publication to reproduce it."""

    weighting: str = "none"
    ci: str = "korn-graubard"
    level: float = 0.95
    trim: float | None = None  # upper bound as a multiple of the mean weight
    margins: tuple[str, ...] = ()  # CSV texts of raking margins (columns + population)
    df: str = "domain"
    lonely_psu: str = "adjust"
    design: str = "strata=unit, psu=counter-day (or the response, without a counter)"
    # Exclusion policy: besides the responses a review excluded, leave out every
    # response with an unreviewed flag of these kinds (analysis.integrity.CODES).
    exclude_flags: tuple[str, ...] = ()
    # Which responses: the sampled channel, the counter channel or both side by side
    # (never pooled); "auto" is resolved by compute() and stored resolved.
    channel: str = "auto"
    # Nonresponse cells of the sampled channel: its strata (unit × field) or its units.
    nonresponse: str = "stratum"
    # Weaknesses: a unit's criteria against the province or its peer block, adjusted
    # as a family (Holm or Benjamini-Hochberg); units too small to read alone are
    # pooled over their last `pool_periods` periods of the same version.
    reference: str = "province"
    adjustment: str = "holm"
    pool_periods: int = 1

    def __post_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise ResultsError(
                _("Cách tính trọng số không hợp lệ: %(value)s.", value=self.weighting)
            )
        if self.ci not in analysis.CI_METHODS:
            raise ResultsError(
                _("Phương pháp khoảng tin cậy không hợp lệ: %(value)s.", value=self.ci)
            )
        if not 0.5 <= self.level < 1:
            raise ResultsError(_("Độ tin cậy phải từ 0,5 đến dưới 1."))
        if self.trim is not None and self.trim <= 1:
            raise ResultsError(
                _(
                    "Ngưỡng cắt trọng số phải là bội số lớn hơn 1 của trọng số trung bình."
                )
            )
        if self.weighting == "rake" and not self.margins:
            raise ResultsError(_("Hiệu chỉnh theo biên cần ít nhất một tệp biên."))
        unknown = set(self.exclude_flags) - set(FLAG_CODES)
        if unknown:
            raise ResultsError(
                _("Loại cờ không hợp lệ: %(kinds)s.", kinds=", ".join(sorted(unknown)))
            )
        if self.channel not in CHANNELS:
            raise ResultsError(_("Kênh không hợp lệ: %(value)s.", value=self.channel))
        if self.nonresponse not in NONRESPONSE_CELLS:
            raise ResultsError(
                _(
                    "Ô điều chỉnh không trả lời không hợp lệ: %(value)s.",
                    value=self.nonresponse,
                )
            )
        if self.reference not in REFERENCES:
            raise ResultsError(
                _("Mốc so sánh không hợp lệ: %(value)s.", value=self.reference)
            )
        if self.adjustment not in ADJUSTMENTS:
            raise ResultsError(
                _(
                    "Cách điều chỉnh so sánh bội không hợp lệ: %(value)s.",
                    value=self.adjustment,
                )
            )
        if not 1 <= self.pool_periods <= MAX_POOL:
            raise ResultsError(_("Gộp từ 1 đến %(most)s kỳ.", most=MAX_POOL))

    def to_dict(self) -> dict:
        return asdict(self) | {
            "margins": list(self.margins),
            "exclude_flags": list(self.exclude_flags),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        # Settings stored before channels existed used every response, all counter.
        return cls(
            **(
                {"channel": Channel.COUNTER.value}
                | data
                | {
                    "margins": tuple(data.get("margins", ())),
                    "exclude_flags": tuple(data.get("exclude_flags", ())),
                }
            )
        )


@dataclass
class Workings:
    """The rows, design and linearisation behind one channel's table."""

    frame: pd.DataFrame
    design: analysis.Design
    linear: analysis.Linearization
    parents: dict


@dataclass
class Results:
    """A computed table with everything a results page shows."""

    period: SurveyPeriod
    settings: Settings
    table: pd.DataFrame  # analysis OUTPUT_COLUMNS + name, level
    ranks: pd.DataFrame
    versus_province: pd.DataFrame
    response_ids: list[int]
    excluded: int
    weights: dict = field(default_factory=dict)
    # Per unit code (and ALL): responses received, flagged, excluded, used, and the
    # overall index with and without the flagged responses (flagging.effect_of_flags).
    integrity: dict = field(default_factory=dict)
    channel: str = Channel.COUNTER.value  # "sample", "counter" or "both"
    # With both channels: the counter's results beside the sample's, and counter - sample.
    beside: "Results | None" = None
    gap: pd.DataFrame | None = None
    # The sampled channel's AAPOR response rates per unit (and "ALL").
    rates: pd.DataFrame | None = None
    # The ids the computation was asked for (a publication's), or None: valid ones.
    chosen_ids: list[int] | None = None
    # Per unit code: its weaknesses of this period alone (weaknesses.every_unit), kept
    # with the stored results so that a unit page only reads them.
    weaknesses: dict | None = None
    # What `table` was computed from, for the steps that follow in the same
    # computation (every unit's weaknesses); never stored, dropped once they are done.
    workings: "Workings | None" = field(default=None, repr=False, compare=False)

    @property
    def headline(self) -> str:
        """The channel of `table`: the sample's when both are side by side."""
        return Channel.SAMPLE.value if self.channel == "both" else self.channel


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
        sa.select(*columns.values())
        .where(SurveyResponse.period_id == period.id)
        .order_by(SurveyResponse.id)
    )
    if channel is not None:
        query = query.where(SurveyResponse.channel == channel)
    if response_ids is None:
        query = query.where(SurveyResponse.status == "valid")
        if exclude_flags:
            query = query.where(~flagging.excluded_by_policy(exclude_flags))
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


def _volume_cells(
    period: SurveyPeriod, frame: pd.DataFrame
) -> tuple[np.ndarray, pd.DataFrame]:
    """Post-strata unit × field, with the dossiers returned in the period as population.

    Within a unit, fields that have responses but no dossiers, or dossiers but no
    responses, pool into one cell "*"; if that pool still lacks one side, the whole unit
    is one post-stratum. Returns each response's cell and the population table.
    :raise ResultsError: if a unit with responses has no dossiers at all.
    """
    codes = dict(db.session.execute(sa.select(Unit.id, Unit.code)).all())
    counts = pd.DataFrame(
        [(codes[u], f, n) for u, f, n in _volumes(period)],
        columns=["unit", "field", "population"],
    )
    missing = sorted(set(frame["unit"].unique()) - set(counts["unit"]))
    if missing:
        raise ResultsError(
            _(
                "Không có hồ sơ đã trả trong đợt cho đơn vị: %(units)s. Nhập sổ hồ sơ "
                "trước khi tính trọng số theo số giao dịch.",
                units=", ".join(missing),
            )
        )
    # The rules are decided on the distinct (unit, field) pairs, a few hundred, and
    # each response takes its pair's cell.
    pair_of_row = frame.groupby(["unit", "field"], sort=False).ngroup().to_numpy()
    pairs = frame[["unit", "field"]].drop_duplicates()
    counts = counts[counts["unit"].isin(set(pairs["unit"]))]
    both = set(zip(pairs["unit"], pairs["field"], strict=True)) & set(
        zip(counts["unit"], counts["field"], strict=True)
    )

    def cells(table: pd.DataFrame) -> list[str]:
        return [
            f if (u, f) in both else "*"
            for u, f in zip(table["unit"], table["field"], strict=True)
        ]

    pair_cells, count_cells = cells(pairs), cells(counts)
    one_sided = {
        u
        for u, _cell in set(zip(pairs["unit"], pair_cells, strict=True))
        ^ set(zip(counts["unit"], count_cells, strict=True))
    }
    pair_cells = [
        "all" if u in one_sided else c
        for u, c in zip(pairs["unit"], pair_cells, strict=True)
    ]
    frame_cells = np.asarray(pair_cells, dtype=object)[pair_of_row]
    counts = counts.assign(
        cell=[
            "all" if u in one_sided else c
            for u, c in zip(counts["unit"], count_cells, strict=True)
        ]
    )
    return frame_cells, counts.groupby(["unit", "cell"], as_index=False)[
        "population"
    ].sum()


def _weighted_design(period: SurveyPeriod, frame: pd.DataFrame, settings: Settings):
    design = analysis.make_design(
        frame, strata="unit", psu="psu", lonely_psu=settings.lonely_psu
    )
    if settings.weighting == "volume":
        frame["cell"], population = _volume_cells(period, frame)
        design = post_stratify(design, frame, ["unit", "cell"], population)
    elif settings.weighting == "rake":
        margins = [
            pd.read_csv(io.StringIO(text), dtype=str) for text in settings.margins
        ]
        for margin in margins:
            unknown = set(margin.columns) - {"population"} - set(frame.columns)
            if "population" not in margin.columns or unknown:
                raise ResultsError(
                    _(
                        "Mỗi tệp biên cần cột population và các cột có trong dữ liệu "
                        "(không có: %(columns)s).",
                        columns=", ".join(sorted(unknown)) or "population",
                    )
                )
            margin["population"] = pd.to_numeric(margin["population"], errors="coerce")
        try:
            design = rake(design, frame, margins)
        except ValueError as exc:
            raise ResultsError(
                _("Không hiệu chỉnh được: %(error)s", error=exc)
            ) from None
    if settings.trim:
        design = trim_weights(
            design, upper=settings.trim * float(np.mean(design.weights))
        )
    return design


def _sampled_design(frame: pd.DataFrame, settings: Settings, drawn: pd.DataFrame):
    """Strata unit × field, each respondent its own PSU, weights 1/π adjusted for
    nonresponse, fpc = the stratum's dossiers in the frame of the draw.

    Nonrespondents are the drawn dossiers without a valid response (or, for a
    publication, without one of its responses); cells without respondents pass their
    weight to their unit's respondents.
    """
    unlinked = ~frame["id"].isin(drawn["response"])
    if unlinked.any():
        raise ResultsError(
            _(
                "%(count)s phiếu kênh mẫu không gắn với hồ sơ nào đã rút trong đợt, nên "
                "không có xác suất chọn; chọn kênh QR tại quầy, hoặc loại các phiếu này.",
                count=int(unlinked.sum()),
            )
        )
    responded = drawn["response"].notna().to_numpy()
    cells = drawn["unit"]
    if settings.nonresponse == "stratum":
        cells = drawn["unit"] + "|" + drawn["field"]
    weights = sample_weights(drawn["probability"], responded, cells, drawn["unit"])
    answered = drawn[responded].assign(weight=weights[responded])
    by_response = answered.set_index(answered["response"].astype(int))
    frame["stratum"] = frame["unit"] + "|" + frame["field"]
    frame["weight"] = frame["id"].map(by_response["weight"])
    frame["fpc"] = frame["id"].map(by_response["population"])
    design = analysis.make_design(
        frame,
        strata="stratum",
        psu="psu",
        weight="weight",
        fpc="fpc",
        lonely_psu=settings.lonely_psu,
    )
    if settings.trim:
        design = trim_weights(
            design, upper=settings.trim * float(np.mean(design.weights))
        )
    return design


def resolve_channel(requested: str, channels: set[str]) -> str:
    """The channel to compute: "auto" is the sample, beside the counter where both exist.

    :raise ResultsError: if the requested channel has no valid responses.
    """
    has_sample = Channel.SAMPLE in channels
    has_counter = Channel.COUNTER in channels
    if requested == "auto":
        if has_sample and has_counter:
            return "both"
        return Channel.SAMPLE.value if has_sample else Channel.COUNTER.value
    missing = {
        "sample": not has_sample,
        "counter": not has_counter,
        "both": not (has_sample and has_counter),
    }[requested]
    if missing:
        raise ResultsError(
            {
                "sample": _(
                    "Chưa có phiếu hợp lệ từ mẫu ngẫu nhiên (phiếu mời) trong đợt này."
                ),
                "counter": _("Chưa có phiếu hợp lệ qua mã QR tại quầy trong đợt này."),
                "both": _(
                    "Đợt này chưa có phiếu hợp lệ của cả hai kênh để đặt cạnh nhau."
                ),
            }[requested]
        )
    return requested


def unit_tree_maps() -> tuple[dict[str, str], dict[str, Unit]]:
    units = list(db.session.scalars(sa.select(Unit)))
    by_id = {u.id: u for u in units}
    parents = {u.code: by_id[u.parent_id].code for u in units if u.parent_id in by_id}
    return parents, {u.code: u for u in units}


def _channel_design(period, settings, frame, channel, drawn=None):
    """The design of one channel's responses: the draw's or the counter weighting."""
    if channel == Channel.SAMPLE:
        return _sampled_design(frame, settings, drawn)
    return _weighted_design(period, frame, settings)


def channel_sample(
    period: SurveyPeriod,
    settings: Settings,
    channel: str,
    response_ids: list[int] | None = None,
):
    """One channel's responses of a period and their design, as compute() weights them.

    :raise ResultsError: if the channel has no responses or the settings cannot apply.
    """
    frame = response_frame(
        period,
        response_ids,
        settings.exclude_flags if response_ids is None else (),
        extras=settings.weighting == "rake",
        channel=channel,
    )
    if frame.empty:
        raise ResultsError(
            _("Kỳ %(period)s chưa có phiếu hợp lệ của kênh này.", period=period.name)
        )
    drawn = (
        sampling.sample_frame(period, response_ids)
        if channel == Channel.SAMPLE
        else None
    )
    return frame, _channel_design(period, settings, frame, channel, drawn)


def tabulate(frame, structure, design, parents: dict, settings: Settings):
    """Linearise a sample for every domain (ALL, units, `parents`) and tabulate it.

    :raise ResultsError: if the data cannot be used.
    """
    try:
        linear = analysis.linearize(
            frame,
            structure,
            design=design,
            parents=parents,
            include_all=True,
            keep_scores=True,
        )
        table = analysis.index_table(
            linear, ci=settings.ci, level=settings.level, df=settings.df
        )
    except (analysis.DesignError, ValueError) as exc:
        raise ResultsError(_("Không tính được chỉ số: %(error)s", error=exc)) from None
    return linear, table


def compute(
    period: SurveyPeriod, settings: Settings, response_ids: list[int] | None = None
) -> Results:
    """Compute every index of a period with its uncertainty, ranks and comparisons.

    Channels are never pooled: the sample, the counter, or both side by side with the
    counter − sample difference per unit (settings.channel).
    :raise ResultsError: if there is nothing to compute or the settings cannot apply.
    """
    with _reading():
        return _compute(period, settings, response_ids)


def _compute(
    period: SurveyPeriod, settings: Settings, response_ids: list[int] | None
) -> Results:
    if response_ids is None:
        with step("flag pass"):
            flagging.ensure_fresh(period)
    frame = response_frame(
        period,
        response_ids,
        settings.exclude_flags if response_ids is None else (),
        extras=settings.weighting == "rake",
        # One channel asked for: the other's rows are never read.
        channel=settings.channel if settings.channel in CHANNELS[1:3] else None,
    )
    if frame.empty:
        if settings.channel != "auto":
            resolve_channel(settings.channel, set())  # says which channel is missing
        raise ResultsError(_("Chưa có phiếu hợp lệ trong đợt này."))
    channel = resolve_channel(settings.channel, set(frame["channel"].unique()))
    settings = replace(settings, channel=channel)
    # Every drawn dossier and its outcome: the sample's weights and response rates.
    drawn = (
        None
        if channel == Channel.COUNTER
        else sampling.sample_frame(period, response_ids)
    )
    if channel != "both":
        results = _compute_channel(period, settings, frame, channel, drawn)
    else:
        results = _compute_channel(period, settings, frame, Channel.SAMPLE, drawn)
        results.beside = _compute_channel(period, settings, frame, Channel.COUNTER)
        results.gap = compare_channels(results.beside.table, results.table)
        results.channel, results.response_ids = channel, frame["id"].tolist()
    results.chosen_ids = response_ids
    if channel != Channel.COUNTER:
        by_unit = sampling.rate_table(period, "unit", drawn=drawn)
        overall = sampling.rate_table(period, "all", drawn=drawn)
        results.rates = pd.concat(
            [
                by_unit.drop(columns=["unit_id", "unit_name"]),
                overall.assign(unit=analysis.ALL),
            ],
            ignore_index=True,
        )
    if response_ids is None and channel != Channel.SAMPLE:
        with step("effect of flags"):
            counter = results.beside if channel == "both" else results
            results.integrity = _effect_of_flags(period, settings, frame, counter.table)
    return results


def _effect_of_flags(
    period: SurveyPeriod, settings: Settings, frame: pd.DataFrame, table: pd.DataFrame
) -> dict:
    """The counter channel's responses received, flagged, excluded and used per unit,
    and its index with and without the flagged ones (flags are a counter matter).

    Without an exclusion policy the index "with the flagged ones" is the counter
    table just computed (same responses, design and domains): it is not computed again.
    """
    counter = only_channel(frame, Channel.COUNTER)
    parents_all, _ = unit_tree_maps()
    present = set(counter["unit"].unique())
    parents = {u: p for u, p in parents_all.items() if u in present}
    known = None
    if not settings.exclude_flags:
        overall = table[table["indicator"] == analysis.OVERALL]
        known = dict(
            zip(overall["unit"], overall["estimate"].astype(float), strict=True)
        )
    return flagging.effect_of_flags(period, settings, counter, parents, known)


def _compute_channel(
    period: SurveyPeriod,
    settings: Settings,
    frame: pd.DataFrame,
    channel: str,
    drawn: pd.DataFrame | None = None,
) -> Results:
    """The results of one channel's responses of the frame."""
    frame = only_channel(frame, channel)
    structure = definition_of(period.questionnaire).structure
    with step("weights"):
        design = _channel_design(period, settings, frame, channel, drawn)
    parents_all, units = unit_tree_maps()
    present = set(frame["unit"].unique())
    # Domains: the units with responses, their ancestors below the province, and ALL.
    parents = {u: p for u, p in parents_all.items() if u in present}
    with step("estimates"):
        linear, table = tabulate(frame, structure, design, parents, settings)
    with step("comparisons and ranks"):
        versus = compare_to_parent(linear, parents, indicators=[analysis.OVERALL])
        blocks = {
            code: PEER_BLOCKS.get(units[code].level, "Khác")
            for code in present
            if code in units
        }
        ranks = rank_intervals(table, units=sorted(present), blocks=blocks)
    table["name"] = [
        units[c].name if c in units else "Toàn tỉnh" for c in table["unit"]
    ]
    table["level"] = [units[c].level if c in units else "all" for c in table["unit"]]
    # "unit": has its own responses; "group": a node of the tree above units; "all".
    table["kind"] = np.where(
        table["unit"] == analysis.ALL,
        "all",
        np.where(table["unit"].isin(present), "unit", "group"),
    )
    excluded = db.session.scalar(
        sa.select(sa.func.count(SurveyResponse.id)).where(
            SurveyResponse.period_id == period.id,
            # A literal, so that the plan can use the partial index of the not valid.
            SurveyResponse.status == sa.literal_column("'excluded'"),
        )
    )
    diagnostics = analysis.kish_weighting_effect(design.weights) if len(frame) else None
    results = Results(
        period,
        settings,
        table,
        ranks,
        versus,
        frame["id"].tolist(),
        excluded,
        {
            "min": float(design.weights.min()),
            "max": float(design.weights.max()),
            "kish_deff": float(np.asarray(diagnostics).ravel()[0]),
        },
        channel=str(channel),
        workings=Workings(frame, design, linear, parents),
    )
    return results


def overall_by_unit(
    period: SurveyPeriod, settings: Settings, frame: pd.DataFrame, parents: dict
) -> dict[str, float]:
    """The overall index of every domain (units, their parents, ALL) for a frame,
    weighted as compute() weights it; estimates only (no interval is shown for them).
    """
    if frame.empty:
        return {}
    structure = definition_of(period.questionnaire).structure
    weights = None  # unweighted: no design to build for the estimates alone
    if settings.weighting != "none" or settings.trim:
        shallow = frame.copy(deep=False)  # the design adds its cells to the copy
        weights = _weighted_design(period, shallow, settings).weights
    try:
        found = analysis.point_estimates(frame, structure, weights, parents=parents)
    except (analysis.DesignError, ValueError) as exc:
        raise ResultsError(_("Không tính được chỉ số: %(error)s", error=exc)) from None
    return (100 * found[analysis.OVERALL]).astype(float).to_dict()  # as the table


def previous_period(period: SurveyPeriod) -> SurveyPeriod | None:
    """The latest earlier period with responses, whatever its questionnaire version."""
    query = (
        sa.select(SurveyPeriod)
        .where(SurveyPeriod.starts_on < period.starts_on)
        .where(sa.exists().where(SurveyResponse.period_id == SurveyPeriod.id))
        .order_by(SurveyPeriod.starts_on.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def incomparable(period: SurveyPeriod, other: SurveyPeriod) -> str | None:
    """Why two periods' indices cannot be compared, or None if they can.

    Indices of different questionnaire versions measure different items with
    different formulas: a series is broken there, never joined.
    """
    if other.questionnaire_id == period.questionnaire_id:
        return None
    return _(
        "Kỳ %(other)s dùng bảng hỏi %(other_code)s, kỳ %(period)s dùng %(code)s: hai bộ "
        "chỉ số đo các tiêu chí khác nhau nên không so sánh với nhau.",
        other=other.name,
        other_code=other.questionnaire.code,
        period=period.name,
        code=period.questionnaire.code,
    )


@dataclass
class PreviousComparison:
    """Every unit and indicator against the previous period, or why not."""

    period: SurveyPeriod | None
    table: pd.DataFrame
    refusal: str | None = None


NO_COMPARISON = ["unit", "indicator", "difference", "verdict"]


def versus_previous(results: Results) -> PreviousComparison:
    """Every unit and indicator against the previous period as that period published it.

    A published previous period is read on its publication's settings and responses,
    as the public trend shows it; an unpublished one under this period's settings. A
    previous period of another questionnaire version is refused with the reason.
    """
    earlier = previous_period(results.period)
    empty = pd.DataFrame(columns=NO_COMPARISON)
    if earlier is None:
        return PreviousComparison(None, empty)
    refusal = incomparable(results.period, earlier)
    if refusal:
        return PreviousComparison(earlier, empty, refusal)
    # Both read indices: imported here.
    from .publications import publication_of
    from .stored_results import for_page

    publication = publication_of(earlier)
    try:
        if publication is None:
            found = for_page(earlier, results.settings)
        else:
            published = Settings.from_dict(publication.settings)
            found = for_page(earlier, published, publication)
    except ServiceError as exc:
        return PreviousComparison(earlier, empty, str(exc))
    before = found.results
    if before is None:
        return PreviousComparison(
            earlier,
            empty,
            found.error
            or _(
                "Kết quả kỳ %(period)s đang được tính; xem lại sau.",
                period=earlier.name,
            ),
        )
    table = compare_periods(results.table, before.table).assign(previous=earlier.name)
    return PreviousComparison(earlier, table)
