from django.contrib import admin

from .models import (
    AtRiskScore,
    CourseCalendar,
    CourseWeekMetrics,
    KnowledgePoint,
    LearningEvent,
    Mastery,
    NextStep,
    PlannedItem,
)


@admin.register(KnowledgePoint)
class KnowledgePointAdmin(admin.ModelAdmin[KnowledgePoint]):
    list_display = ["name", "course", "p_init", "p_learn", "p_guess", "p_slip"]
    list_filter = ["course"]
    search_fields = ["name", "course__title"]
    filter_horizontal = ["prerequisites", "assignments", "materials"]


@admin.register(LearningEvent)
class LearningEventAdmin(admin.ModelAdmin[LearningEvent]):
    # The pseudonym, never the user's name: the log is read for patterns, not for people.
    list_display = [
        "timestamp",
        "actor_pseudonym",
        "course",
        "verb",
        "object_type",
        "object_id",
        "result_score",
    ]
    list_filter = ["verb", "course"]
    date_hierarchy = "timestamp"
    raw_id_fields = ["user"]
    search_fields = ["actor_pseudonym", "object_id"]


@admin.register(Mastery)
class MasteryAdmin(admin.ModelAdmin[Mastery]):
    list_display = ["user", "knowledge_point", "probability", "attempts", "updated_at"]
    list_filter = ["knowledge_point__course"]
    raw_id_fields = ["user"]


@admin.register(CourseCalendar)
class CourseCalendarAdmin(admin.ModelAdmin[CourseCalendar]):
    list_display = ["course", "starts_on", "metrics_computed_at"]
    readonly_fields = ["metrics_watermark", "metrics_computed_at"]


@admin.register(PlannedItem)
class PlannedItemAdmin(admin.ModelAdmin[PlannedItem]):
    list_display = ["course", "week", "assignment", "material"]
    list_filter = ["course"]


@admin.register(CourseWeekMetrics)
class CourseWeekMetricsAdmin(admin.ModelAdmin[CourseWeekMetrics]):
    list_display = ["course", "week", "active_students", "learning_progress", "feedback", "flagged"]
    list_filter = ["course", "flagged"]


@admin.register(AtRiskScore)
class AtRiskScoreAdmin(admin.ModelAdmin[AtRiskScore]):
    list_display = ["course", "user", "risk", "flagged", "method", "scored_at"]
    list_filter = ["course", "flagged", "method"]
    raw_id_fields = ["user"]


@admin.register(NextStep)
class NextStepAdmin(admin.ModelAdmin[NextStep]):
    list_display = ["course", "user", "knowledge_point", "difficulty", "status", "updated_at"]
    list_filter = ["course", "status"]
    raw_id_fields = ["user"]
