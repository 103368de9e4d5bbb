from datetime import datetime
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from eduai.privacy import retention
from eduai.privacy.retention import RetentionRule, retention_enforce, retention_rule_register

pytestmark = pytest.mark.django_db


@override_settings(RETENTION_CONVERSATION_DAYS=30, RETENTION_SUBMISSION_DAYS=0)
def test_rules_run_with_their_cutoff_skip_zero_and_fail_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "_rules", {})
    cutoffs: list[datetime] = []

    def purge(cutoff: datetime) -> int:
        cutoffs.append(cutoff)
        return 4

    def broken(cutoff: datetime) -> int:
        raise RuntimeError("disk full")

    retention_rule_register(RetentionRule("a-conversations", "RETENTION_CONVERSATION_DAYS", purge))
    retention_rule_register(RetentionRule("b-broken", "RETENTION_CONVERSATION_DAYS", broken))
    retention_rule_register(RetentionRule("c-submissions", "RETENTION_SUBMISSION_DAYS", purge))
    now = timezone.now()
    assert retention_enforce(now=now) == {"a-conversations": 4, "b-broken": -1}
    assert (now - cutoffs[0]).days == 30


def test_raw_submissions_are_purged_after_their_period_unless_still_waiting(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from datetime import timedelta

    from django.core.files.base import ContentFile

    from grading.models import Submission
    from tests.factories import SubmissionFactory

    old = timezone.now() - timedelta(days=400)
    released = SubmissionFactory.create(text="my essay", released_score=7)
    released.file.save("essay.txt", ContentFile(b"my essay"))
    waiting = SubmissionFactory.create(text="still waiting for a grade")
    recent = SubmissionFactory.create(text="recent", released_score=5)
    Submission.objects.filter(pk__in=[released.pk, waiting.pk]).update(submitted_at=old, released_at=old)
    Submission.objects.filter(pk=waiting.pk).update(released_at=None)
    Submission.objects.filter(pk=recent.pk).update(released_at=timezone.now())
    stored = released.file.name
    assert released.file.storage.exists(stored)

    with django_capture_on_commit_callbacks(execute=True):
        purged = retention_enforce()
    assert purged["grading-submissions-raw"] == 1
    released.refresh_from_db()
    assert (released.text, released.file.name) == ("", "")
    assert released.released_score == 7
    assert not released.file.storage.exists(stored)
    assert Submission.objects.get(pk=waiting.pk).text == "still waiting for a grade"
    assert Submission.objects.get(pk=recent.pk).text == "recent"


def test_conversations_are_deleted_after_their_last_message_but_faq_entries_stay() -> None:
    from datetime import timedelta

    from tests.factories import ConversationFactory, FaqEntryFactory, MessageFactory
    from tutoring.models import Conversation, FaqEntry, Message

    stale = ConversationFactory.create()
    answer = MessageFactory.create(conversation=stale)
    faq = FaqEntryFactory.create(course=stale.course, source_message=answer)
    lively = ConversationFactory.create()
    MessageFactory.create(conversation=lively)
    long_ago = timezone.now() - timedelta(days=45)
    Conversation.objects.filter(pk__in=[stale.pk, lively.pk]).update(created_at=long_ago)
    Message.objects.filter(conversation=stale).update(created_at=long_ago)

    assert retention_enforce()["tutoring-conversations"] == 1
    assert not Conversation.objects.filter(pk=stale.pk).exists()
    assert not Message.objects.filter(pk=answer.pk).exists()
    assert Conversation.objects.filter(pk=lively.pk).exists()
    assert FaqEntry.objects.filter(pk=faq.pk).exists()
