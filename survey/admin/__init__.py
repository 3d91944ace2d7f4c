"""The Sở Nội vụ workspace: every route needs a login; viewers never change anything."""

from flask import Blueprint, abort, g, redirect, request, url_for

from ..models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def guard():
    if g.user is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.method == "POST" and g.user.role == Role.VIEWER:
        abort(403)
    return None


from . import (  # noqa: E402,F401
    audit,
    comments,
    counters,
    dashboard,
    exports,
    flags,
    periods,
    plans,
    register,
    responses,
    results,
    sampling,
    units,
)
