"""Helpers shared by the HTTP tests: a counter's URL and a complete answer sheet."""

import re
import unicodedata
from pathlib import Path

from analysis.questionnaire import load_file
from survey import tokens
from tests.seed import COUNTER_NONCE

DEFINITION, _ = load_file(
    Path(__file__).resolve().parent.parent / "questionnaires" / "sipas-2640.toml"
)


def counter_path(counter_id: int, secret: str = "test") -> str:
    return f"/s/{tokens.counter_token(secret, counter_id, COUNTER_NONCE)}"


def field_name(code: str) -> str:
    return "q_" + code.replace(".", "_").replace("-", "_")


def complete_answers(value: str = "4", **overrides) -> dict[str, str | list[str]]:
    """Return form data answering every criterion, the overall question and the field."""
    data: dict[str, str | list[str]] = {
        field_name(c.code): value for c in DEFINITION.criteria
    }
    data[field_name("overall")] = value
    data[field_name("field")] = "ho-tich"
    data[field_name("expectations")] = ["E3", "time"]
    data[field_name("gender")] = "nu"
    data.update(overrides)
    return data


def served_form(client, path: str) -> dict[str, str]:
    """GET the survey page and return its hidden fields (submission key, CSRF token)."""
    html = client.get(path).get_data(as_text=True)
    hidden = dict(
        re.findall(r'<input[^>]*name="(k|csrf_token)"[^>]*value="([^"]*)"', html)
    )
    hidden.update(
        {
            name: value
            for value, name in re.findall(
                r'<input[^>]*value="([^"]*)"[^>]*name="(k|csrf_token)"', html
            )
        }
    )
    return hidden


def logged_in(app, username: str = "admin"):
    """Return a test client of `app` logged in as a seeded user."""
    from tests.seed import PASSWORD

    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code
    return client


SHAPES = "\u0302\u0306\u031b"  # circumflex, breve, horn: part of the letter in cp1258


def to_cp1258(text: str) -> bytes:
    """Text as older Vietnamese Excel saves it: letters with separate tone marks."""
    out = bytearray()
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            shape = "".join(m for m in marks if m in SHAPES)
            tone = "".join(m for m in marks if m not in SHAPES)
            out += unicodedata.normalize("NFC", base + shape).encode("cp1258")
            out += tone.encode("cp1258")
    return bytes(out)
