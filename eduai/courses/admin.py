from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ApiToken, Course, Enrollment
from .services import api_token_revoke


class EnrollmentInline(admin.TabularInline[Enrollment, Course]):
    model = Enrollment
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin[Course]):
    list_display = ["title", "label", "lti_context", "created_at"]
    search_fields = ["title", "label"]
    date_hierarchy = "created_at"
    inlines = [EnrollmentInline]


@admin.register(Enrollment)
class EnrollmentAdmin(admin.ModelAdmin[Enrollment]):
    list_display = ["user", "course", "role", "created_at"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email", "course__title", "course__label"]
    autocomplete_fields = ["user", "course"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are made with `manage.py api_token_create` (the key is printed once); here they
    are listed and revoked."""

    list_display = [
        "name",
        "key_prefix",
        "user",
        "course",
        "role",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["role", "course"]
    search_fields = ["name", "key_prefix", "user__username", "course__title"]
    readonly_fields = [
        "name",
        "user",
        "course",
        "role",
        "key_prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, revoked_by=request.user if request.user.is_authenticated else None)
        self.message_user(request, "Revoked.")
