"""Fixed test data: a small province with an open period (flaskr's data.sql, as code)."""

from datetime import timedelta

from werkzeug.security import generate_password_hash

from survey import clock
from survey.extensions import db
from survey.models import Counter, PeriodStatus, Role, SurveyPeriod, Unit, User
from survey.services.questionnaires import get_questionnaire, sync_questionnaires

OPEN_COUNTER_ID = 1  # Sở Tư pháp, in the open period
OTHER_COUNTER_ID = 2  # Xã Hòa Bình
REVOKED_COUNTER_ID = 3  # deactivated
PERIOD_ID = 1
COUNTER_NONCE = "seed-nonce-1"
PASSWORD = "test-password-1"
USERS = (
    ("admin", Role.ADMIN, None),
    ("head", Role.UNIT_HEAD, "STP"),
    ("viewer", Role.VIEWER, None),
)
UNITS = (
    ("P", "Tỉnh Thử", "province", None),
    ("STP", "Sở Tư pháp", "department", "P"),
    ("X-HB", "Xã Hòa Bình", "commune", "P"),
)


def seed() -> None:
    """Insert the fixed data into an empty, migrated database."""
    sync_questionnaires()
    units = {}
    for code, name, level, parent in UNITS:
        units[code] = Unit(code=code, name=name, level=level, parent=units.get(parent))
        db.session.add(units[code])
    db.session.add_all(
        [  # ids 1, 2, 3 in this order
            Counter(unit=units["STP"], name="Quầy 1", token_nonce=COUNTER_NONCE),
            Counter(unit=units["X-HB"], name="Quầy 1", token_nonce=COUNTER_NONCE),
            Counter(
                unit=units["STP"],
                name="Quầy cũ",
                token_nonce=COUNTER_NONCE,
                is_active=False,
            ),
        ]
    )
    today = clock.today()
    db.session.add(
        SurveyPeriod(
            name="Đợt thử",
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=30),
            questionnaire=get_questionnaire("sipas-2640"),
            channels="counter,sample",
            status=PeriodStatus.OPEN.value,
        )
    )
    # A fast hash: tests log in hundreds of times.
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    db.session.add_all(
        [
            User(
                username=name,
                password_hash=password_hash,
                role=role,
                unit=units.get(unit),
            )
            for name, role, unit in USERS
        ]
    )
    db.session.commit()
    assert (
        db.session.get(Counter, OPEN_COUNTER_ID).name,
        db.session.get(SurveyPeriod, PERIOD_ID).name,
    ) == ("Quầy 1", "Đợt thử"), "seeded ids drifted from the constants"
