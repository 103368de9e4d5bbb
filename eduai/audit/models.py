"""The audit log: what instructors and admins did, append-only.

An entry names its actor and course by id and by the label they had at the time, without
foreign keys: deleting or erasing a user or a course never rewrites the log. Entries cannot be
changed or deleted through the ORM (`save` of an existing row and every delete raise), and on
PostgreSQL a trigger refuses UPDATE and DELETE on the table as well (migration 0002).
Details hold ids, scores and settings, never student text.
"""

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(Exception):
    """An attempt to change or delete an audit entry."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        GRADE_APPROVE = "grade.approve", "Grade approved"
        GRADE_OVERRIDE = "grade.override", "Grade overridden"
        GRADE_RELEASE = "grade.release", "Grade released"
        MODEL_PROMOTE = "model.promote", "Model version promoted"
        MODEL_ROLLBACK = "model.rollback", "Model version rolled back"
        MODEL_TRAIN = "model.train", "Training started"
        REGISTRATION_CHANGE = "registration.change", "LTI registration changed"
        SETTINGS_CHANGE = "settings.change", "Course settings changed"
        TUTOR_ENDORSE = "tutor.endorse", "Tutor answer endorsed or corrected"
        DATA_EXPORT = "data.export", "Personal data exported"
        DATA_ERASURE = "data.erasure", "Personal data erased"
        COURSE_EXPORT = "course.export", "Course analytics exported"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id; empty for the system.")
    actor_label = models.CharField(max_length=255, help_text="The actor's username at the time.")
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    course_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    course_label = models.CharField(max_length=255, blank=True)
    target_type = models.CharField(max_length=100, blank=True, help_text="app_label.model")
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries cannot be deleted")
