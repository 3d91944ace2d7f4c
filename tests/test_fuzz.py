"""Hostile input on every route, as every kind of visitor: never a 500, never a traceback.

The routes come from the URL map, so a route added later is fuzzed without anyone
listing it. Each example sends one request to every route (every method) with
hostile path parts, query parameters and form fields. `make test` runs a few
examples on SQLite and PostgreSQL; `make fuzz` (SIPAS_FUZZ_EXAMPLES=400 by default)
runs many more.
"""

import logging
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import AnyConverter, IntegerConverter

from tests.helpers import complete_answers, counter_path, logged_in, served_form
from tests.seed import OPEN_COUNTER_ID

EXAMPLES = int(os.environ.get("SIPAS_FUZZ_EXAMPLES", "3"))
ROLES = ("anonymous", "viewer", "head", "admin")
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\t=1+1",
    '=HYPERLINK("http://evil.example")',
    "+84",
    "-1",
    "@SUM(A1)",
    "$x^$",
    r"$\frac{1}{0}$",
    "%",
    "%00",
    "../../etc/passwd",
    "//evil.example",
    "/\t/evil.example",
    "\\\\evil.example",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "Xa\u0303 Mo\u0323\u0302t",
    "\u202eevil",
    "\ufeff",
    "🙂" * 50,
    "x" * 5_000,
    "9" * 30,
    "nan",
    "inf",
    "-inf",
    "1e400",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "true",
    "null",
    "[]",
]
HOSTILE_INT = [0, -1, 1, 2, 3, 2**31 - 1, 2**31, 2**63, 10**25]
# Names read by some view; a fuzzer sending only random names would never reach them.
PARAMETERS = [
    "period_id", "unit_id", "counter_id", "before", "day_from", "day_to", "field",
    "status", "flagged", "action", "user_id", "sort", "weighting", "ci", "level",
    "trim", "moe", "deff", "next", "all", "fmt",
]  # fmt: skip
FIELDS = [
    "name", "code", "level", "parent_id", "kind", "old_codes", "new_units",
    "effective_on", "starts_on", "ends_on", "questionnaire_id", "channels", "reason",
    "username", "password", "current", "new", "confirm", "k", "margin_text", "t1",
    "t2", "t3", "q_overall", "q_field", "q_suggestion", "q_1_1", "q_gender",
]  # fmt: skip

text_values = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_INT).map(str),
    st.text(max_size=40),
)


def routes(app) -> list[tuple]:
    """Every (rule, method) of the app except static files."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule, method))
    return found


def path_value(converter, draw):
    if isinstance(converter, IntegerConverter):
        return str(draw(st.sampled_from(HOSTILE_INT)))
    if isinstance(converter, AnyConverter):
        return draw(st.sampled_from(sorted(converter.items)))
    return draw(text_values.filter(lambda t: t and "/" not in t))


def build_path(rule, draw) -> str:
    """Fill a rule's parts with hostile values, percent-encoded as a browser would."""
    from urllib.parse import quote

    def fill(match):
        name = match.group(2)
        value = path_value(rule._converters[name], draw)
        return quote(value, safe="")

    return re.sub(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_]+)>", fill, rule.rule)


def pairs(draw, names: list[str]) -> MultiDict:
    """Some known and some random parameter names (a name may repeat), hostile values."""
    chosen = draw(
        st.lists(
            st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=12)),
            max_size=6,
        )
    )
    return MultiDict([(name, draw(text_values)) for name in chosen])


@pytest.fixture
def visitors(app):
    """A client per role, and one stored response so that pages have content."""
    client = app.test_client()
    path = counter_path(OPEN_COUNTER_ID)
    client.post(path, data=complete_answers() | served_form(client, path))
    return {
        role: app.test_client() if role == "anonymous" else logged_in(app, role)
        for role in ROLES
    }


@pytest.mark.parametrize("role", ROLES)
def test_no_route_breaks_on_hostile_input(app, visitors, role, caplog):
    client = visitors[role]
    every_route = routes(app)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def requests_survive(data):
        for rule, method in every_route:
            path = build_path(rule, data.draw)
            query = pairs(data.draw, PARAMETERS)
            form = pairs(data.draw, FIELDS) if method == "POST" else None
            with caplog.at_level(logging.ERROR):
                response = client.open(
                    path, method=method, query_string=query, data=form
                )
            assert response.status_code < 500, (method, path, query, form)
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert not errors, (method, path, query, form, errors[0].getMessage())
            if role != "anonymous" and rule.rule == "/auth/logout":
                relog(client, role)

    requests_survive()


def relog(client, role: str) -> None:
    """Log the client back in after the fuzzer posted to /auth/logout."""
    from tests.seed import PASSWORD

    client.post("/auth/login", data={"username": role, "password": PASSWORD})
