"""Tasks through the real broker (Redis) and a real worker process, results in PostgreSQL."""

import pytest
from django.db import connection
from django_celery_results.models import TaskResult

from eduai.operations.models import WorkerHeartbeat
from eduai.operations.tasks import record_heartbeat, send_heartbeats
from tests.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_and_stores_its_result_in_postgresql(celery_worker_process):
    assert connection.vendor == "postgresql"
    result = send_heartbeats.delay()
    assert result.get(timeout=60) == ["default", "inference", "training"]

    stored = TaskResult.objects.get(task_id=result.id)
    assert stored.status == "SUCCESS"
    assert stored.task_name == "eduai.operations.tasks.send_heartbeats"

    # The fan-out reached the worker through each of the three queues.
    wait_for(lambda: WorkerHeartbeat.objects.count() == 3, timeout=60, what="three worker heartbeats")
    heartbeats = WorkerHeartbeat.objects.all()
    assert {beat.queue for beat in heartbeats} == {"default", "inference", "training"}
    assert all(beat.worker.startswith("test-") for beat in heartbeats)
    assert all(beat.lag_seconds >= 0 for beat in heartbeats)


def test_running_a_heartbeat_twice_keeps_one_row(celery_worker_process):
    sent_at = "2026-01-05T10:00:00+00:00"
    for _ in range(2):
        record_heartbeat.apply_async(("inference", sent_at), queue="inference").get(timeout=60)
    assert WorkerHeartbeat.objects.filter(queue="inference").count() == 1


def test_bad_input_fails_clearly_and_is_not_retried(celery_worker_process):
    result = record_heartbeat.apply_async(("gpu-queue", "2026-01-05T10:00:00+00:00"), queue="default")
    with pytest.raises(ValueError, match="Unknown queue 'gpu-queue'"):
        result.get(timeout=60)
    assert TaskResult.objects.get(task_id=result.id).status == "FAILURE"
