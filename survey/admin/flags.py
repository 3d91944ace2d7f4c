"""The review queue of integrity flags: groups, one decision per group, undo."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import ReasonForm

from ..auth import admin_only, roles_required, safe_next
from ..errors import ServiceError
from ..integrity import EXPLANATIONS, LABELS
from ..models import Role
from ..services import flag_review, flagging, periods
from . import bp
from .periods import get_period

province_roles = roles_required(Role.ADMIN, Role.VIEWER)


@bp.app_template_filter("flag_label")
def flag_label(code: str) -> str:
    """A flag's Vietnamese name (English when the page is)."""
    return str(LABELS.get(code, code))


@bp.get("/flags")
@province_roles
def flag_queue_latest():
    """Open the review queue of a period (the latest by default)."""
    chosen = request.args.get("period_id", type=int)
    period = get_period(chosen) if chosen else periods.latest_period()
    if period is None:
        return redirect(url_for("admin.period_list"))
    return redirect(url_for("admin.flag_queue", period_id=period.id))


@bp.get("/periods/<int:period_id>/flags")
@province_roles
def flag_queue(period_id: int):
    """List a period's flag groups, largest first, with a decision form for each."""
    period = get_period(period_id)
    code, state = request.args.get("code") or None, request.args.get("state", "open")
    found = flag_review.queue(period, code=code, state=state)
    return render_template(
        "admin/flag_queue.html",
        period=period,
        periods=periods.all_periods(),
        queue=found,
        code=code,
        state=state,
        labels=LABELS,
        form=ReasonForm(),
    )


@bp.get("/flag-groups/<int:group_id>")
@province_roles
def flag_group(group_id: int):
    """Show one group: what it is, its responses, its decisions."""
    row = flag_review.get_group(group_id)
    return render_template(
        "admin/flag_group.html",
        row=row,
        period=get_period(row.group.period_id),
        members=flag_review.members(row.group),
        decisions=flag_review.decisions(row.group),
        labels=LABELS,
        explanations=EXPLANATIONS,
        form=ReasonForm(),
    )


@bp.post("/flag-groups/<int:group_id>/<any(exclude, clear):action>")
@admin_only
def flag_group_decide(group_id: int, action: str):
    """Exclude or clear every undecided response of a group, with one reason."""
    row = flag_review.get_group(group_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0])
    else:
        try:
            flag_review.decide(row.group, action, form.reason.data, by=g.user)
        except ServiceError as exc:
            flash(str(exc))
        else:
            flash(
                _("Đã loại các phiếu của nhóm khỏi thống kê.")
                if action == "exclude"
                else _("Đã bỏ cờ của nhóm: các phiếu vẫn được tính.")
            )
    target = url_for("admin.flag_group", group_id=group_id)
    return redirect(
        safe_next(request.form.get("next")) if request.form.get("next") else target
    )


@bp.post("/flag-decisions/<int:decision_id>/undo")
@admin_only
def flag_decision_undo(decision_id: int):
    """Undo a decision on a group (until the period is published)."""
    decision = flag_review.get_decision(decision_id)
    try:
        flag_review.undo(decision, by=g.user)
    except ServiceError as exc:
        flash(str(exc))
    else:
        flash(_("Đã hoàn tác quyết định."))
    if decision.group_id:
        return redirect(url_for("admin.flag_group", group_id=decision.group_id))
    return redirect(url_for("admin.flag_queue", period_id=decision.period_id))


@bp.post("/periods/<int:period_id>/flags/recompute")
@admin_only
def flag_recompute(period_id: int):
    """Recompute every flag of a period now."""
    report = flagging.flag_period(get_period(period_id))
    flash(
        _(
            "Đã tính lại cờ: %(flagged)s phiếu gắn cờ trong %(groups)s nhóm.",
            flagged=report.flagged,
            groups=report.groups,
        )
    )
    return redirect(url_for("admin.flag_queue", period_id=period_id))
