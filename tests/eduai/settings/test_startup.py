"""Start-up through manage.py with real environments: bad configuration stops it by name."""

import os
import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def _manage_check(tmp_path, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    environment.update(DJANGO_SETTINGS_MODULE="eduai.settings.base", EDUAI_VAR_DIR=str(tmp_path), **variables)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_malformed_database_url_stops_startup_naming_it(tmp_path):
    result = _manage_check(tmp_path, SECRET_KEY="k", DATABASE_URL="postgres://eduai@db:notaport/eduai")
    assert result.returncode != 0
    assert "Environment variable DATABASE_URL is malformed" in result.stderr


def test_unknown_database_scheme_stops_startup(tmp_path):
    result = _manage_check(tmp_path, SECRET_KEY="k", DATABASE_URL="oracle://db/eduai")
    assert result.returncode != 0
    assert "DATABASE_URL must be a sqlite:// or postgres:// URL" in result.stderr


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = _manage_check(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "Environment variable SECRET_KEY is required" in result.stderr


def test_embedded_default_starts_without_any_variable(tmp_path):
    result = _manage_check(tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
