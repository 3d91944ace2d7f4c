"""Counter QR codes and printable posters."""

from flask import Response, abort, current_app, render_template, request, url_for
from markupsafe import Markup

from ..extensions import db
from ..models import Counter
from ..qr import counter_qr_png, counter_qr_svg
from ..services import units
from . import bp


def public_url(counter: Counter) -> str:
    """Return the absolute survey URL printed on a counter's poster."""
    base = current_app.config["PUBLIC_BASE_URL"] or request.url_root
    return base.rstrip("/") + url_for(
        "public.respond", token=units.counter_token(counter)
    )


def get_counter(counter_id: int) -> Counter:
    return db.session.get(Counter, counter_id) or abort(404)


@bp.get("/counters/<int:counter_id>/qr.svg")
def counter_qr(counter_id: int):
    """Download a counter's QR code as SVG."""
    svg = counter_qr_svg(public_url(get_counter(counter_id)))
    return Response(svg, mimetype="image/svg+xml")


@bp.get("/counters/<int:counter_id>/qr.png")
def counter_qr_image(counter_id: int):
    """Download a counter's QR code as PNG."""
    png = counter_qr_png(public_url(get_counter(counter_id)))
    return Response(png, mimetype="image/png")


@bp.get("/counters/<int:counter_id>/poster")
def counter_poster(counter_id: int):
    """Show a counter's printable A4 poster."""
    counter = get_counter(counter_id)
    url = public_url(counter)
    return render_template(
        "print/poster.html", posters=[(counter, url, inline_svg(url))]
    )


def inline_svg(url: str) -> Markup:
    """Return the QR code as SVG markup to embed in HTML (without the XML declaration)."""
    return Markup(counter_qr_svg(url).split("?>", 1)[-1])
