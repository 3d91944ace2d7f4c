"""The SIPAS survey platform: a Flask application."""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import boundary
from .config import (
    INSTANCE_DIR,
    Config,
    check_production,
    database_url_from_env,
    demo_secrets,
)
from .extensions import csrf, db, limiter, migrate

MIGRATIONS_DIR = str(INSTANCE_DIR.parent / "migrations")


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the survey application."""
    app = Flask(
        __name__, template_folder="../templates", instance_path=str(INSTANCE_DIR)
    )
    app.request_class = boundary.BoundaryRequest
    app.url_map.converters["int"] = boundary.BoundedIntegerConverter
    app.config.from_object(Config)
    if test_config is None:
        app.config.from_prefixed_env("SIPAS")
        if url := database_url_from_env():
            app.config["SQLALCHEMY_DATABASE_URI"] = url
    else:
        app.config.update(test_config)
    if app.config["DEMO"]:
        for name, value in demo_secrets().items():
            app.config[name] = app.config[name] or value
    elif not app.config["TESTING"]:
        check_production(app.config)
    if str(app.config["PUBLIC_BASE_URL"]).startswith("https://"):
        # Served over HTTPS: cookies (session, device) never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
    INSTANCE_DIR.mkdir(exist_ok=True)
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis", "rediss")):
        app.config["RATELIMIT_STORAGE_OPTIONS"] = (
            app.config["REDIS_TIMEOUTS"] | app.config["RATELIMIT_STORAGE_OPTIONS"]
        )
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    from .admin import uploads

    uploads.init_app(app)  # before CSRF protection, which reads the request body
    csrf.init_app(app)
    limiter.init_app(app)

    from . import admin, auth, cli, errors, http, i18n, invite, public, published

    for module in (public, invite, auth, admin, published, i18n):
        app.register_blueprint(module.bp)
    cli.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    http.init_app(app)
    boundary.init_app(app)
    return app
