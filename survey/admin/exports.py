"""Downloads of a period's raw responses, streamed as CSV, XLSX or Parquet."""

from flask import Response, g, request, stream_with_context

from ..services import accounts, exports
from . import bp
from .periods import get_period

MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


@bp.get("/periods/<int:period_id>/responses.<any(csv, xlsx, parquet):fmt>")
def response_export(period_id: int, fmt: str):
    """Download a period's responses, one row per response (valid ones unless ?all=1)."""
    period = get_period(period_id)
    stream = exports.start_export(
        period,
        fmt,
        by=g.user,
        visible_unit_ids=accounts.visible_unit_ids(g.user),
        only_valid=not request.args.get("all"),
    )
    name = f"sipas-responses-{period.id}.{fmt}"
    return Response(
        stream_with_context(stream),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
