"""CSV uploads of the workspace: one way to read a file and report its bad rows."""

from flask import g, render_template
from flask_babel import gettext as _

from forms.admin import CsvUploadForm

from ..services.imports import ImportRejected


def run_import(importer, title: str, back: str | None = None):
    """Read the uploaded CSV and hand it to an import service.

    Returns ``(report, None)``, or ``(None, response)`` with a 422 page naming the bad
    rows (nothing was stored) for the view to return.
    """
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return None, refused(title, back, [(0, m) for m in form.file.errors])
    try:
        return importer(form.file.data.read().decode("utf-8-sig"), by=g.user), None
    except UnicodeDecodeError:
        return None, refused(title, back, [(0, _("Tệp không phải UTF-8."))])
    except ImportRejected as exc:
        return None, refused(title, back, exc.report.errors)


def refused(title: str, back: str | None, errors: list[tuple[int, str]]):
    page = render_template(
        "admin/import_report.html", title=title, back=back, errors=errors
    )
    return page, 422
