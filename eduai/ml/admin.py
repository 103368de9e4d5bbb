from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ModelVersion
from .services import model_version_promote


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ["name", "task", "scope", "status", "base_model", "created_at", "promoted_at"]
    list_filter = ["task", "status", "backend"]
    search_fields = ["name", "scope", "base_model", "weights_path"]
    readonly_fields = ["sha256", "created_at", "promoted_at", "status"]
    actions = ["promote"]

    @admin.action(description="Promote to production (retires the current production version)")
    def promote(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        version = model_version_promote(version=queryset.get())
        self.message_user(request, f"{version} is now in production.", messages.SUCCESS)
