from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from . import services


@shared_task(soft_time_limit=900, time_limit=960, **IDEMPOTENT, **RETRY_TRANSIENT)
def submissions_score(submission_ids: list[int]) -> list[int]:
    """Inference queue: AI-grade a batch of submissions and write their feedback."""
    return [grade.submission_id for grade in services.submissions_score(submission_ids=submission_ids)]
