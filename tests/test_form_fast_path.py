"""The unbound fast path of a submission accepts only what the bound form accepts, alike."""

import random

import pytest
from werkzeug.datastructures import MultiDict

from analysis.questionnaire import load_questionnaire
from forms.public import response_form_class
from survey import create_app
from tests.helpers import DEFINITION, complete_answers, field_name

FORM = response_form_class(DEFINITION)
# 1001/QĐ-BNV: no "no opinion", criteria may be blank but not all of them
FORM_1001 = response_form_class(load_questionnaire("sipas-1001-dv"))
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


def complete_sheet(form) -> dict:
    """Every scale item answered 4, the field and the first option of other questions."""
    if form is FORM:
        return complete_answers()
    data = {}
    for name, rule in form.rules.items():
        if rule.kind == "scale":
            data[name] = "4"
        elif rule.kind in ("single", "multi"):
            data[name] = sorted(rule.allowed)[0]
    return data


def mutations(form, count: int, seed: int = 11):
    """Complete answer sheets with a few fields removed, repeated or replaced by odd values."""
    rng = random.Random(seed)
    names = list(form.rules)
    criteria = list(form.criteria)
    for _ in range(count):
        data = MultiDict(complete_sheet(form) | {"k": "key"})
        if not form.criteria_required and rng.random() < 0.3:
            blank = rng.randrange(len(criteria) - 1, len(criteria) + 1)
            for name in rng.sample(criteria, blank):
                data.poplist(name)
        for _ in range(rng.randrange(0, 4)):
            name = rng.choice(names + ["k"])
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


@pytest.mark.parametrize("form_class", [FORM, FORM_1001], ids=["2640", "1001-dv"])
def test_fast_path_agrees_with_the_bound_form(bare_app, form_class):
    taken = refused = 0
    for data in mutations(form_class, 1500):
        with bare_app.test_request_context(method="POST", data=data):
            form = form_class()
            valid = form.validate()
            fast = form_class.parse(data)
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
