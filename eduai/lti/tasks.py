from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from .services import (
    roster_sync,
    roster_sync_enqueue_all,
)
from .services import (
    score_passback_send as score_passback_send_service,
)


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def score_passback_send(passback_id: int) -> str:
    """Post one ScorePassback row to the LMS; a row already sent is left alone."""
    return score_passback_send_service(passback_id=passback_id).status


@shared_task(soft_time_limit=300, time_limit=360, **IDEMPOTENT, **RETRY_TRANSIENT)
def roster_sync_course(course_id: int) -> dict[str, int]:
    """Sync one course's enrollments from the LMS roster (NRPS)."""
    result = roster_sync(course_id=course_id)
    return {"active": result.active, "inactive": result.inactive}


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def roster_sync_all() -> int:
    """Beat: enqueue a roster sync for every course that came from an LMS with NRPS."""
    return len(roster_sync_enqueue_all())
