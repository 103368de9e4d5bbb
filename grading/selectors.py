"""Reads of the grading app: who may see what, the review queue, distributions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet

from eduai.audit.models import AuditEntry
from eduai.courses.access import course_staff_is
from eduai.operations.limits import BURST_WINDOW, day_start

from .feedback import FIELDS
from .models import AiGrade, Assignment, ConfirmedGrade, Submission


def submission_visible_is(*, user: AbstractBaseUser | AnonymousUser, submission: Submission) -> bool:
    """Students see their own submissions; instructors those of their courses."""
    if not user.is_authenticated:
        return False
    return submission.student_id == user.pk or course_staff_is(
        user=user, course_id=submission.assignment.course.pk
    )


def submission_list_for_student(*, assignment: Assignment, student: AbstractBaseUser) -> QuerySet[Submission]:
    return Submission.objects.filter(assignment=assignment, student_id=student.pk).order_by("-attempt")


def attempts_left(*, assignment: Assignment, student: AbstractBaseUser) -> int | None:
    """None: unlimited."""
    if not assignment.max_attempts:
        return None
    used = (
        Submission.objects.filter(assignment=assignment, student_id=student.pk)
        .exclude(status=Submission.Status.UNREADABLE)
        .count()
    )
    return max(assignment.max_attempts - used, 0)


@dataclass(frozen=True)
class QueueEntry:
    submission: Submission
    grade: AiGrade
    priority: float


def review_priority(*, grade: AiGrade, assignment: Assignment) -> float:
    """Higher first: low confidence, and scores near the middle of the range (the grades whose
    confirmation teaches the per-assignment scorer most, and where a wrong grade matters most)."""
    span = float(assignment.max_score - assignment.min_score)
    position = (float(grade.score) - float(assignment.min_score)) / span if span else 0.5
    informativeness = 1 - abs(2 * position - 1)
    return (1 - grade.confidence) + 0.5 * informativeness


def review_queue(*, assignment: Assignment) -> list[QueueEntry]:
    """The current, AI-graded, unconfirmed submissions, least confident and most informative first."""
    submissions = (
        Submission.objects.filter(
            assignment=assignment,
            superseded=False,
            status=Submission.Status.SCORED,
            confirmed_grade__isnull=True,
        )
        .select_related("ai_grade", "student")
        .order_by("submitted_at", "pk")
    )
    entries = [
        QueueEntry(
            submission=submission,
            grade=submission.ai_grade,
            priority=review_priority(grade=submission.ai_grade, assignment=assignment),
        )
        for submission in submissions
    ]
    return sorted(entries, key=lambda entry: -entry.priority)


# The one criterion of an assignment without a rubric: the answer as a whole.
OVERALL_CRITERION = "Overall"


@dataclass(frozen=True)
class ReviewCriterion:
    """A criterion as an instructor's override sees it: its points, and the AI's points and
    feedback lines (``FIELDS``; "" where the AI wrote none)."""

    name: str
    max_points: float
    ai_score: float | None
    feedback: dict[str, str]
    # Who wrote the AI's lines: "model", "mixed", "template"; "" when there are none.
    source: str


def review_criteria(*, assignment: Assignment, grade: AiGrade | None) -> list[ReviewCriterion]:
    """The criteria an override can give feedback and points for: the AI grade's (with its points
    and feedback), else the rubric's, else the answer as a whole."""
    items = {
        str(item.get("criterion")): item
        for item in (grade.feedback if grade else [])
        if not item.get("comment")
    }
    span = float(assignment.max_score - assignment.min_score)
    rubric_points = {str(criterion["name"]): float(criterion["points"]) for criterion in assignment.rubric}
    rows: list[tuple[str, float, float | None]] = [
        (str(criterion["name"]), float(criterion["max_points"]), float(criterion["score"]))
        for criterion in (grade.criteria if grade else [])
    ]
    # Feedback of a criterion the grade has no points for (written before a rubric change).
    rows += [
        (name, rubric_points.get(name, span), None) for name in items if name not in {row[0] for row in rows}
    ]
    if not rows:
        rows = [(name, points, None) for name, points in rubric_points.items()] or [
            (OVERALL_CRITERION, span, None)
        ]
    return [
        ReviewCriterion(
            name=name,
            max_points=max_points,
            ai_score=ai_score,
            feedback={field: str(items.get(name, {}).get(field) or "") for field in FIELDS},
            source=str(items.get(name, {}).get("source") or ""),
        )
        for name, max_points, ai_score in rows
    ]


def submissions_pending(*, assignment: Assignment) -> QuerySet[Submission]:
    """Current submissions still waiting for (or failed at, or held from) their AI grade."""
    return Submission.objects.filter(
        assignment=assignment,
        superseded=False,
        status__in=[
            Submission.Status.QUEUED,
            Submission.Status.FAILED,
            Submission.Status.RECEIVED,
            Submission.Status.HELD,
        ],
    ).select_related("student")


# Submissions that count as AI scoring requests of their day (held or unreadable ones do not).
SCORING_REQUESTED = (Submission.Status.QUEUED, Submission.Status.SCORED, Submission.Status.FAILED)


@dataclass(frozen=True)
class ScoringRequests:
    """AI scoring requests of the student in the course and of the whole course: sent since the
    start of the UTC day, and due in the burst window (``eduai.operations.limits``): scoring
    due (``queued_at``) in the last minute or later, deferred ones included."""

    student_today: int
    course_today: int
    student_burst: int
    course_burst: int


def scoring_requests_counted(*, course_id: int, student_id: int, now: datetime) -> ScoringRequests:
    start_of_day, burst_start = day_start(now), now - BURST_WINDOW
    today, burst, own = (
        Q(submitted_at__gte=start_of_day),
        Q(queued_at__gte=burst_start),
        Q(student_id=student_id),
    )
    counts = Submission.objects.filter(
        Q(submitted_at__gte=start_of_day) | Q(queued_at__gte=burst_start),
        assignment__course_id=course_id,
        status__in=SCORING_REQUESTED,
    ).aggregate(
        student_today=Count("id", filter=today & own),
        course_today=Count("id", filter=today),
        student_burst=Count("id", filter=burst & own),
        course_burst=Count("id", filter=burst),
    )
    return ScoringRequests(**{name: int(count) for name, count in counts.items()})


def scoring_burst_leaves_at(
    *, course_id: int, student_id: int | None, position: int, now: datetime
) -> datetime | None:
    """When the ``position``-th earliest AI scoring due in the burst window (the student's in the
    course, or with ``student_id`` None the whole course's; deferred ones included) leaves it;
    None if there are fewer."""
    due = Submission.objects.filter(
        assignment__course_id=course_id, queued_at__gte=now - BURST_WINDOW, status__in=SCORING_REQUESTED
    )
    if student_id is not None:
        due = due.filter(student_id=student_id)
    found = due.order_by("queued_at").values_list("queued_at", flat=True)[position - 1 : position]
    return found[0] + BURST_WINDOW if found and found[0] is not None else None


def submissions_confirmed(*, assignment: Assignment) -> QuerySet[ConfirmedGrade]:
    return ConfirmedGrade.objects.filter(submission__assignment=assignment).select_related(
        "submission__student", "confirmed_by"
    )


def score_distribution(*, assignment: Assignment, bins: int = 5) -> list[tuple[str, float]]:
    """How many current submissions fall in each score band: the confirmed score where there is
    one, else the AI's."""
    scores: list[Decimal] = []
    for submission in Submission.objects.filter(assignment=assignment, superseded=False).select_related(
        "ai_grade", "confirmed_grade"
    ):
        # A missing reverse one-to-one raises an AttributeError subclass: getattr's default applies.
        confirmed = getattr(submission, "confirmed_grade", None)
        ai = getattr(submission, "ai_grade", None)
        if confirmed is not None:
            scores.append(confirmed.score)
        elif ai is not None:
            scores.append(ai.score)
    return score_bands(scores, low=assignment.min_score, high=assignment.max_score, bins=bins)


def _num(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1')).normalize():f}"


def score_bands(
    scores: Sequence[Decimal], *, low: Decimal, high: Decimal, bins: int
) -> list[tuple[str, float]]:
    width = (high - low) / bins
    counts = [0] * bins
    for score in scores:
        index = min(int((score - low) / width), bins - 1) if width else 0
        counts[max(index, 0)] += 1
    labels = [f"{_num(low + width * i)}-{_num(low + width * (i + 1))}" for i in range(bins)]
    return [(label, float(count)) for label, count in zip(labels, counts, strict=True)]


def submission_history(*, submission: Submission) -> QuerySet[AuditEntry]:
    """What instructors (or automatic release) did to a submission's grade, oldest first."""
    return AuditEntry.objects.filter(
        action__startswith="grade.", details__submission_id=submission.pk
    ).order_by("created_at", "id")
