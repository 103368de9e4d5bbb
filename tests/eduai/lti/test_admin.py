import pytest
from django.urls import reverse
from django.utils import timezone

from eduai.lti import tasks
from eduai.lti.models import RosterSync, ScorePassback
from tests.factories import CourseFactory, ScorePassbackFactory, UserFactory
from tests.faults import celery_producer

pytestmark = pytest.mark.django_db


def test_failed_passbacks_can_be_sent_again_from_the_admin(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(tasks.score_passback_send, "delay", queued.append)
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    failed = ScorePassbackFactory.create(status=ScorePassback.Status.FAILED, last_error="no scope")
    sent = ScorePassbackFactory.create(status=ScorePassback.Status.SENT)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:lti_scorepassback_changelist"),
            {"action": "retry", "_selected_action": [failed.pk, sent.pk]},
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, sent.status) == (ScorePassback.Status.PENDING, ScorePassback.Status.SENT)
    assert queued == [failed.pk]


def test_passbacks_cannot_be_typed_in(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:lti_scorepassback_add")).status_code == 403


def test_sync_now_says_when_the_task_queue_is_unreachable(client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    synced = RosterSync.objects.create(
        course=CourseFactory.create(), status=RosterSync.Status.OK, attempted_at=timezone.now()
    )
    # Port 9 (discard) on loopback: nothing listens there, so the broker refuses the connection.
    with celery_producer("redis://127.0.0.1:9/0"):
        response = client.post(
            reverse("admin:lti_rostersync_changelist"),
            {"action": "sync_now", "_selected_action": [synced.pk]},
            follow=True,
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 roster sync(s) could not be queued: the task queue is unreachable." in page
    assert "queued." not in page
