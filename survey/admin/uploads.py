"""File uploads of the workspace: big files to disk, one report of every problem.

Every route keeps the small global body cap (``MAX_CONTENT_LENGTH``) except the views
marked ``@large_upload``, which a signed-in administrator may send files of up to
``MAX_UPLOAD_LENGTH``; werkzeug spools such a file to disk while it arrives.
"""

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _

from forms.admin import TableUploadForm

from ..auth import admin_only
from ..extensions import db
from ..models import Role, User
from ..services import imports
from ..services.imports import ImportRejected, ImportReport, Problem, number
from . import bp


def large_upload(view):
    """Let a view receive files up to MAX_UPLOAD_LENGTH (for administrators only)."""
    view.large_upload = True
    return view


def allow_large_upload() -> None:
    """Raise the body cap of a large-upload route before anything reads the body.

    Runs before CSRF protection (which parses the form), so the user comes from the
    session here; anyone but an active administrator keeps the small cap.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method != "POST" or not getattr(view, "large_upload", False):
        return
    user_id = session.get("user_id")
    user = db.session.get(User, user_id) if user_id else None
    if user is not None and user.is_active and user.role == Role.ADMIN:
        request.max_content_length = current_app.config["MAX_UPLOAD_LENGTH"]


def init_app(app: Flask) -> None:
    """Register the cap hook; call before CSRF protection is initialised."""
    app.before_request(allow_large_upload)


def run_import(importer, title: str, back: str):
    """Hand the uploaded file to an import service.

    Returns ``(report, None)``, or ``(None, response)`` with a 422 page naming every
    problem (nothing was stored) for the view to return.
    """
    form = TableUploadForm()
    if not form.validate_on_submit():
        problems = [Problem(None, None, None, str(m)) for m in form.file.errors]
        problems += [Problem(None, None, None, str(m)) for m in form.encoding.errors]
        report = ImportReport(problems=problems, problem_count=len(problems))
        return None, refused(title, back, report)
    upload = form.file.data
    try:
        report = importer(
            upload.stream,
            filename=upload.filename or "",
            encoding=form.encoding.data or None,
            by=g.user,
        )
    except ImportRejected as exc:
        return None, refused(title, back, exc.report)
    return report, None


def refused(title: str, back: str, report: ImportReport):
    page = render_template(
        "admin/import_report.html", title=title, back=back, report=report
    )
    return page, 422


@bp.get("/imports/<int:import_id>/problems.csv")
@admin_only
def import_problems(import_id: int):
    """Download every problem of a refused import as CSV."""
    chunks = imports.problem_report(import_id)
    if chunks is None:
        abort(404)
    return Response(
        chunks,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=import-{import_id}-problems.csv"
        },
    )


def import_outcome(report: ImportReport) -> str:
    """The flash message of a successful import."""
    return _(
        "Đã nhập %(file)s (%(how)s): %(rows)s dòng, %(created)s mới, %(updated)s cập "
        "nhật, %(unchanged)s không đổi.",
        file=report.filename,
        how=report.how_read,
        rows=number(report.rows),
        created=number(report.created),
        updated=number(report.updated),
        unchanged=number(report.unchanged),
    )
