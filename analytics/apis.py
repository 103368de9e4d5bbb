"""The analytics API: xAPI statements into the learning event log."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses.models import Course

from .selectors import course_analytics_allowed
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
        if not course_analytics_allowed(user=request.user, course_id=course.pk):
            raise PermissionDenied("only staff and the course's instructors may record its events")
        statements = request.data if isinstance(request.data, list) else [request.data]
        if not 1 <= len(statements) <= MAX_STATEMENTS_PER_BATCH:
            raise ValidationError(f"send between 1 and {MAX_STATEMENTS_PER_BATCH} statements")
        outcomes = xapi_statements_record(course=course, statements=statements)
        results = self.ResultSerializer(outcomes, many=True).data
        stored = sum(outcome.stored for outcome in outcomes)
        body = {"stored": stored, "rejected": len(outcomes) - stored, "results": results}
        return Response(self.OutputSerializer(body).data)
