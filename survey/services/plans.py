"""Improvement plans (kế hoạch khắc phục): from published weaknesses to measured effects.

A unit head opens a plan from a published period: picks criteria (the real weaknesses
first), and for each writes the causes, the actions, who is responsible, a deadline
and a target. The Sở Nội vụ follows every unit's plan in one table, comments and
returns plans. When the next period is published, every target is measured
(analysis.targets) and the effect stored with the plan. Every change is audited.
"""

import io
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook

from analysis.targets import evaluate_targets

from .. import clock
from ..errors import Conflict, ServiceError
from ..extensions import db
from ..models import (
    ImprovementPlan,
    PlanComment,
    PlanItem,
    PlanState,
    PlanStatus,
    Publication,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from ..spreadsheet import neutralise_row
from . import audit
from .indices import PEER_BLOCKS, Settings, compute, incomparable, versus_previous
from .publications import publication_of, used_ids
from .questionnaires import definition_of
from .weaknesses import Weaknesses, unit_weaknesses

MAX_TEXT = 2000
#: Reading order of the province's table: what needs attention first.
STATE_ORDER = (
    PlanState.OVERDUE,
    PlanState.RETURNED,
    PlanState.NONE,
    PlanState.IN_PROGRESS,
    PlanState.DONE,
)


class PlanError(ServiceError):
    status = 422


class PlanExists(Conflict):
    """The unit already has a plan for this period."""


@dataclass(frozen=True)
class ItemInput:
    """What a unit head writes for one criterion."""

    criterion: str
    cause: str
    actions: str
    responsible: str
    deadline: date
    target: float


@dataclass
class PlanDraft:
    """What a plan form offers: the published criteria, real weaknesses first."""

    period: SurveyPeriod
    unit: Unit
    weaknesses: Weaknesses
    criteria: list[dict]  # code, text, estimate, verdict, suggested target...

    def criterion(self, code: str) -> dict | None:
        return next((c for c in self.criteria if c["code"] == code), None)


def _published(period: SurveyPeriod) -> Publication:
    publication = publication_of(period)
    if publication is None:
        raise PlanError(
            _("Kỳ này chưa công bố: kế hoạch khắc phục được lập từ kết quả đã công bố.")
        )
    return publication


def _unit_rows(publication: Publication, unit_code: str) -> dict[str, dict]:
    return {r["indicator"]: r for r in publication.results if r["unit"] == unit_code}


def plan_draft(period: SurveyPeriod, unit: Unit) -> PlanDraft:
    """The criteria a unit may plan for, from its published results, weaknesses first.

    :raise PlanError: if the period is not published or the unit has no results in it.
    """
    publication = _published(period)
    rows = _unit_rows(publication, unit.code)
    if not rows:
        raise PlanError(_("Đơn vị không có kết quả trong bản công bố của kỳ này."))
    settings = Settings.from_dict(publication.settings)
    results = compute(period, settings, used_ids(publication))
    found = unit_weaknesses(results, unit.code, versus_previous(results))
    criteria = []
    for row in found.rows:
        published = rows.get(row["code"], {})
        baseline = published.get("estimate")
        reference = row["reference_estimate"]
        criteria.append(
            row
            | {
                "baseline": baseline,
                "suggested_target": _suggested_target(baseline, reference),
                "proposed": row["verdict"] == "below",
            }
        )
    return PlanDraft(period, unit, found, criteria)


def _suggested_target(baseline: float | None, reference: float | None) -> float | None:
    """The reference's level, or five points up, whichever is higher (at most 100)."""
    if baseline is None:
        return None
    goal = max(reference or 0.0, baseline + 5.0)
    return float(min(100.0, math.ceil(goal)))


def _check_items(
    draft_rows: dict[str, dict], items: list[ItemInput], keep: dict[str, date]
) -> None:
    """Refuse items that break the rules, naming the criterion.

    `keep` holds deadlines already agreed (an edit may leave a past deadline alone).
    """
    if not items:
        raise PlanError(_("Chọn ít nhất một tiêu chí cho kế hoạch."))
    codes = [item.criterion for item in items]
    if len(set(codes)) != len(codes):
        raise PlanError(_("Mỗi tiêu chí chỉ có một mục trong kế hoạch."))
    today = clock.today()
    for item in items:
        row = draft_rows.get(item.criterion)
        if row is None or row.get("estimate") is None:
            raise PlanError(
                _(
                    "Tiêu chí %(criterion)s không có trong kết quả đã công bố.",
                    criterion=item.criterion,
                )
            )
        texts = (item.cause, item.actions, item.responsible)
        if any(not text.strip() for text in texts):
            raise PlanError(
                _(
                    "Tiêu chí %(criterion)s: cần ghi nguyên nhân, giải pháp và "
                    "người chịu trách nhiệm.",
                    criterion=item.criterion,
                )
            )
        if (
            max(len(item.cause), len(item.actions)) > MAX_TEXT
            or len(item.responsible) > 200
        ):
            raise PlanError(
                _("Tiêu chí %(criterion)s: nội dung quá dài.", criterion=item.criterion)
            )
        baseline = row["estimate"]
        if not baseline < item.target <= 100:
            shown = f"{baseline:.1f}".replace(".", ",")
            raise PlanError(
                _(
                    "Tiêu chí %(criterion)s: mục tiêu phải cao hơn mức đã công bố "
                    "(%(shown)s%%) và không quá 100%%.",
                    criterion=item.criterion,
                    shown=shown,
                )
            )
        if item.deadline < today and keep.get(item.criterion) != item.deadline:
            raise PlanError(
                _("Tiêu chí %(criterion)s: thời hạn đã qua.", criterion=item.criterion)
            )


def _item_record(item: PlanItem) -> dict:
    return {
        "criterion": item.criterion,
        "cause": item.cause,
        "actions": item.actions,
        "responsible": item.responsible,
        "deadline": item.deadline.isoformat(),
        "baseline": item.baseline,
        "target": item.target,
    }


def create_plan(
    period: SurveyPeriod, unit: Unit, items: list[ItemInput], *, by: User
) -> ImprovementPlan:
    """Open a unit's plan for a published period.

    :raise PlanError: if the period is not published or an item breaks a rule.
    :raise PlanExists: if the unit already has a plan for the period.
    """
    publication = _published(period)
    if find_plan(unit, period) is not None:
        raise PlanExists("Đơn vị đã có kế hoạch cho kỳ này; hãy sửa kế hoạch đó.")
    rows = _unit_rows(publication, unit.code)
    _check_items(rows, items, {})
    plan = ImprovementPlan(unit=unit, period=period, created_by=by)
    plan.items = [_new_item(item, rows) for item in items]
    db.session.add(plan)
    db.session.flush()
    audit.record(
        "plan.create",
        plan,
        after={
            "unit": unit.code,
            "period": period.id,
            "items": [_item_record(i) for i in plan.items],
        },
        by=by,
    )
    db.session.commit()
    return plan


def _new_item(item: ItemInput, rows: dict[str, dict]) -> PlanItem:
    return PlanItem(
        criterion=item.criterion,
        cause=item.cause.strip(),
        actions=item.actions.strip(),
        responsible=item.responsible.strip(),
        deadline=item.deadline,
        baseline=float(rows[item.criterion]["estimate"]),
        target=float(item.target),
    )


def update_plan(plan: ImprovementPlan, items: list[ItemInput], *, by: User) -> None:
    """Replace a plan's items; a returned plan goes back to the Sở Nội vụ.

    Items of criteria kept keep their completion date.
    :raise PlanError: if the plan was already measured or an item breaks a rule.
    """
    if plan.evaluated_period_id is not None:
        raise PlanError(_("Kế hoạch đã được đánh giá ở kỳ sau; không sửa được nữa."))
    rows = _unit_rows(_published(plan.period), plan.unit.code)
    old = {item.criterion: item for item in plan.items}
    _check_items(rows, items, {code: item.deadline for code, item in old.items()})
    before = [_item_record(i) for i in plan.items]
    new_items = []
    for item in items:
        new = _new_item(item, rows)
        if item.criterion in old:
            new.done_on = old[item.criterion].done_on
        new_items.append(new)
    plan.items = new_items
    returned = plan.status == PlanStatus.RETURNED
    plan.status = PlanStatus.SUBMITTED.value
    plan.updated_at = clock.now()
    audit.record(
        "plan.update",
        plan,
        before={"items": before, "status": "returned" if returned else "submitted"},
        after={"items": [_item_record(i) for i in new_items], "status": "submitted"},
        by=by,
    )
    db.session.commit()


def set_item_done(item: PlanItem, done: bool, *, by: User) -> None:
    """Mark an action done today (Vietnam date), or not done."""
    before = item.done_on
    item.done_on = clock.today() if done else None
    item.plan.updated_at = clock.now()
    audit.record(
        "plan.item_done" if done else "plan.item_reopened",
        item.plan,
        before={"criterion": item.criterion, "done_on": before and before.isoformat()},
        after={
            "criterion": item.criterion,
            "done_on": item.done_on and item.done_on.isoformat(),
        },
        by=by,
    )
    db.session.commit()


def add_comment(plan: ImprovementPlan, text: str, *, by: User) -> PlanComment:
    """Add a remark to a plan.

    :raise PlanError: for an empty or too long remark.
    """
    text = _remark(text)
    comment = PlanComment(plan=plan, user=by, text=text)
    db.session.add(comment)
    audit.record("plan.comment", plan, after={"text": text}, by=by)
    db.session.commit()
    return comment


def return_plan(plan: ImprovementPlan, text: str, *, by: User) -> None:
    """Send a plan back to its unit with the reason, for revision.

    :raise PlanError: without a reason, or for a plan already measured.
    """
    text = _remark(text)
    if plan.evaluated_period_id is not None:
        raise PlanError(_("Kế hoạch đã được đánh giá ở kỳ sau; không trả lại được."))
    plan.status = PlanStatus.RETURNED.value
    plan.updated_at = clock.now()
    db.session.add(PlanComment(plan=plan, user=by, text=text, kind="return"))
    audit.record(
        "plan.return",
        plan,
        before={"status": "submitted"},
        after={"status": "returned", "reason": text},
        by=by,
    )
    db.session.commit()


def _remark(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise PlanError(_("Vui lòng ghi nội dung nhận xét."))
    if len(text) > MAX_TEXT:
        raise PlanError(_("Nhận xét tối đa %(MAX_TEXT)s ký tự.", MAX_TEXT=MAX_TEXT))
    return text


def find_plan(unit: Unit, period: SurveyPeriod) -> ImprovementPlan | None:
    return db.session.scalar(
        sa.select(ImprovementPlan).filter_by(unit_id=unit.id, period_id=period.id)
    )


def get_plan(plan_id: int) -> ImprovementPlan | None:
    return db.session.scalar(
        sa.select(ImprovementPlan)
        .where(ImprovementPlan.id == plan_id)
        .options(
            sa.orm.selectinload(ImprovementPlan.items),
            sa.orm.selectinload(ImprovementPlan.comments).joinedload(PlanComment.user),
            sa.orm.joinedload(ImprovementPlan.unit),
            sa.orm.joinedload(ImprovementPlan.period),
        )
    )


# the province's table ----------------------------------------------------------


@dataclass
class PlanRow:
    """One unit of the province's table: its plan (if any), where it stands, and the
    plan of an earlier period that this period's publication measured."""

    unit: Unit
    block: str
    plan: ImprovementPlan | None
    state: PlanState
    measured: ImprovementPlan | None = None

    @property
    def items(self) -> int:
        return len(self.plan.items) if self.plan else 0

    @property
    def effects(self) -> Counter:
        """Verdicts of the targets of the plan measured on this period."""
        items = self.measured.items if self.measured else ()
        return Counter(i.effect["verdict"] for i in items if i.effect)


def published_periods() -> list[SurveyPeriod]:
    query = (
        sa.select(SurveyPeriod)
        .join(Publication, Publication.period_id == SurveyPeriod.id)
        .order_by(SurveyPeriod.starts_on.desc())
    )
    return list(db.session.scalars(query))


def plan_table(period: SurveyPeriod, visible: set[int] | None = None) -> list[PlanRow]:
    """Every unit with results in a period and its plan's state, attention first."""
    unit_ids = (
        sa.select(SurveyResponse.unit_id)
        .where(SurveyResponse.period_id == period.id)
        .distinct()
    )
    query = sa.select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.name)
    if visible is not None:
        query = query.where(Unit.id.in_(visible))
    units = list(db.session.scalars(query))
    opened = _plans_by_unit(ImprovementPlan.period_id == period.id)
    measured = _plans_by_unit(ImprovementPlan.evaluated_period_id == period.id)
    rows = [
        PlanRow(
            unit=unit,
            block=PEER_BLOCKS.get(unit.level, "Khác"),
            plan=opened.get(unit.id),
            state=opened[unit.id].state if unit.id in opened else PlanState.NONE,
            measured=measured.get(unit.id),
        )
        for unit in units
    ]
    rank = {state: i for i, state in enumerate(STATE_ORDER)}
    return sorted(rows, key=lambda r: (rank[r.state], r.block, r.unit.name))


def _plans_by_unit(condition) -> dict[int, ImprovementPlan]:
    query = (
        sa.select(ImprovementPlan)
        .where(condition)
        .options(
            sa.orm.selectinload(ImprovementPlan.items),
            sa.orm.joinedload(ImprovementPlan.period),
        )
    )
    return {plan.unit_id: plan for plan in db.session.scalars(query)}


EXPORT_HEADER = (
    "Mã đơn vị", "Đơn vị", "Khối", "Tình trạng", "Tiêu chí", "Nội dung tiêu chí",
    "Mức đã công bố (%)", "Mục tiêu (%)", "Nguyên nhân", "Giải pháp", "Người chịu trách nhiệm",
    "Thời hạn", "Hoàn thành ngày", "Kỳ đánh giá", "Mức kỳ sau (%)", "Thay đổi (điểm)",
    "KTC thay đổi từ", "KTC thay đổi đến", "Kết luận", "Đạt mục tiêu", "Độ mạnh kiểm định",
    "Số phiếu cần mỗi kỳ",
)  # fmt: skip
STATE_WORDS = {
    PlanState.NONE: "Chưa có kế hoạch",
    PlanState.IN_PROGRESS: "Đang thực hiện",
    PlanState.OVERDUE: "Quá hạn",
    PlanState.RETURNED: "Bị trả lại để sửa",
    PlanState.DONE: "Đã hoàn thành",
}
EFFECT_WORDS = {
    "improved": "Cải thiện rõ rệt",
    "worse": "Kém đi rõ rệt",
    "no_change": "Không có thay đổi phát hiện được",
    "too_few": "Quá ít phiếu để kết luận",
    "not_tested": "Không kiểm định được",
}


def export_table(period: SurveyPeriod, visible: set[int] | None = None) -> bytes:
    """The province's plan table as XLSX: one row per plan item, or per unit without."""
    definition = definition_of(period.questionnaire)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Kế hoạch khắc phục")
    sheet.append(EXPORT_HEADER)
    evaluated = {}
    for row in plan_table(period, visible):
        base = [row.unit.code, row.unit.name, row.block, STATE_WORDS[row.state]]
        if row.plan is None:
            sheet.append(neutralise_row(base))
            continue
        if (
            row.plan.evaluated_period_id
            and row.plan.evaluated_period_id not in evaluated
        ):
            evaluated[row.plan.evaluated_period_id] = row.plan.evaluated_period.name
        for item in row.plan.items:
            effect = item.effect or {}
            sheet.append(
                neutralise_row(
                    [
                        *base,
                        item.criterion,
                        definition.title_of(item.criterion),
                        item.baseline,
                        item.target,
                        item.cause,
                        item.actions,
                        item.responsible,
                        item.deadline,
                        item.done_on,
                        evaluated.get(row.plan.evaluated_period_id, ""),
                        effect.get("estimate"),
                        effect.get("change"),
                        effect.get("ci_low"),
                        effect.get("ci_high"),
                        EFFECT_WORDS.get(
                            effect.get("verdict"), row.plan.evaluation_note or ""
                        ),
                        {True: "Đạt", False: "Chưa đạt"}.get(effect.get("reached"), ""),
                        effect.get("power"),
                        effect.get("responses_needed"),
                    ]
                )
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# the effect, measured on the next publication -------------------------------------


def evaluate_plans(publication: Publication, *, by: User | None = None) -> int:
    """Measure every pending plan target on a new publication; return the plans measured.

    A plan is measured by the first publication of a later period made after the
    plan was opened. A later period of another questionnaire version cannot measure
    it: the plan records why. The caller commits.
    """
    period = publication.period
    plans = list(
        db.session.scalars(
            sa.select(ImprovementPlan)
            .join(SurveyPeriod, SurveyPeriod.id == ImprovementPlan.period_id)
            .where(
                ImprovementPlan.evaluated_period_id.is_(None),
                SurveyPeriod.starts_on < period.starts_on,
                ImprovementPlan.created_at <= publication.published_at,
            )
            .options(
                sa.orm.selectinload(ImprovementPlan.items),
                sa.orm.joinedload(ImprovementPlan.unit),
            )
        )
    )
    if not plans:
        return 0
    after = _rows_by_unit(publication.results)
    items, before_rows, after_rows = [], [], []
    for plan in plans:
        plan.evaluated_period_id, plan.evaluated_at = period.id, clock.now()
        reason = incomparable(period, plan.period)
        now = after.get(plan.unit.code, {})
        if reason is None and not now:
            reason = f"Đơn vị không có kết quả trong kỳ {period.name}."
        plan.evaluation_note = reason
        if reason is not None:
            continue
        then = _rows_by_unit(publication_of(plan.period).results).get(
            plan.unit.code, {}
        )
        for item in plan.items:
            items.append(item)
            before_rows.append(then.get(item.criterion, {}))
            after_rows.append(now.get(item.criterion, {}))
    if items:
        columns = ["estimate", "se", "df", "n", "n_eff"]
        effects = evaluate_targets(
            [item.target for item in items],
            _frame(before_rows, columns),
            _frame(after_rows, columns),
            alpha=1 - publication.settings.get("level", 0.95),
        )
        for item, effect in zip(items, effects.to_dict("records"), strict=True):
            item.effect = {k: _json_value(v) for k, v in effect.items()}
    for plan in plans:
        audit.record(
            "plan.evaluate",
            plan,
            after={
                "period": period.id,
                "note": plan.evaluation_note,
                "verdicts": {
                    i.criterion: (i.effect or {}).get("verdict") for i in plan.items
                },
            },
            by=by,
        )
    return len(plans)


def _rows_by_unit(results: list[dict]) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for row in results:
        out.setdefault(row["unit"], {})[row["indicator"]] = row
    return out


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [[r.get(c) for c in columns] for r in rows], columns=columns, dtype=float
    )


def _json_value(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value
