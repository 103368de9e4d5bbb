"""Reads of the tutor: who may do what in a course, its settings, index, FAQ and conversations."""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.contrib.auth.models import User
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from lti_tool.models import LtiResourceLink

from eduai.courses.models import Course
from eduai.operations.limits import BURST_WINDOW, day_start
from eduai.privacy.pseudonyms import pseudonym
from grading.models import Assignment

from .guardrails import OpenAssignment
from .models import (
    AiNoticeAcceptance,
    Chunk,
    Conversation,
    FaqEntry,
    Material,
    Message,
    StudentNumber,
    TutorSettings,
)
from .retrieval import CourseIndex, embedding_model_id


@dataclass(frozen=True)
class EffectiveSettings:
    """The tutor settings that apply to a course or one of its resource links."""

    enabled: bool
    mode: str
    instructions: str
    daily_quota: int
    burst_limit: int


def tutor_settings_get(*, course_id: int, resource_link_id: int | None = None) -> EffectiveSettings:
    """The resource link's settings when it has its own, else the course's, else the defaults."""
    rows = TutorSettings.objects.filter(course_id=course_id).filter(
        Q(resource_link__isnull=True) | Q(resource_link_id=resource_link_id)
    )
    chosen = sorted(rows, key=lambda row: row.resource_link_id is None)
    row = chosen[0] if chosen else TutorSettings(course_id=course_id)
    return EffectiveSettings(
        enabled=row.enabled,
        mode=row.mode,
        instructions=row.instructions,
        daily_quota=row.daily_quota,
        burst_limit=row.burst_limit,
    )


def resource_link_of_course(*, course: Course, resource_link_id: int | None) -> LtiResourceLink | None:
    """The resource link, if it is one of this course's (else None)."""
    if resource_link_id is None or course.lti_context_id is None:
        return None
    return LtiResourceLink.objects.filter(pk=resource_link_id, context_id=course.lti_context_id).first()


# The AI-use notice's version: change it with the notice's text, and every user is asked again.
NOTICE_VERSION = 1


def notice_accepted(*, user: User) -> bool:
    """Whether the user consented to AI use (accepted the current notice, in any course)."""
    return AiNoticeAcceptance.objects.filter(user=user, notice_version=NOTICE_VERSION).exists()


def questions_counted(*, user: User, course_id: int, before_id: int | None = None) -> tuple[int, int]:
    """The student's accepted questions in the course: today (UTC day) and in the burst window.

    With ``before_id``, only the questions stored before that one count (a question being checked
    counts those still being checked ahead of it, not those behind it: of two asked at once at
    the limit, the first is accepted)."""
    return _questions_counted(
        Message.objects.filter(conversation__course_id=course_id, conversation__student=user), before_id
    )


def course_questions_counted(*, course_id: int, before_id: int | None = None) -> tuple[int, int]:
    """The course's accepted questions (all its students): today (UTC day) and in the burst
    window; with ``before_id``, those stored before that one (as in ``questions_counted``)."""
    return _questions_counted(Message.objects.filter(conversation__course_id=course_id), before_id)


def _questions_counted(messages: QuerySet[Message], before_id: int | None) -> tuple[int, int]:
    now = timezone.now()
    start_of_day, burst_start = day_start(now), now - BURST_WINDOW
    questions = messages.filter(
        role=Message.Role.STUDENT, created_at__gte=min(start_of_day, burst_start)
    ).exclude(status=Message.Status.REFUSED)
    if before_id is not None:
        questions = questions.filter(pk__lt=before_id)
    counts = questions.aggregate(
        today=Count("id", filter=Q(created_at__gte=start_of_day)),
        burst=Count("id", filter=Q(created_at__gte=burst_start)),
    )
    return int(counts["today"]), int(counts["burst"])


def open_assignments(*, course_id: int) -> list[OpenAssignment]:
    """The course's assignments still open for submissions, with their reference answers."""
    now = timezone.now()
    assignments = Assignment.objects.filter(course_id=course_id).filter(
        Q(due_at__isnull=True) | Q(due_at__gte=now) | Q(accept_late=True)
    )
    found = []
    for prompt, references in assignments.values_list("prompt", "reference_answers"):
        kept = tuple(str(answer) for answer in references or [] if str(answer).strip())
        if kept:
            found.append(OpenAssignment(prompt=prompt, references=kept))
    return found


def material_list(*, course_id: int) -> QuerySet[Material]:
    return (
        Material.objects.filter(course_id=course_id).annotate(chunk_count=Count("chunks")).order_by("title")
    )


def faq_list(*, course_id: int) -> QuerySet[FaqEntry]:
    """The course's FAQ entries, newest first."""
    return FaqEntry.objects.filter(course_id=course_id).order_by("-created_at", "-id")


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.select_related("answer").order_by("created_at", "id")


def student_conversations(*, user: User, course_id: int) -> QuerySet[Conversation]:
    return Conversation.objects.filter(student=user, course_id=course_id)


def course_conversations(*, course_id: int) -> QuerySet[Conversation]:
    """For the instructor: flagged first, then the most recent."""
    return (
        Conversation.objects.filter(course_id=course_id)
        .annotate(
            question_count=Count("messages", filter=Q(messages__role=Message.Role.STUDENT)),
            rated_count=Count("messages", filter=Q(messages__rating__isnull=False)),
        )
        .order_by("-flagged", "-updated_at")
    )


def student_label(*, course_id: int, user_id: int) -> str:
    """ "Student 7": the per-course number of the student's pseudonym (no name, no id)."""
    number = (
        StudentNumber.objects.filter(
            course_id=course_id, pseudonym=pseudonym(user_id=user_id, course_id=course_id)
        )
        .values_list("number", flat=True)
        .first()
    )
    return f"Student {number}" if number is not None else "Student"


# --- The per-course index, built from the database and cached per worker process -------------
@dataclass(frozen=True)
class IndexedCourse:
    index: CourseIndex | None
    chunks: dict[int, Chunk]
    faqs: dict[int, FaqEntry]  # by negative id in the index


_INDEX_CACHE_SIZE = 16
_index_lock = threading.Lock()
_index_cache: OrderedDict[tuple[int, str], IndexedCourse] = OrderedDict()


def _vector(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype="<f4")


def course_index_version(*, course_id: int) -> str:
    """Changes whenever a chunk, an FAQ entry (added, edited, deleted) or the embedding model changes."""
    chunks = Chunk.objects.filter(course_id=course_id).aggregate(count=Count("id"), last=Max("id"))
    faqs = FaqEntry.objects.filter(course_id=course_id).exclude(passage_embedding=b"")
    faq = faqs.aggregate(count=Count("id"), last=Max("id"), edited=Max("updated_at"))
    edited = faq["edited"].timestamp() if faq["edited"] else None
    model = embedding_model_id(scope=f"course:{course_id}")
    return f"{chunks['count']}.{chunks['last']}.{faq['count']}.{faq['last']}.{edited}.{model}"


def course_index(*, course_id: int) -> IndexedCourse:
    """The course's chunks and FAQ entries as one hybrid index (FAQ entries with negative ids)."""
    key = (course_id, course_index_version(course_id=course_id))
    with _index_lock:
        cached = _index_cache.get(key)
        if cached is not None:
            _index_cache.move_to_end(key)
            return cached
    chunks = {
        chunk.pk: chunk for chunk in Chunk.objects.filter(course_id=course_id).select_related("material")
    }
    faqs = {
        -faq.pk: faq for faq in FaqEntry.objects.filter(course_id=course_id).exclude(passage_embedding=b"")
    }
    ids = [*chunks, *faqs]
    texts = [_chunk_indexed_text(chunk) for chunk in chunks.values()]
    texts += [f"{faq.question}\n{faq.answer}" for faq in faqs.values()]
    vectors = [_vector(chunk.embedding) for chunk in chunks.values()]
    vectors += [_vector(faq.passage_embedding) for faq in faqs.values()]
    index = CourseIndex.build(ids, texts, np.vstack(vectors)) if ids else None
    built = IndexedCourse(index=index, chunks=chunks, faqs=faqs)
    with _index_lock:
        # Older versions of this course's index are dropped with the new one in place.
        for stale in [cached_key for cached_key in _index_cache if cached_key[0] == course_id]:
            del _index_cache[stale]
        _index_cache[key] = built
        while len(_index_cache) > _INDEX_CACHE_SIZE:
            _index_cache.popitem(last=False)
    return built


def _chunk_indexed_text(chunk: Chunk) -> str:
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text


def faq_match(*, course_id: int, query_vector: np.ndarray, threshold: float) -> FaqEntry | None:
    """The FAQ entry whose question is closest to the question, if at least ``threshold``."""
    best: tuple[float, FaqEntry | None] = (threshold, None)
    for faq in FaqEntry.objects.filter(course_id=course_id).exclude(embedding=b""):
        vector = _vector(faq.embedding)
        norms = float(np.linalg.norm(vector) * np.linalg.norm(query_vector)) or 1.0
        score = float(vector @ query_vector) / norms
        if score >= best[0]:
            best = (score, faq)
    return best[1]
