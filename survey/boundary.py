"""The one input boundary: every text that enters is cleaned before a view reads it.

Query strings and form fields (through the request class), path parts (through a URL
value preprocessor) and uploaded CSV cells (`clean_text`, called by the readers) are
normalised to Unicode NFC and stripped of NUL and other control characters (a
newline stays, for multi-line text), and refused with a 400 or 404 when longer than
any field of the application takes. Integers from URLs are range-checked: a path
segment beyond the database's integer range does not match the route (404), and
``request.args.get(name, type=int)`` returns its default for one.
"""

import re
import unicodedata
from urllib.parse import urlsplit

from flask import Flask, Request, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.routing import IntegerConverter

from .errors import ShownBadRequest

# PostgreSQL's integer; SQLite's is wider, so this bound is the one that matters.
MAX_ID = 2**31 - 1
MIN_ID = -(2**31)
# Longer than any field the application takes (the restructure text is 5,000).
MAX_VALUE = 10_000
MAX_PATH_PART = 200
# C0 and C1 controls (tab and carriage return included) and the bidirectional
# overrides and isolates that make a name read differently from what it is.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SINGLE_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, *, multiline: bool = True) -> str:
    """Return text in NFC without control characters; a kept newline is always "\\n"."""
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        return unicodedata.normalize("NFC", _CONTROL.sub("", text))
    return unicodedata.normalize("NFC", _SINGLE_LINE_CONTROL.sub("", text))


def clean_cell(text: str) -> str:
    """Return a table cell in NFC, on one line, without control characters or padding."""
    if text.isascii() and text.isprintable():  # nearly every cell: no work to do
        return text.strip()
    return clean_text(text, multiline=False).strip()


class CleanMultiDict(ImmutableMultiDict):
    """Query and form parameters, cleaned as they are parsed; uploaded files untouched."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        super().__init__(
            (_clean_parameter(key), _clean_parameter(value))
            for key, value in iter_multi_items(mapping)
        )

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's signature)
        """As MultiDict.get; an integer outside the database's range is the default."""
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not MIN_ID <= value <= MAX_ID:
            return default
        return value


class ValueTooLong(ShownBadRequest):
    description = _l(
        "Một nội dung gửi lên dài quá %(limit)s ký tự nên chưa được nhận. Vui lòng "
        "rút gọn rồi gửi lại.",
        limit=MAX_VALUE,
    )


def _clean_parameter(value):
    if not isinstance(value, str):
        return value  # a FileStorage
    if len(value) > MAX_VALUE:
        raise ValueTooLong()
    return clean_text(value)


class BoundaryRequest(Request):
    parameter_storage_class = CleanMultiDict


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that matches only ids the database can hold (else 404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def clean_path_parts(endpoint: str | None, values: dict | None) -> None:
    """Clean the string parts of a matched URL; an overlong one is not found."""
    if not values:
        return
    for name, value in values.items():
        if isinstance(value, str):
            if len(value) > MAX_PATH_PART:
                abort(404)
            values[name] = clean_text(value, multiline=False)


def local_path(target: str | None) -> str | None:
    """Return target if it is a path on this site, else None (no open redirect).

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so
    "/\\t/evil.example" and "/\\\\evil.example" lead off-site: anything with a
    control character, a backslash, a scheme or a host is refused.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or _SINGLE_LINE_CONTROL.search(target) or " " in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def parse_parameters() -> None:
    """Parse (and so check) every parameter up front, whether or not the view reads it."""
    request.args  # noqa: B018
    if request.method in ("POST", "PUT", "PATCH"):
        request.form  # noqa: B018


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(clean_path_parts)
    app.before_request(parse_parameters)
