"""Writes of the tutor: materials and their ingestion, settings, questions and answers, feedback.

A question is stored before anything else happens to it (it is never lost); the checks that may
refuse it come after, and a refused question keeps its reason. Answers are produced by
``answer_generate`` on the inference queue, which streams them through ``eduai.ml.streams``.
"""

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import Any
from uuid import UUID, uuid4

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from lti_tool.models import LtiResourceLink

from analytics.models import LearningEvent
from analytics.services import event_record
from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record
from eduai.celery import TRANSIENT_ERRORS, task_send
from eduai.courses.access import course_learner_is, course_staff_is
from eduai.courses.models import Course
from eduai.documents import DocumentError, extract_text, text_clean
from eduai.ml import runtime
from eduai.ml.circuit import CircuitOpenError
from eduai.ml.generator import GenerationRequest
from eduai.ml.models import ModelVersion
from eduai.ml.selectors import model_version_production
from eduai.ml.streams import STREAM_LIFETIME_SECONDS, event_store
from eduai.ml.validation import validated_messages
from eduai.operations.limits import BURST_WINDOW, seconds_to_next_day
from eduai.operations.stale_work import resend_each
from eduai.privacy.pseudonyms import pseudonym
from eduai.privacy.redaction import redact
from eduai.privacy.roster import course_people

from . import guardrails, prompts, replies, selectors
from .models import (
    SOCRATIC,
    AiNoticeAcceptance,
    Chunk,
    Conversation,
    FaqEntry,
    Material,
    Message,
    StudentNumber,
    TutorSettings,
)
from .retrieval import chunk_document, embed_passages, embed_queries, relevance_threshold
from .retrieval.index import CourseIndex, Hit
from .retrieval.rerank import rerank_hits, reranker_settings

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARACTERS = 2000
EMBED_BATCH = 32
RETRIEVAL_K = 5
# Cosine between a new question and an endorsed one above which the endorsed answer is given.
FAQ_MATCH_THRESHOLD = 0.9
# Words held back while an answer streams, so the guard sees them before the student does.
HOLD_BACK_WORDS = 3
HOLD_BACK_WORDS_WITH_ASSIGNMENTS = 10


class TutorRefusedError(Exception):
    """A question the tutor will not take (the question itself is stored, with the reason);
    ``retry_after``: the seconds until a limit that refused it lets questions in again."""

    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


# --- Materials -------------------------------------------------------------------------------
_KINDS = {
    ".md": Material.Kind.MARKDOWN,
    ".markdown": Material.Kind.MARKDOWN,
    ".html": Material.Kind.HTML,
    ".htm": Material.Kind.HTML,
    ".pdf": Material.Kind.PDF,
    ".docx": Material.Kind.DOCX,
}


def _material_content(*, text: str, upload: UploadedFile | None) -> tuple[str, str]:
    """(text, kind) of an upload or pasted text; raises DocumentError with the reason."""
    if upload is not None:
        name = upload.name or "upload"
        if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
            raise DocumentError(
                f"{name!r} is {upload.size:,} bytes; the largest file accepted is "
                f"{settings.UPLOAD_MAX_BYTES:,} bytes."
            )
        data = upload.read()
        return extract_text(filename=name, data=data), _KINDS.get(
            PurePath(name).suffix.lower(), Material.Kind.TEXT
        )
    cleaned = text_clean(text).strip()
    if not cleaned:
        raise DocumentError("Give the material's text or upload a file.")
    if len(cleaned) > settings.UPLOAD_MAX_TEXT_CHARS:
        raise DocumentError(
            f"The text has {len(cleaned):,} characters; the most accepted is "
            f"{settings.UPLOAD_MAX_TEXT_CHARS:,}."
        )
    return cleaned, Material.Kind.TEXT


def material_create(
    *, course: Course, user: User | None, title: str = "", text: str = "", upload: UploadedFile | None = None
) -> Material:
    """A new material, queued for ingestion; an unreadable file raises ``DocumentError``."""
    content, kind = _material_content(text=text, upload=upload)
    title = title.strip() or (
        PurePath(upload.name).stem if upload is not None and upload.name else "Untitled"
    )
    material = Material(
        course=course,
        title=title[:255],
        kind=kind,
        text=content,
        content_hash=_sha256(content),
        created_by=user,
        status=Material.Status.PENDING,
    )
    if upload is not None:
        upload.seek(0)
        material.file = upload
    material.full_clean()
    material.save()
    _ingest_on_commit(material.pk)
    return material


@transaction.atomic  # the ingestion (and the old file's removal) only once the change is saved
def material_update(
    *, material: Material, title: str = "", text: str = "", upload: UploadedFile | None = None
) -> Material:
    """New title and/or content; a changed text is ingested again (its chunks replaced)."""
    if title.strip():
        material.title = title.strip()[:255]
    if text.strip() or upload is not None:
        content, kind = _material_content(text=text, upload=upload)
        if _sha256(content) != material.content_hash:
            material.text, material.kind, material.content_hash = content, kind, _sha256(content)
            material.status, material.progress, material.error = Material.Status.PENDING, 0, ""
            _ingest_on_commit(material.pk)
        if upload is not None:
            # The new file replaces the stored one (the old file is removed once this commits).
            old_file = material.file.name if material.file else ""
            upload.seek(0)
            material.file = upload
            storage = material.file.storage
            if old_file:
                transaction.on_commit(lambda: storage.delete(old_file))
    material.full_clean()
    material.save()
    return material


def material_delete(*, material: Material) -> None:
    """The material and its chunks (the index drops them on its next use)."""
    if material.file:
        material.file.delete(save=False)
    material.delete()


def _ingest_on_commit(material_id: int) -> None:
    """With the broker down the material stays pending and ``materials_requeue_stale`` sends it."""
    from .tasks import material_ingest

    transaction.on_commit(lambda: task_send(material_ingest, material_id))


# A material waiting (or processing without progress) this long is sent to ingestion again.
STALE_MATERIAL_AFTER = timedelta(minutes=10)


def materials_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Send again the materials still pending, or processing with no progress, ``older_than``
    after their last change: their task was lost. Ingestion skips a material already indexed
    and writes nothing for an outdated one, so a copy of a task that was only slow costs nothing."""
    from .tasks import material_ingest

    stale = Material.objects.filter(
        status__in=[Material.Status.PENDING, Material.Status.PROCESSING],
        updated_at__lt=timezone.now() - older_than,
    ).values_list("pk", flat=True)[:500]
    return resend_each(material_ingest, stale, touch=Material)


def _material_progress(material_id: int, **fields: Any) -> None:
    Material.objects.filter(pk=material_id).update(**fields, updated_at=timezone.now())


def material_ingest(*, material_id: int) -> Material | None:
    """Chunk and embed a material and replace its chunks; safe to run twice.

    Nothing is written when the material was deleted, or changed again meanwhile (the change
    queued another ingestion, which will write the new chunks).
    """
    material = Material.objects.filter(pk=material_id).first()
    if material is None:
        return None
    content_hash = material.content_hash or _sha256(material.text)
    if material.status == Material.Status.READY and material.indexed_hash == content_hash:
        return material
    _material_progress(material_id, status=Material.Status.PROCESSING, progress=0, error="")
    try:
        pieces = chunk_document(material.text, title=material.title)
        if not pieces:
            raise DocumentError("The material has no text to index.")
        scope = f"course:{material.course_id}"
        vectors = []
        for start in range(0, len(pieces), EMBED_BATCH):
            batch = pieces[start : start + EMBED_BATCH]
            vectors.append(embed_passages([piece.indexed_text for piece in batch], scope=scope))
            done = min(len(pieces), start + EMBED_BATCH)
            _material_progress(material_id, progress=min(99, round(100 * done / len(pieces))))
        embeddings = np.vstack(vectors)
    except DocumentError as error:
        _material_progress(material_id, status=Material.Status.FAILED, error=str(error))
        return Material.objects.get(pk=material_id)
    except TRANSIENT_ERRORS:
        # The task retries; once its retries run out the stale-work sweep sends it again.
        _material_progress(
            material_id,
            status=Material.Status.PENDING,
            error="Processing was interrupted; it will be retried.",
        )
        raise
    except Exception:
        _material_progress(
            material_id,
            status=Material.Status.FAILED,
            error="Processing failed. Upload the file again; if it fails again, tell your administrator.",
        )
        raise
    with transaction.atomic():
        current = Material.objects.select_for_update().filter(pk=material_id).first()
        if current is None or (current.content_hash or _sha256(current.text)) != content_hash:
            return current
        Chunk.objects.filter(material_id=material_id).delete()
        Chunk.objects.bulk_create(
            Chunk(
                course_id=current.course_id,
                material_id=material_id,
                ordinal=piece.ordinal,
                heading=piece.heading[:255],
                text=piece.text,
                start=piece.start,
                end=piece.end,
                embedding=_vector_bytes(vector),
            )
            for piece, vector in zip(pieces, embeddings, strict=True)
        )
        current.status, current.progress, current.error = Material.Status.READY, 100, ""
        current.indexed_hash = content_hash
        current.save(update_fields=["status", "progress", "error", "indexed_hash", "updated_at"])
    return current


# --- Settings and the AI-use notice ----------------------------------------------------------
SETTINGS_FIELDS = ("enabled", "mode", "instructions", "daily_quota", "burst_limit")


def tutor_settings_update(
    *, course: Course, resource_link: LtiResourceLink | None = None, actor: User | None = None, **fields: Any
) -> TutorSettings:
    """Change the tutor's settings of the course, or of one of its activities; a change is audited
    (which fields, by ``actor``: None is the system)."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Unknown tutor settings: {', '.join(sorted(unknown))}.")
    row = TutorSettings.objects.filter(course=course, resource_link=resource_link).first()
    if row is None:
        inherited = selectors.tutor_settings_get(course_id=course.pk)
        row = TutorSettings(
            course=course,
            resource_link=resource_link,
            **{name: getattr(inherited, name) for name in SETTINGS_FIELDS},
        )
    changed = sorted(name for name, value in fields.items() if getattr(row, name) != value)
    for name, value in fields.items():
        setattr(row, name, value)
    row.full_clean(validate_constraints=False)
    row.save()
    if changed:
        audit_record(
            actor=actor,
            action=AuditEntry.Action.SETTINGS_CHANGE,
            target=row,
            course=course,
            details={"changed": changed, "resource_link_id": row.resource_link_id},
        )
    return row


def notice_accept(*, user: User, course: Course) -> AiNoticeAcceptance:
    """Record the user's consent to AI use (once per notice version; ``course``: where given)."""
    acceptance, _ = AiNoticeAcceptance.objects.get_or_create(
        user=user, notice_version=selectors.NOTICE_VERSION, defaults={"course": course}
    )
    return acceptance


def student_number_assign(*, course_id: int, user_id: int) -> int:
    """The student's per-course number ("Student 7"), assigned on first use."""
    name = pseudonym(user_id=user_id, course_id=course_id)
    for _ in range(5):
        existing = StudentNumber.objects.filter(course_id=course_id, pseudonym=name).first()
        if existing is not None:
            return existing.number
        last = StudentNumber.objects.filter(course_id=course_id).aggregate(last=Max("number"))["last"] or 0
        try:
            with transaction.atomic():
                return StudentNumber.objects.create(
                    course_id=course_id, pseudonym=name, number=last + 1
                ).number
        except IntegrityError:
            continue  # another request took this number: try the next one
    raise RuntimeError("Could not assign a student number.")


# --- Questions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Asked:
    question: Message
    answer: Message


def conversation_current(
    *, student: User, course: Course, resource_link: LtiResourceLink | None
) -> Conversation:
    conversation = (
        Conversation.objects.filter(student=student, course=course, resource_link=resource_link)
        .order_by("-updated_at")
        .first()
    )
    if conversation is None:
        student_number_assign(course_id=course.pk, user_id=student.pk)
        conversation = Conversation.objects.create(
            student=student, course=course, resource_link=resource_link
        )
    return conversation


def _refuse(
    question: Message, code: str, reason: str, *, retry_after: int | None = None
) -> TutorRefusedError:
    question.status, question.refusal_reason = Message.Status.REFUSED, reason[:255]
    question.save(update_fields=["status", "refusal_reason"])
    return TutorRefusedError(code, reason, retry_after=retry_after)


def question_ask(
    *,
    student: User,
    course: Course,
    text: str,
    resource_link: LtiResourceLink | None = None,
    conversation: Conversation | None = None,
) -> Asked:
    """Store the question, check it may be asked, and start its answer.

    Raises ``TutorRefusedError`` (with ``code``: not_enrolled, empty, too_long, disabled, notice,
    burst, quota, course_quota, course_burst) after storing the question as refused with that
    reason; a limit's refusal says when to ask again (``retry_after``).
    """
    if not course_learner_is(user=student, course_id=course.pk):
        raise TutorRefusedError("not_enrolled", "Only students of this course can ask its tutor.")
    conversation = conversation or conversation_current(
        student=student, course=course, resource_link=resource_link
    )
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.STUDENT, text=text, status=Message.Status.PENDING
    )
    conversation.save(update_fields=["updated_at"])
    tutor = selectors.tutor_settings_get(course_id=course.pk, resource_link_id=conversation.resource_link_id)
    if not text.strip():
        raise _refuse(question, "empty", "Write a question first.")
    if len(text) > MAX_QUESTION_CHARACTERS:
        raise _refuse(
            question, "too_long", f"A question can have at most {MAX_QUESTION_CHARACTERS:,} characters."
        )
    if not tutor.enabled:
        raise _refuse(question, "disabled", "The tutor is switched off for this activity.")
    if not selectors.notice_accepted(user=student):
        raise _refuse(question, "notice", "Accept the AI-use notice before asking the tutor.")
    today, last_minute = selectors.questions_counted(user=student, course_id=course.pk, before_id=question.pk)
    next_day = seconds_to_next_day(timezone.now())
    burst_seconds = int(BURST_WINDOW.total_seconds())
    if last_minute >= tutor.burst_limit:
        raise _refuse(
            question,
            "burst",
            f"At most {tutor.burst_limit} questions a minute: wait a moment and ask again.",
            retry_after=burst_seconds,
        )
    if today >= tutor.daily_quota:
        raise _refuse(
            question,
            "quota",
            f"You have asked {tutor.daily_quota} questions today, the daily limit.",
            retry_after=next_day,
        )
    course_daily, course_burst = (
        settings.TUTOR_COURSE_DAILY_QUESTIONS,
        settings.TUTOR_COURSE_QUESTIONS_PER_MINUTE,
    )
    if course_daily or course_burst:
        course_today, course_minute = selectors.course_questions_counted(
            course_id=course.pk, before_id=question.pk
        )
        if course_daily and course_today >= course_daily:
            raise _refuse(
                question,
                "course_quota",
                "The tutor has answered as many questions in this course today as it can; "
                "ask again tomorrow.",
                retry_after=next_day,
            )
        if course_burst and course_minute >= course_burst:
            raise _refuse(
                question,
                "course_burst",
                "The tutor is answering many questions in this course right now: ask again in a minute.",
                retry_after=burst_seconds,
            )

    people = course_people(course_id=course.pk)
    question.redacted_text = redact(text, people=people).text
    question.injection = guardrails.looks_like_injection(text)
    question.moderation = guardrails.moderate(text) or ""
    question.status = Message.Status.DONE
    question.save(update_fields=["redacted_text", "injection", "moderation", "status"])
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.TUTOR,
        reply_to=question,
        status=Message.Status.PENDING,
        stream_id=uuid4(),
    )
    event_record(
        user=student,
        course=course,
        verb=LearningEvent.Verb.ASKED,
        object_type="tutor_question",
        object_id=str(question.pk),
        timestamp=question.created_at,
    )
    if question.moderation:
        # No model: a supportive message (self-harm) or a refusal, flagged for the instructor.
        Conversation.objects.filter(pk=conversation.pk).update(flagged=True)
        reply = replies.reply_to(
            question.redacted_text,
            replies.SELF_HARM_SUPPORT
            if question.moderation == guardrails.Category.SELF_HARM
            else replies.MODERATION_REFUSAL,
        )
        _answer_finish(answer, text=reply, source=Message.Source.MODERATION)
        _publish_text(answer.stream_id, reply, answer=answer)
        return Asked(question=question, answer=answer)
    from .tasks import answer_generate as answer_task

    answer_id = answer.pk
    # With the broker down the answer stays pending and ``answers_requeue_stale`` sends it later.
    transaction.on_commit(lambda: task_send(answer_task, answer_id))
    return Asked(question=question, answer=answer)


# Answers pending this long are sent to a worker again, at most once per ANSWER_RESEND_EVERY
# (longer than the task's hard time limit, so a copy never runs beside a live first delivery),
# until they are as old as their stream (nobody reads it any more; the question stays stored).
ANSWER_RESEND_EVERY = timedelta(minutes=10)
# An answer still pending this long after it was asked had its task lost.
STALE_ANSWER_AFTER = timedelta(minutes=2)


def answers_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Send again the tutor answers still pending ``older_than`` after they were asked: their task
    was lost (the broker was down or lost its queue)."""
    from .tasks import answer_generate as answer_task

    now = timezone.now()
    pending = Message.objects.filter(
        role=Message.Role.TUTOR,
        status=Message.Status.PENDING,
        created_at__lt=now - older_than,
        created_at__gte=now - timedelta(seconds=STREAM_LIFETIME_SECONDS),
    ).values_list("pk", flat=True)[:500]
    return resend_each(answer_task, pending, once_per=("tutoring.answer", ANSWER_RESEND_EVERY))


# --- Answers (on the inference queue) ---------------------------------------------------------
def _publish_text(stream_id: UUID | None, text: str, *, answer: Message) -> None:
    """A fixed answer sent as a stream, word by word, like a generated one."""
    if stream_id is None:
        return
    store = event_store()
    store.publish(stream_id, "start", {})
    for piece in re.findall(r"\S+\s*", text):
        store.publish(stream_id, "token", {"text": piece})
    store.publish(stream_id, "end", _end_data(answer))


def _end_data(answer: Message) -> dict[str, Any]:
    return {"completion_tokens": answer.completion_tokens, "message_id": answer.pk, "source": answer.source}


def _answer_finish(answer: Message, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(answer, name, value)
    answer.status = Message.Status.DONE
    answer.save()


def _history(answer: Message) -> list[prompts.Turn]:
    """Earlier answered turns of the conversation (redacted questions, the tutor's answers)."""
    earlier = (
        Message.objects.filter(
            conversation_id=answer.conversation_id,
            created_at__lt=answer.created_at,
            status=Message.Status.DONE,
        )
        .exclude(pk=answer.reply_to_id or 0)
        .order_by("created_at", "id")
    )
    turns = []
    for message in earlier:
        if message.role == Message.Role.STUDENT:
            turns.append(prompts.Turn("user", message.redacted_text))
        elif message.text:
            turns.append(prompts.Turn("assistant", message.text))
    return turns


def _citation(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk": chunk.pk,
        "material": chunk.material_id,
        "title": chunk.material.title,
        "heading": chunk.heading,
        "ordinal": chunk.ordinal,
    }


def _retrieve(
    index: CourseIndex | None,
    question: str,
    query_vector: np.ndarray,
    *,
    scope: str,
    preferred: frozenset[int],
) -> list[Hit]:
    """The ``RETRIEVAL_K`` best passages: the hybrid index's, re-ranked when the scope has a
    re-ranker (when it cannot run, the index's order serves and the error is logged)."""
    if index is None:
        return []
    reranking = reranker_settings(scope=scope)
    depth = max(RETRIEVAL_K, reranking.depth) if reranking else RETRIEVAL_K
    hits = index.search(question, query_vector, k=depth, preferred_ids=preferred)
    if reranking is not None:
        try:
            hits = rerank_hits(question, hits, [index.text(hit.id) for hit in hits], reranking)
        except (runtime.ModelUnavailableError, CircuitOpenError) as error:
            logger.warning("Re-ranking for %s skipped: %s", scope, error)
    return hits[:RETRIEVAL_K]


def _generation_scope(scope: str) -> str:
    """The course's own generator when it has one (a course-tuned model, or a model server of its
    own), else the site's."""
    own = model_version_production(task=ModelVersion.Task.GENERATION, scope=scope)
    return scope if own is not None else ""


def answer_generate(*, answer_id: int) -> Message:
    """Retrieve, build the prompt, stream the answer through the guard, store it with citations."""
    answer = Message.objects.select_related("conversation__course", "reply_to").get(pk=answer_id)
    if answer.status == Message.Status.DONE:
        return answer
    if answer.stream_id is None or answer.reply_to is None:
        raise ValueError(f"Message {answer_id} is not an answer to a question.")
    stream_id = answer.stream_id
    conversation = answer.conversation
    course = conversation.course
    question = answer.reply_to.redacted_text
    scope = f"course:{course.pk}"
    store = event_store()
    try:
        query_vector = embed_queries([question], scope=scope)[0]
        faq = selectors.faq_match(
            course_id=course.pk, query_vector=query_vector, threshold=FAQ_MATCH_THRESHOLD
        )
        if faq is not None:
            _answer_finish(
                answer,
                text=faq.answer,
                source=Message.Source.FAQ,
                faq=faq,
                citations=[{"faq": faq.pk, "title": replies.reply_to(question, replies.FAQ_CITATION)}],
            )
            _publish_text(stream_id, faq.answer, answer=answer)
            return answer
        indexed = selectors.course_index(course_id=course.pk)
        hits = _retrieve(
            indexed.index, question, query_vector, scope=scope, preferred=frozenset(indexed.faqs)
        )
        threshold = relevance_threshold(scope=scope)
        relevant = [hit for hit in hits if hit.dense_score >= threshold]
        if not relevant:
            not_found = replies.reply_to(question, replies.NOT_FOUND)
            _answer_finish(answer, text=not_found, source=Message.Source.NOT_FOUND)
            _publish_text(stream_id, not_found, answer=answer)
            return answer
        passages, citations = _passages(indexed, relevant, question=question)
        tutor = selectors.tutor_settings_get(
            course_id=course.pk, resource_link_id=conversation.resource_link_id
        )
        generation_scope = _generation_scope(scope)
        generator = runtime.generator(generation_scope)
        messages = prompts.build_messages(
            course_title=course.title,
            mode=tutor.mode,
            instructions=tutor.instructions,
            passages=passages,
            history=_history(answer),
            question=question,
            count_tokens=generator.count_tokens,
        )
        assignments = selectors.open_assignments(course_id=course.pk) if tutor.mode == SOCRATIC else []
        guard = guardrails.StreamGuard(
            assignments=assignments,
            hold_back_words=HOLD_BACK_WORDS_WITH_ASSIGNMENTS if assignments else HOLD_BACK_WORDS,
            similarity=_similarity_to(assignments, scope=scope),
            question=question,
        )
        store.publish(stream_id, "start", {})
        request = GenerationRequest(
            messages=validated_messages(messages), max_new_tokens=prompts.MAX_NEW_TOKENS
        )
        for piece in runtime.stream(request, scope=generation_scope):
            ready = guard.feed(piece)
            if ready:
                store.publish(stream_id, "token", {"text": ready})
            if guard.verdict.stop:
                break
        rest = guard.finish()
        if rest:
            store.publish(stream_id, "token", {"text": rest})
    except Exception:
        store.publish(stream_id, "error", {"message": replies.reply_to(question, replies.STREAM_FAILED)})
        Message.objects.filter(pk=answer_id).update(status=Message.Status.FAILED)
        raise
    verdict = guard.verdict
    text = guard.text.strip()
    source = Message.Source.MODEL
    if verdict.leak:
        text, source = replies.reply_to(question, replies.LEAK_HINT), Message.Source.HINT
    elif verdict.moderation is not None:
        text, source = replies.reply_to(question, replies.OUTPUT_REFUSAL), Message.Source.MODERATION
    cited = _cited(text, citations) if source == Message.Source.MODEL else citations
    _answer_finish(
        answer,
        text=text,
        source=source,
        citations=cited,
        moderation=verdict.moderation or "",
        leak_score=verdict.leak_score if assignments else None,
        prompt_tokens=sum(generator.count_tokens(message["content"]) for message in messages),
        completion_tokens=generator.count_tokens(guard.text),
    )
    if verdict.moderation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(flagged=True)
    if source != Message.Source.MODEL:
        # What was streamed is withdrawn: the page shows the stored answer once the stream ends.
        store.publish(stream_id, "token", {"text": "\n\n" + text})
    store.publish(stream_id, "end", _end_data(answer))
    return answer


def _similarity_to(
    assignments: list[guardrails.OpenAssignment], *, scope: str
) -> Callable[[str], float] | None:
    """The best cosine between a text and the assignments' reference answers (None: no references)."""
    references = [reference for assignment in assignments for reference in assignment.references]
    if not references:
        return None
    vectors = embed_queries(references, scope=scope)

    def similarity(text: str) -> float:
        return float(np.max(vectors @ embed_queries([text], scope=scope)[0]))

    return similarity


def _passages(
    indexed: selectors.IndexedCourse, hits: Iterable[Any], *, question: str
) -> tuple[list[prompts.Passage], list[dict[str, Any]]]:
    faq_title = replies.reply_to(question, replies.FAQ_CITATION)
    passages: list[prompts.Passage] = []
    citations: list[dict[str, Any]] = []
    for hit in hits:
        number = len(passages) + 1
        if hit.id < 0:
            faq = indexed.faqs[hit.id]
            passages.append(prompts.Passage(number, hit.id, "Endorsed answer", faq.question, faq.answer))
            citations.append({"faq": faq.pk, "title": faq_title, "number": number})
        else:
            chunk = indexed.chunks[hit.id]
            passages.append(
                prompts.Passage(number, chunk.pk, chunk.material.title, chunk.heading, chunk.text)
            )
            citations.append({**_citation(chunk), "number": number})
    return passages, citations


def _cited(text: str, citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The passages the answer refers to as [n]; all of them when it names none."""
    named = {int(number) for number in re.findall(r"\[(\d+)\]", text)}
    chosen = [citation for citation in citations if citation.get("number") in named]
    return chosen or citations


# --- Feedback ---------------------------------------------------------------------------------
def _own_answer(*, message: Message, user: User) -> None:
    if message.role != Message.Role.TUTOR or message.conversation.student_id != user.pk:
        raise ValidationError("You can only rate or flag the tutor's answers to you.")


def message_rate(*, message: Message, user: User, rating: float) -> Message:
    """The student's score r in [0, 1] of an answer (thumbs: 1 or 0); recorded as an event."""
    _own_answer(message=message, user=user)
    if not 0 <= rating <= 1:
        raise ValidationError("A rating is between 0 and 1.")
    message.rating = rating
    message.save(update_fields=["rating"])
    event_record(
        user=user,
        course=message.conversation.course,
        verb=LearningEvent.Verb.RATED,
        object_type="tutor_answer",
        object_id=str(message.pk),
        timestamp=timezone.now(),
        result_score=rating,
    )
    return message


def message_flag(*, message: Message, user: User, reason: str) -> Message:
    _own_answer(message=message, user=user)
    message.student_flag = (reason.strip() or "Flagged by the student.")[:500]
    message.save(update_fields=["student_flag"])
    Conversation.objects.filter(pk=message.conversation_id).update(flagged=True)
    return message


FAQ_ANSWER_MAX_CHARACTERS = 8000  # also the endorse API's and the FAQ forms' limit


def _faq_text_check(question: str, answer: str) -> None:
    if not question or not answer:
        raise ValidationError("An FAQ entry needs a question and an answer.")
    if len(question) > MAX_QUESTION_CHARACTERS:
        raise ValidationError(f"A question has at most {MAX_QUESTION_CHARACTERS:,} characters.")
    if len(answer) > FAQ_ANSWER_MAX_CHARACTERS:
        raise ValidationError(f"An answer has at most {FAQ_ANSWER_MAX_CHARACTERS:,} characters.")


def faq_endorse(*, message: Message, user: User, answer: str = "", question: str = "") -> FaqEntry:
    """An instructor endorses a tutor answer (as is, or corrected): it becomes an FAQ entry. A
    question given here is redacted like a student's; by default it is the student's (redacted)."""
    course_id = message.conversation.course_id
    if message.role != Message.Role.TUTOR or not course_staff_is(user=user, course_id=course_id):
        raise ValidationError("Only the course's instructors can endorse its tutor's answers.")
    given = question.strip()
    asked = given or (message.reply_to.redacted_text if message.reply_to else "")
    endorsed = answer.strip() or message.text
    _faq_text_check(asked, endorsed)
    if given:
        asked = redact(asked, people=course_people(course_id=course_id)).text
    faq = FaqEntry.objects.create(
        course_id=course_id,
        question=asked,
        answer=endorsed,
        source_message=message,
        corrected=endorsed != message.text,
        created_by=user,
    )
    _faq_audit(faq, user, change="endorsed")
    from .tasks import faq_embed as faq_embed_task

    # With the broker down the entry waits unembedded and ``faq_entries_requeue_stale`` sends it.
    transaction.on_commit(lambda: task_send(faq_embed_task, faq.pk))
    return faq


# An FAQ entry still without its embeddings this long after it was endorsed is sent again.
STALE_FAQ_AFTER = timedelta(minutes=5)


def faq_entries_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Send again the FAQ entries still unembedded ``older_than`` after they were endorsed (their
    task was lost), each at most once per ``older_than``; embedding skips an embedded entry."""
    from .tasks import faq_embed as faq_embed_task

    stale = (
        FaqEntry.objects.filter(created_at__lt=timezone.now() - older_than)
        .filter(Q(embedding=b"") | Q(passage_embedding=b""))
        .values_list("pk", flat=True)[:500]
    )
    return resend_each(faq_embed_task, stale, once_per=("tutoring.faq", max(older_than, STALE_FAQ_AFTER)))


def faq_embed(*, faq_id: int) -> FaqEntry | None:
    """Embed an entry's question and its question and answer; an embedded entry is left alone
    (a second delivery costs nothing)."""
    faq = FaqEntry.objects.filter(pk=faq_id).first()
    if faq is None or (faq.embedding and faq.passage_embedding):
        return faq
    scope = f"course:{faq.course_id}"
    faq.embedding = _vector_bytes(embed_queries([faq.question], scope=scope)[0])
    faq.passage_embedding = _vector_bytes(embed_passages([f"{faq.question}\n{faq.answer}"], scope=scope)[0])
    # Written only if the entry was not edited meanwhile (the edit queued its own embedding).
    FaqEntry.objects.filter(pk=faq.pk, question=faq.question, answer=faq.answer).update(
        embedding=faq.embedding, passage_embedding=faq.passage_embedding
    )
    return faq


def faq_update(*, faq: FaqEntry, question: str, answer: str, user: User) -> FaqEntry:
    """An instructor edits an FAQ entry; a changed entry is embedded again (until then neither the
    FAQ match nor retrieval uses it). The question is redacted like a student's question."""
    if not course_staff_is(user=user, course_id=faq.course_id):
        raise ValidationError("Only the course's instructors can edit its FAQ entries.")
    question, answer = question.strip(), answer.strip()
    _faq_text_check(question, answer)
    question = redact(question, people=course_people(course_id=faq.course_id)).text
    if (question, answer) == (faq.question, faq.answer):
        return faq
    original = faq.source_message.text if faq.source_message is not None else None
    faq.corrected = answer != original if original is not None else (faq.corrected or answer != faq.answer)
    faq.question, faq.answer = question, answer
    faq.embedding = faq.passage_embedding = b""
    faq.save(
        update_fields=["question", "answer", "corrected", "embedding", "passage_embedding", "updated_at"]
    )
    _faq_audit(faq, user, change="edited")
    from .tasks import faq_embed as faq_embed_task

    # As after endorsing: with the broker down, ``faq_entries_requeue_stale`` sends it later.
    faq_id = faq.pk
    transaction.on_commit(lambda: task_send(faq_embed_task, faq_id))
    return faq


def faq_delete(*, faq: FaqEntry, user: User) -> None:
    _faq_audit(faq, user, change="deleted")
    faq.delete()


def _faq_audit(faq: FaqEntry, user: User, *, change: str) -> None:
    """An instructor's change to what the tutor tells students, in the audit log: ids only, not the
    entry (its question may be a student's, redacted; the log keeps no student text)."""
    audit_record(
        actor=user,
        action=AuditEntry.Action.TUTOR_ENDORSE,
        course=faq.course,
        details={
            "change": change,
            "faq_id": faq.pk,
            "corrected": faq.corrected,
            "source_message_id": faq.source_message_id,
        },
    )
