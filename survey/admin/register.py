"""The dossier register: import from the one-stop system's CSV export."""

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from forms.admin import CsvUploadForm

from ..auth import admin_only
from ..services import register
from ..services.units import ImportRejected
from . import bp


@bp.get("/register")
def register_summary():
    """Show what the dossier register holds and how to import it."""
    return render_template(
        "admin/register.html",
        summary=register.summary(),
        form=CsvUploadForm(),
        columns=register.REGISTER_COLUMNS,
    )


@bp.post("/register/import")
@admin_only
def register_import():
    """Import dossiers from CSV; a bad row rejects the file with a report."""
    form = CsvUploadForm()
    back = url_for("admin.register_summary")
    if not form.validate_on_submit():
        return render_template(
            "admin/import_report.html",
            title=_("Nhập sổ hồ sơ"),
            back=back,
            errors=[(0, m) for m in form.file.errors],
        ), 422
    try:
        report = register.import_register(
            form.file.data.read().decode("utf-8-sig"), by=g.user
        )
    except UnicodeDecodeError:
        return render_template(
            "admin/import_report.html",
            title=_("Nhập sổ hồ sơ"),
            back=back,
            errors=[(0, _("Tệp không phải UTF-8."))],
        ), 422
    except ImportRejected as exc:
        return render_template(
            "admin/import_report.html",
            title=_("Nhập sổ hồ sơ"),
            back=back,
            errors=exc.report.errors,
        ), 422
    flash(
        _(
            "Đã nhập %(created)s hồ sơ mới, cập nhật %(updated)s.",
            created=report.created,
            updated=report.updated,
        )
    )
    return redirect(back)
