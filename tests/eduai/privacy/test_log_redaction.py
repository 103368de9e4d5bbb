"""Log lines are redacted of personal data by the site's handlers, in web processes and workers."""

import contextlib
import copy
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from logging.config import dictConfig
from typing import Any

import pytest
from django.conf import settings

from eduai.celery import app, logging_from_django
from eduai.privacy.log_redaction import PersonalDataFilter, log_text_redact

STREAM = "3f2a91c0-1234-4567-8910-123456789012"


@contextlib.contextmanager
def root_logging_kept() -> Iterator[logging.Logger]:
    """The root logger's handlers and level, put back as they were afterwards (the test suite's
    own logging is not left pointing at a test's streams)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the site's logging (``LOGGING``, configured afresh) writes, in a string."""
    written = io.StringIO()
    config: dict[str, Any] = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["stream"] = written
    with root_logging_kept():
        dictConfig(config)
        yield written


def test_log_text_keeps_uuids_and_drops_personal_data():
    text = f"stream {STREAM} for maria.g@school.edu, phone +1 (555) 123-4567, id S20231234"
    assert log_text_redact(text) == f"stream {STREAM} for [email], phone [phone], id [student-id]"
    assert log_text_redact("call 138 0013 8000 or +8613800138000") == "call [phone] or [phone]"
    assert log_text_redact("id 11010519491231002X at 42 Wallaby Way") == "id [national-id] at [address]"


@pytest.mark.parametrize(
    "kept",
    [
        "submission 1234567 of course:525252 scored",
        "2026-12-01 05:46:31,585 took 0.123 s",
        "redis://127.0.0.1:6379/15 and port 5432",
        "model version 12, scope assignment:9876543, pypdf 7.1.1",
    ],
)
def test_ids_dates_and_addresses_of_machines_stay_readable(kept):
    assert log_text_redact(kept) == kept


def test_the_site_handler_redacts_messages_arguments_and_exceptions(console):
    log = logging.getLogger("eduai.tests.logs")
    log.warning("answer %s of %s failed", STREAM, "maria.g@school.edu")
    try:
        raise ValueError("cannot parse 'call me on 138 0013 8000'")
    except ValueError:
        log.exception("upload of %s refused", "liwei@school.edu")
    written = console.getvalue()
    assert f"answer {STREAM} of [email] failed" in written
    assert "upload of [email] refused" in written
    assert "ValueError: cannot parse 'call me on [phone]'" in written
    assert "school.edu" not in written
    assert "0013" not in written


def test_a_broken_format_is_left_for_logging_to_report():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert PersonalDataFilter().filter(record)
    assert record.args == ("many",)


def test_celery_workers_log_through_the_same_handlers(tmp_path, monkeypatch):
    # (A worker also sends what tasks print to the log; not in the test runner's own process.)
    monkeypatch.setitem(app.conf, "worker_redirect_stdouts", False)
    logfile = tmp_path / "worker.log"
    with root_logging_kept() as root:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        logging_from_django(loglevel="WARNING", logfile=str(logfile))
        assert root.level == logging.WARNING
        assert all(any(isinstance(f, PersonalDataFilter) for f in h.filters) for h in root.handlers)
        logging.getLogger("celery.worker").warning("retrying for maria.g@school.edu")
        for handler in root.handlers:
            handler.flush()
    assert "retrying for [email]" in logfile.read_text()


def _worker_process_output(statement: str) -> subprocess.CompletedProcess[str]:
    """Run ``statement`` in a process of its own after the call a Celery worker makes at start
    (``app.log.setup``)."""
    script = (
        "import logging, os;"
        "os.environ.setdefault('SECRET_KEY', 'x');"
        "from eduai.celery import app;"
        "app.log.setup(loglevel='INFO');"
        f"{statement}"
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )


def test_a_fresh_process_with_the_workers_logging_set_up_redacts_its_lines():
    done = _worker_process_output("logging.getLogger('celery.worker').info('hello from maria.g@school.edu')")
    assert "hello from [email]" in done.stderr
    assert "school.edu" not in done.stderr


def test_a_workers_printed_output_is_logged_and_redacted():
    """What a task prints goes to the log (Celery's redirection, kept with our handlers)."""
    done = _worker_process_output("print('printed by a task for maria.g@school.edu', flush=True)")
    assert "printed by a task for [email]" in done.stderr
    assert "school.edu" not in done.stdout + done.stderr


def test_long_lines_cost_linear_time():
    """Bounded patterns: a line of 1 MB that nearly matches everywhere is redacted at once (an
    unbounded e-mail pattern took seconds for 64 KB). A limit on waiting, not a timed assertion
    of speed: quadratic behaviour would take minutes."""
    line = "a." * 500_000 + " +1 " + "1 " * 200_000
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from eduai.privacy.log_redaction import log_text_redact;"
            " log_text_redact(sys.stdin.read())",
        ],
        input=line,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "eduai.settings.test"},
    )
    assert done.returncode == 0
