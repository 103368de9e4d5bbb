from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ModelVersion
from .services import RollbackError, model_version_promote, model_version_rollback
from .training import admin as training_admin  # noqa: F401  (registers the training run admin)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = ["name", "task", "scope", "status", "base_model", "created_at", "promoted_at"]
    list_filter = ["task", "status", "backend"]
    search_fields = ["name", "scope", "base_model", "weights_path"]
    readonly_fields = ["sha256", "created_at", "promoted_at", "status"]
    actions = ["promote", "roll_back"]

    @admin.action(description="Promote to production (retires the current production version)")
    def promote(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        from eduai.audit.services import audit_record

        with transaction.atomic():
            version = model_version_promote(version=queryset.get())
            audit_record(actor=request.user, action="model.promote", target=version, details={"via": "admin"})
        self.message_user(request, f"{version} is now in production.", messages.SUCCESS)

    @admin.action(description="Roll back to this version (serves it again in place of production)")
    def roll_back(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to roll back to.", messages.ERROR)
            return
        try:
            version = model_version_rollback(version=queryset.get(), actor=request.user)
        except RollbackError as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(request, f"Rolled back: {version} is in production again.", messages.SUCCESS)
