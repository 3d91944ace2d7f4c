"""The Sở Nội vụ workspace."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import counters  # noqa: E402,F401  (views register on bp)
