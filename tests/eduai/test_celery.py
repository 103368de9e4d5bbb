"""Every task of ours states its queue, time limits and delivery policy explicitly."""

import pytest

from eduai.celery import TASK_ROUTES, TRANSIENT_ERRORS, Queue, app, task_send
from tests.faults import celery_producer

PROJECT_PACKAGES = ("eduai.", "grading.", "tutoring.", "analytics.")


def _project_tasks():
    app.loader.import_default_modules()
    return [task for name, task in sorted(app.tasks.items()) if name.startswith(PROJECT_PACKAGES)]


def test_the_project_has_tasks():
    assert "eduai.operations.tasks.record_heartbeat" in {task.name for task in _project_tasks()}


@pytest.mark.parametrize("task", _project_tasks(), ids=lambda task: task.name)
def test_task_policy_is_explicit(task):
    assert TASK_ROUTES.get(task.name) in set(Queue), f"{task.name} needs a queue in eduai.celery.TASK_ROUTES"
    route = app.amqp.router.route({}, task.name)
    assert route["queue"].name == TASK_ROUTES[task.name].value
    assert task.soft_time_limit, f"{task.name} needs a soft time limit"
    assert task.time_limit > task.soft_time_limit, f"{task.name} needs a hard limit above the soft one"
    assert task.acks_late, f"{task.name} must be acknowledged only after it ran"
    assert task.reject_on_worker_lost, f"{task.name} must be redelivered if its worker dies"
    retried = set(getattr(task, "autoretry_for", ()))
    assert retried <= set(TRANSIENT_ERRORS), f"{task.name} retries only transient errors"


def test_queues_are_declared_once_and_known_to_the_app():
    assert {queue.name for queue in app.conf.task_queues} == {"default", "inference", "training"}
    assert app.conf.task_default_queue == "default"


def test_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks


def test_task_send_reports_an_unreachable_broker_instead_of_raising(caplog):
    from eduai.operations.tasks import send_heartbeats

    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
    with celery_producer("redis://127.0.0.1:9/0"):
        assert task_send(send_heartbeats) is False
    assert "broker unavailable, eduai.operations.tasks.send_heartbeats() left for its sweep" in caplog.text
