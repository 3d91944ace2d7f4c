"""The audit log: every admin action with who, what, when, before and after."""

import sqlalchemy as sa

from ..extensions import db
from ..models import AuditEntry, User

PAGE_SIZE = 50


def record(
    action: str,
    target=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    by: User | None = None,
) -> None:
    """Add an entry to the caller's transaction (the caller commits with its change)."""
    db.session.add(
        AuditEntry(
            action=action,
            target_type=type(target).__name__.lower() if target is not None else None,
            target_id=str(getattr(target, "id", "") or "") or None,
            before=before,
            after=after,
            user_id=by.id if by else None,
        )
    )


def entries(
    *,
    action: str | None = None,
    user_id: int | None = None,
    before_id: int | None = None,
) -> list[AuditEntry]:
    """Return one page of entries, newest first, optionally filtered (keyset by id)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if user_id:
        query = query.where(AuditEntry.user_id == user_id)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(db.session.scalars(query.options(sa.orm.joinedload(AuditEntry.user))))


def actions() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)
        )
    )
