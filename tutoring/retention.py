"""Retention of tutor conversations: deleted `RETENTION_CONVERSATION_DAYS` after their last
message (with their messages; endorsed answers already copied into the course FAQ stay)."""

from datetime import datetime

from django.db.models import Max
from django.db.models.functions import Coalesce

from eduai.privacy.retention import RetentionRule

from .models import Conversation


def conversations_purge(cutoff: datetime) -> int:
    stale = Conversation.objects.annotate(
        last_activity=Coalesce(Max("messages__created_at"), "created_at")
    ).filter(last_activity__lt=cutoff)
    ids = list(stale.values_list("pk", flat=True))
    Conversation.objects.filter(pk__in=ids).delete()
    return len(ids)


RULE = RetentionRule("tutoring-conversations", "RETENTION_CONVERSATION_DAYS", conversations_purge)
