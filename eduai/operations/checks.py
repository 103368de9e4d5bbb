"""Readiness checks: can this process serve requests and hand work to the workers?"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import connection

from eduai.celery import app


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name=name, ok=True, detail=check())
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", with its reason
        return CheckResult(name=name, ok=False, detail=f"{type(error).__name__}: {error}")


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _cache() -> str:
    cache = caches["default"]
    cache.set("readyz", "ok", timeout=10)
    if cache.get("readyz") != "ok":
        raise RuntimeError("value written to the cache could not be read back")
    return type(cache).__name__


def _broker() -> str:
    with app.connection_for_write(settings.CELERY_BROKER_URL) as broker:
        broker.ensure_connection(max_retries=1, timeout=3)
        return str(broker.transport_cls)


def _model_file(setting: str) -> Callable[[], str]:
    def check() -> str:
        configured = str(getattr(settings, setting))
        if not configured:
            raise FileNotFoundError(f"{setting} is not set and the bundled model is not installed")
        path = Path(configured)
        if not path.exists():
            raise FileNotFoundError(f"{setting} points at {path}, which does not exist")
        return str(path)

    return check


def readiness_checks() -> list[CheckResult]:
    return [
        _run("database", _database),
        _run("cache", _cache),
        _run("broker", _broker),
        _run("generator_model", _model_file("EDUAI_GENERATOR_MODEL")),
        _run("encoder_model", _model_file("EDUAI_ENCODER_MODEL")),
    ]
