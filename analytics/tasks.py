from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT
from eduai.courses.models import Course

from . import next_step_services, risk_services
from .services import knowledge_point_fit_enqueue_all, knowledge_point_parameters_fit
from .weekly_services import course_week_metrics_update, courses_with_new_events


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


@shared_task(soft_time_limit=300, time_limit=360, **IDEMPOTENT, **RETRY_TRANSIENT)
def course_week_metrics_update_course(course_id: int) -> list[int]:
    """Recompute one course's weeks with new events (recomputing a week twice is harmless)."""
    course = Course.objects.filter(pk=course_id).first()
    return [] if course is None else course_week_metrics_update(course=course)


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def course_week_metrics_update_all() -> int:
    """Beat: enqueue a weekly-metrics update for every course with new events or a week just ended."""
    course_ids = courses_with_new_events()
    for course_id in course_ids:
        course_week_metrics_update_course.delay(course_id)
    return len(course_ids)


@shared_task(soft_time_limit=300, time_limit=360, **IDEMPOTENT, **RETRY_TRANSIENT)
def at_risk_score_course(course_id: int) -> int:
    """Retrain one course's at-risk model on its own history and score its students."""
    course = Course.objects.filter(pk=course_id).first()
    return 0 if course is None else risk_services.at_risk_score_course(course=course)


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def at_risk_score_all() -> int:
    """Beat: rescore every course with learners."""
    course_ids = risk_services.courses_with_learners()
    for course_id in course_ids:
        at_risk_score_course.delay(course_id)
    return len(course_ids)


@shared_task(soft_time_limit=300, time_limit=330, **IDEMPOTENT, **RETRY_TRANSIENT)
def next_step_generate(next_step_id: int) -> str:
    """Inference: the practice question of one pending next step (a step no longer pending is
    left alone, so a second delivery does nothing)."""
    step = next_step_services.next_step_generate(next_step_id=next_step_id)
    return "" if step is None else step.status


@shared_task(soft_time_limit=300, time_limit=360, **IDEMPOTENT, **RETRY_TRANSIENT)
def next_steps_refresh_course(course_id: int) -> int:
    course = Course.objects.filter(pk=course_id).first()
    return 0 if course is None else next_step_services.next_steps_refresh_course(course=course)


@shared_task(soft_time_limit=60, time_limit=90, **IDEMPOTENT, **RETRY_TRANSIENT)
def next_steps_refresh_all() -> int:
    """Beat: refresh the next steps of every course with knowledge points."""
    course_ids = next_step_services.courses_with_knowledge_points()
    for course_id in course_ids:
        next_steps_refresh_course.delay(course_id)
    return len(course_ids)
