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


# The menu entry a page belongs to, by its view's name (the longest match wins): the
# results of a unit belong to its period, not to the unit register.
NAV_SECTIONS = {
    "dashboard": "admin.dashboard",
    "period": "admin.period_list",
    "sample": "admin.period_list",
    "invitation": "admin.period_list",
    "comment": "admin.period_list",
    "unit_results": "admin.period_list",
    "unit": "admin.unit_list",
    "counter": "admin.unit_list",
    "response": "admin.response_list",
    "flag": "admin.flag_queue_latest",
    "plan": "admin.plan_list",
    "register": "admin.register_summary",
    "import": "admin.unit_list",
    "audit": "admin.audit_list",
}


def nav_section(endpoint: str | None) -> str | None:
    """The menu entry (an endpoint) of the page served by this endpoint, if any."""
    if not endpoint or not endpoint.startswith("admin."):
        return None
    name = endpoint.removeprefix("admin.")
    if name in NAV_SECTIONS:
        return NAV_SECTIONS[name]
    return NAV_SECTIONS.get(name.split("_")[0])


@bp.app_context_processor
def menu():
    return {"nav_section": nav_section}


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
