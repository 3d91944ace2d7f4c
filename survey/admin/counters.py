"""Counters: list, create, rename, rotate the token, QR codes and printable posters."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from markupsafe import Markup

from forms.admin import CounterForm

from ..auth import admin_only, require_unit
from ..extensions import db
from ..models import Counter
from ..qr import counter_qr_png, counter_qr_svg
from ..services import units
from . import bp, confirm
from .units import get_unit


def public_url(counter: Counter) -> str:
    """Return the absolute survey URL printed on a counter's poster."""
    base = current_app.config["PUBLIC_BASE_URL"] or request.url_root
    return base.rstrip("/") + url_for(
        "public.respond", token=units.counter_token(counter)
    )


def get_counter(counter_id: int) -> Counter:
    counter = db.session.get(Counter, counter_id) or abort(404)
    require_unit(counter.unit_id)
    return counter


def inline_svg(url: str) -> Markup:
    """Return the QR code as SVG markup to embed in HTML (without the XML declaration)."""
    return Markup(counter_qr_svg(url).split("?>", 1)[-1])


@bp.get("/units/<int:unit_id>/counters")
def counter_list(unit_id: int, form: CounterForm | None = None):
    """List a unit's counters with their QR codes and posters."""
    unit = get_unit(unit_id)
    counters = [(c, public_url(c)) for c in units.unit_counters(unit)]
    form = form or CounterForm()
    return render_template(
        "admin/counter_list.html",
        unit=unit,
        counters=counters,
        form=form,
        restorable={c.id for c, url in counters if units.can_restore_token(c)},
    )


@bp.post("/units/<int:unit_id>/counters")
@admin_only
def counter_create(unit_id: int):
    """Add a counter to a unit."""
    unit = get_unit(unit_id)
    form = CounterForm()
    if not form.validate_on_submit():
        return counter_list(unit_id, form), 422
    counter = units.create_counter(unit, form.name.data, by=g.user)
    flash(_("Đã thêm %(name)s.", name=counter.name))
    return redirect(url_for("admin.counter_list", unit_id=unit.id))


@bp.post("/counters/<int:counter_id>/rename")
@admin_only
def counter_rename(counter_id: int):
    """Rename a counter."""
    counter = get_counter(counter_id)
    form = CounterForm()
    if form.validate_on_submit():
        units.rename_counter(counter, form.name.data, by=g.user)
        flash(_("Đã đổi tên quầy."))
    else:
        flash(_("Tên quầy không hợp lệ."))
    return redirect(url_for("admin.counter_list", unit_id=counter.unit_id))


@bp.post("/counters/<int:counter_id>/rotate")
@admin_only
def counter_rotate(counter_id: int):
    """Give a counter a new QR token, after a confirmation; its printed posters stop."""
    counter = get_counter(counter_id)
    back = url_for("admin.counter_list", unit_id=counter.unit_id)
    page = confirm.ask(
        _("Đổi mã QR của %(name)s", name=counter.name),
        _(
            "Mọi áp phích và mã QR đã in của %(name)s sẽ không dùng được nữa: người "
            "dân quét mã cũ sẽ gặp trang lỗi. Phải in và dán lại áp phích mới.",
            name=counter.name,
        ),
        undo=_(
            "Trong %(hours)s giờ sau khi đổi có thể khôi phục mã cũ (áp phích cũ dùng "
            "lại được).",
            hours=int(units.UNDO_ROTATION.total_seconds() // 3600),
        ),
        button=_("Đổi mã QR"),
        back=back,
    )
    if page is not None:
        return page
    units.rotate_counter_token(counter, by=g.user)
    flash(_("Đã đổi mã QR của %(name)s: hãy in lại áp phích.", name=counter.name))
    return redirect(back)


@bp.post("/counters/<int:counter_id>/restore")
@admin_only
def counter_restore(counter_id: int):
    """Undo the last rotation of a counter's QR token: the old posters work again."""
    counter = get_counter(counter_id)
    units.restore_counter_token(counter, by=g.user)
    flash(_("Đã khôi phục mã QR cũ của %(name)s.", name=counter.name))
    return redirect(url_for("admin.counter_list", unit_id=counter.unit_id))


@bp.get("/counters/<int:counter_id>/qr.svg")
def counter_qr(counter_id: int):
    """Download a counter's QR code as SVG."""
    svg = counter_qr_svg(public_url(get_counter(counter_id)))
    return Response(
        svg,
        mimetype="image/svg+xml",
        headers={"Content-Disposition": f"attachment; filename=qr-{counter_id}.svg"},
    )


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


@bp.get("/units/<int:unit_id>/posters")
def unit_posters(unit_id: int):
    """Show every active counter's poster of a unit, one A4 page each."""
    unit = get_unit(unit_id)
    posters = [
        (c, url, inline_svg(url))
        for c in units.unit_counters(unit)
        if c.is_active
        for url in [public_url(c)]
    ]
    return render_template(
        "print/poster.html",
        posters=posters,
        unit=unit,
        children=sorted(unit.children, key=lambda u: u.name),
    )
