from django.contrib import admin

from .models import AiGrade, Assignment, ConfirmedGrade, Submission


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin[Assignment]):
    list_display = ["title", "course", "kind", "max_score", "release_policy", "due_at", "created_at"]
    list_filter = ["kind", "release_policy", "course"]
    search_fields = ["title", "prompt", "course__title"]
    autocomplete_fields = ["course"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin[Submission]):
    list_display = ["assignment", "student", "attempt", "status", "is_late", "released_score", "submitted_at"]
    list_filter = ["status", "is_late", "assignment__course", "assignment"]
    search_fields = ["student__username", "assignment__title"]
    date_hierarchy = "submitted_at"
    readonly_fields = [
        "assignment",
        "student",
        "text",
        "file",
        "filename",
        "attempt",
        "is_late",
        "superseded",
        "submitted_at",
        "released_score",
        "released_feedback",
        "released_at",
    ]


@admin.register(AiGrade)
class AiGradeAdmin(admin.ModelAdmin[AiGrade]):
    list_display = ["submission", "score", "confidence", "model_name", "created_at"]
    list_filter = ["model_name"]
    readonly_fields = [
        "submission",
        "score",
        "confidence",
        "criteria",
        "model_version",
        "model_name",
        "feedback",
    ]


@admin.register(ConfirmedGrade)
class ConfirmedGradeAdmin(admin.ModelAdmin[ConfirmedGrade]):
    list_display = ["submission", "score", "ai_score", "decision", "confirmed_by", "confirmed_at"]
    list_filter = ["decision"]
    readonly_fields = ["submission", "score", "ai_score", "decision", "feedback", "confirmed_by"]
