import pytest
from django.urls import reverse

from eduai.lti import tasks
from eduai.lti.models import ScorePassback
from tests.factories import ScorePassbackFactory, UserFactory

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
