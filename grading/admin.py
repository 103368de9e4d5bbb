from django.contrib import admin

from .models import Assignment, Submission


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin[Assignment]):
    list_display = ["title", "course", "kind", "max_score", "created_at"]
    list_filter = ["kind", "course"]
    search_fields = ["title", "prompt", "course__title"]
    autocomplete_fields = ["course"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin[Submission]):
    list_display = ["assignment", "student", "submitted_at"]
    list_filter = ["assignment__course", "assignment"]
    search_fields = ["student__username", "assignment__title"]
    date_hierarchy = "submitted_at"
    readonly_fields = ["assignment", "student", "text", "submitted_at"]
