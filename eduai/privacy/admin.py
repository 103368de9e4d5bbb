"""The admin's user list gains two actions: export a user's data (JSON) and erase users."""

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from .personal_data import personal_data_erase, personal_data_export

User = get_user_model()


class PrivacyUserAdmin(UserAdmin):  # type: ignore[type-arg]
    actions = ["export_personal_data", "erase_personal_data"]

    @admin.action(description="Export the selected user's personal data (JSON)")
    def export_personal_data(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one user to export.", messages.ERROR)
            return None
        user = queryset.get()
        actor = request.user if request.user.is_authenticated else None
        data = personal_data_export(user=user, actor=actor)
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="eduai-personal-data-{user.pk}.json"'
        return response

    @admin.action(description="Erase the selected users and all their data (cannot be undone)")
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        actor = request.user if request.user.is_authenticated else None
        erased = 0
        for user in queryset.exclude(pk=request.user.pk):
            personal_data_erase(user=user, actor=actor)
            erased += 1
        self.message_user(request, f"Erased {erased} user(s) and their data.")


admin.site.unregister(User)
admin.site.register(User, PrivacyUserAdmin)
