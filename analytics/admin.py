from django.contrib import admin

from .models import KnowledgePoint, LearningEvent, Mastery


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
