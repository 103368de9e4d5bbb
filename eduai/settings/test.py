"""Settings for the test suite.

Tests run against PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL; local defaults).
Outside CI a missing service degrades to SQLite and an in-memory cache, and the integration
tests skip with a message naming the service. With CI=true a missing service stops the run.
"""

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("EDUAI_VAR_DIR", str(Path(__file__).resolve().parents[2] / "var" / "test"))

from .base import *  # noqa: F403
from .environment import env_bool, env_database, env_url

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduai")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = env_bool("CI", False)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def _require(service: str, variable: str, url: str, default_port: int) -> str | None:
    """None when the service answers; otherwise the reason integration tests cannot run."""
    if _reachable(url, default_port):
        return None
    reason = f"{service} is unreachable at {url} (set {variable})"
    if IN_CI:
        raise ImproperlyConfigured(f"CI=true requires {service}: {reason}.")
    return reason


POSTGRES_UNAVAILABLE = _require("PostgreSQL", "TEST_DATABASE_URL", TEST_DATABASE_URL, 5432)
REDIS_UNAVAILABLE = _require("Redis", "TEST_REDIS_URL", TEST_REDIS_URL, 6379)

if POSTGRES_UNAVAILABLE:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
else:
    os.environ["TEST_DATABASE_URL"] = TEST_DATABASE_URL
    DATABASES = {"default": env_database("TEST_DATABASE_URL", TEST_DATABASE_URL)}
    # The test session creates its own database; name it per run so parallel checkouts differ.
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_eduai")}

if REDIS_UNAVAILABLE:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
else:
    os.environ["TEST_REDIS_URL"] = TEST_REDIS_URL
    REDIS_URL = env_url("TEST_REDIS_URL", TEST_REDIS_URL, schemes={"redis"})
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
