from typing import Any, cast

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .generations import generation_start
from .validation import validated_messages


class GenerationStartApi(APIView):
    """Try the production generator: start a streamed answer (staff only; the tutor has its own)."""

    permission_classes = [IsAdminUser]

    class InputSerializer(serializers.Serializer[Any]):
        messages = serializers.ListField(
            child=serializers.DictField(child=serializers.CharField()), min_length=1
        )
        max_new_tokens = serializers.IntegerField(min_value=1, max_value=1024, default=256)

        def validate_messages(self, messages: Any) -> list[dict[str, str]]:
            try:
                return validated_messages(messages)
            except ValueError as error:
                raise serializers.ValidationError(str(error)) from error

    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.UUIDField()
        events_url = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer})
    def post(self, request: Request) -> Response:
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        stream_id = generation_start(user_id=cast(int, request.user.pk), **given.validated_data)
        body = {"id": stream_id, "events_url": reverse("generation-events", args=[stream_id])}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)
