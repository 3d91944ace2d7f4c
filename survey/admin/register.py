"""The dossier register: import from the one-stop system's export, see what it holds."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from forms.admin import TableUploadForm

from ..auth import admin_only
from ..services import register
from . import bp
from .uploads import import_outcome, large_upload, run_import


@bp.get("/register")
def register_summary():
    """Show what the dossier register holds, its recent imports and how to import."""
    return render_template(
        "admin/register.html",
        summary=register.summary(),
        imports=register.recent_imports(),
        form=TableUploadForm(),
        columns=register.REGISTER_COLUMNS,
        fields=[
            Markup("{} (<code>{}</code>)").format(label, code)
            for code, label in register.field_matcher().options
        ],
    )


@bp.post("/register/import")
@large_upload
@admin_only
def register_import():
    """Import dossiers from CSV or XLSX; any bad row rejects the file with a report."""
    back = url_for("admin.register_summary")
    report, refused = run_import(register.import_register, _("Nhập sổ hồ sơ"), back)
    if refused:
        return refused
    flash(import_outcome(report))
    return redirect(back)
