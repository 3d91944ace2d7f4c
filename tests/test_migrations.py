"""The schema built by Alembic migrations is exactly the models' schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.extensions import db


def test_migrations_match_models(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is not None
        assert compare_metadata(context, db.metadata) == []
