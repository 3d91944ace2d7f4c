"""The sampled channel: plan, draw, print slips, export links, mark batches delivered."""

from urllib.parse import quote

from flask import (
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from forms.admin import SamplePlanForm

from ..auth import admin_only, roles_required
from ..errors import ServiceError
from ..models import Role
from ..services import invitations, sampling
from . import bp
from .counters import inline_svg
from .periods import get_period

readers = roles_required(Role.ADMIN, Role.VIEWER)


def plan_settings(form: SamplePlanForm) -> sampling.PlanSettings:
    """Read the planner's inputs from a validated form."""
    return sampling.PlanSettings(
        design=form.design.data,
        moe=form.moe.data,
        level=float(form.level.data),
        share=form.share.data,
        deff=form.deff.data,
        response_rate=form.response_rate.data,
        min_per_field=form.min_per_field.data or 0,
    )


def unit_numbers(formdata) -> dict[int, int]:
    """Respondents typed per unit: fields named n<unit id>."""
    return {
        int(name[1:]): int(value)
        for name, value in formdata.items()
        if name[:1] == "n" and name[1:].isdigit() and value.strip()
    }


@bp.route("/periods/<int:period_id>/sample", methods=("GET", "POST"))
@readers
def sample_plan(period_id: int):
    """Propose, adjust and save a period's sample plan; once drawn, show what was drawn."""
    period = get_period(period_id)
    form = SamplePlanForm(request.form if request.method == "POST" else None)
    page, error, check = None, None, None
    try:
        if request.method == "POST" and not form.validate():
            raise sampling.PlanError(_("Kiểm tra lại các thông số được đánh dấu."))
        settings = plan_settings(form) if request.method == "POST" else None
        if request.form.get("action") == "save":
            sampling.save_plan(period, settings, unit_numbers(request.form), by=g.user)
            flash(_("Đã lưu kế hoạch mẫu."))
            return redirect(url_for("admin.sample_plan", period_id=period.id))
        page = sampling.plan_page(period, settings)
        if request.args.get("verify") and page.plan and page.plan.seed:
            check = sampling.verify_draw(period)
    except (ServiceError, ValueError) as exc:
        error = str(exc)
    if page is not None and request.method == "GET":
        form = SamplePlanForm(
            data=page.settings.__dict__ | {"level": str(page.settings.level)}
        )
    return render_template(
        "admin/sample_plan.html",
        period=period,
        form=form,
        page=page,
        error=error,
        check=check,
    ), 422 if error else 200


@bp.post("/periods/<int:period_id>/sample/draw")
@admin_only
def sample_draw(period_id: int):
    """Draw the period's sample from the register (once)."""
    period = get_period(period_id)
    try:
        report = sampling.draw(period, by=g.user)
    except ServiceError as exc:
        flash(_("Không rút được mẫu: %(reason)s", reason=exc))
        return redirect(url_for("admin.sample_plan", period_id=period.id))
    flash(
        _(
            "Đã rút %(drawn)s hồ sơ từ %(frame)s hồ sơ của sổ, thành %(batches)s lô phiếu mời.",
            drawn=report.drawn,
            frame=report.frame,
            batches=report.batches,
        )
    )
    return redirect(url_for("admin.invitation_list", period_id=period.id))


@bp.get("/periods/<int:period_id>/invitations")
@readers
def invitation_list(period_id: int):
    """List the invitation batches of a period and the response rates per unit."""
    period = get_period(period_id)
    rates, overall = sampling.unit_and_overall_rates(period)
    return render_template(
        "admin/invitation_list.html",
        period=period,
        batches=invitations.batch_rows(period),
        rates=rates,
        overall=overall,
    )


@bp.post("/periods/<int:period_id>/invitations/delivered")
@admin_only
def invitation_delivered(period_id: int):
    """Mark the ticked batches as handed over or sent."""
    period = get_period(period_id)
    ids = request.form.getlist("batch", type=int)
    try:
        changed = invitations.mark_delivered(period, ids, by=g.user)
    except ServiceError as exc:
        flash(str(exc))
    else:
        flash(_("Đã đánh dấu %(count)s lô là đã giao.", count=changed))
    return redirect(url_for("admin.invitation_list", period_id=period.id))


def public_base() -> str:
    return (current_app.config["PUBLIC_BASE_URL"] or request.url_root).rstrip("/")


def invitation_url(code: str) -> str:
    """The absolute link of an invitation, as printed and sent."""
    return public_base() + url_for("invite.respond", code=code)


@bp.get("/periods/<int:period_id>/invitations/slips")
@admin_only
def invitation_slips(period_id: int):
    """Show one batch's slips on A4 sheets, to hand over with the results."""
    period = get_period(period_id)
    batch = invitations.batch_of(period, request.args.get("batch", 0, type=int))
    slips = [
        (slip, url, inline_svg(url))
        for slip in invitations.slips(period, batch.id)
        for url in [invitation_url(slip.code)]
    ]
    entry = public_base().split("://", 1)[-1] + url_for("invite.enter")
    return render_template(
        "print/slips.html", period=period, batch=batch, slips=slips, entry=entry
    )


@bp.get("/periods/<int:period_id>/invitations/links.csv")
@admin_only
def invitation_links(period_id: int):
    """Download dossier codes and invitation links (one batch, or all) for SMS or Zalo."""
    period = get_period(period_id)
    batch_id = request.args.get("batch", type=int)
    if batch_id is not None:
        invitations.batch_of(period, batch_id)
    lines = invitations.links_csv(invitations.slips(period, batch_id), invitation_url)
    name = f"phieu-moi-{period.id}" + (f"-lo-{batch_id}" if batch_id else "") + ".csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
