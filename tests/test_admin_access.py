"""Access to every workspace route, found from the URL map so that no new route slips by.

Anonymous visitors are sent to the login page; a unit head gets 403 for another unit's
page, counter, response, export or chart and for admin-only actions; a viewer can never
change anything.
"""

from datetime import date

import pytest
import sqlalchemy as sa
from flask import url_for

from survey import create_app
from survey.extensions import db
from survey.models import ImprovementPlan, PlanItem, Unit
from tests.helpers import complete_answers, counter_path, logged_in, served_form
from tests.seed import OTHER_COUNTER_ID, PERIOD_ID

SCOPED = {"unit_id", "counter_id", "response_id", "unit_code", "plan_id"}


def admin_routes():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.startswith("admin."):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield pytest.param(rule.endpoint, method, id=f"{method} {rule.rule}")


ROUTES = list(admin_routes())


@pytest.fixture
def other_unit_urls(app):
    """Build every admin URL with ids that belong to Xã Hòa Bình (not the unit head's)."""
    path = counter_path(OTHER_COUNTER_ID)
    client = app.test_client()
    client.post(path, data=complete_answers() | served_form(client, path))
    with app.app_context():
        unit = db.session.scalar(sa.select(Unit).filter_by(code="X-HB"))
        plan = ImprovementPlan(unit=unit, period_id=PERIOD_ID)
        plan.items = [
            PlanItem(
                criterion="2.5",
                cause="-",
                actions="-",
                responsible="-",
                deadline=date(2030, 1, 1),
                baseline=40.0,
                target=50.0,
            )
        ]
        db.session.add(plan)
        db.session.commit()
        values = {
            "unit_id": unit.id,
            "counter_id": OTHER_COUNTER_ID,
            "response_id": 1,
            "period_id": PERIOD_ID,
            "unit_code": "X-HB",
            "plan_id": plan.id,
            "item_id": plan.items[0].id,
            "action": None,
            "fmt": "csv",
            "group_id": 1,
            "decision_id": 1,
            "import_id": 1,
        }

    def build(endpoint: str) -> str:
        with app.test_request_context():
            rule = next(app.url_map.iter_rules(endpoint))
            args = {name: values[name] for name in rule.arguments}
            if "action" in args:
                args["action"] = sorted(rule._converters["action"].items)[0]
            return url_for(endpoint, **args)

    return build


@pytest.mark.parametrize(("endpoint", "method"), ROUTES)
def test_anonymous_is_sent_to_login(client, other_unit_urls, endpoint, method):
    response = client.open(other_unit_urls(endpoint), method=method)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


@pytest.mark.parametrize(("endpoint", "method"), ROUTES)
def test_unit_head_is_confined_to_own_subtree(app, other_unit_urls, endpoint, method):
    client = logged_in(app, "head")
    rule_args = set(next(app.url_map.iter_rules(endpoint)).arguments)
    view = app.view_functions[endpoint]
    response = client.open(other_unit_urls(endpoint), method=method)
    if rule_args & SCOPED or getattr(view, "required_roles", None):
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302, 422)
        assert "Xã Hòa Bình" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("endpoint", "method"), [r for r in ROUTES if r.values[1] == "POST"]
)
def test_viewer_cannot_change_anything(app, other_unit_urls, endpoint, method):
    client = logged_in(app, "viewer")
    assert client.post(other_unit_urls(endpoint)).status_code == 403


def test_every_admin_route_is_covered():
    endpoints = {p.values[0] for p in ROUTES}
    assert {
        "admin.dashboard",
        "admin.unit_list",
        "admin.counter_poster",
        "admin.response_detail",
        "admin.period_results",
        "admin.period_publish",
        "admin.audit_list",
        "admin.plan_list",
        "admin.plan_detail",
        "admin.plan_create",
        "admin.plan_return",
    } <= endpoints
