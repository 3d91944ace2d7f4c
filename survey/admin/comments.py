"""Citizens' comments of a period: search, filter by scores, page, export."""

from flask import Response, abort, g, render_template, request, stream_with_context

from ..auth import require_unit
from ..services import accounts, comments, units
from ..services.questionnaires import definition_of
from . import bp
from .exports import MIMETYPES
from .periods import get_period


def comment_filter(period_id: int) -> comments.CommentFilter:
    """Read the filter from the query string; a unit outside the user's subtree is 403."""
    args = request.args
    unit_id = args.get("unit_id", type=int)
    if unit_id:
        require_unit(unit_id)
    score = args.get("score", type=int)
    if score is not None and score not in comments.SCORES:
        abort(400)
    return comments.CommentFilter(
        period_id,
        unit_id=unit_id,
        text=(args.get("q") or "").strip()[:200],
        item=args.get("item") or comments.ANY,
        score_max=score,
    )


FILTER_ARGS = ("unit_id", "q", "item", "score")


@bp.get("/periods/<int:period_id>/comments")
def comment_list(period_id: int):
    """List a period's comments, newest first, searched and filtered by scores."""
    period = get_period(period_id)
    filters = comment_filter(period.id)
    visible = accounts.visible_unit_ids(g.user)
    try:
        rows, next_id, count = comments.page(
            period, filters, before_id=request.args.get("before", type=int),
            visible=visible,
        )  # fmt: skip
    except comments.BadFilter:
        abort(400)
    # Only the filters ride along on the links (a stray period_id or fmt in the query
    # would clash with the route's own arguments).
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    return render_template(
        "admin/comment_list.html",
        period=period,
        rows=rows,
        next_id=next_id,
        count=count,
        cap=comments.COUNT_CAP,
        filters=filters,
        definition=definition_of(period.questionnaire),
        tree=units.unit_tree(visible),
        args=args,
        first_page=not request.args.get("before"),
    )


@bp.get("/periods/<int:period_id>/comments.<any(csv, xlsx):fmt>")
def comment_export(period_id: int, fmt: str):
    """Download the filtered comments of a period."""
    period = get_period(period_id)
    filters = comment_filter(period.id)
    try:
        stream = comments.start_export(
            period, filters, fmt, by=g.user, visible=accounts.visible_unit_ids(g.user)
        )
    except comments.BadFilter:
        abort(400)
    name = f"sipas-comments-{period.id}.{fmt}"
    return Response(
        stream_with_context(stream),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )
