"""The schema built by Alembic migrations is exactly the models' schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey import clock
from survey.extensions import db


def test_migrations_match_models(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
        assert compare_metadata(context, db.metadata) == []


def test_comment_keys_are_filled_for_responses_stored_before(app_ctx):
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from survey.models import SurveyResponse
    from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

    db.session.execute(
        sa.insert(SurveyResponse),
        [
            dict(
                period_id=PERIOD_ID, unit_id=2, counter_id=OPEN_COUNTER_ID,
                channel="counter", submission_key=f"m-{n}", answers="4" * 23,
                form_served_at=clock.now(), extra=extra,
            )
            for n, extra in enumerate([{"suggestion": "Chờ LÂU quá"}, {}])
        ],
    )  # fmt: skip
    db.session.commit()
    db.session.remove()
    downgrade(revision="0100_integrity")
    upgrade()
    keys = db.session.scalars(
        sa.select(SurveyResponse.comment_key).order_by(SurveyResponse.id)
    ).all()
    assert keys == ["cho lau qua", None]
