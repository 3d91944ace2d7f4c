"""Production refuses unsafe configuration; the demo draws secrets of its own."""

import stat

import pytest
from flask import Flask

from survey import create_app
from survey.config import UnsafeConfiguration, demo_secrets

PRODUCTION = {
    "SECRET_KEY": "a-long-production-secret",
    "INTEGRITY_SALT": "a-long-production-salt",
    "PUBLIC_BASE_URL": "https://khaosat.example.gov.vn",
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
}


def test_production_without_secrets_refuses_to_start_and_names_them():
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    for name in ("SIPAS_SECRET_KEY", "SIPAS_INTEGRITY_SALT", "SIPAS_PUBLIC_BASE_URL"):
        assert name in str(refused.value)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "INTEGRITY_SALT", "PUBLIC_BASE_URL"])
def test_each_missing_setting_is_named(missing):
    config = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(UnsafeConfiguration, match=f"SIPAS_{missing}"):
        create_app(config)


def test_a_short_secret_is_refused():
    with pytest.raises(UnsafeConfiguration, match="shorter than 16"):
        create_app(PRODUCTION | {"SECRET_KEY": "secret"})


def test_environment_configuration_is_checked(monkeypatch):
    monkeypatch.setenv("SIPAS_SECRET_KEY", "a-long-production-secret")
    monkeypatch.delenv("SIPAS_INTEGRITY_SALT", raising=False)
    monkeypatch.delenv("SIPAS_PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("SIPAS_DEMO", raising=False)
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app()
    assert "SIPAS_INTEGRITY_SALT" in str(refused.value)
    assert "SIPAS_SECRET_KEY" not in str(refused.value)


def test_complete_production_configuration_starts():
    assert isinstance(create_app(PRODUCTION), Flask)


def test_demo_secrets_are_random_private_and_kept(tmp_path):
    path = tmp_path / "instance" / "demo-secrets.json"
    first = demo_secrets(path)
    assert demo_secrets(path) == first
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] != first["INTEGRITY_SALT"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secrets(tmp_path / "other.json") != first


def test_demo_runs_without_configuration_and_rejects_the_old_source_key():
    app = create_app({"DEMO": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] not in (None, "dev-only-change-me")
    assert app.config["INTEGRITY_SALT"] not in (None, "dev-only-salt")
    # A cookie forged with the key that used to be in the source opens nothing.
    forger = Flask("forger")
    forger.secret_key = "dev-only-change-me"
    forged = forger.session_interface.get_signing_serializer(forger).dumps(
        {"user_id": 1}
    )
    serializer = app.session_interface.get_signing_serializer(app)
    with pytest.raises(Exception, match="Signature"):
        serializer.loads(forged)
