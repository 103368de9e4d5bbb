from typing import Any

from django.apps import AppConfig

# The user fields a roster shows (``roster.course_people``); other saves (last_login) change none.
ROSTER_USER_FIELDS = frozenset({"first_name", "last_name", "email"})


def _enrollment_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from .roster import roster_changed

    roster_changed(course_ids=[instance.course_id])


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if created or (update_fields is not None and not ROSTER_USER_FIELDS & set(update_fields)):
        return  # a new user is on no roster yet
    from .roster import roster_changed, user_course_ids

    roster_changed(course_ids=user_course_ids(user_id=instance.pk))


class PrivacyConfig(AppConfig):
    name = "eduai.privacy"
    label = "privacy"
    verbose_name = "Privacy"

    def ready(self) -> None:
        # Rosters are kept per process (``roster.py``): a change of one is a new version.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from eduai.courses.models import Enrollment

        post_save.connect(_enrollment_changed, sender=Enrollment, dispatch_uid="roster-enrollment-saved")
        post_delete.connect(_enrollment_changed, sender=Enrollment, dispatch_uid="roster-enrollment-deleted")
        post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="roster-user-saved")
