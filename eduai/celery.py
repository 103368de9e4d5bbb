"""The Celery application: queues, task routes, task policy and the beat schedule, declared once.

Workers (README, "Production"):
  CPU worker, light tasks:    celery -A eduai worker -Q default
  inference, one per GPU:     CUDA_VISIBLE_DEVICES=0 celery -A eduai worker -Q inference --pool threads -c 8
  training, one per GPU:      CUDA_VISIBLE_DEVICES=0 celery -A eduai worker -Q training -c 1
"""

import logging
import os
from datetime import timedelta
from enum import StrEnum
from typing import Any

import redis.exceptions
from celery import Celery, Task, signals
from django.db import InterfaceError, OperationalError
from kombu import Queue as KombuQueue
from kombu.exceptions import OperationalError as BrokerOperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.base")


class Queue(StrEnum):
    # Light, short work on any CPU worker: LTI grade passback, roster sync, analytics rollups,
    # heartbeats, retention sweeps.
    DEFAULT = "default"
    # Model inference: tutor answers, embeddings, AI grading, feedback. GPU workers when present.
    INFERENCE = "inference"
    # Long fine-tuning and evaluation runs, one at a time per GPU.
    TRAINING = "training"


# Errors worth retrying: a broker, database or HTTP peer that is briefly unreachable. Anything
# else is a bug or bad input and must fail loudly instead of being retried.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
)

# Policy for tasks that are safe to run twice: acknowledge only after the task finished, and
# give the message back to the broker when the worker process dies mid-task.
IDEMPOTENT: dict[str, Any] = {"acks_late": True, "reject_on_worker_lost": True}
# Retry policy for transient errors: exponential backoff with jitter, capped.
RETRY_TRANSIENT: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}

# The broker, or Redis (cache, answer streams), cannot be reached: down, restarting, cut off.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    BrokerOperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)

logger = logging.getLogger(__name__)


@signals.setup_logging.connect
def logging_from_django(loglevel: int | str | None = None, logfile: str | None = None, **kwargs: Any) -> None:
    """Workers log through Django's ``LOGGING`` (whose handlers redact personal data), not
    through handlers of Celery's own; ``--loglevel`` still sets the level, ``--logfile`` adds a
    file with the same filter, and what tasks print is logged (so redacted) as Celery would."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    root = logging.getLogger()
    if loglevel:
        root.setLevel(loglevel)
    if logfile:
        console = root.handlers[0]
        to_file = logging.FileHandler(logfile)
        to_file.setFormatter(console.formatter)
        for log_filter in console.filters:
            to_file.addFilter(log_filter)
        root.addHandler(to_file)
    # Celery skips this when a receiver sets logging up; its default does it.
    if app.conf.worker_redirect_stdouts:
        app.log.redirect_stdouts(app.conf.worker_redirect_stdouts_level)


def task_send(task: "Task[Any, Any]", *args: Any, countdown: int = 0) -> bool:
    """Enqueue ``task(*args)`` (to run ``countdown`` seconds from now when given); False, logged,
    when the broker cannot take it.

    Only for work recorded as a row first (a submission waiting for its AI grade, a tutor answer
    pending, a material to ingest, a score passback): the row is the durable record, and the
    beat sweep ``stale_work_requeue`` (eduai/operations/stale_work.py) sends what is still
    waiting, so a broker outage delays that work instead of failing the request that stored it.
    """
    try:
        if countdown:
            task.apply_async(args, countdown=countdown)
        else:
            task.delay(*args)
    except BROKER_ERRORS as error:
        logger.warning("broker unavailable, %s%r left for its sweep: %s", task.name, args, error)
        return False
    return True


# The queue of every task, by task name. A task missing here fails the policy test.
TASK_ROUTES: dict[str, Queue] = {
    "eduai.operations.tasks.send_heartbeats": Queue.DEFAULT,
    "eduai.operations.tasks.record_heartbeat": Queue.DEFAULT,
    "eduai.operations.tasks.stale_work_requeue": Queue.DEFAULT,
    "eduai.privacy.tasks.retention_enforce": Queue.DEFAULT,
    "eduai.ml.tasks.embed_texts": Queue.INFERENCE,
    "eduai.ml.tasks.generate_text": Queue.INFERENCE,
    "eduai.ml.tasks.generate_stream": Queue.INFERENCE,
    "tutoring.tasks.material_ingest": Queue.INFERENCE,
    "tutoring.tasks.answer_generate": Queue.INFERENCE,
    "tutoring.tasks.faq_embed": Queue.INFERENCE,
    "eduai.lti.tasks.score_passback_send": Queue.DEFAULT,
    "eduai.lti.tasks.roster_sync_course": Queue.DEFAULT,
    "eduai.lti.tasks.roster_sync_all": Queue.DEFAULT,
    "grading.tasks.submissions_score": Queue.INFERENCE,
    "analytics.tasks.knowledge_points_fit_course": Queue.DEFAULT,
    "analytics.tasks.knowledge_points_fit_all": Queue.DEFAULT,
    "analytics.tasks.course_week_metrics_update_course": Queue.DEFAULT,
    "analytics.tasks.course_week_metrics_update_all": Queue.DEFAULT,
    "analytics.tasks.at_risk_score_course": Queue.DEFAULT,
    "analytics.tasks.at_risk_score_all": Queue.DEFAULT,
    "analytics.tasks.next_step_generate": Queue.INFERENCE,
    "analytics.tasks.next_steps_refresh_course": Queue.DEFAULT,
    "analytics.tasks.next_steps_refresh_all": Queue.DEFAULT,
    "eduai.ml.training.tasks.training_run_execute": Queue.TRAINING,
    "eduai.ml.training.tasks.training_runs_nightly": Queue.DEFAULT,
}

app = Celery("eduai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[KombuQueue(queue.value, routing_key=queue.value) for queue in Queue],
    task_default_queue=Queue.DEFAULT.value,
    task_create_missing_queues=False,
    task_routes={name: {"queue": queue.value} for name, queue in TASK_ROUTES.items()},
    # Long model tasks: a worker takes one message at a time so others are not held behind it.
    worker_prefetch_multiplier=1,
    # Each worker process loads and warms up its models before it reports up (eduai/ml/tasks.py).
    worker_proc_alive_timeout=300,
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    # Every periodic task, in one place.
    beat_schedule={
        "send-heartbeats": {
            "task": "eduai.operations.tasks.send_heartbeats",
            "schedule": timedelta(minutes=1),
            "options": {"expires": 55},
        },
        # Durable work whose task was lost (the broker was down when it was stored, or lost its
        # queue in a restart): submissions waiting for an AI grade, tutor answers, materials to
        # ingest, FAQ entries to embed, next steps, score passbacks, training runs. Each kind
        # waits its own time before it is sent again (eduai/operations/stale_work.py).
        "stale-work-requeue": {
            "task": "eduai.operations.tasks.stale_work_requeue",
            "schedule": timedelta(minutes=2),
            "options": {"expires": 100},
        },
        # Personal data older than its retention period is deleted (eduai/privacy/retention.py).
        "privacy-retention-enforce": {
            "task": "eduai.privacy.tasks.retention_enforce",
            "schedule": timedelta(hours=24),
            "options": {"expires": 3600},
        },
        # Roster changes in the LMS (enrolments, drops) reach eduai at least daily.
        "lti-roster-sync-all": {
            "task": "eduai.lti.tasks.roster_sync_all",
            "schedule": timedelta(hours=24),
            "options": {"expires": 3600},
        },
        # Fine-tuning: every scope whose training data changed gets a run (eduai/ml/training/).
        "training-runs-nightly": {
            "task": "eduai.ml.training.tasks.training_runs_nightly",
            "schedule": timedelta(hours=24),
            "options": {"expires": 3600},
        },
        # Knowledge-tracing parameters and mastery refitted on each course's scored events.
        "analytics-knowledge-points-fit-all": {
            "task": "analytics.tasks.knowledge_points_fit_all",
            "schedule": timedelta(hours=24),
            "options": {"expires": 3600},
        },
        # Weekly course metrics: only courses with new events, only their touched weeks.
        "analytics-course-week-metrics-update-all": {
            "task": "analytics.tasks.course_week_metrics_update_all",
            "schedule": timedelta(minutes=15),
            "options": {"expires": 600},
        },
        # At-risk models retrained on each course's own history, and its students rescored.
        "analytics-at-risk-score-all": {
            "task": "analytics.tasks.at_risk_score_all",
            "schedule": timedelta(hours=24),
            "options": {"expires": 3600},
        },
        # Students' next steps follow their mastery; questions are regenerated only on a change.
        "analytics-next-steps-refresh-all": {
            "task": "analytics.tasks.next_steps_refresh_all",
            "schedule": timedelta(hours=1),
            "options": {"expires": 1800},
        },
    },
)
app.autodiscover_tasks()
# Sub-packages with tasks of their own (autodiscovery looks only at each app's tasks.py).
app.autodiscover_tasks(["eduai.ml.training"])
