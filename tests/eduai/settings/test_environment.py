import pytest
from django.core.exceptions import ImproperlyConfigured

from eduai.settings.environment import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_origins,
    env_proxy_ssl_header,
    env_str,
    env_url,
)


def test_required_variable_missing_names_it(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET is required"):
        env_str("SOME_SECRET")


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("off", False), ("", False)])
def test_booleans_accept_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_malformed_boolean_is_rejected_by_name(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be true or false"):
        env_bool("DEBUG", False)


def test_integers_are_checked(monkeypatch):
    monkeypatch.setenv("LIMIT", "ten")
    with pytest.raises(ImproperlyConfigured, match="LIMIT must be a whole number"):
        env_int("LIMIT", 1)
    monkeypatch.setenv("LIMIT", "-3")
    with pytest.raises(ImproperlyConfigured, match="LIMIT must be at least 0"):
        env_int("LIMIT", 1)
    monkeypatch.setenv("LIMIT", "12")
    assert env_int("LIMIT", 1) == 12


def test_lists_split_on_commas(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " eduai.school.edu, localhost ,")
    assert env_list("ALLOWED_HOSTS", []) == ["eduai.school.edu", "localhost"]


def test_postgres_url_becomes_a_database_entry(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app:secret@db.internal:5433/eduai")
    config = env_database("DATABASE_URL", "sqlite:///x")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        5433,
        "eduai",
        "app",
    )


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "mysql://root@localhost/eduai", "postgres://app@db:port/eduai", "postgres://app@db:5432/"],
)
def test_malformed_database_url_is_rejected_by_name(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        env_database("DATABASE_URL", "sqlite:///x")


def test_broker_url_scheme_is_checked(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "http://broker")
    with pytest.raises(ImproperlyConfigured, match="CELERY_BROKER_URL must be a URL"):
        env_url("CELERY_BROKER_URL", "filesystem://", schemes={"redis", "filesystem"})


def test_origins_must_be_scheme_and_host(monkeypatch):
    monkeypatch.setenv("CSRF_TRUSTED_ORIGINS", "https://moodle.school.edu,canvas.school.edu")
    with pytest.raises(ImproperlyConfigured, match=r"CSRF_TRUSTED_ORIGINS.*'canvas\.school\.edu'"):
        env_origins("CSRF_TRUSTED_ORIGINS")


def test_proxy_ssl_header(monkeypatch):
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https")
    assert env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER") == ("HTTP_X_FORWARDED_PROTO", "https")
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")


def test_choice(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ImproperlyConfigured, match="LOG_LEVEL must be one of"):
        env_choice("LOG_LEVEL", "INFO", choices={"INFO", "DEBUG"})
