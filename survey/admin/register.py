"""The dossier register: import from the one-stop system's CSV export."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from forms.admin import CsvUploadForm

from ..auth import admin_only
from ..services import register
from . import bp
from .uploads import run_import


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
    back = url_for("admin.register_summary")
    report, refused = run_import(register.import_register, _("Nhập sổ hồ sơ"), back)
    if refused:
        return refused
    flash(
        _(
            "Đã nhập %(created)s hồ sơ mới, cập nhật %(updated)s.",
            created=report.created,
            updated=report.updated,
        )
    )
    return redirect(back)
