"""The audit log, for admins."""

from flask import render_template, request

from ..auth import admin_only
from ..services import accounts, audit
from . import bp


@bp.get("/audit")
@admin_only
def audit_list():
    """Show admin actions, newest first, filtered by action or user."""
    entries = audit.entries(
        action=request.args.get("action") or None,
        user_id=request.args.get("user_id", type=int),
        before_id=request.args.get("before", type=int),
    )
    next_id = entries[-1].id if len(entries) == audit.PAGE_SIZE else None
    return render_template(
        "admin/audit_list.html",
        entries=audit.sentences(entries),
        actions=[(a, audit.action_words(a)) for a in audit.actions()],
        users=accounts.all_users(),
        next_id=next_id,
        args=request.args,
    )
