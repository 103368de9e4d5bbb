from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from . import retention


@shared_task(soft_time_limit=600, time_limit=660, **IDEMPOTENT, **RETRY_TRANSIENT)
def retention_enforce() -> dict[str, int]:
    """Daily from beat: delete personal data older than its retention period."""
    return retention.retention_enforce()
