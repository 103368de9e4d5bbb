from django.contrib import admin

from .models import Chunk, Conversation, FaqEntry, Material, Message, TutorSettings


class ChunkInline(admin.TabularInline[Chunk, Material]):
    model = Chunk
    fields = ["ordinal", "heading", "start", "end"]
    readonly_fields = ["ordinal", "heading", "start", "end"]
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin[Material]):
    list_display = ["title", "course", "kind", "status", "progress", "updated_at"]
    list_filter = ["kind", "status", "course"]
    search_fields = ["title", "text", "course__title"]
    autocomplete_fields = ["course"]
    readonly_fields = ["status", "progress", "error", "content_hash", "indexed_hash", "created_by"]
    inlines = [ChunkInline]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin[Chunk]):
    list_display = ["material", "ordinal", "heading", "course"]
    search_fields = ["text", "heading", "material__title"]
    readonly_fields = ["course", "material", "ordinal", "heading", "text", "start", "end"]
    exclude = ["embedding"]


@admin.register(TutorSettings)
class TutorSettingsAdmin(admin.ModelAdmin[TutorSettings]):
    list_display = ["course", "resource_link", "enabled", "mode", "daily_quota", "burst_limit"]
    list_filter = ["enabled", "mode"]
    autocomplete_fields = ["course"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    """Operations only: instructors read conversations pseudonymised in the course tutor page."""

    list_display = ["id", "course", "flagged", "created_at", "updated_at"]
    list_filter = ["flagged", "course"]
    readonly_fields = ["course", "student", "resource_link", "created_at"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ["id", "conversation", "role", "status", "source", "rating", "moderation", "created_at"]
    list_filter = ["role", "status", "source", "moderation"]
    readonly_fields = ["conversation", "reply_to", "stream_id", "citations", "faq", "created_at"]


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin[FaqEntry]):
    list_display = ["question", "course", "corrected", "created_at"]
    search_fields = ["question", "answer"]
    exclude = ["embedding", "passage_embedding"]
    readonly_fields = ["source_message", "created_by"]
