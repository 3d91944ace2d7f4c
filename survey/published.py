"""Public results: the published tables of each period, with downloads."""

from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template

import analysis

from . import charts
from .extensions import db
from .i18n import current_language
from .integrity import LABELS
from .models import SurveyPeriod
from .services import publications
from .services.questionnaires import definition_of

bp = Blueprint("results", __name__, url_prefix="/results")


def get_publication(period_id: int):
    period = db.session.get(SurveyPeriod, period_id) or abort(404)
    return publications.publication_of(period) or abort(404)


@bp.get("/")
def publication_list():
    """List published periods."""
    return render_template(
        "results/list.html", publications=publications.public_publications()
    )


@bp.get("/<int:period_id>")
def publication(period_id: int):
    """Show a period's published results with the method note."""
    published = get_publication(period_id)
    overall = [r for r in published.results if r["indicator"] == analysis.OVERALL]
    province = next(r for r in overall if r["unit"] == analysis.ALL)
    units = sorted(
        (r for r in overall if r["kind"] == "unit"),
        key=lambda r: (
            r.get("block") or "",
            r["rank"] if r.get("rank") else 1e9,
            -(r["estimate"] or 0),
        ),
    )
    chart = charts.published_intervals(
        (published.content_hash, current_language()), units, province["estimate"]
    )
    return render_template(
        "results/publication.html",
        publication=published,
        units=publications.with_integrity(units, published.summary),
        province_integrity=publications.with_integrity([province], published.summary)[
            0
        ]["integrity"],
        policy=(published.summary.get("integrity") or {}).get("policy"),
        labels=LABELS,
        province=province,
        chart=chart,
        settings=published.settings,
        definition=definition_of(published.period.questionnaire),
        beside=publications.side_by_side(published.summary),
        counter_only=publications.counter_only(
            {"results": overall, "summary": published.summary}
        ),
    )


@bp.get("/<int:period_id>.<any(csv, xlsx):fmt>")
def publication_download(period_id: int, fmt: str):
    """Download the published table (every unit and indicator) as CSV or XLSX."""
    published = get_publication(period_id)
    body = publications.export_table(publications.export_rows(published), fmt)
    mimetype = (
        "text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"sipas-{published.period.name.replace('/', '-').replace(' ', '_')}.{fmt}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
