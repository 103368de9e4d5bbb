from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from lti_tool.admin import LtiRegistrationAdmin as BaseLtiRegistrationAdmin
from lti_tool.models import Key, LtiDeployment, LtiRegistration

from eduai.celery import task_send

from .models import RosterSync, ScorePassback
from .services import score_passback_retry


@admin.register(ScorePassback)
class ScorePassbackAdmin(admin.ModelAdmin[ScorePassback]):
    list_display = [
        "assignment",
        "student",
        "score_given",
        "score_maximum",
        "status",
        "attempts",
        "sent_at",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["assignment__title", "student__username", "last_error"]
    readonly_fields = [field.name for field in ScorePassback._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from grading, never typed in

    @admin.action(description="Send the selected failed scores again")
    def retry(self, request: HttpRequest, queryset: QuerySet[ScorePassback]) -> None:
        failed = list(queryset.filter(status=ScorePassback.Status.FAILED).values_list("pk", flat=True))
        for passback_id in failed:
            score_passback_retry(passback_id=passback_id)
        self.message_user(request, f"{len(failed)} score(s) queued again.", messages.SUCCESS)


@admin.register(RosterSync)
class RosterSyncAdmin(admin.ModelAdmin[RosterSync]):
    list_display = ["course", "status", "active_members", "inactive_members", "attempted_at", "succeeded_at"]
    list_filter = ["status"]
    search_fields = ["course__title", "course__label", "last_error"]
    readonly_fields = [field.name for field in RosterSync._meta.fields]
    actions = ["sync_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows record what the sync did

    @admin.action(description="Sync the selected courses' rosters now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[RosterSync]) -> None:
        from .tasks import roster_sync_course  # tasks import the services this module uses

        course_ids = list(queryset.values_list("course_id", flat=True))
        queued = sum(task_send(roster_sync_course, course_id) for course_id in course_ids)
        if queued:
            self.message_user(request, f"{queued} roster sync(s) queued.", messages.SUCCESS)
        if queued < len(course_ids):
            self.message_user(
                request,
                f"{len(course_ids) - queued} roster sync(s) could not be queued: the task queue is "
                "unreachable. The nightly sync still runs; try again when the queue is back.",
                messages.ERROR,
            )


@admin.register(LtiDeployment)
class LtiDeploymentAdmin(admin.ModelAdmin[LtiDeployment]):
    """Deployments a platform launched with but an admin has not activated show up here."""

    list_display = ["deployment_id", "registration", "is_active", "datetime_created"]
    list_filter = ["is_active", "registration"]
    list_editable = ["is_active"]
    search_fields = ["deployment_id", "registration__name", "registration__issuer"]


@admin.register(Key)
class KeyAdmin(admin.ModelAdmin[Key]):
    """The tool's signing keys; rotate with ``manage.py lti_rotate_keys``."""

    list_display = ["__str__", "is_active", "datetime_created"]
    list_filter = ["is_active"]
    fields = ["public_key", "is_active", "datetime_created"]
    readonly_fields = ["public_key", "datetime_created"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# django-lti's own admin has no search or filters, and does not say which login URL to give the LMS.
admin.site.unregister(LtiRegistration)


@admin.register(LtiRegistration)
class LtiRegistrationAdmin(BaseLtiRegistrationAdmin):
    list_display = ["name", "issuer", "client_id", "is_active", "login_url", "datetime_created"]
    list_filter = ["is_active"]
    search_fields = ["name", "issuer", "client_id"]
    readonly_fields = ["login_url"]
    fieldsets = [
        (None, {"fields": [*BaseLtiRegistrationAdmin.fieldsets[0][1]["fields"], "login_url"]}),
        *BaseLtiRegistrationAdmin.fieldsets[1:],
    ]

    @admin.display(description="OIDC login URL for this registration")
    def login_url(self, registration: LtiRegistration) -> str:
        # The generic /lti/login/ works when the LMS sends client_id (Moodle and Canvas do).
        return reverse("lti:login-registration", args=[registration.uuid])
