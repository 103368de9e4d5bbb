from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT
from eduai.courses.models import Course

from .services import knowledge_point_fit_enqueue_all, knowledge_point_parameters_fit


@shared_task(soft_time_limit=600, time_limit=660, **IDEMPOTENT, **RETRY_TRANSIENT)
def knowledge_points_fit_course(course_id: int) -> int:
    """Refit one course's BKT parameters on its scored events and replay its mastery (a refit
    from the same events gives the same result, so running twice is harmless)."""
    course = Course.objects.filter(pk=course_id).first()
    return 0 if course is None else knowledge_point_parameters_fit(course=course)


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def knowledge_points_fit_all() -> int:
    """Beat: enqueue a refit for every course with scored, tagged events."""
    return len(knowledge_point_fit_enqueue_all())
