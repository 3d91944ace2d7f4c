"""Public pages: the questionnaire behind a counter's QR code and the thank-you page."""

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from forms.public import response_form_class

from . import integrity
from .errors import error_page
from .extensions import limiter
from .services import health, responses, units
from .services.questionnaires import definition_of

bp = Blueprint("public", __name__)
DEVICE_COOKIE = "sipas_device"
DEVICE_COOKIE_AGE = 400 * 24 * 3600


def submit_limit() -> str:
    return current_app.config["SUBMIT_RATE_LIMIT"]


@bp.get("/")
def index():
    """Explain the survey to someone who opens the site without a QR code."""
    return render_template("public/index.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Report the database and the rate-limit storage (503 when the database is down)."""
    state, status = health.report()
    return jsonify(state), status


@bp.route("/s/<token>", methods=("GET", "POST"))
@limiter.limit(submit_limit, methods=["POST"])
def respond(token: str):
    """Show the questionnaire for the counter behind a QR code and record the answers."""
    counter = units.find_counter(token) or abort(404)
    period = responses.collecting_period(counter)
    if period is None:
        status = 409 if request.method == "POST" else 200
        return render_template("public/not_open.html", counter=counter), status
    definition = definition_of(period.questionnaire)
    form_class = response_form_class(definition)
    if request.method == "GET":
        form = form_class(k=responses.issue_key(counter, period))
        return render_survey(counter, period, definition, form, 200)
    if form_class.unknown_keys(request.form):
        return error_page(
            400,
            _(
                "Phiếu gửi lên có câu hỏi không thuộc bảng hỏi. Vui lòng quét lại mã QR."
            ),
        )
    answers = form_class.parse(request.form)
    if answers is None:  # something to correct: the bound form finds and explains it
        form = form_class()
        if not form.validate_on_submit():
            return render_survey(counter, period, definition, form, 422)
        answers = form.answers()
    responses.record_response(
        counter,
        period,
        request.form["k"],
        responses.Submission(*answers),
        client_signals(),
    )
    return redirect(url_for("public.thanks", token=token), code=303)


def render_survey(counter, period, definition, form, status: int):
    page = render_template(
        "public/respond.html",
        counter=counter,
        period=period,
        definition=definition,
        form=form,
    )
    return with_device_cookie(current_app.make_response((page, status)))


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    """Thank the citizen; a retried submission lands here too."""
    counter = units.find_counter(token) or abort(404)
    return render_template("public/thanks.html", counter=counter)


def client_signals() -> responses.ClientSignals:
    salt = current_app.config["INTEGRITY_SALT"]
    device = request.cookies.get(DEVICE_COOKIE)
    return responses.ClientSignals(
        network_hash=integrity.network_hash(salt, request.remote_addr),
        device_hash=integrity.device_hash(salt, device) if device else None,
    )


def with_device_cookie(response):
    """Give the phone a random cookie so repeated submissions from it can be flagged."""
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
