"""The analytics API: xAPI statements into the learning event log; weekly metrics, mastery and
the at-risk list out, for BI tools."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses.access import course_member_is, course_staff_is
from eduai.courses.models import Course
from eduai.privacy.pseudonyms import pseudonym

from .presentation import risk_reason_text
from .selectors import (
    at_risk_list,
    mastery_list,
    week_metrics_list,
)
from .services import xapi_statements_record

MAX_STATEMENTS_PER_BATCH = 1000


class XapiStatementsApi(APIView):
    """Record a batch of xAPI statements for a course (staff, or an instructor of the course).

    Each statement is checked on its own: the valid ones are stored even when others in the same
    batch are rejected, and the answer gives every statement's outcome, in order.
    """

    class QuerySerializer(serializers.Serializer[Any]):
        course_id = serializers.IntegerField(min_value=1)

    class ResultSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "XapiStatementResult"

        index = serializers.IntegerField()
        stored = serializers.BooleanField()
        event_id = serializers.IntegerField(allow_null=True)
        reason = serializers.CharField(allow_blank=True)

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "XapiStatementsOutput"

        stored = serializers.IntegerField()
        rejected = serializers.IntegerField()
        results = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[OpenApiParameter("course_id", int, required=True)],
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses=OutputSerializer,
    )
    def post(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        course = get_object_or_404(Course, pk=query.validated_data["course_id"])
        if not course_staff_is(user=request.user, course_id=course.pk):
            raise PermissionDenied("only staff and the course's instructors may record its events")
        statements = request.data if isinstance(request.data, list) else [request.data]
        if not 1 <= len(statements) <= MAX_STATEMENTS_PER_BATCH:
            raise ValidationError(f"send between 1 and {MAX_STATEMENTS_PER_BATCH} statements")
        outcomes = xapi_statements_record(course=course, statements=statements)
        results = self.ResultSerializer(outcomes, many=True).data
        stored = sum(outcome.stored for outcome in outcomes)
        body = {"stored": stored, "rejected": len(outcomes) - stored, "results": results}
        return Response(self.OutputSerializer(body).data)


def _instructor_course(request: Request, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if not course_staff_is(user=request.user, course_id=course.pk):
        raise PermissionDenied("only staff and the course's instructors may read its analytics")
    return course


class CourseWeeksApi(APIView):
    """The course's weekly metrics (L_i, M_i, N_i, participation, tutor usage, flags), for BI tools."""

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CourseWeekMetrics"

        week = serializers.IntegerField()
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        complete = serializers.BooleanField()
        enrolled_students = serializers.IntegerField()
        active_students = serializers.IntegerField()
        participation = serializers.FloatField(allow_null=True)
        planned_items = serializers.IntegerField()
        learning_progress = serializers.FloatField(allow_null=True)
        feedback = serializers.FloatField(allow_null=True)
        feedback_students = serializers.IntegerField()
        answer_rating = serializers.FloatField(allow_null=True)
        grade = serializers.FloatField(allow_null=True)
        tutor_questions = serializers.IntegerField()
        tutor_users = serializers.IntegerField()
        events = serializers.IntegerField()
        flagged = serializers.BooleanField()
        flag_reasons = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, course_id: int) -> Response:
        course = _instructor_course(request, course_id)
        return Response(self.OutputSerializer(week_metrics_list(course_id=course.pk), many=True).data)


class CourseMasteryApi(APIView):
    """Mastery per student and knowledge point: an instructor gets the whole course (students
    under their course pseudonym), a student only their own rows."""

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CourseMastery"

        student = serializers.CharField()
        knowledge_point = serializers.CharField()
        knowledge_point_id = serializers.IntegerField()
        mastery = serializers.FloatField()
        attempts = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, course_id: int) -> Response:
        course = get_object_or_404(Course, pk=course_id)
        if course_staff_is(user=request.user, course_id=course.pk):
            rows = mastery_list(course_id=course.pk)
        elif course_member_is(user=request.user, course_id=course.pk):
            rows = mastery_list(course_id=course.pk, user_id=int(request.user.pk or 0))
        else:
            raise PermissionDenied("only the course's members may read its mastery")
        body = [
            {
                "student": pseudonym(user_id=row.user_id, course_id=course.pk),
                "knowledge_point": row.knowledge_point.name,
                "knowledge_point_id": row.knowledge_point_id,
                "mastery": row.probability,
                "attempts": row.attempts,
            }
            for row in rows
        ]
        return Response(self.OutputSerializer(body, many=True).data)


class CourseAtRiskApi(APIView):
    """The course's students ranked by risk, with the reasons (students under their pseudonym)."""

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "CourseAtRisk"

        rank = serializers.IntegerField()
        student = serializers.CharField()
        risk = serializers.FloatField()
        flagged = serializers.BooleanField()
        reasons = serializers.ListField(child=serializers.DictField())
        method = serializers.CharField()
        scored_at = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, course_id: int) -> Response:
        course = _instructor_course(request, course_id)
        body = [
            {
                "rank": rank,
                "student": pseudonym(user_id=score.user_id, course_id=course.pk),
                "risk": score.risk,
                "flagged": score.flagged,
                "reasons": [{**reason, "text": risk_reason_text(reason)} for reason in score.reasons],
                "method": score.method,
                "scored_at": score.scored_at,
            }
            for rank, score in enumerate(at_risk_list(course_id=course.pk), start=1)
        ]
        return Response(self.OutputSerializer(body, many=True).data)
