"""The per-course caps on tutor questions (TUTOR_COURSE_DAILY_QUESTIONS, per UTC day, and
TUTOR_COURSE_QUESTIONS_PER_MINUTE), on top of each student's quota and burst limit; and the
sweep that sends again answers whose task was lost."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from eduai.operations import stale_work
from tutoring import services
from tutoring.models import Conversation, Message
from tutoring.selectors import course_questions_counted, questions_counted

pytestmark = pytest.mark.django_db


def _ask(tutor_course, user, text="What is RuBisCO?"):
    services.notice_accept(user=user, course=tutor_course.course)
    return services.question_ask(student=user, course=tutor_course.course, text=text)


def test_the_course_cap_refuses_every_student_once_reached(
    tutor_course, settings, django_capture_on_commit_callbacks
):
    settings.TUTOR_COURSE_DAILY_QUESTIONS = 2
    with django_capture_on_commit_callbacks(execute=False):
        _ask(tutor_course, tutor_course.student)
        _ask(tutor_course, tutor_course.classmate)
        with pytest.raises(services.TutorRefusedError) as refused:
            _ask(tutor_course, tutor_course.student, "And chlorophyll?")
    assert refused.value.code == "course_quota"
    assert "this course today" in refused.value.message
    # The refused question is kept, marked refused with the reason, and does not count.
    kept = Message.objects.get(text="And chlorophyll?")
    assert (kept.status, kept.refusal_reason) == (Message.Status.REFUSED, refused.value.message)
    assert course_questions_counted(course_id=tutor_course.course.pk) == (2, 2)
    # Yesterday's questions do not count.
    Message.objects.update(created_at=timezone.now() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=False):
        _ask(tutor_course, tutor_course.classmate)


def test_zero_means_no_course_cap(tutor_course, settings, django_capture_on_commit_callbacks):
    settings.TUTOR_COURSE_DAILY_QUESTIONS = 0
    services.tutor_settings_update(course=tutor_course.course, burst_limit=100)
    with django_capture_on_commit_callbacks(execute=False):
        for _ in range(3):
            _ask(tutor_course, tutor_course.student)
    assert course_questions_counted(course_id=tutor_course.course.pk) == (3, 3)


def test_the_api_answers_429_course_quota(tutor_course, settings, django_capture_on_commit_callbacks):
    settings.TUTOR_COURSE_DAILY_QUESTIONS = 1
    url = f"/api/v1/tutoring/courses/{tutor_course.course.pk}/questions/"
    clients = []
    for user in (tutor_course.student, tutor_course.classmate):
        services.notice_accept(user=user, course=tutor_course.course)
        client = APIClient()
        client.force_login(user)
        clients.append(client)
    with django_capture_on_commit_callbacks(execute=False):
        assert clients[0].post(url, {"question": "What is RuBisCO?"}, format="json").status_code == 202
    refused = clients[1].post(url, {"question": "What is chlorophyll?"}, format="json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "course_quota"
    assert 0 < int(refused["Retry-After"]) <= 24 * 3600  # until the next UTC day
    assert Message.objects.filter(role="student").count() == 2  # the refused question is kept too


def test_the_course_burst_limit_refuses_for_a_minute(
    tutor_course, settings, django_capture_on_commit_callbacks
):
    settings.TUTOR_COURSE_QUESTIONS_PER_MINUTE = 2
    url = f"/api/v1/tutoring/courses/{tutor_course.course.pk}/questions/"
    services.notice_accept(user=tutor_course.classmate, course=tutor_course.course)
    client = APIClient()
    client.force_login(tutor_course.classmate)
    with django_capture_on_commit_callbacks(execute=False):
        _ask(tutor_course, tutor_course.student)
        _ask(tutor_course, tutor_course.student, "And chlorophyll?")
        refused = client.post(url, {"question": "What is a stoma?"}, format="json")
    assert refused.status_code == 429
    assert (refused.json()["code"], refused["Retry-After"]) == ("course_burst", "60")
    assert "ask again in a minute" in refused.json()["detail"]
    kept = Message.objects.get(text="What is a stoma?")
    assert (kept.status, kept.refusal_reason) == (Message.Status.REFUSED, refused.json()["detail"])
    # A minute later the course may ask again; the day's questions still count for the daily cap.
    Message.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url, {"question": "What is a stoma?"}, format="json").status_code == 202
    assert course_questions_counted(course_id=tutor_course.course.pk) == (3, 1)


def test_the_sweep_sends_again_pending_answers_once_in_a_while(tutor_course, monkeypatch):
    sent: list[int] = []

    def task_send(task, answer_id: int) -> bool:
        sent.append(answer_id)
        return True

    monkeypatch.setattr(stale_work, "task_send", task_send)
    lost = _ask(tutor_course, tutor_course.student).answer  # (its on-commit send never runs here)
    fresh = _ask(tutor_course, tutor_course.classmate).answer
    cache.delete(f"eduai:resent:tutoring.answer:{lost.pk}")
    Message.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.answers_requeue_stale(older_than=timedelta(minutes=2)) == [lost.pk]
    assert fresh.pk not in sent
    # Not again at the next sweep: a copy may still be running.
    assert services.answers_requeue_stale(older_than=timedelta(minutes=2)) == []
    Message.objects.filter(pk=lost.pk).update(status=Message.Status.DONE)
    cache.delete(f"eduai:resent:tutoring.answer:{lost.pk}")
    assert services.answers_requeue_stale(older_than=timedelta(minutes=2)) == []


def test_questions_being_checked_count_only_for_those_behind_them(tutor_course):
    """Of two questions asked at once at the limit, the first is accepted: each counts only the
    questions stored before it (still pending ones included), so they cannot refuse each other."""

    conversation = Conversation.objects.create(student=tutor_course.student, course=tutor_course.course)
    first, second = (
        Message.objects.create(
            conversation=conversation, role=Message.Role.STUDENT, text=text, status=Message.Status.PENDING
        )
        for text in ("first", "second")
    )
    counted = {"user": tutor_course.student, "course_id": tutor_course.course.pk}
    assert questions_counted(**counted, before_id=first.pk) == (0, 0)
    assert questions_counted(**counted, before_id=second.pk) == (1, 1)
    assert questions_counted(**counted) == (2, 2)
    assert course_questions_counted(course_id=tutor_course.course.pk, before_id=first.pk) == (0, 0)
    assert course_questions_counted(course_id=tutor_course.course.pk, before_id=second.pk) == (1, 1)
