from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import enrollment_list


class MeApi(APIView):
    """Who the caller is and their role in each course."""

    class EnrollmentSerializer(serializers.Serializer[object]):
        course_id = serializers.IntegerField()
        course_title = serializers.CharField(source="course.title")
        role = serializers.CharField()

    class OutputSerializer(serializers.Serializer[object]):
        id = serializers.IntegerField()
        username = serializers.CharField()
        enrollments = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        enrollments = self.EnrollmentSerializer(
            enrollment_list(user_id=cast(int, request.user.pk)), many=True
        ).data
        body = {"id": request.user.pk, "username": request.user.get_username(), "enrollments": enrollments}
        return Response(self.OutputSerializer(body).data)
