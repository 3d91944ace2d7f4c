"""Sample plans and draws from the dossier register (strata = unit × field).

The frame of a period is every dossier whose result was returned within the period's
dates. A plan says how many dossiers to draw per stratum; a draw selects them with
permanent random numbers from a stored seed (analysis.sampling), so the same seed and
register give the same dossiers, and stores each drawn dossier once, with its
inclusion probability, as an invitation.
"""

import secrets
from dataclasses import asdict, dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from analysis.sampling import (
    permanent_random_numbers,
    plan_strata,
    response_rates,
    select_poisson,
    select_srswor,
)

from .. import clock, invitation_codes
from ..errors import Conflict, ServiceError
from ..extensions import db
from ..models import (
    Channel,
    Dossier,
    Invitation,
    InvitationBatch,
    PeriodStatus,
    Publication,
    SampleDesign,
    SamplePlan,
    SampleStratum,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from . import audit

DESIGNS = tuple(d.value for d in SampleDesign)


class PlanError(ServiceError):
    """A plan or draw that the period or the register cannot support."""

    status = 422


@dataclass(frozen=True)
class PlanSettings:
    """The planner's inputs; the defaults are the demanding, cautious choices."""

    design: str = SampleDesign.SRSWOR.value
    moe: float = 5.0  # points
    level: float = 0.95
    share: float = 50.0  # expected % satisfied
    deff: float = 1.5  # used where last period measured none
    response_rate: float = 50.0  # percent; used where last period measured none
    min_per_field: int = 0

    def __post_init__(self):
        if self.design not in DESIGNS:
            raise PlanError(
                _("Thiết kế mẫu không hợp lệ: %(design)s.", design=self.design)
            )
        if not 0.5 <= self.moe <= 30:
            raise PlanError(_("Sai số mong muốn phải từ 0,5 đến 30 điểm."))
        if not 0.5 <= self.level < 1:
            raise PlanError(_("Độ tin cậy phải từ 0,5 đến dưới 1."))
        if not 0 < self.share < 100:
            raise PlanError(_("Tỷ lệ hài lòng dự kiến phải trong khoảng 0–100%."))
        if not 0.5 <= self.deff <= 10:
            raise PlanError(_("Hiệu ứng thiết kế phải từ 0,5 đến 10."))
        if not 1 <= self.response_rate <= 100:
            raise PlanError(_("Tỷ lệ phản hồi dự kiến phải từ 1 đến 100%."))
        if not 0 <= self.min_per_field <= 1000:
            raise PlanError(_("Số phiếu tối thiểu mỗi lĩnh vực phải từ 0 đến 1000."))


@dataclass
class DrawReport:
    """What a draw did: dossiers of the frame, drawn now, drawn before, left out."""

    frame: int = 0
    drawn: int = 0
    already: int = 0
    outside_plan: int = 0
    batches: int = 0


@dataclass
class DrawCheck:
    """A draw repeated from its seed and today's register, against the stored one."""

    stored: int
    repeated: int
    missing: list[str] = field(default_factory=list)  # stored, not drawn again
    extra: list[str] = field(default_factory=list)  # drawn again, not stored

    @property
    def same(self) -> bool:
        return not self.missing and not self.extra


def plan_of(period: SurveyPeriod) -> SamplePlan | None:
    return db.session.scalar(sa.select(SamplePlan).filter_by(period_id=period.id))


def _in_period(period: SurveyPeriod):
    return Dossier.returned_on.between(period.starts_on, period.ends_on)


def frame_counts(period: SurveyPeriod) -> pd.DataFrame:
    """Dossiers returned in the period per stratum: unit_id, field, population."""
    rows = db.session.execute(
        sa.select(Dossier.unit_id, Dossier.field, sa.func.count())
        .where(_in_period(period))
        .group_by(Dossier.unit_id, Dossier.field)
        .order_by(Dossier.unit_id, Dossier.field)
    ).all()
    return pd.DataFrame(rows, columns=["unit_id", "field", "population"])


def _frame(period: SurveyPeriod) -> pd.DataFrame:
    """Every dossier of the period's frame: id, code, unit_id, field."""
    rows = db.session.execute(
        sa.select(Dossier.id, Dossier.code, Dossier.unit_id, Dossier.field)
        .where(_in_period(period))
        .order_by(Dossier.id)
    ).all()
    return pd.DataFrame(rows, columns=["id", "code", "unit_id", "field"])


def previous_sampled_period(period: SurveyPeriod) -> SurveyPeriod | None:
    """The latest earlier closed period with a drawn sample (its rates are final)."""
    return db.session.scalar(
        sa.select(SurveyPeriod)
        .join(SamplePlan, SamplePlan.period_id == SurveyPeriod.id)
        .where(
            SurveyPeriod.starts_on < period.starts_on,
            SurveyPeriod.status == PeriodStatus.CLOSED,
            SamplePlan.drawn_at.is_not(None),
        )
        .order_by(SurveyPeriod.starts_on.desc())
        .limit(1)
    )


def last_period_figures(period: SurveyPeriod) -> pd.DataFrame:
    """Per unit, last period's measured design effect and RR1 (where they exist).

    The design effect comes from the latest earlier publication whose headline figures
    are the sample's (a counter stream's clustering says nothing of a sample's); the
    response rate from the latest earlier closed period with a drawn sample, for units
    whose invitations were delivered and answered at all.
    Columns unit_id, deff, response_rate (NaN where not measured).
    """
    codes = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    publication = db.session.scalar(
        sa.select(Publication)
        .join(SurveyPeriod, SurveyPeriod.id == Publication.period_id)
        .where(SurveyPeriod.starts_on < period.starts_on)
        .order_by(SurveyPeriod.starts_on.desc())
        .limit(1)
    )
    deff = pd.DataFrame(columns=["unit_id", "deff"])
    sampled = publication and publication.summary.get("channel") in ("sample", "both")
    if sampled:
        deff = pd.DataFrame(
            [
                (codes[r["unit"]], r["deff"])
                for r in publication.results
                if r["indicator"] == "SIPAS" and r["unit"] in codes and r["deff"]
            ],
            columns=["unit_id", "deff"],
        )
    rates = pd.DataFrame(columns=["unit_id", "response_rate"])
    earlier = previous_sampled_period(period)
    if earlier is not None:
        table = rate_table(earlier, by="unit")
        table = table[(table["delivered"] > 0) & (table["rr1"] > 0)]
        rates = pd.DataFrame(
            {"unit_id": table["unit_id"], "response_rate": table["rr1"]}
        )
    return deff.merge(rates, on="unit_id", how="outer")


def _expected_population(period: SurveyPeriod, counts: pd.Series, design: str):
    """The period's expected dossiers per stratum.

    A closed register (SRSWOR) is the frame itself. A growing one (Poisson) is
    projected from the days elapsed to the whole period.
    """
    if design == SampleDesign.SRSWOR:
        return counts
    days = (period.ends_on - period.starts_on).days + 1
    elapsed = (min(clock.today(), period.ends_on) - period.starts_on).days + 1
    factor = days / min(max(elapsed, 1), days)
    return np.ceil(counts * factor - 1e-9).astype(np.int64)


def propose(
    period: SurveyPeriod,
    settings: PlanSettings,
    needed: dict[int, int] | None = None,
) -> pd.DataFrame:
    """Propose respondents and draws per stratum from the register and last period.

    ``needed`` replaces the computed respondents of some units (unit id -> count);
    they are divided over the unit's fields in the same way.

    Columns: unit_id, unit, name, field, expected, frame, deff, response_rate,
    unit_needed, needed, draw, rate.
    :raise PlanError: if the period has no sample channel or the register no dossiers.
    """
    _require_sample_channel(period)
    counts = frame_counts(period)
    if counts.empty:
        raise PlanError(
            _(
                "Sổ hồ sơ chưa có hồ sơ nào trả kết quả trong thời gian của đợt: "
                "nhập sổ hồ sơ trước khi lập kế hoạch mẫu."
            )
        )
    counts = counts.merge(last_period_figures(period), on="unit_id", how="left")
    if needed:
        if any(v < 0 for v in needed.values()):
            raise PlanError(_("Số phiếu cần thu không thể âm."))
        counts["unit_needed"] = counts["unit_id"].map(needed)
    counts["expected"] = _expected_population(
        period, counts["population"], settings.design
    )
    units = {u.id: u for u in db.session.scalars(sa.select(Unit))}
    try:
        planned = plan_strata(
            counts.rename(columns={"unit_id": "unit"}).assign(
                population=counts["expected"]
            ),
            moe=settings.moe,
            level=settings.level,
            share=settings.share,
            deff=settings.deff,
            response_rate=settings.response_rate,
            minimum=settings.min_per_field,
        )
    except ValueError as exc:
        raise PlanError(_("Không lập được kế hoạch: %(exc)s", exc=exc)) from None
    proposal = pd.DataFrame(
        {
            "unit_id": counts["unit_id"].astype(int),
            "unit": [units[u].code for u in counts["unit_id"]],
            "name": [units[u].name for u in counts["unit_id"]],
            "field": counts["field"],
            "expected": counts["expected"].astype(int),
            "frame": counts["population"].astype(int),
            "deff": counts["deff"].fillna(settings.deff),
            "response_rate": planned["response_rate"],
            "unit_needed": planned["unit_needed"],
            "needed": planned["needed"],
            "draw": planned["draw"],
        }
    )
    proposal["rate"] = _rate(proposal["draw"], proposal["expected"])
    return proposal


def _rate(draw, expected) -> np.ndarray:
    draw, expected = np.asarray(draw, float), np.asarray(expected, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, np.minimum(draw / expected, 1.0), 0.0)


def _require_sample_channel(period: SurveyPeriod) -> None:
    if Channel.SAMPLE not in period.channel_set:
        raise PlanError(
            _(
                "Đợt này không có kênh mẫu ngẫu nhiên; thêm kênh khi tạo đợt để lập kế hoạch."
            )
        )


def save_plan(
    period: SurveyPeriod,
    settings: PlanSettings,
    needed: dict[int, int] | None = None,
    draws: dict[tuple[int, str], int] | None = None,
    *,
    by=None,
) -> SamplePlan:
    """Save the proposal with the analyst's changes; audited.

    ``needed`` sets respondents per unit (re-divided over its fields), ``draws`` the
    dossiers to draw in single strata (unit id, field).

    :raise Conflict: if the sample was already drawn (a drawn plan never changes).
    :raise PlanError: for a draw the register cannot support or a negative size.
    """
    plan = plan_of(period)
    if plan is not None and plan.drawn_at is not None:
        raise Conflict(_("Mẫu của đợt này đã được rút; kế hoạch không thể sửa nữa."))
    proposal = propose(period, settings, needed)
    if draws:
        keys = list(zip(proposal["unit_id"], proposal["field"], strict=True))
        unknown = set(draws) - set(keys)
        if unknown:
            raise PlanError(_("Kế hoạch có tầng không có trong sổ hồ sơ của đợt."))
        proposal["draw"] = [
            draws.get(k, d) for k, d in zip(keys, proposal["draw"], strict=True)
        ]
    _check_supported(proposal, settings.design)
    proposal["rate"] = _rate(proposal["draw"], proposal["expected"])
    before = None
    if plan is None:
        plan = SamplePlan(period_id=period.id)
        db.session.add(plan)
    else:
        before = _summary(plan)
        plan.strata.clear()
        db.session.flush()
    for key, value in asdict(settings).items():
        setattr(plan, key, value)
    plan.updated_at = clock.now()
    plan.strata = [
        SampleStratum(
            unit_id=int(row.unit_id),
            field=row.field,
            expected=int(row.expected),
            deff=float(row.deff),
            response_rate=float(row.response_rate),
            unit_needed=int(row.unit_needed),
            needed=int(row.needed),
            draw_size=int(row.draw),
            rate=float(row.rate),
        )
        for row in proposal.itertuples()
    ]
    db.session.flush()
    audit.record("sample.plan", period, before=before, after=_summary(plan), by=by)
    db.session.commit()
    return plan


def _check_supported(proposal: pd.DataFrame, design: str) -> None:
    draw = pd.to_numeric(proposal["draw"], errors="coerce")
    if draw.isna().any() or (draw < 0).any():
        raise PlanError(_("Số hồ sơ cần rút phải là số nguyên không âm."))
    limit = proposal["frame"] if design == SampleDesign.SRSWOR else proposal["expected"]
    short = proposal[draw > limit]
    if len(short):
        raise PlanError(
            "Sổ hồ sơ không đủ cho kế hoạch (tầng có ít hồ sơ hơn số cần rút): "
            + "; ".join(
                f"{r.name} · {r.field}: {lim} hồ sơ, cần rút {d}"
                for r, lim, d in zip(
                    short.head(10).itertuples(),
                    limit[short.index][:10],
                    draw[short.index][:10],
                    strict=True,
                )
            )
            + ("…" if len(short) > 10 else "")
        )


def _summary(plan: SamplePlan) -> dict:
    return {
        "design": plan.design,
        "moe": plan.moe,
        "level": plan.level,
        "share": plan.share,
        "deff": plan.deff,
        "response_rate": plan.response_rate,
        "min_per_field": plan.min_per_field,
        "strata": len(plan.strata),
        "draw": sum(s.draw_size for s in plan.strata),
        "needed": sum(s.needed for s in plan.strata),
    }


def plan_table(plan: SamplePlan) -> pd.DataFrame:
    """The saved strata with unit names and what was drawn so far, unit by unit.

    Columns as propose(), plus drawn.
    """
    rows = db.session.execute(
        sa.select(
            SampleStratum.unit_id,
            Unit.code,
            Unit.name,
            SampleStratum.field,
            SampleStratum.expected,
            SampleStratum.frame_size,
            SampleStratum.deff,
            SampleStratum.response_rate,
            SampleStratum.unit_needed,
            SampleStratum.needed,
            SampleStratum.draw_size,
            SampleStratum.rate,
        )
        .join(Unit, Unit.id == SampleStratum.unit_id)
        .where(SampleStratum.plan_id == plan.id)
        .order_by(Unit.code, SampleStratum.field)
    ).all()
    table = pd.DataFrame(
        rows,
        columns=[
            "unit_id",
            "unit",
            "name",
            "field",
            "expected",
            "frame",
            "deff",
            "response_rate",
            "unit_needed",
            "needed",
            "draw",
            "rate",
        ],
    )
    drawn = db.session.execute(
        sa.select(Invitation.unit_id, Invitation.field, sa.func.count())
        .where(Invitation.period_id == plan.period_id)
        .group_by(Invitation.unit_id, Invitation.field)
    ).all()
    drawn = pd.DataFrame(drawn, columns=["unit_id", "field", "drawn"])
    return table.merge(drawn, on=["unit_id", "field"], how="left").fillna({"drawn": 0})


def settings_of(plan: SamplePlan) -> PlanSettings:
    return PlanSettings(
        **{name: getattr(plan, name) for name in PlanSettings.__dataclass_fields__}
    )


@dataclass
class PlanPage:
    """What the plan page shows: the plan (if saved), its inputs, and unit by unit,
    the strata with their field names."""

    plan: SamplePlan | None
    settings: PlanSettings
    units: list[dict]
    totals: dict


def plan_page(
    period: SurveyPeriod,
    settings: PlanSettings | None = None,
    needed: dict[int, int] | None = None,
) -> PlanPage:
    """The saved plan, or a proposal under new inputs (nothing is saved).

    :raise PlanError: as propose().
    """
    plan = plan_of(period)
    if settings is None and plan is not None:
        settings, table = settings_of(plan), plan_table(plan)
    else:
        settings = settings or PlanSettings()
        table = propose(period, settings, needed).assign(drawn=0)
    labels = field_labels(period)
    table = table.assign(label=[labels.get(f, f) for f in table["field"]])
    units = []
    for (unit_id, code, name), strata in table.groupby(
        ["unit_id", "unit", "name"], sort=False
    ):
        units.append(
            {
                "unit_id": int(unit_id),
                "code": code,
                "name": name,
                "expected": int(strata["expected"].sum()),
                "frame": int(strata["frame"].sum()),
                "deff": float(strata["deff"].iloc[0]),
                "response_rate": float(strata["response_rate"].iloc[0]),
                "unit_needed": int(strata["unit_needed"].iloc[0]),
                "needed": int(strata["needed"].sum()),
                "draw": int(strata["draw"].sum()),
                "drawn": int(strata["drawn"].sum()),
                "strata": strata.to_dict("records"),
            }
        )
    totals = {
        key: int(table[key].sum())
        for key in ("expected", "frame", "needed", "draw", "drawn")
    }
    return PlanPage(plan, settings, units, totals)


def field_labels(period: SurveyPeriod) -> dict[str, str]:
    """Field codes to the questionnaire's Vietnamese names (đất đai, hộ tịch …)."""
    from .questionnaires import definition_of

    question = definition_of(period.questionnaire).question("field")
    return {o.code: o.label for o in question.options} if question else {}


def draw(period: SurveyPeriod, *, by=None) -> DrawReport:
    """Draw the period's sample from the register, once; audited.

    A fixed-size plan draws the n_h dossiers of each stratum with the smallest
    permanent random numbers; a Poisson plan draws every dossier of the frame whose
    number is below its stratum's rate, and later imports add their new dossiers the
    same way (draw_arrivals).
    :raise PlanError: without a plan, or if a stratum has fewer dossiers than its draw.
    :raise Conflict: if already drawn, or if the period is closed.
    """
    plan = plan_of(period)
    if plan is None:
        raise PlanError(
            _("Chưa có kế hoạch mẫu: lập và lưu kế hoạch trước khi rút mẫu.")
        )
    if plan.drawn_at is not None:
        raise Conflict(
            _(
                "Mẫu đã được rút lúc %(time)s; rút lại sẽ cho đúng các hồ sơ "
                "đó (xem kiểm tra tái lập).",
                time=clock.local(plan.drawn_at).strftime("%H:%M %d/%m/%Y"),
            )
        )
    if period.status == PeriodStatus.CLOSED:
        raise Conflict(_("Đợt đã đóng: không rút mẫu được nữa."))
    plan.seed = secrets.token_hex(16)
    plan.drawn_at = clock.now()
    try:
        report = _draw_pass(period, plan)
    except ServiceError:
        db.session.rollback()  # nothing of a refused draw stays, not even its seed
        raise
    audit.record(
        "sample.draw",
        period,
        after={"design": plan.design} | asdict(report),
        by=by,
    )
    db.session.commit()
    return report


def draw_arrivals() -> int:
    """Draw newly imported dossiers into every running Poisson sample; return how many.

    Called after each register import: a dossier drawn before is never drawn again,
    one not drawn before gets the same decision as ever (its number is permanent).
    """
    plans = db.session.scalars(
        sa.select(SamplePlan)
        .join(SurveyPeriod, SurveyPeriod.id == SamplePlan.period_id)
        .where(
            SamplePlan.design == SampleDesign.POISSON,
            SamplePlan.drawn_at.is_not(None),
            SurveyPeriod.status != PeriodStatus.CLOSED,
        )
    ).all()
    drawn = 0
    for plan in plans:
        period = db.session.get(SurveyPeriod, plan.period_id)
        report = _draw_pass(period, plan)
        if report.drawn:
            audit.record("sample.draw_arrivals", period, after=asdict(report))
        drawn += report.drawn
    db.session.commit()
    return drawn


def _selection(
    plan: SamplePlan, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Which frame dossiers the plan draws, their probabilities, and the strata table.

    :raise PlanError: if a fixed-size stratum has fewer dossiers than its draw.
    """
    strata = pd.DataFrame(
        [(s.unit_id, s.field, s.draw_size, s.rate) for s in plan.strata],
        columns=["unit_id", "field", "draw", "rate"],
    )
    keys = pd.MultiIndex.from_frame(strata[["unit_id", "field"]])
    code = keys.get_indexer(pd.MultiIndex.from_frame(frame[["unit_id", "field"]]))
    planned = code >= 0
    u = permanent_random_numbers(frame["code"].to_numpy(), plan.seed)
    strata["frame"] = np.bincount(code[planned], minlength=len(strata))
    chosen = np.zeros(len(frame), dtype=bool)
    probability = np.zeros(len(frame))
    if plan.design == SampleDesign.SRSWOR:
        short = strata[strata["draw"] > strata["frame"]]
        if len(short):
            names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
            raise PlanError(
                "Sổ hồ sơ không đủ để rút mẫu (tầng có ít hồ sơ hơn số cần rút): "
                + "; ".join(
                    f"{names[r.unit_id]} · {r.field}: {r.frame} hồ sơ, cần rút {r.draw}"
                    for r in short.head(10).itertuples()
                )
            )
        sizes = strata["draw"].to_numpy()
        chosen[planned] = select_srswor(u[planned], code[planned], sizes)
        with np.errstate(divide="ignore", invalid="ignore"):
            rates = np.where(strata["frame"] > 0, sizes / strata["frame"], 0.0)
    else:
        rates = strata["rate"].to_numpy(float)
        chosen[planned] = select_poisson(u[planned], rates[code[planned]])
    probability[planned] = rates[code[planned]]
    return chosen, probability, strata


def _draw_pass(period: SurveyPeriod, plan: SamplePlan) -> DrawReport:
    """Select from today's frame and store the dossiers not drawn before."""
    frame = _frame(period)
    report = DrawReport(frame=len(frame))
    if frame.empty:
        return report
    chosen, probability, strata = _selection(plan, frame)
    report.outside_plan = int((probability == 0).sum())
    for stratum, size in zip(plan.strata, strata["frame"], strict=True):
        stratum.frame_size = int(size)
    earlier = set(
        db.session.scalars(
            sa.select(Invitation.dossier_id).where(Invitation.period_id == period.id)
        )
    )
    new = frame.assign(probability=probability)[chosen]
    report.already = int(new["id"].isin(earlier).sum())
    new = new[~new["id"].isin(earlier)]
    report.drawn = len(new)
    if new.empty:
        return report
    expires = clock.today() + timedelta(days=current_app.config["INVITATION_DAYS"])
    batches = {}
    for unit_id in sorted(set(new["unit_id"])):
        batch = InvitationBatch(period_id=period.id, unit_id=int(unit_id))
        db.session.add(batch)
        batches[unit_id] = batch
    db.session.flush()
    report.batches = len(batches)
    rows = [
        {
            "period_id": period.id,
            "dossier_id": int(row.id),
            "batch_id": batches[row.unit_id].id,
            "unit_id": int(row.unit_id),
            "field": row.field,
            "inclusion_probability": float(row.probability),
            "expires_on": expires,
        }
        for row in new.itertuples()
    ]
    _insert_with_codes(rows)
    return report


def _insert_with_codes(rows: list[dict], attempts: int = 3) -> None:
    """Insert invitations with fresh random codes; a code collision retries with new ones."""
    for attempt in range(attempts):
        for row in rows:
            row["code"] = invitation_codes.new_code()
        try:
            with db.session.begin_nested():
                db.session.execute(sa.insert(Invitation), rows)
            return
        except IntegrityError:
            if attempt == attempts - 1:
                raise


def verify_draw(period: SurveyPeriod) -> DrawCheck:
    """Repeat the draw from its seed and today's register; compare with what is stored.

    :raise PlanError: if the period has no drawn sample.
    """
    plan = plan_of(period)
    if plan is None or plan.seed is None:
        raise PlanError(_("Đợt này chưa rút mẫu."))
    frame = _frame(period)
    chosen, _unused, _dropped = _selection(plan, frame)
    stored = dict(
        db.session.execute(
            sa.select(Dossier.id, Dossier.code)
            .join(Invitation, Invitation.dossier_id == Dossier.id)
            .where(Invitation.period_id == period.id)
        ).all()
    )
    again = dict(zip(frame["id"][chosen], frame["code"][chosen], strict=True))
    return DrawCheck(
        stored=len(stored),
        repeated=len(again),
        missing=sorted(stored[i] for i in set(stored) - set(again)),
        extra=sorted(again[i] for i in set(again) - set(stored)),
    )


# --------------------------------------------------------------------------------------
# the drawn sample, for weights and response rates


def sample_frame(
    period: SurveyPeriod, response_ids: list[int] | None = None
) -> pd.DataFrame:
    """Every drawn dossier of the period: its stratum, probability and outcome.

    Columns: invitation, unit_id, unit, unit_name, field, probability, population (the stratum's
    frame), delivered, response (the id of its valid response, or of one of
    ``response_ids`` when given, else NaN).
    """
    response = SurveyResponse.__table__
    plan = plan_of(period)
    # An invitation has at most one response: join on it alone and keep the valid (or
    # chosen) ones in memory, so that a publication's ids never become an IN list.
    rows = db.session.execute(
        sa.select(
            Invitation.id,
            Invitation.unit_id,
            Unit.code,
            Unit.name,
            Invitation.field,
            Invitation.inclusion_probability,
            SampleStratum.frame_size,
            InvitationBatch.delivered_at.is_not(None),
            response.c.id,
            response.c.status,
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .join(InvitationBatch, InvitationBatch.id == Invitation.batch_id)
        .outerjoin(
            SampleStratum,
            sa.and_(
                SampleStratum.plan_id == (plan.id if plan else None),
                SampleStratum.unit_id == Invitation.unit_id,
                SampleStratum.field == Invitation.field,
            ),
        )
        .outerjoin(response, response.c.invitation_id == Invitation.id)
        .where(Invitation.period_id == period.id)
        .order_by(Invitation.id)
    ).all()
    frame = pd.DataFrame(
        rows,
        columns=[
            "invitation",
            "unit_id",
            "unit",
            "unit_name",
            "field",
            "probability",
            "population",
            "delivered",
            "response",
            "status",
        ],
    )
    ids = frame["response"].astype("float64")
    kept = (
        frame["status"] == "valid"
        if response_ids is None
        else ids.isin(np.asarray(response_ids, dtype=np.float64))
    )
    return frame.assign(response=ids.where(kept)).drop(columns=["status"])


def rate_table(
    period: SurveyPeriod,
    by: str = "unit",
    response_ids: list[int] | None = None,
    drawn: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """AAPOR RR1 of the period's sample per unit (by="unit"), stratum or overall.

    Columns: the keys (unit_id, unit, unit_name; plus field by stratum), sampled, delivered,
    completed, rr1, contact_rate. Empty without a sample. ``drawn`` is the period's
    sample_frame() when the caller has read it already.
    """
    frame = sample_frame(period, response_ids) if drawn is None else drawn
    keys = {
        "unit": ["unit_id", "unit", "unit_name"],
        "stratum": ["unit_id", "unit", "unit_name", "field"],
    }
    groups = frame[keys[by]] if by in keys else None
    return response_rates(frame["response"].notna(), frame["delivered"], groups)


def unit_and_overall_rates(period: SurveyPeriod) -> tuple[list[dict], dict]:
    """Response rates per unit (by unit code) and of the whole sample."""
    drawn = sample_frame(period)
    units = rate_table(period, "unit", drawn=drawn).sort_values("unit")
    overall = rate_table(period, "all", drawn=drawn)
    return units.to_dict("records"), overall.to_dict("records")[0]


def unit_rates(period: SurveyPeriod, visible: set[int] | None = None) -> list[dict]:
    """Response rates per unit for the dashboard, limited to the units a person sees."""
    table = rate_table(period, "unit").sort_values("unit")
    if visible is not None:
        table = table[table["unit_id"].isin(visible)]
    return table.to_dict("records")


def has_sample(period: SurveyPeriod) -> bool:
    return (
        db.session.scalar(
            sa.select(Invitation.id).where(Invitation.period_id == period.id).limit(1)
        )
        is not None
    )
