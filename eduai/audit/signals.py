"""Admin changes of LTI registrations and deployments become audit entries.

Django's admin writes a `LogEntry` for every add, change and delete it makes, with the user who
made it; mirroring those of the audited models keeps every registration change in the one
append-only log without hooking each admin class.
"""

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import AuditEntry

AUDITED_ADMIN_MODELS = frozenset({"lti_tool.ltiregistration", "lti_tool.ltideployment"})


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_log_entry")
def admin_change_record(sender: type[LogEntry], instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created or instance.content_type_id is None:
        return
    content_type = ContentType.objects.get_for_id(instance.content_type_id)
    label = f"{content_type.app_label}.{content_type.model}"
    if label not in AUDITED_ADMIN_MODELS:
        return
    AuditEntry.objects.create(
        actor_id=instance.user_id,
        actor_label=get_user_model().objects.get(pk=instance.user_id).get_username(),
        action=AuditEntry.Action.REGISTRATION_CHANGE,
        target_type=label,
        target_id=instance.object_id or "",
        target_label=instance.object_repr[:255],
        details={
            "admin_action": {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, ""),
            "change": instance.get_change_message(),
        },
    )
