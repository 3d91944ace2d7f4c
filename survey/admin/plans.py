"""Improvement plans: the province's table, a unit's plan, writing and following it."""

from urllib.parse import quote

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import choices
from forms.plans import PickForm, PlanForm, RemarkForm

from ..auth import admin_only, require_unit, roles_required
from ..errors import ServiceError
from ..extensions import db
from ..models import PlanItem, PlanState, Role, SurveyPeriod, Unit
from ..services import accounts, plans
from ..services.questionnaires import definition_of
from . import bp

unit_head_only = roles_required(Role.UNIT_HEAD)


def get_plan(plan_id: int):
    """The plan, if the current user may see its unit (404 / 403 otherwise)."""
    plan = plans.get_plan(plan_id) or abort(404)
    require_unit(plan.unit_id)
    return plan


@bp.get("/plans/")
def plan_list():
    """Show every unit's plan for a published period, and where each stands."""
    periods = plans.published_periods()
    period = _chosen_period(periods)
    rows = plans.plan_table(period, accounts.visible_unit_ids(g.user)) if period else []
    state = request.args.get("state", "")
    counts = {s: sum(r.state == s for r in rows) for s in PlanState}
    shown = [r for r in rows if r.state == state] if state in set(PlanState) else rows
    return render_template(
        "admin/plan_list.html",
        periods=periods,
        period=period,
        rows=shown,
        counts=counts,
        state=state,
        total=len(rows),
    )


def _chosen_period(periods: list[SurveyPeriod]) -> SurveyPeriod | None:
    wanted = request.args.get("period_id", type=int)
    chosen = next((p for p in periods if p.id == wanted), None)
    return chosen or (periods[0] if periods else None)


@bp.get("/plans.xlsx")
def plan_export():
    """Download the plan table of a published period as XLSX for the province's report."""
    period = _chosen_period(plans.published_periods())
    if period is None:
        flash(_("Chưa có kỳ nào được công bố."))
        return redirect(url_for("admin.plan_list"))
    body = plans.export_table(period, accounts.visible_unit_ids(g.user))
    name = f"ke-hoach-khac-phuc-{period.name.replace('/', '-').replace(' ', '_')}.xlsx"
    return Response(
        body,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@bp.get("/plans/<int:plan_id>")
def plan_detail(plan_id: int):
    """Show a plan: its items, what was done, the measured effect and the remarks."""
    plan = get_plan(plan_id)
    definition = definition_of(plan.period.questionnaire)
    return render_template(
        "admin/plan_detail.html",
        plan=plan,
        definition=definition,
        remark=RemarkForm(),
        can_edit=_is_planner(plan.unit_id) and plan.evaluated_period_id is None,
    )


def _is_planner(unit_id: int) -> bool:
    return g.user.role == Role.UNIT_HEAD and accounts.can_see_unit(g.user, unit_id)


@bp.route("/units/<int:unit_id>/plans/new/<int:period_id>", methods=("GET", "POST"))
@unit_head_only
def plan_create(unit_id: int, period_id: int):
    """Open a unit's plan from a published period: pick criteria, then write each."""
    require_unit(unit_id)
    unit = db.session.get(Unit, unit_id) or abort(404)
    period = db.session.get(SurveyPeriod, period_id) or abort(404)
    existing = plans.find_plan(unit, period)
    if existing is not None:
        return redirect(url_for("admin.plan_edit", plan_id=existing.id))
    return _plan_steps(unit, period, None)


@bp.route("/plans/<int:plan_id>/edit", methods=("GET", "POST"))
@unit_head_only
def plan_edit(plan_id: int):
    """Revise a plan (a returned plan goes back to the Sở Nội vụ when saved)."""
    plan = get_plan(plan_id)
    return _plan_steps(plan.unit, plan.period, plan)


def _plan_steps(unit: Unit, period: SurveyPeriod, plan):
    """Step one picks the criteria; step two writes them; saving calls the service."""
    try:
        draft = plans.plan_draft(period, unit)
    except ServiceError as exc:
        flash(str(exc))
        return redirect(url_for("admin.plan_list"))
    pick = PickForm()
    pick.criteria.choices = choices(
        (c["code"], f"{c['code']} {c['text']}") for c in draft.criteria
    )
    step = request.form.get("step", "pick")
    if request.method == "GET" or (step == "pick" and not pick.validate_on_submit()):
        if request.method == "GET":
            pick.criteria.data = (
                [i.criterion for i in plan.items]
                if plan
                else [c["code"] for c in draft.criteria if c["proposed"]]
            )
        return _render_steps(draft, plan, pick=pick)
    form = PlanForm()
    if step == "pick":  # chosen: write each criterion
        _fill(form, draft, plan, pick.criteria.data)
        return _render_steps(draft, plan, form=form)
    if form.validate_on_submit():
        items = [
            plans.ItemInput(
                criterion=entry.criterion.data,
                cause=entry.cause.data,
                actions=entry.actions.data,
                responsible=entry.responsible.data,
                deadline=entry.deadline.data,
                target=float(entry.target.data),
            )
            for entry in form.items
        ]
        try:
            if plan is None:
                plan = plans.create_plan(period, unit, items, by=g.user)
            else:
                plans.update_plan(plan, items, by=g.user)
        except ServiceError as exc:
            return _render_steps(draft, plan, form=form, error=str(exc)), exc.status
        else:
            flash(_("Đã lưu kế hoạch và gửi Sở Nội vụ."))
            return redirect(url_for("admin.plan_detail", plan_id=plan.id))
    return _render_steps(draft, plan, form=form), 422


def _fill(form: PlanForm, draft, plan, codes: list[str]) -> None:
    old = {i.criterion: i for i in plan.items} if plan else {}
    for code in [c["code"] for c in draft.criteria if c["code"] in codes]:
        item = old.get(code)
        criterion = draft.criterion(code)
        form.items.append_entry(
            {
                "criterion": code,
                "cause": item.cause if item else "",
                "actions": item.actions if item else "",
                "responsible": item.responsible if item else "",
                "deadline": item.deadline if item else None,
                "target": _number(
                    item.target if item else criterion["suggested_target"]
                ),
            }
        )


def _number(value) -> str:
    return "" if value is None else f"{value:g}".replace(".", ",")


def _render_steps(draft, plan, *, pick=None, form=None, error=None):
    return render_template(
        "admin/plan_form.html",
        draft=draft,
        definition=definition_of(draft.period.questionnaire),
        plan=plan,
        pick=pick,
        form=form,
        error=error,
    )


@bp.post("/plans/<int:plan_id>/items/<int:item_id>/done")
@unit_head_only
def plan_item_done(plan_id: int, item_id: int):
    """Mark an action of the plan done (or not done)."""
    plan = get_plan(plan_id)
    item = db.session.get(PlanItem, item_id)
    if item is None or item.plan_id != plan.id:
        abort(404)
    plans.set_item_done(item, request.form.get("done") == "1", by=g.user)
    return redirect(url_for("admin.plan_detail", plan_id=plan.id))


@bp.post("/plans/<int:plan_id>/comments")
def plan_comment(plan_id: int):
    """Add a remark to a plan."""
    return _remark(plan_id, plans.add_comment, None)


@bp.post("/plans/<int:plan_id>/return")
@admin_only
def plan_return(plan_id: int):
    """Send a plan back to its unit for revision, with the reason."""
    return _remark(plan_id, plans.return_plan, _("Đã trả lại kế hoạch cho đơn vị."))


def _remark(plan_id: int, action, done: str | None):
    """Pass the remark of the form to a service action; say what happened."""
    plan = get_plan(plan_id)
    form = RemarkForm()
    try:
        if not form.validate_on_submit():
            raise plans.PlanError(
                form.text.errors[0]
                if form.text.errors
                else _("Vui lòng ghi nội dung nhận xét.")
            )
        action(plan, form.text.data, by=g.user)
    except ServiceError as exc:
        flash(str(exc))
    else:
        if done:
            flash(done)
    return redirect(url_for("admin.plan_detail", plan_id=plan.id) + "#remarks")
