"""A confirmation step before an action that cannot be taken back, or breaks posters.

The first POST of such an action shows what it will do; only a POST that carries the
ticked "Tôi hiểu" box acts. Every other field of the first POST rides along, so the
step works for any form and needs no JavaScript.
"""

from flask import render_template, request

SKIP = {"csrf_token", "confirm"}


def confirmed() -> bool:
    return request.form.get("confirm") == "1"


def ask(
    title: str, consequence: str, *, back: str, undo: str | None = None, button: str
):
    """Return the confirmation page unless this POST already confirms, else None.

    `undo` says how to take the action back; without it the page says it is final.
    """
    if confirmed():
        return None
    carried = [
        (name, value)
        for name, values in request.form.lists()
        if name not in SKIP
        for value in values
    ]
    return render_template(
        "admin/confirm.html",
        title=title,
        consequence=consequence,
        undo=undo,
        back=back,
        button=button,
        carried=carried,
        action=request.path,
    )
