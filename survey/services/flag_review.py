"""The review queue: flags grouped as they belong together, decided a group at a time.

An analyst excludes or clears a whole group with one reason; the decision is audited
and can be undone until the period is published (a publication freezes the responses
it used, so later decisions could no longer reach it honestly).
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import clock
from ..errors import Conflict, NotFound, ServiceError
from ..extensions import db
from ..integrity import LABELS
from ..models import (
    Counter,
    FlagDecision,
    FlagGroup,
    FlagPass,
    Publication,
    ResponseFlag,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from . import audit, flagging

STATES = ("open", "decided", "all")
MEMBERS_SHOWN = 200


@dataclass
class GroupRow:
    """A group as the queue shows it, with its review state."""

    group: FlagGroup
    unit: str | None
    counter: str | None
    undecided: int
    decided: int
    decision: FlagDecision | None  # the latest decision still in force

    @property
    def state(self) -> str:
        return "open" if self.undecided else "decided"


@dataclass
class Queue:
    groups: list[GroupRow]
    last_pass: FlagPass | None
    counts: dict[str, int]  # open groups per code


def _published(period_id: int) -> bool:
    return (
        db.session.scalar(sa.select(Publication.id).filter_by(period_id=period_id))
        is not None
    )


def _names() -> tuple[dict[int, str], dict[int, tuple[str, int]]]:
    units = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    counters = {
        counter_id: (name, unit_id)
        for counter_id, name, unit_id in db.session.execute(
            sa.select(Counter.id, Counter.name, Counter.unit_id)
        )
    }
    return units, counters


def _rows(groups: list[FlagGroup]) -> list[GroupRow]:
    if not groups:
        return []
    ids = [g.id for g in groups]
    states = {
        group_id: (undecided or 0, decided or 0)
        for group_id, undecided, decided in db.session.execute(
            sa.select(
                ResponseFlag.group_id,
                sa.func.sum(sa.case((ResponseFlag.decision_id.is_(None), 1), else_=0)),
                sa.func.sum(sa.case((ResponseFlag.decision_id.is_(None), 0), else_=1)),
            )
            .where(ResponseFlag.group_id.in_(ids))
            .group_by(ResponseFlag.group_id)
        )
    }
    latest = {}
    for decision in db.session.scalars(
        sa.select(FlagDecision)
        .where(FlagDecision.group_id.in_(ids), FlagDecision.undone_at.is_(None))
        .order_by(FlagDecision.id)
        .options(sa.orm.joinedload(FlagDecision.decided_by))
    ):
        latest[decision.group_id] = decision
    units, counters = _names()
    rows = []
    for group in groups:
        counter = counters.get(group.counter_id)
        undecided, decided = states.get(group.id, (0, 0))
        rows.append(
            GroupRow(
                group,
                units.get(group.unit_id),
                counter[0] if counter else None,
                int(undecided),
                int(decided),
                latest.get(group.id),
            )
        )
    return rows


def queue(
    period: SurveyPeriod, *, code: str | None = None, state: str = "open"
) -> Queue:
    """The period's flag groups (the pass runs first if the data changed), largest first.

    :raise ServiceError: for an unknown flag kind or state.
    """
    if code and code not in LABELS:
        raise ServiceError(_("Loại cờ không có."))
    if state not in STATES:
        raise ServiceError(_("Trạng thái không có."))
    flagging.ensure_fresh(period)
    query = (
        sa.select(FlagGroup)
        .filter_by(period_id=period.id)
        .order_by(FlagGroup.size.desc(), FlagGroup.id)
    )
    if code:
        query = query.filter_by(code=code)
    rows = _rows(list(db.session.scalars(query)))
    counts: dict[str, int] = {}
    for row in rows:
        if row.undecided:
            counts[row.group.code] = counts.get(row.group.code, 0) + 1
    if state != "all":
        rows = [r for r in rows if r.state == state]
    return Queue(rows, db.session.get(FlagPass, period.id), counts)


def get_group(group_id: int) -> GroupRow:
    """:raise NotFound: if no such group (it may have vanished in a recomputation)."""
    group = db.session.get(FlagGroup, group_id)
    if group is None:
        raise NotFound(_("Nhóm cờ không còn (dữ liệu đã được tính lại)."))
    return _rows([group])[0]


def members(group: FlagGroup) -> list[SurveyResponse]:
    """The group's responses, in time order (the first MEMBERS_SHOWN)."""
    query = (
        sa.select(SurveyResponse)
        .join(ResponseFlag, ResponseFlag.response_id == SurveyResponse.id)
        .where(ResponseFlag.group_id == group.id)
        .order_by(SurveyResponse.submitted_at)
        .limit(MEMBERS_SHOWN)
    )
    return list(db.session.scalars(query))


def decisions(group: FlagGroup) -> list[FlagDecision]:
    query = (
        sa.select(FlagDecision)
        .filter_by(group_id=group.id)
        .order_by(FlagDecision.id.desc())
        .options(sa.orm.joinedload(FlagDecision.decided_by))
    )
    return list(db.session.scalars(query))


def decide(group: FlagGroup, action: str, reason: str, *, by: User) -> FlagDecision:
    """Exclude every undecided response of a group, or clear its flags, with a reason.

    :raise Conflict: once the period is published, or if nothing is left to decide.
    :raise ServiceError: without a reason.
    """
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ServiceError(_("Phải ghi lý do (ít nhất 3 ký tự)."))
    if action not in ("exclude", "clear"):
        raise ServiceError(_("Quyết định không hợp lệ."))
    if _published(group.period_id):
        raise Conflict(_("Đợt đã công bố: không thể thay đổi quyết định về phiếu."))
    pending = list(
        db.session.scalars(
            sa.select(ResponseFlag.response_id).where(
                ResponseFlag.group_id == group.id, ResponseFlag.decision_id.is_(None)
            )
        )
    )
    if not pending:
        raise Conflict(_("Mọi phiếu của nhóm này đã được xem xét."))
    changed: list[int] = []
    if action == "exclude":
        changed = list(
            db.session.scalars(
                sa.select(SurveyResponse.id).where(
                    SurveyResponse.id.in_(pending), SurveyResponse.status == "valid"
                )
            )
        )
        db.session.execute(
            sa.update(SurveyResponse)
            .where(SurveyResponse.id.in_(changed))
            .values(
                status="excluded",
                status_reason=f"{LABELS[group.code]}: {reason}"[:300],
                status_by_id=by.id,
                status_at=clock.now(),
            ),
            execution_options={"synchronize_session": False},
        )
    decision = FlagDecision(
        period_id=group.period_id,
        group_id=group.id,
        code=group.code,
        action=action,
        reason=reason,
        decided_by_id=by.id,
        response_ids=pending,
        changed_ids=changed,
    )
    db.session.add(decision)
    db.session.flush()
    db.session.execute(
        sa.update(ResponseFlag)
        .where(ResponseFlag.group_id == group.id, ResponseFlag.decision_id.is_(None))
        .values(decision_id=decision.id),
        execution_options={"synchronize_session": False},
    )
    period = db.session.get(SurveyPeriod, group.period_id)
    flagging.sync_response_flags(period, pending)
    audit.record(
        f"flags.{action}",
        group,
        after={
            "decision": decision.id,
            "code": group.code,
            "responses": len(pending),
            "excluded": len(changed),
            "reason": reason,
        },
        by=by,
    )
    db.session.commit()
    return decision


def undo(decision: FlagDecision, *, by: User) -> None:
    """Undo a decision: its flags are undecided again, its exclusions restored.

    :raise Conflict: once the period is published, or if already undone.
    """
    if decision.undone_at is not None:
        raise Conflict(_("Quyết định này đã được hoàn tác."))
    if _published(decision.period_id):
        raise Conflict(_("Đợt đã công bố: không thể thay đổi quyết định về phiếu."))
    restored = list(
        db.session.scalars(
            sa.select(SurveyResponse.id).where(
                SurveyResponse.id.in_(decision.changed_ids),
                SurveyResponse.status == "excluded",
            )
        )
    )
    db.session.execute(
        sa.update(SurveyResponse)
        .where(SurveyResponse.id.in_(restored))
        .values(
            status="valid",
            status_reason=None,
            status_by_id=by.id,
            status_at=clock.now(),
        ),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        sa.update(ResponseFlag)
        .where(ResponseFlag.decision_id == decision.id)
        .values(decision_id=None),
        execution_options={"synchronize_session": False},
    )
    decision.undone_at, decision.undone_by_id = clock.now(), by.id
    period = db.session.get(SurveyPeriod, decision.period_id)
    flagging.sync_response_flags(period, decision.response_ids)
    audit.record(
        "flags.undo",
        decision,
        before={"action": decision.action, "reason": decision.reason},
        after={"restored": len(restored)},
        by=by,
    )
    db.session.commit()


def get_decision(decision_id: int) -> FlagDecision:
    decision = db.session.get(FlagDecision, decision_id)
    if decision is None:
        raise NotFound(_("Không có quyết định này."))
    return decision
