"""Survey periods: create, open, close, and targets per unit."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import PeriodForm, PlanForm, choices

from ..auth import admin_only
from ..errors import ServiceError
from ..extensions import db
from ..i18n import in_language
from ..models import Questionnaire, SurveyPeriod
from ..services import periods, publications, units
from ..services.questionnaires import definition_of
from . import bp, confirm


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
        (q.id, f"{q.code} · {in_language(q.title, definition_of(q).title_en)}")
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


def state_steps(period: SurveyPeriod) -> dict[str, dict]:
    """What opening, closing or reopening a period does, and how to take it back."""
    name = period.name
    return {
        "open": {
            "title": _("Mở đợt %(name)s", name=name),
            "consequence": _(
                "Từ lúc mở, mọi mã QR tại quầy (và thư mời, nếu đợt có kênh mẫu) nhận "
                "phiếu cho đợt %(name)s từ %(start)s đến %(end)s. Bộ câu hỏi của đợt "
                "không đổi được nữa.",
                name=name,
                start=period.starts_on.strftime("%d/%m/%Y"),
                end=period.ends_on.strftime("%d/%m/%Y"),
            ),
            "undo": _("Có thể đóng đợt bất cứ lúc nào; phiếu đã nhận vẫn được giữ."),
            "button": _("Mở đợt"),
            "do": periods.open_period,
            "done": _("Đợt %(name)s: đã mở.", name=name),
        },
        "close": {
            "title": _("Đóng đợt %(name)s", name=name),
            "consequence": _(
                "Người dân quét mã QR sẽ thấy đợt đã kết thúc; không nhận thêm phiếu "
                "cho đợt %(name)s.",
                name=name,
            ),
            "undo": _("Có thể mở lại đợt nếu chưa công bố kết quả."),
            "button": _("Đóng đợt"),
            "do": periods.close_period,
            "done": _("Đợt %(name)s: đã đóng.", name=name),
        },
        "reopen": {
            "title": _("Mở lại đợt %(name)s", name=name),
            "consequence": _(
                "Đợt %(name)s nhận phiếu trở lại cho đến khi đóng lần nữa.", name=name
            ),
            "undo": _("Có thể đóng lại đợt bất cứ lúc nào."),
            "button": _("Mở lại đợt"),
            "do": periods.reopen_period,
            "done": _("Đợt %(name)s: đã mở lại.", name=name),
        },
    }


@bp.post("/periods/<int:period_id>/<any(open, close, reopen):action>")
@admin_only
def period_state(period_id: int, action: str):
    """Open, close or reopen a period, after a confirmation step."""
    period = get_period(period_id)
    step = state_steps(period)[action]
    page = confirm.ask(
        step["title"],
        step["consequence"],
        undo=step["undo"],
        button=step["button"],
        back=url_for("admin.period_list"),
    )
    if page is not None:
        return page
    step["do"](period, by=g.user)
    flash(step["done"])
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
