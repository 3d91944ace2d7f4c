"""Results of a period: compute under chosen settings, drill down, publish."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

import analysis
from forms.admin import ResultsForm, choices

from .. import charts
from ..auth import admin_only, require_unit
from ..errors import ServiceError
from ..i18n import current_language
from ..integrity import LABELS
from ..services import (
    accounts,
    basis,
    indices,
    plans,
    publications,
    stored_results,
    units,
    weaknesses,
)
from . import bp, confirm
from .periods import get_period

SETTINGS = (
    "weighting",
    "ci",
    "level",
    "trim",
    "channel",
    "nonresponse",
    "reference",
    "adjustment",
    "pool_periods",
)
# Orders of the per-unit table; units without a rank or estimate go last.
SORT_KEYS = {
    "estimate": lambda r: -(r["estimate"] if r["estimate"] is not None else -1),
    "name": lambda r: r["name"],
    "rank": lambda r: (r["block"] or "", r["rank"] or float("inf")),
    "n": lambda r: -r["n"],
    "moe": lambda r: r["moe"] if r["moe"] is not None else float("inf"),
}


def results_form(data) -> ResultsForm:
    """The settings form, its flag kinds offered for the exclusion policy."""
    form = ResultsForm(data)
    form.exclude_flags.choices = choices(LABELS.items())
    return form


def settings_args(args) -> dict[str, str]:
    """Return the method settings of a query string, to carry them to another page."""
    return {name: args[name] for name in SETTINGS if name in args}


def settings_from(form: ResultsForm) -> indices.Settings:
    """Read method settings from the form (raking margins come as uploaded files)."""
    margins = tuple(
        f.read().decode("utf-8-sig") for f in request.files.getlist("margins") if f
    )
    margins = margins or tuple(request.form.getlist("margin_text"))
    trim = _trim(form.trim.data)
    return indices.Settings(
        weighting=form.weighting.data,
        ci=form.ci.data,
        level=float(form.level.data),
        trim=trim,
        margins=margins,
        exclude_flags=tuple(form.exclude_flags.data or ()),
        channel=form.channel.data,
        nonresponse=form.nonresponse.data,
        reference=form.reference.data,
        adjustment=form.adjustment.data,
        pool_periods=int(form.pool_periods.data),
    )


def chooses_settings(values) -> bool:
    """True if the request asks for method settings (else the page opens on its basis)."""
    return any(name in values for name in (*SETTINGS, "exclude_flags", "margin_text"))


def chosen_basis(period, form: ResultsForm, values) -> basis.Basis:
    """The publication's basis unless the request chose other settings.

    :raise ServiceError: if the chosen settings are invalid.
    """
    if not chooses_settings(values) and publications.publication_of(period):
        return basis.basis_for(period, None)
    if not form.validate():
        raise ServiceError(
            "; ".join(str(e) for errors in form.errors.values() for e in errors)
        )
    return basis.basis_for(period, settings_from(form))


def reload_url(period, form: ResultsForm, settings) -> str | None:
    """The page's own address with its settings (None with raking margins: a POST)."""
    if settings is None or settings.margins:
        return None
    args = {
        f.name: f.data
        for f in form
        if f.data not in (None, "", []) and f.name != "csrf_token"
    }
    return url_for("admin.period_results", period_id=period.id, **args)


def failure(error: str) -> str:
    """A failed computation's error, as the page's language says it."""
    if error == stored_results.INTERNAL_ERROR:
        error = _("lỗi của máy chủ, đã ghi vào nhật ký")
    return _("Lần tính gần nhất không thành công: %(error)s", error=error)


def allowed(unit: str, codes: set[str] | None) -> bool:
    return codes is None or unit in codes


def _trim(text: str | None) -> float | None:
    """Read the trimming multiple ("3" or "2,5"); blank means no trimming."""
    if not text:
        return None
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = float("nan")
    if not 1 <= value <= 1000:  # also refuses NaN and infinities
        raise ServiceError(_("Bội số cắt trọng số phải là một số từ 1 đến 1000."))
    return value


@bp.route("/periods/<int:period_id>/results", methods=("GET", "POST"))
def period_results(period_id: int):
    """Show a period's per-unit table, ranks and chart under the chosen settings."""
    period = get_period(period_id)
    form = results_form(request.values)
    computed, error, stored, settings, on = None, None, None, None, None
    try:
        on = chosen_basis(period, form, request.values)
        settings = on.settings
        if request.method == "POST" and request.form.get("refresh"):
            stored_results.refresh(
                period, settings, on.publication if on.as_published else None
            )
        stored = basis.stored_on(period, on)
        computed = stored.results
    except (ServiceError, ValueError) as exc:
        error = str(exc)
    if on is not None and on.as_published:  # the form shows the published choices
        form = results_form(MultiDict(basis.settings_as_form(on.settings)))
    state = {
        "stored": stored,
        "basis": on,
        "refresh_url": url_for("admin.period_results", period_id=period.id),
        "reload_url": reload_url(period, form, settings),
    }
    if computed is None:
        return render_template(
            "admin/results.html",
            period=period,
            form=form,
            error=error,
            settings=settings,
            publication=publications.publication_of(period),
            **state,
        ), 422 if error else 200
    content = publications.snapshot(computed)
    visible = accounts.visible_unit_ids(g.user)
    codes = (
        None if visible is None else {u.code for u in accounts.units_by_ids(visible)}
    )
    rows = [
        r
        for r in content["results"]
        if r["indicator"] == analysis.OVERALL
        and r["kind"] == "unit"
        and allowed(r["unit"], codes)
    ]
    province = next(
        r
        for r in content["results"]
        if r["unit"] == analysis.ALL and r["indicator"] == analysis.OVERALL
    )
    sort = request.args.get("sort", "estimate")
    ordered = sorted(rows, key=SORT_KEYS.get(sort, SORT_KEYS["estimate"]))
    # Drawn once per stored computation, visible units and language (the drawing,
    # not the numbers, is what a page of 100+ units spends its time on).
    chart = charts.published_intervals(
        (
            "results",
            period.id,
            stored_results.settings_hash(settings),
            on.as_published,
            str(stored.computed_at),
            None if codes is None else tuple(sorted(codes)),
            current_language(),
        ),
        rows,
        province["estimate"],
    )
    return render_template(
        "admin/results.html",
        period=period,
        form=form,
        rows=publications.with_integrity(ordered, content["summary"]),
        province=publications.with_integrity([province], content["summary"])[0],
        labels=LABELS,
        chart=chart,
        summary=content["summary"],
        beside=publications.side_by_side(content["summary"]),
        counter_only=[
            r for r in publications.counter_only(content) if allowed(r["unit"], codes)
        ],
        settings=computed.settings,
        error=None,
        publication=publications.publication_of(period),
        sort=sort,
        **state,
    )


@bp.get("/periods/<int:period_id>/results/units/<unit_code>")
def unit_results(period_id: int, unit_code: str):
    """Drill down into one unit: criteria and elements against the province, the trend."""
    period = get_period(period_id)
    unit = units.get_unit(unit_code) or abort(404)
    require_unit(unit.id)
    form = results_form(request.args)
    try:
        on = chosen_basis(period, form, request.args)
        stored = basis.stored_on(period, on)
        if stored.results is None:
            raise ServiceError(
                failure(stored.error)
                if stored.error
                else _("Đang tính kết quả cho thiết lập này; xem lại sau ít phút.")
            )
        computed = stored.results
    except (ServiceError, ValueError) as exc:
        flash(str(exc))
        return redirect(
            url_for(
                "admin.period_results",
                period_id=period.id,
                **settings_args(request.args),
            )
        )
    table = computed.table
    mine = table[table["unit"] == unit_code]
    if mine.empty:
        abort(404)
    province = table[table["unit"] == analysis.ALL].set_index("indicator")
    definition = indices.definition_of(period.questionnaire)
    elements = [e.code for e in definition.elements]
    by_indicator = mine.set_index("indicator")
    mine_estimates = [by_indicator.loc[e, "estimate"] for e in elements]
    province_estimates = [province.loc[e, "estimate"] for e in elements]
    chart = charts.once(
        ("elements", *elements, *map(repr, mine_estimates + province_estimates)),
        lambda: charts.element_bars(elements, mine_estimates, province_estimates),
    )
    comparison = indices.versus_previous(computed)
    previous = comparison.table
    previous = (
        previous[previous["unit"] == unit_code].set_index("indicator")
        if len(previous)
        else previous
    )
    try:
        found = weaknesses.unit_weaknesses(computed, unit_code, comparison)
    except ServiceError as exc:
        found, weakness_error = None, str(exc)
    else:
        weakness_error = None
    overall = by_indicator.loc[analysis.OVERALL]
    points = publications.published_trend(unit_code, period) + [
        (period.name, period.questionnaire.code, overall)
    ]
    trend = (
        charts.trend(
            [name for name, _, _ in points],
            [row["estimate"] for *_, row in points],
            [row["ci_low"] for *_, row in points],
            [row["ci_high"] for *_, row in points],
            versions=[code for _, code, _ in points],
        )
        if len(points) > 1
        else None
    )
    return render_template(
        "admin/unit_results.html",
        period=period,
        trend=trend,
        unit=mine.iloc[0],
        rows=by_indicator,
        province=province,
        definition=definition,
        chart=chart,
        weaknesses=found,
        weakness_error=weakness_error,
        previous=previous,
        comparison=comparison,
        args=settings_args(request.args),
        publication=publications.publication_of(period),
        basis=on,
        plan=plans.find_plan(unit, period),
        plan_unit_id=unit.id,
        stored=stored,
        form=form,
        settings=computed.settings,
        refresh_url=url_for("admin.period_results", period_id=period.id),
    )


@bp.post("/periods/<int:period_id>/publish")
@admin_only
def period_publish(period_id: int):
    """Publish a closed period's results under the settings shown."""
    period = get_period(period_id)
    form = results_form(request.form)
    page = confirm.ask(
        _("Công bố kết quả đợt %(name)s", name=period.name),
        _(
            "Bảng kết quả theo cách tính đang chọn sẽ được đăng công khai, kèm mã kiểm "
            "tra. Bản công bố là cố định: không sửa, không rút lại, không mở lại đợt; "
            "loại phiếu sau này cũng không làm thay đổi bản công bố."
        ),
        button=_("Công bố"),
        back=url_for("admin.period_results", period_id=period.id),
    )
    if page is not None:
        return page
    try:
        publication = publications.publish(period, settings_from(form), by=g.user)
    except (ServiceError, ValueError) as exc:
        flash(_("Không công bố được: %(reason)s", reason=exc))
        return redirect(url_for("admin.period_results", period_id=period.id))
    flash(_("Đã công bố. Mã kiểm tra: %(hash)s…", hash=publication.content_hash[:16]))
    return redirect(url_for("results.publication", period_id=period.id))
