"""The unit tree: view, create, edit, deactivate, import, export, restructure."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms.admin import RestructureForm, TableUploadForm, UnitForm, choices

from .. import clock
from ..auth import admin_only, require_unit
from ..errors import ServiceError
from ..extensions import db
from ..models import Unit
from ..services import accounts, units
from . import bp, confirm
from .uploads import import_outcome, large_upload, run_import

LEVEL_LABELS = {
    "province": _l("Tỉnh"),
    "department": _l("Sở, ban, ngành"),
    "district": _l("Huyện (cũ)"),
    "commune": _l("Xã"),
    "ward": _l("Phường"),
    "special_zone": _l("Đặc khu"),
    "office": _l("Điểm tiếp nhận"),
}


def get_unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id) or abort(404)
    require_unit(unit.id)
    return unit


def unit_form(unit: Unit | None = None) -> UnitForm:
    form = UnitForm(obj=unit)
    form.level.choices = choices(LEVEL_LABELS.items())
    form.parent_id.choices = choices(
        [(0, _("— không —"))]
        + [
            (u.id, "· " * depth + u.name)
            for u, depth in units.unit_tree()
            if u is not unit
        ]
    )
    return form


@bp.get("/units")
def unit_list():
    """Show the unit tree (a unit head sees their subtree)."""
    tree = units.unit_tree(accounts.visible_unit_ids(g.user))
    return render_template(
        "admin/unit_list.html",
        tree=tree,
        levels=LEVEL_LABELS,
        import_form=TableUploadForm(),
        today=clock.today(),
    )


@bp.route("/units/new", methods=("GET", "POST"))
@admin_only
def unit_create():
    """Create a unit."""
    return save(None)


@bp.route("/units/<int:unit_id>/edit", methods=("GET", "POST"))
@admin_only
def unit_edit(unit_id: int):
    """Edit a unit's code, name, level or parent."""
    return save(get_unit(unit_id))


def save(unit: Unit | None):
    form = unit_form(unit)
    if form.validate_on_submit():
        parent = (
            db.session.get(Unit, form.parent_id.data) if form.parent_id.data else None
        )
        try:
            saved = units.save_unit(
                unit,
                form.code.data,
                form.name.data,
                form.level.data,
                parent,
                by=g.user,
                opening_hours=form.opening_hours.data,
            )
        except units.InvalidHours as exc:
            form.opening_hours.errors.append(str(exc))
        except ServiceError as exc:
            form.code.errors.append(str(exc))
        else:
            flash(_("Đã lưu đơn vị %(name)s.", name=saved.name))
            return redirect(url_for("admin.unit_list"))
    return render_template(
        "admin/unit_form.html",
        form=form,
        unit=unit,
        default_hours=current_app.config["OPENING_HOURS"],
    ), 422 if form.errors else 200


@bp.post("/units/<int:unit_id>/deactivate")
@admin_only
def unit_deactivate(unit_id: int):
    """End a unit's validity today, after a confirmation; its history stays."""
    unit = get_unit(unit_id)
    page = confirm.ask(
        _("Ngừng hoạt động %(name)s", name=unit.name),
        _(
            "Từ hôm nay %(name)s không còn nhận phiếu: mã QR tại các quầy của đơn vị "
            "báo đơn vị đã ngừng. Kết quả các đợt cũ vẫn giữ nguyên.",
            name=unit.name,
        ),
        undo=_("Có thể cho đơn vị hoạt động lại trong danh sách đơn vị."),
        button=_("Ngừng hoạt động"),
        back=url_for("admin.unit_list"),
    )
    if page is not None:
        return page
    units.deactivate_unit(unit, clock.today(), by=g.user)
    flash(_("Đã ngừng hoạt động %(name)s.", name=unit.name))
    return redirect(url_for("admin.unit_list"))


@bp.post("/units/<int:unit_id>/reactivate")
@admin_only
def unit_reactivate(unit_id: int):
    """Undo a deactivation: the unit takes responses again."""
    unit = get_unit(unit_id)
    units.reactivate_unit(unit, by=g.user)
    flash(_("%(name)s hoạt động trở lại.", name=unit.name))
    return redirect(url_for("admin.unit_list"))


@bp.post("/units/import")
@large_upload
@admin_only
def unit_import():
    """Import units from CSV or XLSX; a bad row rejects the file with a report."""
    back = url_for("admin.unit_list")
    report, refused = run_import(units.import_units, _("Nhập đơn vị"), back)
    if refused:
        return refused
    flash(import_outcome(report))
    return redirect(back)


@bp.get("/units/export.csv")
def unit_export():
    """Download the unit tree as CSV (the import format)."""
    return Response(
        units.export_units_csv(accounts.visible_unit_ids(g.user)),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=units.csv"},
    )


@bp.route("/units/restructure", methods=("GET", "POST"))
@admin_only
def unit_restructure():
    """Merge or split units on a date; old periods keep the old units."""
    form = RestructureForm()
    if form.validate_on_submit():
        rows = [
            tuple(part.strip() for part in line.split(","))
            for line in form.new_units.data.splitlines()
            if line.strip()
        ]
        if any(len(row) != 3 for row in rows):
            form.new_units.errors.append(
                _("Mỗi dòng phải có đúng ba phần: mã,tên,cấp.")
            )
        elif (
            page := confirm.ask(
                _("Sắp xếp lại đơn vị"),
                _(
                    "Các đơn vị %(codes)s kết thúc vào ngày trước %(day)s; đơn vị mới "
                    "bắt đầu từ ngày đó. Đợt cũ giữ đơn vị cũ.",
                    codes=form.old_codes.data,
                    day=form.effective_on.data.strftime("%d/%m/%Y"),
                ),
                button=_("Sắp xếp lại"),
                back=url_for("admin.unit_restructure"),
            )
        ) is not None:
            return page
        else:
            try:
                units.restructure(
                    form.kind.data,
                    form.old_codes.data.split(","),
                    rows,
                    form.effective_on.data,
                    by=g.user,
                )
            except ServiceError as exc:
                form.old_codes.errors.append(str(exc))
            else:
                flash(_("Đã sắp xếp lại đơn vị."))
                return redirect(url_for("admin.unit_list"))
    status = 422 if form.errors else 200
    return render_template("admin/unit_restructure.html", form=form), status
