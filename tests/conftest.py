"""Shared fixtures: services for integration tests, and a real Celery worker process."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
import redis
from django.conf import settings
from django.db import connection

if TYPE_CHECKING:
    from tests.faults import RedisServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# The loopback LMS and its launch helpers live with the LTI tests; imported here, they serve the
# web and browser tests too (a real launch before the page under test).
from tests.eduai.lti.conftest import lti_flow, lti_platform, lti_registration, tool_key_pair  # noqa: E402, F401


def wait_for(condition: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something true (returned) while a worker does its part;
    fail naming ``what`` after ``timeout`` seconds (a limit on waiting, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def sse_events(response) -> list[tuple[str, dict[str, Any]]]:
    """A streamed Server-Sent Events response (Django test client) as (event, data) pairs."""
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = [reason for reason in (settings.POSTGRES_UNAVAILABLE, settings.REDIS_UNAVAILABLE) if reason]
    if not reasons:
        return
    skip = pytest.mark.skip(reason="integration test skipped: " + "; ".join(reasons))
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


def _worker_environment() -> dict[str, str]:
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    database_url = f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eduai.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_VISIBILITY_TIMEOUT": "60",
        "SECRET_KEY": settings.SECRET_KEY,
        "EDUAI_VAR_DIR": str(settings.VAR_DIR),
        "LOG_LEVEL": "INFO",
    }


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited with {process.returncode}:\n{log.read_text()}")
        if " ready." in log.read_text():
            return
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"Celery worker not ready after {timeout} s:\n{log.read_text()}")


def _start_worker(
    name: str, options: list[str], log: Path, environment: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A Celery worker process; ``environment`` defaults to the test database and Redis."""
    command = [sys.executable, "-m", "celery", "-A", "eduai", "worker", *options, "--loglevel", "INFO"]
    command += ["--without-mingle", "--without-gossip", "-n", f"test-{name}-{uuid.uuid4().hex[:8]}@%h"]
    with log.open("wb") as output:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment or _worker_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Real workers as in production, on the test PostgreSQL database and Redis: a prefork worker
    for the default and training queues, and a threads-pool worker for the inference queue."""
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # leftovers of an earlier run
    logs = tmp_path_factory.mktemp("celery")
    workers = {
        "cpu": ["-Q", "default,training", "-c", "1"],
        "inference": ["-Q", "inference", "--pool", "threads", "-c", "4"],
    }
    processes = {
        name: _start_worker(name, options, logs / f"{name}.log") for name, options in workers.items()
    }
    for name, process in processes.items():
        _wait_until_ready(process, logs / f"{name}.log", timeout=300)
    yield list(processes.values())
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- Failure tests: a broker and an inference worker of the test's own -----------------------
@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator["RedisServer"]:
    """A redis-server of the test's own on a free port (a broker no session worker reads)."""
    from tests.faults import RedisServer  # faults imports this module

    server = RedisServer(tmp_path)
    yield server
    server.crash()


@pytest.fixture
def start_inference_worker(
    redis_server: "RedisServer", tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Starts an inference worker on the test's broker (as production runs it: threads pool),
    each time it is called (``environment``: settings to change, e.g. its DATABASE_URL); stops
    those still running at the end. Its log is ``tmp_path / "inference-N.log"``."""
    base = {
        **_worker_environment(),
        "REDIS_URL": redis_server.url(0),
        "CELERY_BROKER_URL": redis_server.url(0),
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(environment: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = tmp_path / f"inference-{len(started)}.log"
        process = _start_worker(
            "inference",
            ["-Q", "inference", "--pool", "threads", "-c", "2"],
            log,
            {**base, **(environment or {})},
        )
        started.append(process)
        _wait_until_ready(process, log, timeout=300)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
