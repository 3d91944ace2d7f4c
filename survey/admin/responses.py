"""The responses browser: filter, page, look at one, exclude or restore it with a reason."""

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.admin import ReasonForm

from ..auth import admin_only, require_unit
from ..errors import ServiceError
from ..extensions import db
from ..models import SurveyPeriod, SurveyResponse
from ..services import accounts, periods, publications, review, units, words
from ..services.questionnaires import definition_of
from . import bp

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


@bp.app_template_filter("channel_names")
def channel_names(channels: str) -> str:
    """ "counter,sample" as words: "QR tại quầy, Mẫu ngẫu nhiên (thư mời)"."""
    return ", ".join(words.Names.channel(c) for c in channels.split(",") if c)


def get_response(response_id: int) -> SurveyResponse:
    response = db.session.get(SurveyResponse, response_id) or abort(404)
    require_unit(response.unit_id)
    return response


@bp.get("/responses")
def response_list():
    """Browse a period's responses, newest first, filtered."""
    args = request.args
    period_id = args.get("period_id", type=int)
    period = (
        db.session.get(SurveyPeriod, period_id) or abort(404)
        if period_id is not None
        else periods.latest_period()
    )
    if period is None:
        return render_template("admin/response_list.html", period=None)
    visible = accounts.visible_unit_ids(g.user)
    unit_id = args.get("unit_id", type=int)
    if unit_id:
        require_unit(unit_id)
    filters = review.ResponseFilter(
        period.id,
        unit_id=unit_id,
        counter_id=args.get("counter_id", type=int),
        field=args.get("field") or None,
        status=args.get("status") or None,
        flagged=bool(args.get("flagged")),
        day_from=_day(args.get("day_from")),
        day_to=_day(args.get("day_to")),
    )
    rows, next_id = review.page(
        filters, before_id=args.get("before", type=int), visible=visible
    )
    return render_template(
        "admin/response_list.html",
        period=period,
        rows=rows,
        names=words.names_for(rows, definition_of(period.questionnaire)),
        next_id=next_id,
        periods=periods.all_periods(),
        tree=units.unit_tree(visible),
        filters=filters,
        args=args,
        base_args={k: v for k, v in args.items() if k != "before"}
        | {"period_id": period.id},
    )


def _day(text: str | None) -> date | None:
    """Read a day of the filter; one outside the years of any survey is a 400."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        abort(400)
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        abort(400)
    return day


@bp.get("/responses/<int:response_id>")
def response_detail(response_id: int):
    """Show one response with its answers and integrity signals."""
    return render_detail(get_response(response_id), ReasonForm())


@bp.post("/responses/<int:response_id>/<any(exclude, restore):action>")
@admin_only
def response_status(response_id: int, action: str):
    """Exclude a response from the statistics or restore it, with a mandatory reason."""
    response = get_response(response_id)
    form = ReasonForm()
    status = "excluded" if action == "exclude" else "valid"
    if form.validate_on_submit():
        try:
            review.set_status(response, status, form.reason.data, by=g.user)
        except ServiceError as exc:
            flash(str(exc))
        else:
            flash(
                _("Đã loại phiếu khỏi thống kê.")
                if status == "excluded"
                else _("Đã khôi phục phiếu.")
            )
            if publications.publication_of(
                db.session.get(SurveyPeriod, response.period_id)
            ):
                flash(
                    _(
                        "Đợt này đã công bố: bản công bố không thay đổi; thay đổi chỉ "
                        "có hiệu lực khi tính lại trong khu làm việc."
                    )
                )
            return redirect(url_for("admin.response_detail", response_id=response.id))
    return render_detail(response, form), 422


def render_detail(response: SurveyResponse, form: ReasonForm):
    period = db.session.get(SurveyPeriod, response.period_id)
    definition = definition_of(period.questionnaire)
    return render_template(
        "admin/response_detail.html",
        response=response,
        period=period,
        definition=definition,
        names=words.names_for([response], definition),
        extra=words.extra_answers(response, definition),
        published=publications.publication_of(period) is not None,
        answers=definition.decode_answers(response.answers),
        form=form,
    )
