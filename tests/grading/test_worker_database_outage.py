"""PostgreSQL unreachable from the inference worker while a scoring batch arrives: the task fails
with a transient error and is retried with backoff (nothing written meanwhile); when the database
is back, the batch is scored once, each submission with one AI grade and one release. The worker
reaches PostgreSQL through a TCP proxy the test cuts and restores; it and its broker are the
test's own, so the session's workers cannot take the task instead."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from eduai.audit.models import AuditEntry
from grading.models import AiGrade, Submission
from grading.services import submissions_rescore
from tests.conftest import wait_for
from tests.faults import TcpProxy, celery_producer

from .conftest import failed_batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_proxy() -> Iterator[TcpProxy]:
    settings = connection.settings_dict
    proxy = TcpProxy(settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
    yield proxy
    proxy.close()


def test_a_batch_waits_out_a_database_outage_and_is_scored_once(
    redis_server, start_inference_worker, database_proxy, tmp_path: Path
):
    assignment, submissions = failed_batch(2)
    ids = [submission.pk for submission in submissions]
    database = connection.settings_dict
    start_inference_worker(
        {"DATABASE_URL": f"postgres://{database['USER']}@127.0.0.1:{database_proxy.port}/{database['NAME']}"}
    )
    log = tmp_path / "inference-0.log"

    database_proxy.cut()
    with celery_producer(redis_server.url(0)):
        assert submissions_rescore(assignment=assignment) == ids
    wait_for(lambda: "retry: Retry in" in log.read_text(), timeout=120, what="the task to be retried")
    assert not AiGrade.objects.filter(submission_id__in=ids).exists()  # nothing written meanwhile
    assert set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"queued"}

    database_proxy.restore()
    wait_for(
        lambda: not Submission.objects.filter(pk__in=ids).exclude(status=Submission.Status.SCORED).exists(),
        timeout=600,
        what="the batch to be scored once the database is back",
    )
    assert AiGrade.objects.filter(submission_id__in=ids).count() == len(ids)
    for submission_id in ids:
        released = AuditEntry.objects.filter(
            action=AuditEntry.Action.GRADE_RELEASE, details__submission_id=submission_id
        )
        assert released.count() == 1
    assert "OperationalError" in log.read_text()
