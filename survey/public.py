"""Public pages: the questionnaire behind a counter's QR code and the thank-you page."""

import secrets
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from forms.public import response_form_class

from . import clock, door, integrity
from .door import DEVICE_COOKIE
from .errors import error_page
from .extensions import limiter
from .services import health, responses, units
from .services.questionnaires import definition_of

bp = Blueprint("public", __name__)
DEVICE_COOKIE_AGE = 400 * 24 * 3600
ANSWERED = "answered"  # session: unit id -> (answered at, digest of the key)
ANOTHER = "khac"  # ?khac=1: a form for another dossier, after answering


def submit_limit() -> str:
    """Submissions per client network (the invitation pages use it too)."""
    return current_app.config["SUBMIT_RATE_LIMIT"]


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon."""
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)


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
@door.guarded
def respond(token: str):
    """Show the questionnaire for the counter behind a QR code and record the answers."""
    counter = units.find_counter(token) or abort(404)
    period = responses.collecting_period(counter)
    if period is None:
        status = 409 if request.method == "POST" else 200
        return render_template("public/not_open.html", counter=counter), status
    definition = definition_of(period.questionnaire)
    form_class = response_form_class(definition)
    answered = answered_mark(counter.unit_id)
    if request.method != "POST":  # GET, or HEAD from a link checker
        another = request.args.get(ANOTHER) == "1"
        if answered is not None and not another:
            return render_answered(counter, answered, 200)
        device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(16)
        key = responses.issue_key(
            counter, period, device=device_tag(device), repeat=another
        )
        return render_survey(
            counter, period, definition, form_class(k=key), 200, device
        )
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
    key = request.form["k"]
    try:
        responses.record_response(
            counter,
            period,
            key,
            responses.Submission(*answers),
            client_signals(),
            answered,
        )
    except responses.AlreadyAnswered:
        return render_answered(counter, answered, 409)
    except responses.TooEarly as early:
        page = render_survey(counter, period, definition, form_class(), 429)
        page.headers["Retry-After"] = str(early.seconds)
        return page
    remember_answer(counter.unit_id, key)
    return redirect(url_for("public.thanks", token=token), code=303)


def render_survey(counter, period, definition, form, status: int, device=None):
    page = render_template(
        "public/respond.html",
        counter=counter,
        period=period,
        definition=definition,
        form=form,
        too_early=status == 429,
    )
    response = current_app.make_response((page, status))
    # Back after sending must fetch the page again (and find the answer recorded),
    # never show a stored copy of a form whose key was used.
    response.headers["Cache-Control"] = "no-store"
    return with_device_cookie(response, device)


def render_answered(counter, answered, status: int):
    """The already-answered page, with a way to answer for another dossier."""
    page = render_template(
        "public/answered.html",
        counter=counter,
        at=answered.at,
        another=url_for("public.respond", token=request.view_args["token"])
        + f"?{ANOTHER}=1",
    )
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def answered_mark(unit_id: int) -> responses.AnsweredMark | None:
    """This phone's answer for a unit today, from its session, if any."""
    at, key = (session.get(ANSWERED) or {}).get(str(unit_id), (None, None))
    if at is None:
        return None
    mark = responses.AnsweredMark(unit_id, datetime.fromtimestamp(at, UTC), key)
    return mark if mark.is_today() else None


def remember_answer(unit_id: int, key: str) -> None:
    marks = dict(session.get(ANSWERED) or {})
    marks[str(unit_id)] = (clock.now().timestamp(), responses.key_digest(key))
    # The few units answered most recently are enough; the session cookie stays small.
    session[ANSWERED] = dict(sorted(marks.items(), key=lambda m: m[1][0])[-5:])


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    """Thank the citizen; a retried submission lands here too."""
    counter = units.find_counter(token) or abort(404)
    return render_template("public/thanks.html", counter=counter)


def device_tag(device: str) -> str:
    return integrity.device_tag(current_app.config["INTEGRITY_SALT"], device)


def client_signals() -> responses.ClientSignals:
    salt = current_app.config["INTEGRITY_SALT"]
    device = request.cookies.get(DEVICE_COOKIE)
    return responses.ClientSignals(
        network_hash=integrity.network_hash(salt, request.remote_addr),
        device_hash=integrity.device_hash(salt, device) if device else None,
    )


def with_device_cookie(response, device: str | None = None):
    """Give the phone a random cookie so repeated submissions from it can be flagged."""
    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(
            DEVICE_COOKIE,
            device or secrets.token_urlsafe(16),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
