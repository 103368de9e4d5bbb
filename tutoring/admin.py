from django.contrib import admin

from .models import Material


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin[Material]):
    list_display = ["title", "course", "kind", "created_at"]
    list_filter = ["kind", "course"]
    search_fields = ["title", "text", "course__title"]
    autocomplete_fields = ["course"]
