"""Writes of the grading app: assignments, submissions, AI grades, review, release, scorer training.

The flow: ``submission_create`` stores the row (and the uploaded file, as sent) first, then reads
the file's text, then enqueues scoring on commit (over the daily AI scoring limits,
``GRADING_SCORING_DAILY_*``, it holds the submission for the instructor instead; a scoring task
the broker lost is sent again by ``submissions_requeue_stale``). ``submissions_score``
(inference queue) grades a batch with the assignment's production scorer, or the cold-start one,
and writes feedback; an assignment with automatic release sends confident grades out at once.
Instructors approve or override in the review queue (``grade_approve``, ``grade_override``): each
is a ConfirmedGrade (training data) and an audit-log entry, and releases the grade, which posts
it to the LMS once through the ScorePassback outbox. Enough confirmed grades start a training run
of the fine-tuning pipeline (``eduai/ml/training/``), which promotes a per-assignment scorer only
if it beats the current one on held-out confirmed grades.

Model versions: the cold-start scorer is built into the code (``grading.scoring``) and is not a
registered version (an AiGrade from it has ``model_version=None`` and its name in
``model_name``); a per-assignment scorer is a ``ModelVersion`` with task ``grading_scorer`` and
scope ``assignment:<id>``, whose production version the scoring task picks.
"""

import hashlib
import json
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analytics.models import LearningEvent
from analytics.services import event_record
from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record
from eduai.celery import TRANSIENT_ERRORS, task_send
from eduai.courses.models import Course
from eduai.documents import DocumentError, extract_text
from eduai.ml.models import ModelVersion
from eduai.ml.selectors import model_version_production
from eduai.ml.storage import verify_checksum
from eduai.operations.limits import seconds_to_next_day
from eduai.privacy.pseudonyms import pseudonym
from eduai.privacy.redaction import Person, redact
from eduai.privacy.roster import course_people

from . import selectors
from .feedback import (
    FIELD_NAMES,
    FIELDS,
    INSTRUCTOR_LINE_MAX_CHARS,
    CriterionInput,
    feedback_as_text,
    feedback_with_points,
    feedback_write,
)
from .models import AiGrade, Assignment, ConfirmedGrade, Submission

if TYPE_CHECKING:
    from .scoring import GradingItem, Scorer

logger = logging.getLogger(__name__)

SUBMISSION_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
COLD_START_NAME = "cold-start"
CENT = Decimal("0.01")


class SubmissionError(Exception):
    """A submission that cannot be accepted; the message is for the student."""

    def __init__(self, message: str, *, submission: Submission | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.submission = submission


class ScoringLimitError(SubmissionError):
    """The submission is stored (status "held") but over an AI scoring limit: it waits for the
    instructor instead of the AI grader. ``retry_after``: seconds until the limits reset."""

    submission: Submission  # always the stored submission

    def __init__(self, message: str, *, submission: Submission, retry_after: int) -> None:
        super().__init__(message, submission=submission)
        self.retry_after = retry_after


class GradeError(Exception):
    """A review action that cannot be done; the message is for the instructor, ``field`` the
    input it is about (an API answers ``{field: [message]}``)."""

    def __init__(self, message: str, *, field: str = "score") -> None:
        super().__init__(message)
        self.field = field


# --- Assignments ------------------------------------------------------------------------------
def _decimal(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{what} must be a number, not {value!r}.") from None
    if not number.is_finite():
        raise ValidationError(f"{what} must be a number, not {value!r}.")
    return number


def _num(value: Decimal) -> str:
    """A decimal as people write it: 10, 7.5 (not 1E+1 or 7.50)."""
    return f"{value.normalize():f}"


def rubric_validate(*, rubric: object, max_score: Decimal) -> list[dict[str, Any]]:
    """The rubric, normalised, or a ValidationError saying what is wrong with it.

    Each criterion has a name and points (> 0), optionally a description and levels (each a
    label and points from 0 to the criterion's points, the best level worth all of them); the
    criteria's points add up to the assignment's maximum score. An empty rubric grades the answer
    as a whole.
    """
    if rubric in (None, "", []):
        return []
    if not isinstance(rubric, list):
        raise ValidationError("The rubric must be a list of criteria.")
    criteria: list[dict[str, Any]] = []
    names: set[str] = set()
    for number, criterion in enumerate(rubric, start=1):
        if not isinstance(criterion, dict):
            raise ValidationError(f"Criterion {number} must be an object with a name and points.")
        name = str(criterion.get("name") or "").strip()
        if not name:
            raise ValidationError(f"Criterion {number} has no name.")
        if name.lower() in names:
            raise ValidationError(f"Two criteria are called “{name}”.")
        names.add(name.lower())
        points = _decimal(criterion.get("points"), f"The points of “{name}”")
        if points <= 0:
            raise ValidationError(f"The points of “{name}” must be more than 0.")
        levels: list[dict[str, Any]] = []
        for level in criterion.get("levels") or []:
            if not isinstance(level, dict) or not str(level.get("label") or "").strip():
                raise ValidationError(f"Each level of “{name}” needs a label and points.")
            level_points = _decimal(level.get("points"), f"A level of “{name}”")
            if not 0 <= level_points <= points:
                raise ValidationError(
                    f"Level “{level['label']}” of “{name}” is worth {_num(level_points)}; "
                    f"levels must be worth 0 to {_num(points)} points."
                )
            levels.append(
                {
                    "label": str(level["label"]).strip(),
                    "points": float(level_points),
                    "description": str(level.get("description") or "").strip(),
                }
            )
        if levels and max(float(level["points"]) for level in levels) != float(points):
            raise ValidationError(f"The best level of “{name}” must be worth all its {_num(points)} points.")
        criteria.append(
            {
                "name": name,
                "description": str(criterion.get("description") or "").strip(),
                "points": float(points),
                "levels": sorted(levels, key=lambda level: level["points"]),
            }
        )
    total = sum((Decimal(str(criterion["points"])) for criterion in criteria), Decimal(0))
    if total != max_score:
        raise ValidationError(
            f"The rubric's points add up to {_num(total)}, but the maximum score is {_num(max_score)}: "
            "make them equal."
        )
    return criteria


@dataclass(frozen=True)
class AssignmentData:
    """What an instructor sets on an assignment."""

    title: str
    prompt: str
    kind: str = Assignment.Kind.SHORT_ANSWER
    rubric: Sequence[dict[str, Any]] = ()
    reference_answers: Sequence[str] = ()
    min_score: Decimal = Decimal(0)
    max_score: Decimal = Decimal(10)
    release_policy: str = Assignment.ReleasePolicy.MANUAL
    auto_release_confidence: float = 0.9
    max_attempts: int = 1
    due_at: datetime | None = None
    accept_late: bool = True


def _assignment_fields(data: AssignmentData) -> dict[str, Any]:
    if not data.title.strip() or not data.prompt.strip():
        raise ValidationError("An assignment needs a title and a question or task.")
    if not Decimal(0) <= data.min_score < data.max_score:
        raise ValidationError(
            f"The score range {_num(data.min_score)} to {_num(data.max_score)} is not valid: "
            "the minimum must be 0 or more and below the maximum."
        )
    if not 0 <= data.auto_release_confidence <= 1:
        raise ValidationError("The confidence threshold must be between 0 and 1.")
    if data.kind not in Assignment.Kind.values or data.release_policy not in Assignment.ReleasePolicy.values:
        raise ValidationError("Unknown assignment kind or release policy.")
    references = [str(answer).strip() for answer in data.reference_answers if str(answer).strip()]
    return {
        "title": data.title.strip(),
        "prompt": data.prompt.strip(),
        "kind": data.kind,
        "rubric": rubric_validate(rubric=list(data.rubric) if data.rubric else [], max_score=data.max_score),
        "reference_answers": references,
        "min_score": data.min_score,
        "max_score": data.max_score,
        "release_policy": data.release_policy,
        "auto_release_confidence": data.auto_release_confidence,
        "max_attempts": data.max_attempts,
        "due_at": data.due_at,
        "accept_late": data.accept_late,
    }


def assignment_create(*, course: Course, data: AssignmentData) -> Assignment:
    return Assignment.objects.create(course=course, **_assignment_fields(data))


def assignment_update(*, assignment: Assignment, data: AssignmentData) -> Assignment:
    for name, value in _assignment_fields(data).items():
        setattr(assignment, name, value)
    assignment.save()
    return assignment


# --- Submissions ------------------------------------------------------------------------------
def _attempts_used(*, assignment: Assignment, student: AbstractBaseUser) -> int:
    return (
        Submission.objects.filter(assignment=assignment, student_id=student.pk)
        .exclude(status=Submission.Status.UNREADABLE)
        .count()
    )


def _check_text(text: str, *, what: str) -> None:
    if "\x00" in text:
        raise SubmissionError(f"{what} contains binary data, not text. Paste the text or upload a document.")
    limit = settings.GRADING_SUBMISSION_MAX_CHARS
    if len(text) > limit:
        raise SubmissionError(f"{what} has {len(text):,} characters; the most accepted is {limit:,}.")


def submission_create(
    *,
    assignment: Assignment,
    student: AbstractBaseUser,
    text: str = "",
    upload: UploadedFile | None = None,
    now: datetime | None = None,
) -> Submission:
    """Store a student's answer (typed text, a file, or both), then read the file, then enqueue
    scoring. Raises SubmissionError with a message for the student; a file that cannot be read
    stays stored (status "unreadable", with the reason) and does not use up an attempt."""
    now = now or timezone.now()
    text = (text or "").replace("\r\n", "\n")
    if upload is None and not text.strip():
        raise SubmissionError("Your answer is empty. Type an answer or choose a file.")
    _check_text(text, what="Your answer")
    if upload is not None:
        filename = Path(upload.name or "").name
        if Path(filename).suffix.lower() not in SUBMISSION_SUFFIXES:
            raise SubmissionError(
                f"“{filename}” is not a file type we accept; upload {', '.join(SUBMISSION_SUFFIXES)}."
            )
        if (upload.size or 0) > settings.UPLOAD_MAX_BYTES:
            raise SubmissionError(
                f"“{filename}” is {upload.size:,} bytes; the largest file accepted is "
                f"{settings.UPLOAD_MAX_BYTES:,} bytes."
            )
        if not upload.size:
            raise SubmissionError(f"“{filename}” is empty.")
    used = _attempts_used(assignment=assignment, student=student)
    if assignment.max_attempts and used >= assignment.max_attempts:
        raise SubmissionError(f"You have used all {assignment.max_attempts} attempt(s) for this assignment.")
    is_late = assignment.due_at is not None and now > assignment.due_at
    if is_late and not assignment.accept_late:
        raise SubmissionError("The due date has passed and this assignment does not accept late work.")
    # The row and its file commit together; a typed answer alone is one INSERT, atomic as it is.
    with transaction.atomic() if upload is not None else nullcontext():
        submission = Submission(
            assignment=assignment,
            student=student,  # type: ignore[misc]  # the user, not read again for the event
            text=text,
            attempt=used + 1,
            is_late=is_late,
            status=Submission.Status.RECEIVED,
        )
        if upload is not None:
            submission.filename = Path(upload.name or "").name[:255]
            submission.file.save(submission.filename, upload, save=False)
        submission.save()
    # The row and the file are committed: whatever happens next, the work is kept.
    if upload is not None:
        text = _submission_text_read(submission)
    limit, wait = _scoring_limits(submission)
    submission = _submission_queue(submission=submission, text=text, held_because=limit, defer_seconds=wait)
    if limit and submission.status == Submission.Status.HELD:
        raise ScoringLimitError(
            f"{limit} Your answer is stored; your instructor will grade it.",
            submission=submission,
            retry_after=seconds_to_next_day(now),
        )
    return submission


def _submission_text_read(submission: Submission) -> str:
    """The text to grade: the typed text and, after it, the stored file's. A file that cannot be
    read, or text over the limit, leaves the submission kept as "unreadable" with the reason
    (it costs no attempt) and raises SubmissionError."""
    text = submission.text
    if not submission.file:
        return text
    try:
        with submission.file.open("rb") as stored:
            data = stored.read()
        extracted = extract_text(filename=submission.filename, data=data)
        _check_text(extracted, what=f"“{submission.filename}”")
        text = f"{text.strip()}\n\n{extracted}" if text.strip() else extracted
        _check_text(text, what="Your answer with the file")
    except (DocumentError, SubmissionError) as error:
        message = error.message if isinstance(error, SubmissionError) else str(error)
        Submission.objects.filter(pk=submission.pk).update(
            status=Submission.Status.UNREADABLE, error=message[:2000]
        )
        submission.refresh_from_db()
        raise SubmissionError(
            f"{message} Your file is kept; fix it and submit again.", submission=submission
        ) from error
    return text


def _scoring_limits(submission: Submission) -> tuple[str, int]:
    """The abuse limits on AI scoring, for this submission: why it may not go to AI scoring today
    (a daily limit: it is held for the instructor), or ""; and, under the daily limits, the
    seconds its scoring waits over a burst limit (it is queued with that delay), or 0."""
    daily = settings.GRADING_SCORING_DAILY_PER_STUDENT, settings.GRADING_SCORING_DAILY_PER_COURSE
    burst = settings.GRADING_SCORING_PER_MINUTE_PER_STUDENT, settings.GRADING_SCORING_PER_MINUTE_PER_COURSE
    if not any(daily) and not any(burst):
        return "", 0
    course_id, student_id, now = submission.assignment.course_id, submission.student_id, timezone.now()
    counted = selectors.scoring_requests_counted(course_id=course_id, student_id=student_id, now=now)
    per_student, per_course = daily
    if per_student and counted.student_today >= per_student:
        return f"You have sent {per_student} answers to AI grading in this course today, the daily limit.", 0
    if per_course and counted.course_today >= per_course:
        return "This course has reached today's limit of AI grading.", 0
    # Over a burst limit the scoring is due when enough of the window's earlier scorings (those
    # already deferred included) have left it for this one to be within the limit: a burst is
    # spread over the minutes after it, at most the limit a minute, and nothing is refused.
    leaves = [
        selectors.scoring_burst_leaves_at(
            course_id=course_id, student_id=who, position=count - limit + 1, now=now
        )
        for who, count, limit in (
            (student_id, counted.student_burst, burst[0]),
            (None, counted.course_burst, burst[1]),
        )
        if limit and count >= limit
    ]
    waits = [math.ceil((moment - now).total_seconds()) for moment in leaves if moment is not None]
    return "", max([1, *waits]) if leaves else 0


def _audit_subject(submission: Submission) -> dict[str, object]:
    """How the audit log names a submission: ids and the course pseudonym, never a name (the
    log is append-only, and a student's erasure must not leave their name in it)."""
    return {
        "assignment_id": submission.assignment_id,
        "submission_id": submission.pk,
        "student": pseudonym(user_id=submission.student_id, course_id=submission.assignment.course_id),
    }


@transaction.atomic
def _submission_queue(
    *,
    submission: Submission,
    text: str,
    held_because: str = "",
    enqueue: bool = True,
    defer_seconds: int = 0,
) -> Submission:
    """The submission becomes the student's current attempt and goes to AI scoring, or, over a
    scoring limit (``held_because``), is held for the instructor; over a burst limit its scoring
    task waits ``defer_seconds``. Only a submission still
    "received" moves on: when the student's request and an instructor's "Grade these again"
    (``submissions_rescore``, which sends its batch itself: ``enqueue`` off) race over one, the
    first queues it and the other leaves it as it is."""
    submission.text, submission.superseded = text, False
    if held_because:
        submission.status, submission.error = Submission.Status.HELD, held_because
    else:
        # When its scoring is due: now, or after a burst limit's wait (the stale-work sweep and the
        # burst windows count from it).
        due = timezone.now() + timedelta(seconds=defer_seconds)
        submission.status, submission.queued_at = Submission.Status.QUEUED, due
    claimed = Submission.objects.filter(pk=submission.pk, status=Submission.Status.RECEIVED).update(
        text=submission.text,
        status=submission.status,
        error=submission.error,
        queued_at=submission.queued_at,
        superseded=submission.superseded,  # the latest attempt queued is the current one
    )
    if not claimed:
        submission.refresh_from_db()
        return submission
    # Only the rows not yet superseded: rewriting every earlier attempt made each resubmission
    # slower than the last (bench/load_test.py).
    Submission.objects.filter(
        assignment_id=submission.assignment_id, student_id=submission.student_id, superseded=False
    ).exclude(pk=submission.pk).update(superseded=True)
    event_record(
        user=submission.student,
        course=submission.assignment.course,
        verb=LearningEvent.Verb.SUBMITTED,
        object_type="assignment",
        object_id=str(submission.assignment_id),
        timestamp=submission.submitted_at,
        knowledge_points=submission.assignment.knowledge_points.all(),
    )
    if enqueue and not held_because:
        if defer_seconds:
            transaction.on_commit(lambda: _enqueue_scoring([submission.pk], countdown=defer_seconds))
        else:
            transaction.on_commit(lambda: _enqueue_scoring([submission.pk]))
    return submission


def _enqueue_scoring(submission_ids: list[int], *, countdown: int = 0) -> None:
    """Send a batch to the inference queue (to run ``countdown`` seconds from now, for a burst
    limit); with the broker down the submissions stay queued and ``submissions_requeue_stale``
    sends them later."""
    from .tasks import submissions_score as score_task  # tasks import this module

    task_send(score_task, submission_ids, countdown=countdown)


def submissions_rescore(*, assignment: Assignment) -> list[int]:
    """Enqueue, as one batch, every current submission whose AI grading failed, never ran, or was
    held by a scoring limit (the instructor's decision, so the limits do not apply).

    A submission left "received" (its request died before it was queued) has its file read first,
    as ``submission_create`` would have; a file that cannot be read leaves it "unreadable", with
    the reason, and out of the batch.
    """
    received = Submission.objects.filter(
        assignment=assignment, superseded=False, status=Submission.Status.RECEIVED
    ).select_related("assignment__course", "student")
    for submission in received.order_by("pk"):
        try:
            text = _submission_text_read(submission)
        except SubmissionError:
            logger.info("Submission %s: its file cannot be read; left unreadable", submission.pk)
            continue
        _submission_queue(submission=submission, text=text, enqueue=False)
    ids = list(
        Submission.objects.filter(
            assignment=assignment,
            superseded=False,
            status__in=[Submission.Status.QUEUED, Submission.Status.FAILED, Submission.Status.HELD],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        Submission.objects.filter(pk__in=ids).update(
            status=Submission.Status.QUEUED, error="", queued_at=timezone.now()
        )
        transaction.on_commit(lambda: _enqueue_scoring(ids))
    return ids


SCORING_BATCH = 32


# A submission still waiting this long after it was sent to scoring is sent again
# (``stale_work_requeue``, eduai/operations/stale_work.py).
STALE_SUBMISSION_AFTER = timedelta(minutes=10)


def submissions_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Send again the submissions still waiting for their AI grade ``older_than`` after they were
    last sent: their task was lost (the broker was down or lost its queue). Scoring skips a
    submission graded meanwhile, so a copy of a task that was only slow costs nothing."""
    cutoff = timezone.now() - older_than
    stale = (
        Submission.objects.filter(status=Submission.Status.QUEUED, ai_grade__isnull=True)
        .filter(Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True, submitted_at__lt=cutoff))
        .order_by("pk")
        .values_list("assignment_id", "pk")[:1000]
    )
    by_assignment: dict[int, list[int]] = {}
    for assignment_id, submission_id in stale:
        by_assignment.setdefault(assignment_id, []).append(submission_id)
    sent: list[int] = []
    for ids in by_assignment.values():
        for start in range(0, len(ids), SCORING_BATCH):
            batch = ids[start : start + SCORING_BATCH]
            Submission.objects.filter(pk__in=batch).update(queued_at=timezone.now())
            _enqueue_scoring(batch)
            sent += batch
    return sent


# --- Scoring ----------------------------------------------------------------------------------
_scorers_lock = threading.Lock()
_scorers: dict[str, "Scorer"] = {}


def assignment_scope(assignment: Assignment) -> str:
    return f"assignment:{assignment.pk}"


def _scorer_for(assignment: Assignment) -> tuple["Scorer", ModelVersion | None]:
    """The assignment's production scorer, or the cold-start one; loaded once per process."""
    from .scoring import cold_start_scorer, scorer_load

    version = model_version_production(
        task=ModelVersion.Task.GRADING_SCORER, scope=assignment_scope(assignment)
    )
    key = f"version:{version.pk}" if version is not None else COLD_START_NAME
    with _scorers_lock:
        scorer = _scorers.get(key)
        if scorer is None:
            if version is not None:
                try:
                    verify_checksum(Path(version.weights_path), version.sha256)
                    scorer = scorer_load(Path(version.weights_path))
                except Exception:
                    logger.exception("Scorer version %s cannot load; using the cold-start scorer", version.pk)
                    version = None
                    scorer = _scorers.get(COLD_START_NAME) or cold_start_scorer()
                    key = COLD_START_NAME
            else:
                scorer = cold_start_scorer()
            _scorers[key] = scorer
    return scorer, version


def grading_item(*, submission: Submission, people: Sequence[Person]) -> "GradingItem":
    """The scorer's view of a submission; the student's text redacted first."""
    from .scoring import GradingItem

    assignment = submission.assignment
    return GradingItem(
        prompt_id=f"assignment-{assignment.pk}",
        question=assignment.prompt,
        reference_answers=tuple(assignment.reference_answers),
        rubric=tuple(assignment.rubric),
        answer=redact(submission.text, people=people).text,
        min_score=float(assignment.min_score),
        max_score=float(assignment.max_score),
    )


def _clamp(assignment: Assignment, value: float) -> Decimal:
    score = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(max(score, assignment.min_score), assignment.max_score)


def submissions_score(*, submission_ids: Sequence[int], use_model_feedback: bool = True) -> list[AiGrade]:
    """AI-grade a batch of submissions (one scorer call per assignment) and write their feedback.

    Safe to run twice: a submission that already has an AI grade, or is no longer waiting, is
    skipped.
    """
    waiting = (
        Submission.objects.filter(
            pk__in=submission_ids, status=Submission.Status.QUEUED, ai_grade__isnull=True
        )
        .select_related("assignment__course", "student")
        .order_by("pk")
    )
    by_assignment: dict[int, list[Submission]] = {}
    for submission in waiting:
        by_assignment.setdefault(submission.assignment_id, []).append(submission)
    grades: list[AiGrade] = []
    for submissions in by_assignment.values():
        assignment = submissions[0].assignment
        logger.info("AI scoring %d submission(s) of assignment %s", len(submissions), assignment.pk)
        try:
            grades += _score_assignment_batch(assignment, submissions, use_model_feedback=use_model_feedback)
        except TRANSIENT_ERRORS:
            raise  # still queued: the task's retry scores them
        except Exception as error:
            logger.exception("Scoring failed for assignment %s", assignment.pk)
            Submission.objects.filter(pk__in=[s.pk for s in submissions], ai_grade__isnull=True).update(
                status=Submission.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
            )
            raise
    return grades


def _score_assignment_batch(
    assignment: Assignment, submissions: list[Submission], *, use_model_feedback: bool
) -> list[AiGrade]:
    people = course_people(course_id=assignment.course_id)
    items = [grading_item(submission=submission, people=people) for submission in submissions]
    scorer, version = _scorer_for(assignment)
    predictions = scorer.predict(items)
    descriptions = {criterion["name"]: criterion.get("description", "") for criterion in assignment.rubric}
    grades = []
    for submission, item, prediction in zip(submissions, items, predictions, strict=True):
        criteria: list[dict[str, Any]] = [
            {
                "name": result.name,
                "score": float(result.score),
                "max_points": float(result.max_points),
                "met": bool(result.met),
                "evidence": result.evidence,
            }
            for result in prediction.criteria
        ] or [
            # No rubric: the answer as a whole is the one criterion.
            {
                "name": "Overall",
                "score": float(prediction.score) - float(assignment.min_score),
                "max_points": float(assignment.max_score - assignment.min_score),
                "met": item.fraction(prediction.score) >= 0.5,
                "evidence": "",
            }
        ]
        feedback = feedback_write(
            question=assignment.prompt,
            references=assignment.reference_answers,
            answer=item.answer,
            criteria=[
                CriterionInput(
                    name=criterion["name"],
                    description=descriptions.get(criterion["name"], ""),
                    score=criterion["score"],
                    max_points=criterion["max_points"],
                    met=criterion["met"],
                    evidence=criterion["evidence"],
                )
                for criterion in criteria
            ],
            use_model=use_model_feedback,
        )
        grades.append(
            _ai_grade_store(
                submission=submission,
                score=_clamp(assignment, prediction.score),
                confidence=min(max(float(prediction.confidence), 0.0), 1.0),
                criteria=criteria,
                feedback=feedback,
                version=version,
                model_name=version.name if version is not None else COLD_START_NAME,
            )
        )
    return grades


@transaction.atomic
def _ai_grade_store(
    *,
    submission: Submission,
    score: Decimal,
    confidence: float,
    criteria: list[dict[str, Any]],
    feedback: list[dict[str, Any]],
    version: ModelVersion | None,
    model_name: str,
) -> AiGrade:
    # One AI grade per submission, even when two deliveries of a task score it at once.
    Submission.objects.select_for_update().filter(pk=submission.pk).first()
    existing = AiGrade.objects.filter(submission_id=submission.pk).first()
    if existing is not None:
        return existing
    grade = AiGrade.objects.create(
        submission=submission,
        score=score,
        confidence=confidence,
        criteria=criteria,
        feedback=feedback,
        model_version=version,
        model_name=model_name,
    )
    submission.status = Submission.Status.SCORED
    submission.error = ""
    submission.save(update_fields=["status", "error"])
    assignment = submission.assignment
    if (
        assignment.release_policy == Assignment.ReleasePolicy.AUTO
        and confidence >= assignment.auto_release_confidence
        and not submission.superseded
    ):
        grade_release(
            submission=submission,
            score=score,
            feedback=feedback_with_points(feedback, criteria),
            actor=None,
            automatic=True,
        )
    logger.info("AI grade stored for submission %s", submission.pk)
    return grade


# --- Review and release -----------------------------------------------------------------------
def grade_release(
    *,
    submission: Submission,
    score: Decimal,
    feedback: list[dict[str, Any]],
    actor: AbstractBaseUser | None,
    automatic: bool = False,
) -> bool:
    """Show the grade to the student and post it to the LMS, once.

    Releasing the same score again does nothing; a different score (an override after an
    automatic release) replaces the released one and is posted as the LMS's new result.
    Returns whether anything was released.
    """
    from eduai.lti.services import score_passback_enqueue

    now = timezone.now()
    changed = (
        Submission.objects.filter(pk=submission.pk)
        .filter(Q(released_at__isnull=True) | ~Q(released_score=score))
        .update(released_score=score, released_feedback=feedback, released_at=now)
    )
    if not changed:
        Submission.objects.filter(pk=submission.pk).update(released_feedback=feedback)
        return False
    submission.refresh_from_db()
    assignment = submission.assignment
    if assignment.resource_link_id is not None:
        score_passback_enqueue(
            assignment=assignment,
            student=submission.student,
            score_given=score,
            comment=feedback_as_text(feedback)[:4000],
        )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.GRADE_RELEASE,
        course=assignment.course,
        details={
            **_audit_subject(submission),
            "score": str(score),
            "automatic": automatic,
            "posted_to_lms": assignment.resource_link_id is not None,
        },
    )
    span = assignment.max_score - assignment.min_score
    event_record(
        user=submission.student,
        course=assignment.course,
        verb=LearningEvent.Verb.GRADED,
        object_type="assignment",
        object_id=str(assignment.pk),
        timestamp=now,
        result_score=float((score - assignment.min_score) / span),
        knowledge_points=assignment.knowledge_points.all(),
    )
    return True


def _reviewable(submission: Submission) -> AiGrade:
    grade = AiGrade.objects.filter(submission=submission).first()
    if grade is None:
        raise GradeError("This submission has no AI grade yet; wait for it or override with a score.")
    return grade


def _confirm(
    *,
    submission: Submission,
    reviewer: AbstractBaseUser,
    score: Decimal,
    feedback: list[dict[str, Any]],
    decision: str,
    ai_score: Decimal | None,
    audit_details: dict[str, Any] | None = None,
) -> ConfirmedGrade:
    confirmed, _ = ConfirmedGrade.objects.update_or_create(
        submission=submission,
        defaults={
            "score": score,
            "feedback": feedback,
            "decision": decision,
            "ai_score": ai_score,
            "confirmed_by_id": reviewer.pk,
        },
    )
    audit_record(
        actor=reviewer,
        action=(
            AuditEntry.Action.GRADE_APPROVE
            if decision == ConfirmedGrade.Decision.APPROVED
            else AuditEntry.Action.GRADE_OVERRIDE
        ),
        course=submission.assignment.course,
        details={
            **_audit_subject(submission),
            "score": str(score),
            "ai_score": None if ai_score is None else str(ai_score),
            **(audit_details or {}),
        },
    )
    grade_release(submission=submission, score=score, feedback=feedback, actor=reviewer)
    scorer_training_maybe_enqueue(assignment=submission.assignment)
    return confirmed


@transaction.atomic
def grade_approve(*, submission: Submission, reviewer: AbstractBaseUser) -> ConfirmedGrade:
    """The instructor accepts the AI grade and its feedback as they are."""
    submission = (
        Submission.objects.select_for_update().select_related("assignment", "student").get(pk=submission.pk)
    )
    grade = _reviewable(submission)
    return _confirm(
        submission=submission,
        reviewer=reviewer,
        score=grade.score,
        feedback=feedback_with_points(grade.feedback, grade.criteria),
        decision=ConfirmedGrade.Decision.APPROVED,
        ai_score=grade.score,
    )


# The longest comment an instructor may write to a student with an override.
COMMENT_MAX_CHARS = 4000


def _feedback_edits(
    edits: object, criteria: Sequence[selectors.ReviewCriterion]
) -> dict[str, dict[str, str]]:
    """The instructor's edits of the per-criterion feedback, checked: known criteria only, each
    once, only the fields ``FIELDS``, text of at most ``INSTRUCTOR_LINE_MAX_CHARS`` (a line kept
    as the AI wrote it is not measured). Returns {criterion: {field: text}}."""
    known = {criterion.name: criterion for criterion in criteria}
    if not isinstance(edits, list | tuple):
        raise GradeError(
            'The feedback must be a list of criteria: [{"criterion": ..., "strengths": ..., '
            '"missing": ..., "next_step": ...}].',
            field="feedback",
        )
    found: dict[str, dict[str, str]] = {}
    for number, edit in enumerate(edits, start=1):
        if not isinstance(edit, Mapping):
            raise GradeError(f"Feedback item {number} must be an object with a criterion.", field="feedback")
        name = edit.get("criterion")
        if not isinstance(name, str) or name.strip() not in known:
            names = ", ".join(f"“{known_name}”" for known_name in known)
            raise GradeError(
                f"“{name}” is not a criterion of this grade; the criteria are {names}.", field="feedback"
            )
        name = name.strip()
        if name in found:
            raise GradeError(f"The feedback of “{name}” is given twice.", field="feedback")
        unknown = sorted(str(key) for key in edit if key not in ("criterion", *FIELDS))
        if unknown:
            raise GradeError(
                f"Unknown feedback field {', '.join(unknown)} for “{name}”: use {', '.join(FIELDS)}.",
                field="feedback",
            )
        lines: dict[str, str] = {}
        for field in FIELDS:
            if field not in edit:
                continue
            text = "" if edit[field] is None else edit[field]
            if not isinstance(text, str) or "\x00" in text:
                raise GradeError(f"The {FIELD_NAMES[field]} of “{name}” must be text.", field="feedback")
            text = text.replace("\r\n", "\n").strip()
            if text != known[name].feedback[field] and len(text) > INSTRUCTOR_LINE_MAX_CHARS:
                raise GradeError(
                    f"The {FIELD_NAMES[field]} of “{name}” has {len(text):,} characters; "
                    f"the most is {INSTRUCTOR_LINE_MAX_CHARS:,}.",
                    field="feedback",
                )
            lines[field] = text
        found[name] = lines
    return found


def _criterion_points(
    values: object,
    criteria: Sequence[selectors.ReviewCriterion],
    *,
    assignment: Assignment,
    score: Decimal,
) -> dict[str, Decimal] | None:
    """The instructor's points per criterion, checked: every criterion (or none: None), each
    from 0 to its points with at most two decimals, adding up to the score."""
    if values is None or values == {}:
        return None
    if not isinstance(values, Mapping):
        raise GradeError(
            "The criterion points must be an object: {criterion: points}.", field="criterion_scores"
        )
    known = {criterion.name: criterion for criterion in criteria}
    unknown = [str(name) for name in values if name not in known]
    if unknown:
        names = ", ".join(f"“{name}”" for name in known)
        raise GradeError(
            f"“{unknown[0]}” is not a criterion of this grade; the criteria are {names}.",
            field="criterion_scores",
        )
    missing = [name for name in known if str(values.get(name) or "").strip() == ""]
    if missing:
        raise GradeError(
            f"Give points for every criterion or for none: “{missing[0]}” has none.", field="criterion_scores"
        )
    points: dict[str, Decimal] = {}
    for name, criterion in known.items():
        raw = str(values[name]).strip()
        try:
            value = Decimal(raw)
        except (InvalidOperation, ValueError):
            raise GradeError(
                f"“{raw}” is not a number of points for “{name}”.", field="criterion_scores"
            ) from None
        high = Decimal(str(criterion.max_points))
        if not value.is_finite() or not 0 <= value <= high:
            raise GradeError(
                f"“{name}” is worth 0 to {_num(high)} points, not {raw}.", field="criterion_scores"
            )
        if value != value.quantize(CENT):
            raise GradeError(f"Use at most two decimal places for “{name}”.", field="criterion_scores")
        points[name] = value
    total = sum(points.values(), Decimal(0))
    # Rubric points add up to the maximum score; the whole answer's ("Overall") to the range.
    offset = assignment.max_score - sum((Decimal(str(c.max_points)) for c in criteria), Decimal(0))
    if total + offset != score:
        gives = f", a score of {_num(total + offset)}," if offset else ""
        raise GradeError(
            f"The criteria's points add up to {_num(total)}{gives} but the score is {_num(score)}: "
            "make them agree, or leave the criterion points empty.",
            field="criterion_scores",
        )
    return points


def _feedback_sha256(feedback: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(feedback, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def grade_override(
    *,
    submission: Submission,
    reviewer: AbstractBaseUser,
    score: object,
    comment: str = "",
    keep_ai_feedback: bool = True,
    feedback: object = None,
    criterion_scores: object = None,
) -> ConfirmedGrade:
    """The instructor's own score (within the assignment's range) and, optionally, comment,
    edited feedback and points per criterion.

    The comment comes first in the feedback; the per-criterion feedback follows unless
    ``keep_ai_feedback`` is off. ``feedback``: edits of it, ``[{"criterion", "strengths",
    "missing", "next_step"}]`` (a field or criterion left out keeps the AI's text; an emptied
    criterion is left out); an edited criterion's item has ``"source": "edited"``.
    ``criterion_scores``: ``{criterion: points}`` for every criterion, adding up to the score.
    Without them the student sees the AI's points per criterion if the score is the AI's, and
    none if the instructor changed it (the AI's points would not add up to the grade).
    The audit entry names the criteria and fields edited and the points set, not the text (the
    log keeps no text about a student); the text is in the ConfirmedGrade.
    """
    submission = (
        Submission.objects.select_for_update().select_related("assignment", "student").get(pk=submission.pk)
    )
    assignment = submission.assignment
    try:
        value = Decimal(str(score).strip())
    except (InvalidOperation, ValueError):
        raise GradeError(f"“{score}” is not a score; enter a number.") from None
    if not value.is_finite() or not assignment.min_score <= value <= assignment.max_score:
        raise GradeError(
            f"A score of {score} is outside this assignment's range: "
            f"enter {_num(assignment.min_score)} to {_num(assignment.max_score)}."
        )
    if value != value.quantize(CENT):
        raise GradeError("Use at most two decimal places.")
    comment = comment.replace("\r\n", "\n").strip()
    if "\x00" in comment:
        raise GradeError("The comment must be text.", field="comment")
    if len(comment) > COMMENT_MAX_CHARS:
        raise GradeError(
            f"The comment has {len(comment):,} characters; the most is {COMMENT_MAX_CHARS:,}.",
            field="comment",
        )
    grade = AiGrade.objects.filter(submission=submission).first()
    criteria = selectors.review_criteria(assignment=assignment, grade=grade)
    if not keep_ai_feedback and (feedback or criterion_scores):
        raise GradeError(
            "Feedback edits and points per criterion need the feedback per criterion kept; "
            "keep it, or leave them out.",
            field="keep_ai_feedback",
        )
    edits = _feedback_edits(feedback or [], criteria)
    points = _criterion_points(criterion_scores, criteria, assignment=assignment, score=value)
    shown = points
    if shown is None and grade is not None and value == grade.score:
        shown = {c.name: Decimal(str(c.ai_score)) for c in criteria if c.ai_score is not None}
    released: list[dict[str, Any]] = []
    if comment:
        released.append({"criterion": "Instructor", "comment": comment, "source": "instructor"})
    edited: list[dict[str, Any]] = []
    if keep_ai_feedback:
        for criterion in criteria:
            lines = dict(criterion.feedback)
            changed = [field for field, text in edits.get(criterion.name, {}).items() if text != lines[field]]
            lines.update(edits.get(criterion.name, {}))
            if not any(lines.values()) and not (shown and criterion.name in shown):
                continue  # nothing to say about it
            item: dict[str, Any] = {
                "criterion": criterion.name,
                **lines,
                "source": "edited" if changed or not criterion.source else criterion.source,
            }
            if shown and criterion.name in shown:
                item["score"], item["max_points"] = float(shown[criterion.name]), criterion.max_points
            released.append(item)
            if changed:
                edited.append({"criterion": criterion.name, "fields": changed})
    return _confirm(
        submission=submission,
        reviewer=reviewer,
        score=value,
        feedback=released,
        decision=ConfirmedGrade.Decision.OVERRIDDEN,
        ai_score=grade.score if grade is not None else None,
        audit_details={
            "feedback_edited": edited,
            "criterion_scores": None if points is None else {name: str(p) for name, p in points.items()},
            "feedback_sha256": _feedback_sha256(released),
        },
    )


def grades_bulk_approve(
    *, assignment: Assignment, submission_ids: Sequence[int], reviewer: AbstractBaseUser
) -> list[ConfirmedGrade]:
    """Approve the AI grades of the chosen submissions of one assignment; those without an AI
    grade, or of another assignment, are left alone. All or nothing."""
    chosen = Submission.objects.filter(
        assignment=assignment, pk__in=submission_ids, ai_grade__isnull=False
    ).order_by("pk")
    with transaction.atomic():
        return [grade_approve(submission=submission, reviewer=reviewer) for submission in chosen]


# --- Per-assignment scorer training (issue 9 generalises this) --------------------------------
def scorer_training_maybe_enqueue(*, assignment: Assignment) -> None:
    """After a confirmed grade: the fine-tuning pipeline (``eduai/ml/training/``) queues a run for
    the assignment's scorer once ``EDUAI_TRAINING_TRIGGER_NEW_ROWS`` new confirmed grades arrived
    since its last snapshot; its evaluation gate promotes the new scorer only if it beats the one
    serving now on held-out confirmed grades."""
    from eduai.ml.training.services import training_trigger_check

    scope = assignment_scope(assignment)
    transaction.on_commit(lambda: training_trigger_check(task=ModelVersion.Task.GRADING_SCORER, scope=scope))
