"""Public pages of sampled citizens: type the code from a slip, answer once, thanks.

`/i/<code>` opens the same questionnaire as a counter's QR code, without the field
question (the register knows the dossier's field). Every state of a code has its own
Vietnamese page; unknown codes count against a per-network guessing limit.
"""

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.public import response_form_class

from .errors import error_page
from .extensions import limiter
from .public import client_signals, submit_limit, with_device_cookie
from .services import invitations, responses
from .services.questionnaires import definition_of

bp = Blueprint("invite", __name__)
ASKED_BY_REGISTER = frozenset({"field"})


def guess_limit() -> str:
    return current_app.config["INVITATION_GUESS_LIMIT"]


def unknown_code(response) -> bool:
    return response.status_code == 404


@bp.get("/i")
def enter():
    """Let a citizen type the code printed on an invitation slip."""
    typed = request.args.get("ma")
    if typed is None:
        return render_template("public/invitation_enter.html")
    code = invitations.normalize(typed)
    return redirect(url_for("invite.respond", code=code))


@bp.route("/i/<code>", methods=("GET", "POST"))
@limiter.limit(guess_limit, deduct_when=unknown_code)
@limiter.limit(submit_limit, methods=["POST"])
def respond(code: str):
    """Show the questionnaire of an invitation and record its one response."""
    invitation = invitations.find(code)
    if code != invitation.code and request.method != "POST":
        return redirect(url_for("invite.respond", code=invitation.code))
    definition = definition_of(invitation.period.questionnaire)
    form_class = response_form_class(definition, ASKED_BY_REGISTER)
    if request.method != "POST":  # GET, or HEAD from a link checker
        form = form_class(k=invitations.issue_key(invitation))
        return render_survey(invitation, definition, form, 200)
    if form_class.unknown_keys(request.form):
        return error_page(
            400,
            _("Phiếu gửi lên có câu hỏi không thuộc bảng hỏi. Vui lòng mở lại mã mời."),
        )
    answers = form_class.parse(request.form)
    if answers is None:  # something to correct: the bound form finds and explains it
        form = form_class()
        if not form.validate_on_submit():
            return render_survey(invitation, definition, form, 422)
        answers = form.answers()
    scale, _field, extra = answers
    invitations.record_answer(
        invitation,
        request.form["k"],
        responses.Submission(scale, extra=extra),
        client_signals(),
    )
    return redirect(url_for("invite.thanks", code=invitation.code), code=303)


def render_survey(invitation, definition, form, status: int):
    page = render_template(
        "public/invitation.html",
        invitation=invitation,
        period=invitation.period,
        definition=definition,
        form=form,
    )
    return with_device_cookie(current_app.make_response((page, status)))


@bp.get("/i/<code>/cam-on")
@limiter.limit(guess_limit, deduct_when=unknown_code)
def thanks(code: str):
    """Thank the citizen for answering an invitation."""
    unit = invitations.unit_name_of(code)
    if unit is None:
        return error_page(404)
    return render_template("public/invitation_thanks.html", unit=unit)


def code_page(template: str):
    """An error handler that renders a code's own page with the service's message."""

    def handler(exc: invitations.ServiceError):
        typed = request.args.get("ma") or (request.view_args or {}).get("code", "")
        page = render_template(
            template, message=str(exc), state=type(exc).__name__, typed=typed
        )
        return page, exc.status

    return handler


for error in (invitations.CodeMistyped, invitations.CodeUnknown):
    bp.register_error_handler(error, code_page("public/invitation_enter.html"))
for error in (
    invitations.CodeUsed,
    invitations.CodeExpired,
    invitations.SurveyNotStarted,
    invitations.SurveyClosed,
):
    bp.register_error_handler(error, code_page("public/invitation_state.html"))
