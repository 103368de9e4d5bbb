from datetime import UTC, datetime

import pytest

from analytics.models import Mastery
from analytics.services import event_record
from analytics.tasks import knowledge_points_fit_all, knowledge_points_fit_course
from eduai.celery import TASK_ROUTES, Queue
from tests.factories import CourseFactory, KnowledgePointFactory, UserFactory

pytestmark = pytest.mark.django_db


def _graded(point, user, score):
    event_record(
        user=user,
        course=point.course,
        verb="graded",
        object_type="assignment",
        object_id="1",
        result_score=score,
        timestamp=datetime(2026, 3, 2, tzinfo=UTC),
        knowledge_points=[point],
    )


def test_the_fit_tasks_are_routed_to_the_default_queue():
    assert TASK_ROUTES[knowledge_points_fit_course.name] == Queue.DEFAULT
    assert TASK_ROUTES[knowledge_points_fit_all.name] == Queue.DEFAULT


def test_fitting_twice_gives_the_same_parameters_and_mastery():
    point = KnowledgePointFactory.create()
    for user in (UserFactory.create(), UserFactory.create()):
        for score in (0.0, 1.0, 1.0):
            _graded(point, user, score)
    assert knowledge_points_fit_course(point.course_id) == 1
    point.refresh_from_db()
    first = (point.p_learn, sorted(Mastery.objects.values_list("probability", flat=True)))
    assert knowledge_points_fit_course(point.course_id) == 1
    point.refresh_from_db()
    assert (point.p_learn, sorted(Mastery.objects.values_list("probability", flat=True))) == first
    assert knowledge_points_fit_course(999999) == 0


def test_beat_enqueues_only_courses_with_scored_tagged_events(monkeypatch):
    enqueued: list[int] = []
    monkeypatch.setattr(knowledge_points_fit_course, "delay", enqueued.append)
    point = KnowledgePointFactory.create()
    _graded(point, UserFactory.create(), 1.0)
    CourseFactory.create()
    assert knowledge_points_fit_all() == 1
    assert enqueued == [point.course_id]
