"""Survey periods: create, open, close, and targets per unit."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import PeriodForm, PlanForm, choices

from ..auth import admin_only
from ..errors import ServiceError
from ..extensions import db
from ..models import Questionnaire, SurveyPeriod
from ..services import periods, publications, units
from . import bp


def get_period(period_id: int) -> SurveyPeriod:
    return db.session.get(SurveyPeriod, period_id) or abort(404)


@bp.get("/periods")
def period_list():
    """List survey periods, newest first."""
    return render_template(
        "admin/period_list.html",
        periods=periods.all_periods(),
        published=publications.published_period_ids(),
    )


@bp.route("/periods/new", methods=("GET", "POST"))
@admin_only
def period_create():
    """Create a draft period."""
    form = PeriodForm()
    form.questionnaire_id.choices = choices(
        (q.id, f"{q.code} · {q.title}")
        for q in db.session.scalars(db.select(Questionnaire))
    )
    if form.validate_on_submit():
        try:
            period = periods.create_period(
                form.name.data,
                form.starts_on.data,
                form.ends_on.data,
                db.session.get(Questionnaire, form.questionnaire_id.data),
                tuple(form.channels.data),
                by=g.user,
            )
        except ServiceError as exc:
            form.ends_on.errors.append(str(exc))
        else:
            flash(_("Đã tạo đợt %(name)s.", name=period.name))
            return redirect(url_for("admin.period_list"))
    return render_template(
        "admin/period_form.html", form=form
    ), 422 if form.errors else 200


@bp.post("/periods/<int:period_id>/<any(open, close):action>")
@admin_only
def period_state(period_id: int, action: str):
    """Open or close a period."""
    period = get_period(period_id)
    (periods.open_period if action == "open" else periods.close_period)(
        period, by=g.user
    )
    if action == "open":
        flash(_("Đợt %(name)s: đã mở.", name=period.name))
    else:
        flash(_("Đợt %(name)s: đã đóng.", name=period.name))
    return redirect(url_for("admin.period_list"))


@bp.route("/periods/<int:period_id>/targets", methods=("GET", "POST"))
@admin_only
def period_targets(period_id: int):
    """Set responses targets per unit, typed in or planned from the register."""
    period = get_period(period_id)
    plan_form = PlanForm(request.args, meta={"csrf": False})
    plan = {}
    if "moe" in request.args and plan_form.validate():
        try:
            plan = periods.planned_targets(
                period, plan_form.moe.data, float(plan_form.deff.data)
            )
        except ValueError:
            plan_form.deff.errors.append(_("Nhập một số, ví dụ 1.5."))
    tree = units.unit_tree()
    if request.method == "POST":
        try:
            values = {u.id: int(request.form.get(f"t{u.id}") or 0) for u, _ in tree}
            periods.set_targets(period, values, by=g.user)
        except (ValueError, ServiceError) as exc:
            flash(_("Chỉ tiêu không hợp lệ: %(reason)s", reason=exc))
            return redirect(url_for("admin.period_targets", period_id=period.id)), 422
        flash(_("Đã lưu chỉ tiêu."))
        return redirect(url_for("admin.dashboard", period_id=period.id))
    return render_template(
        "admin/period_targets.html",
        period=period,
        tree=tree,
        plan=plan,
        plan_form=plan_form,
        targets=periods.targets(period),
    )
