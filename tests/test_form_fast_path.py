"""The unbound fast path of a submission accepts only what the bound form accepts, alike."""

import random

import pytest
from werkzeug.datastructures import MultiDict

from forms.public import response_form_class
from survey import create_app
from tests.helpers import DEFINITION, complete_answers, field_name

FORM = response_form_class(DEFINITION)
NAMES = list(FORM.rules)
ODD_VALUES = [
    "",
    " ",
    "0",
    "1",
    "5",
    "6",
    "-1",
    "abc",
    "ho-tich",
    "E3",
    "nu",
    "x" * 1001,
    "5.0",
    "４",
]


def mutations(count: int, seed: int = 11):
    """Complete answer sheets with a few fields removed, repeated or replaced by odd values."""
    rng = random.Random(seed)
    for _ in range(count):
        data = MultiDict(complete_answers() | {"k": "key"})
        for _ in range(rng.randrange(0, 4)):
            name = rng.choice(NAMES + ["k"])
            action = rng.randrange(3)
            if action == 0:
                data.poplist(name)
            elif action == 1:
                data.setlist(name, [rng.choice(ODD_VALUES)])
            else:
                data.setlist(name, data.getlist(name) + [rng.choice(ODD_VALUES)])
        yield data


@pytest.fixture(scope="module")
def bare_app():
    """An app for binding forms only: no database is touched."""
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )


def test_fast_path_agrees_with_the_bound_form(bare_app):
    taken = refused = 0
    for data in mutations(1500):
        with bare_app.test_request_context(method="POST", data=data):
            form = FORM()
            valid = form.validate()
            fast = FORM.parse(data)
        if fast is None:
            refused += 1
            continue
        taken += 1
        assert valid, (data, form.errors)
        assert fast == form.answers()
    assert taken > 200  # the comparison has material on both sides
    assert refused > 200


def test_fast_path_takes_a_complete_clean_sheet(bare_app):
    data = MultiDict(complete_answers() | {"k": "key", field_name("suggestion"): "Tốt"})
    scale, field, extra = FORM.parse(data)
    assert len(scale) == 23
    assert field == "ho-tich"
    assert extra["suggestion"] == "Tốt"
