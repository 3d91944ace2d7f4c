"""Languages of the interface: Vietnamese for everyone, English on request.

The source strings are Vietnamese; ``translations/en`` holds the English catalog.
The choice is a ``lang`` cookie set by ``/lang/<code>``; the browser's
Accept-Language is ignored on purpose, so a citizen's phone set to English still
gets the official Vietnamese form unless they ask otherwise.
"""

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    request,
)
from flask_babel import Babel, format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from .boundary import local_path

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "lang"
COOKIE_AGE = 400 * 24 * 3600
VI_MARKS = str.maketrans(",.", ".,")

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Return the language chosen with the cookie, else Vietnamese (also outside requests)."""
    if not has_request_context():  # a command or a service run from one
        return DEFAULT
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT


def current_language() -> str:
    """Return the code of the language of this request ("vi" outside one)."""
    return str(get_locale() or DEFAULT)


def local_number(text) -> str:
    """Write a number formatted the Python way ("1,234.5") with this language's marks.

    Vietnamese swaps them: "1.234,5".
    """
    text = str(text)
    if current_language() == "vi":
        return text.translate(VI_MARKS)
    return text


def local_datetime(moment, pattern: str = "dd/MM/yyyy HH:mm") -> str:
    """Write an instant as Vietnam time (BABEL_DEFAULT_TIMEZONE); None is a dash."""
    return "–" if moment is None else format_datetime(moment, pattern)


def local_date(day) -> str:
    """Write a date, or the Vietnamese day of an instant, as dd/mm/yyyy; None is a dash."""
    return "–" if day is None else format_date(day, "dd/MM/yyyy")


# The answer levels of every questionnaire so far: the English survey shows them in
# English, whatever the version file says (it keeps the official Vietnamese).
LEVEL_WORDS = {
    "Rất không hài lòng": _l("Rất không hài lòng"),
    "Không hài lòng": _l("Không hài lòng"),
    "Bình thường": _l("Bình thường"),
    "Hài lòng": _l("Hài lòng"),
    "Rất hài lòng": _l("Rất hài lòng"),
    "Không có ý kiến / không áp dụng": _l("Không có ý kiến / không áp dụng"),
}


def level_words(label: str) -> str:
    """A level of the answer scale in the page's language."""
    words = LEVEL_WORDS.get(label)
    return label if words is None else str(words)


def in_language(vietnamese: str, english: str = "") -> str:
    """The questionnaire's English rendering on English pages, where the file has one."""
    return english if english and current_language() == "en" else vietnamese


def scale_word(option) -> str:
    """A level of a questionnaire's scale (an Option) in the page's language."""
    if option.label_en and current_language() == "en":
        return option.label_en
    return level_words(option.label)


def item_title(definition, code: str) -> str:
    """Wording of a criterion, or title of an element or area, in the page's language."""
    return in_language(definition.title_of(code), definition.title_en_of(code))


def answer_words(definition, value: int) -> str:
    """A stored scale answer in words: "4 · Hài lòng", the no-opinion label, or unanswered.

    0 is "no opinion" where the version has that answer, else an item left unanswered
    (1001/QĐ-BNV).
    """
    if not value:
        if definition.no_opinion is None:
            return str(_l("Không trả lời"))
        if definition.no_opinion_en and current_language() == "en":
            return definition.no_opinion_en
        return level_words(definition.no_opinion)
    option = next((o for o in definition.scale if o.code == str(value)), None)
    return str(value) if option is None else f"{value} · {scale_word(option)}"


def safe_next(target: str | None) -> str:
    """Only go back to a local path (no open redirect)."""
    return local_path(target) or "/"


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the chosen language and go back to the page it was chosen on."""
    if code not in LANGUAGES:
        abort(404)
    response = redirect(safe_next(request.args.get("next")))
    response.set_cookie(
        COOKIE,
        code,
        max_age=COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.filters["local_number"] = local_number
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["level_words"] = level_words
    app.jinja_env.globals["in_language"] = in_language
    app.jinja_env.globals["scale_word"] = scale_word
    app.jinja_env.globals["answer_words"] = answer_words
    app.jinja_env.globals["item_title"] = item_title
    from .notes import reliability_note  # notes format numbers with local_number

    app.jinja_env.filters["reliability_note"] = reliability_note
