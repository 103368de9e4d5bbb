"""Training tasks: runs on the ``training`` queue; the nightly trigger on ``default`` (it only
reads data and enqueues). Lost runs are sent again by ``stale_work_requeue``."""

from typing import Any

from celery import shared_task
from django.conf import settings

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from . import services


@shared_task(bind=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300, **IDEMPOTENT, **RETRY_TRANSIENT)
def training_run_execute(self: Any, run_id: int) -> str:
    """Train, gate and promote or reject one run. Redelivered after a worker died, it resumes
    from the run's last checkpoint; while another live worker runs it, it tries again later."""
    outcome = services.training_run_execute(run_id=run_id)
    if outcome is services.Claim.BUSY:
        raise self.retry(countdown=settings.EDUAI_TRAINING_STALE_SECONDS)
    return str(outcome.value)


@shared_task(soft_time_limit=1800, time_limit=1900, **IDEMPOTENT, **RETRY_TRANSIENT)
def training_runs_nightly() -> list[int]:
    return [run.pk for run in services.training_runs_nightly()]
