"""The grading API: submit work, read a submission (and its released grade), review queue, approve,
override. Students see only their own submissions, instructors those of their courses."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses.access import course_learner_is, course_staff_is

from . import selectors, services
from .models import Assignment, Submission


def _submission_body(submission: Submission, *, staff: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": submission.pk,
        "assignment_id": submission.assignment_id,
        "attempt": submission.attempt,
        "status": submission.status,
        "error": submission.error,
        "is_late": submission.is_late,
        "superseded": submission.superseded,
        "submitted_at": submission.submitted_at,
        "filename": submission.filename,
        "released": submission.released_at is not None,
        "score": submission.released_score,
        "feedback": submission.released_feedback if submission.released_at else [],
    }
    grade = getattr(submission, "ai_grade", None) if staff else None  # a query: staff only
    if grade is not None:
        body["ai_grade"] = {
            "score": grade.score,
            "confidence": grade.confidence,
            "criteria": grade.criteria,
            "feedback": grade.feedback,
            "model_name": grade.model_name,
            "model_version_id": grade.model_version_id,
        }
    return body


class AiGradeOutputSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "GradingAiGrade"

    score = serializers.DecimalField(max_digits=7, decimal_places=2)
    confidence = serializers.FloatField()
    criteria = serializers.ListField(child=serializers.DictField())
    feedback = serializers.ListField(child=serializers.DictField())
    model_name = serializers.CharField()
    model_version_id = serializers.IntegerField(allow_null=True)


class SubmissionOutputSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "GradingSubmission"

    id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    attempt = serializers.IntegerField()
    status = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
    is_late = serializers.BooleanField()
    superseded = serializers.BooleanField()
    submitted_at = serializers.DateTimeField()
    filename = serializers.CharField(allow_blank=True)
    released = serializers.BooleanField()
    score = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    feedback = serializers.ListField(child=serializers.DictField())
    ai_grade = AiGradeOutputSerializer(required=False)


def _staff_assignment(request: Request, pk: int) -> Assignment:
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    if not course_staff_is(user=request.user, course_id=assignment.course_id):
        raise PermissionDenied("only the course's instructors may do this")
    return assignment


class ScoringLimitSerializer(serializers.Serializer[Any]):
    """A 429 of the submission API: the submission is stored and held for the instructor."""

    class Meta:
        ref_name = "GradingScoringLimit"

    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=["scoring_limit"])
    submission_id = serializers.IntegerField()


class SubmissionCreateApi(APIView):
    """Submit an answer to an assignment (multipart: ``text`` and/or ``file``; or JSON ``text``).

    The submission is stored before anything else; a 400 says why it was not accepted (an
    unreadable file is kept, with status ``unreadable``, and does not use up an attempt). A 429
    (code ``scoring_limit``, ``Retry-After``) says the student or course reached today's AI
    scoring limit: the submission is stored, with status ``held``, for the instructor to grade.
    """

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer[Any]):
        text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, default="")
        file = serializers.FileField(required=False, allow_null=True, default=None)

    @extend_schema(
        request=InputSerializer,
        responses={
            201: SubmissionOutputSerializer,
            429: OpenApiResponse(
                ScoringLimitSerializer,
                description="Today's AI scoring limit of the student or course is reached (see "
                "``Retry-After``); the submission is stored, held for the instructor to grade.",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
        if not course_learner_is(user=request.user, course_id=assignment.course_id):
            raise PermissionDenied("only students of the course may submit")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            submission = services.submission_create(
                assignment=assignment,
                student=request.user,  # type: ignore[arg-type]
                text=data.validated_data["text"],
                upload=data.validated_data["file"],
            )
        except services.ScoringLimitError as error:
            # Stored and held for the instructor: the body names the kept submission.
            body = {"detail": error.message, "code": "scoring_limit", "submission_id": error.submission.pk}
            return Response(
                body,
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(error.retry_after)},
            )
        except services.SubmissionError as error:
            detail: dict[str, Any] = {"detail": error.message}
            if error.submission is not None:
                detail["submission_id"] = error.submission.pk
            return Response(detail, status=status.HTTP_400_BAD_REQUEST)
        body = _submission_body(submission, staff=False)
        return Response(SubmissionOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class SubmissionDetailApi(APIView):
    """One submission: its status, and its grade and feedback once released (the AI grade too,
    for the course's instructors)."""

    @extend_schema(responses=SubmissionOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        submission = get_object_or_404(Submission.objects.select_related("assignment__course"), pk=pk)
        if not selectors.submission_visible_is(user=request.user, submission=submission):
            # 404, not 403: another student's submission ids are none of a student's business.
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        staff = course_staff_is(user=request.user, course_id=submission.assignment.course_id)
        return Response(SubmissionOutputSerializer(_submission_body(submission, staff=staff)).data)


class ReviewQueueApi(APIView):
    """The assignment's AI grades waiting for review, least confident and most informative first."""

    class EntrySerializer(serializers.Serializer[Any]):
        submission_id = serializers.IntegerField(source="submission.pk")
        student_id = serializers.IntegerField(source="submission.student_id")
        attempt = serializers.IntegerField(source="submission.attempt")
        is_late = serializers.BooleanField(source="submission.is_late")
        score = serializers.DecimalField(source="grade.score", max_digits=7, decimal_places=2)
        confidence = serializers.FloatField(source="grade.confidence")
        priority = serializers.FloatField()
        criteria = serializers.ListField(source="grade.criteria", child=serializers.DictField())

    @extend_schema(responses=EntrySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        assignment = _staff_assignment(request, pk)
        queue = selectors.review_queue(assignment=assignment)
        return Response(self.EntrySerializer(queue, many=True).data)


class ConfirmedOutputSerializer(serializers.Serializer[Any]):
    class Meta:
        ref_name = "GradingConfirmedGrade"

    submission_id = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=7, decimal_places=2)
    decision = serializers.CharField()
    ai_score = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)


class GradeApproveApi(APIView):
    """Approve a submission's AI grade: confirmed, released to the student and posted to the LMS."""

    @extend_schema(request=None, responses=ConfirmedOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        submission = get_object_or_404(Submission, pk=pk)
        _staff_assignment(request, submission.assignment_id)
        try:
            confirmed = services.grade_approve(submission=submission, reviewer=request.user)  # type: ignore[arg-type]
        except services.GradeError as error:
            raise ValidationError({"detail": str(error)}) from error
        return Response(ConfirmedOutputSerializer(confirmed).data)


class FeedbackEditSerializer(serializers.Serializer[Any]):
    """An edit of one criterion's feedback; a field left out keeps the AI's text."""

    class Meta:
        ref_name = "GradingFeedbackEdit"

    criterion = serializers.CharField(trim_whitespace=False)
    strengths = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    missing = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    next_step = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> Any:
        # An unknown (misspelt) field would be dropped silently, and the edit lost with it.
        unknown = sorted(str(key) for key in data if key not in self.fields) if isinstance(data, dict) else []
        if unknown:
            raise ValidationError(
                f"Unknown feedback field {', '.join(unknown)}: "
                "use criterion, strengths, missing and next_step."
            )
        return super().to_internal_value(data)


class GradeOverrideApi(APIView):
    """Give a submission the instructor's own score (within the assignment's range) and comment;
    optionally edit the AI's feedback per criterion (``feedback``: the criteria's names as in the
    AI grade's ``criteria``) and give points per criterion (``criterion_scores``: every criterion,
    adding up to the score). Without criterion points the student sees the AI's per-criterion
    points when the score stays the AI's, and none when it changes. A 400 names the input at
    fault: ``score``, ``comment``, ``feedback``, ``criterion_scores`` or ``keep_ai_feedback``."""

    class InputSerializer(serializers.Serializer[Any]):
        score = serializers.CharField()
        comment = serializers.CharField(required=False, allow_blank=True, default="")
        keep_ai_feedback = serializers.BooleanField(required=False, default=True)
        feedback = FeedbackEditSerializer(many=True, required=False, default=None)
        criterion_scores = serializers.DictField(
            child=serializers.CharField(allow_blank=True), required=False, default=None
        )

    @extend_schema(request=InputSerializer, responses=ConfirmedOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        submission = get_object_or_404(Submission, pk=pk)
        _staff_assignment(request, submission.assignment_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            confirmed = services.grade_override(
                submission=submission,
                reviewer=request.user,  # type: ignore[arg-type]
                **data.validated_data,
            )
        except services.GradeError as error:
            raise ValidationError({error.field: [str(error)]}) from error
        return Response(ConfirmedOutputSerializer(confirmed).data)


class GradeBulkApproveApi(APIView):
    """Approve the AI grades of several submissions of one assignment at once."""

    class InputSerializer(serializers.Serializer[Any]):
        submission_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000
        )

    @extend_schema(request=InputSerializer, responses=ConfirmedOutputSerializer(many=True))
    def post(self, request: Request, pk: int) -> Response:
        assignment = _staff_assignment(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        confirmed = services.grades_bulk_approve(
            assignment=assignment,
            submission_ids=data.validated_data["submission_ids"],
            reviewer=request.user,  # type: ignore[arg-type]
        )
        return Response(ConfirmedOutputSerializer(confirmed, many=True).data)
