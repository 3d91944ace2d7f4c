"""Indices of a period: responses -> arrays -> analysis, under chosen method settings.

With publications.py, the only caller of `analysis`: it takes valid responses as
columns (reading.py) and register volumes, chooses the design and weights from the
method settings, and returns the tables that the pages and publications show.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _

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
from .reading import only_channel, response_frame
from .steps import step

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
            results.integrity = _effect_of_flags(period, settings, frame, counter)
    return results


def _effect_of_flags(
    period: SurveyPeriod, settings: Settings, frame: pd.DataFrame, results: Results
) -> dict:
    """The counter channel's responses received, flagged, excluded and used per unit,
    and its index with and without the flagged ones (flags are a counter matter).

    Without an exclusion policy the index "with the flagged ones" is the counter
    table just computed (same responses, design and domains): it is not computed
    again; unweighted, neither is the one without them, which is the same totals
    less those of the flagged responses.
    """
    counter = only_channel(frame, Channel.COUNTER)
    parents_all, _ = unit_tree_maps()
    present = set(counter["unit"].unique())
    parents = {u: p for u, p in parents_all.items() if u in present}
    known = None
    if not settings.exclude_flags:
        table = results.table
        overall = table[table["indicator"] == analysis.OVERALL]
        known = {"with_flagged": dict(
            zip(overall["unit"], overall["estimate"].astype(float), strict=True)
        )}  # fmt: skip
        if settings.weighting == "none" and not settings.trim:
            flagged = counter[counter["flagged"].to_numpy()]
            structure = definition_of(period.questionnaire).structure
            without = analysis.point_estimates_without(
                results.workings.linear, flagged, structure, parents=parents
            )
            known["without_flagged"] = _overall_percent(without)
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
        workings=Workings(frame, design, linear),
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
    return _overall_percent(found)


def _overall_percent(estimates: pd.DataFrame) -> dict[str, float]:
    """The overall index of each domain, on the table's 0-100 scale."""
    return (100 * estimates[analysis.OVERALL]).astype(float).to_dict()


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
