"""The tutor's API (``/api/v1/tutoring/``): one APIView per action, thin over services/selectors.

Students act on their own conversations only; instructors (and TAs) on their courses only.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses.access import course_learner_is, course_staff_is
from eduai.courses.models import Course
from eduai.documents import DocumentError

from . import selectors, services
from .models import Material, Message, TutorSettings

REFUSAL_STATUS = {
    "burst": 429,
    "quota": 429,
    "course_quota": 429,
    "course_burst": 429,
    "not_enrolled": 403,
    "disabled": 403,
    "notice": 403,
}


def _user(request: Request) -> User:
    return cast(User, request.user)


def _staff_course(request: Request, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if not course_staff_is(user=_user(request), course_id=course.pk):
        raise PermissionDenied("Only the course's instructors can do this.")
    return course


def _student_course(request: Request, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if not course_learner_is(user=_user(request), course_id=course.pk):
        raise PermissionDenied("Only the course's students can do this.")
    return course


def events_url(message: Message) -> str:
    return reverse("tutoring-api:answer-events", args=[message.stream_id])


class MaterialOutputSerializer(serializers.ModelSerializer[Material]):
    class Meta:
        model = Material
        fields = ["id", "title", "kind", "status", "progress", "error", "created_at", "updated_at"]


class MaterialCreateApi(APIView):
    """Upload a file (.txt .md .html .pdf .docx) or paste text; ingestion runs on a worker."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringMaterialCreateInput"

        title = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
        text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
        file = serializers.FileField(required=False, allow_empty_file=True)

    @extend_schema(request=InputSerializer, responses={201: MaterialOutputSerializer})
    def post(self, request: Request, course_id: int) -> Response:
        course = _staff_course(request, course_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            material = services.material_create(
                course=course,
                user=_user(request),
                title=data["title"],
                text=data["text"],
                upload=data.get("file"),
            )
        except DocumentError as error:
            raise ApiValidationError({"file" if data.get("file") else "text": [str(error)]}) from error
        return Response(MaterialOutputSerializer(material).data, status=status.HTTP_201_CREATED)


class MaterialListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MaterialOutputSerializer(many=True)})
    def get(self, request: Request, course_id: int) -> Response:
        course = _staff_course(request, course_id)
        return Response(
            MaterialOutputSerializer(selectors.material_list(course_id=course.pk), many=True).data
        )


class MaterialDetailApi(APIView):
    """A material's ingestion status (GET), new content (PATCH: ingested again), or removal."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def _material(self, request: Request, material_id: int) -> Material:
        material = get_object_or_404(Material, pk=material_id)
        _staff_course(request, material.course_id)
        return material

    @extend_schema(responses={200: MaterialOutputSerializer})
    def get(self, request: Request, material_id: int) -> Response:
        return Response(MaterialOutputSerializer(self._material(request, material_id)).data)

    @extend_schema(request=MaterialCreateApi.InputSerializer, responses={200: MaterialOutputSerializer})
    def patch(self, request: Request, material_id: int) -> Response:
        material = self._material(request, material_id)
        given = MaterialCreateApi.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            material = services.material_update(
                material=material, title=data["title"], text=data["text"], upload=data.get("file")
            )
        except DocumentError as error:
            raise ApiValidationError({"file" if data.get("file") else "text": [str(error)]}) from error
        return Response(MaterialOutputSerializer(material).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, material_id: int) -> Response:
        services.material_delete(material=self._material(request, material_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TutorSettingsApi(APIView):
    """The tutor's settings for a course, or for one of its resource links (``resource_link``)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringTutorSettingsInput"

        resource_link = serializers.IntegerField(required=False, allow_null=True, default=None)
        enabled = serializers.BooleanField(required=False)
        mode = serializers.ChoiceField(choices=TutorSettings.Mode.choices, required=False)
        instructions = serializers.CharField(required=False, allow_blank=True, max_length=4000)
        daily_quota = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
        burst_limit = serializers.IntegerField(required=False, min_value=0, max_value=1_000)

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringTutorSettingsOutput"

        enabled = serializers.BooleanField()
        mode = serializers.CharField()
        instructions = serializers.CharField()
        daily_quota = serializers.IntegerField()
        burst_limit = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request, course_id: int) -> Response:
        course = _staff_course(request, course_id)
        link = request.query_params.get("resource_link")
        effective = selectors.tutor_settings_get(
            course_id=course.pk, resource_link_id=int(link) if link else None
        )
        return Response(self.OutputSerializer(effective).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def put(self, request: Request, course_id: int) -> Response:
        course = _staff_course(request, course_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        fields = dict(given.validated_data)
        link_id = fields.pop("resource_link")
        link = selectors.resource_link_of_course(course=course, resource_link_id=link_id)
        if link_id is not None and link is None:
            raise ApiValidationError({"resource_link": ["Not a resource link of this course."]})
        services.tutor_settings_update(course=course, resource_link=link, actor=_user(request), **fields)
        effective = selectors.tutor_settings_get(course_id=course.pk, resource_link_id=link_id)
        return Response(self.OutputSerializer(effective).data)


class NoticeAcceptApi(APIView):
    """The student accepts the course's AI-use notice (once)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, course_id: int) -> Response:
        services.notice_accept(user=_user(request), course=_student_course(request, course_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RefusalSerializer(serializers.Serializer[Any]):
    """A question the tutor refused (it is stored, with the reason): ``code`` says why."""

    class Meta:
        ref_name = "TutoringRefusal"

    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=sorted(REFUSAL_STATUS))


class QuestionAskApi(APIView):
    """Ask the course tutor. Takes ``question``, or the chat component's ``messages`` (the last
    user message is the question; the server keeps the conversation itself). Answers 202 with
    the answer's Server-Sent Events URL."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringQuestionAskInput"

        question = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
        messages = serializers.ListField(child=serializers.DictField(), required=False)
        resource_link = serializers.IntegerField(required=False, allow_null=True, default=None)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "question" not in attrs:
                users = [m for m in attrs.get("messages") or [] if m.get("role") == "user"]
                if not users or not isinstance(users[-1].get("content"), str):
                    raise serializers.ValidationError("Give a question.")
                attrs["question"] = users[-1]["content"]
            return attrs

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringQuestionAskOutput"

        question_id = serializers.IntegerField()
        answer_id = serializers.IntegerField()
        events_url = serializers.CharField()

    @extend_schema(
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            403: OpenApiResponse(
                RefusalSerializer,
                description="Not a student of the course, the tutor is disabled (``disabled``), or "
                "the course's notice is not accepted yet (``notice``).",
            ),
            429: OpenApiResponse(
                RefusalSerializer,
                description="Too many questions: a burst (``burst``), the student's daily quota "
                "(``quota``), the course's (``course_quota``) or the course's burst limit "
                "(``course_burst``); the question is stored. ``Retry-After``: seconds until the "
                "limit lets questions in again.",
            ),
        },
    )
    def post(self, request: Request, course_id: int) -> Response:
        course = _student_course(request, course_id)  # before reading the body: outsiders learn nothing
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        link_id = str(given.validated_data["resource_link"] or request.query_params.get("link") or "")
        link = selectors.resource_link_of_course(
            course=course, resource_link_id=int(link_id) if link_id.isdigit() else None
        )
        try:
            asked = services.question_ask(
                student=_user(request),
                course=course,
                text=given.validated_data["question"],
                resource_link=link,
            )
        except services.TutorRefusedError as refusal:
            return Response(
                {"detail": refusal.message, "code": refusal.code},
                status=REFUSAL_STATUS.get(refusal.code, 400),
                headers={"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None,
            )
        body = {
            "question_id": asked.question.pk,
            "answer_id": asked.answer.pk,
            "events_url": events_url(asked.answer),
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class MessageOutputSerializer(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = [
            "id",
            "role",
            "text",
            "status",
            "refusal_reason",
            "source",
            "citations",
            "rating",
            "created_at",
        ]


class InstructorMessageSerializer(MessageOutputSerializer):
    """Students' words as instructors see them: with names and contact details redacted."""

    text = serializers.SerializerMethodField()

    def get_text(self, message: Message) -> str:
        if message.role == Message.Role.STUDENT:
            return message.redacted_text or message.refusal_reason
        return message.text

    class Meta(MessageOutputSerializer.Meta):
        fields = [*MessageOutputSerializer.Meta.fields, "moderation", "injection", "student_flag"]


class ConversationApi(APIView):
    """The student's own conversation in a course."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MessageOutputSerializer(many=True)})
    def get(self, request: Request, course_id: int) -> Response:
        course = _student_course(request, course_id)
        messages = Message.objects.filter(conversation__student=_user(request), conversation__course=course)
        return Response(MessageOutputSerializer(messages.order_by("created_at", "id"), many=True).data)


def _answer(request: Request, message_id: int) -> Message:
    message = Message.objects.select_related("conversation__course").filter(pk=message_id).first()
    if message is None or message.role != Message.Role.TUTOR:
        raise NotFound()
    return message


def _own_answer(request: Request, message_id: int) -> Message:
    """A tutor answer in the caller's own conversation (anyone else's is not found)."""
    message = _answer(request, message_id)
    if message.conversation.student_id != request.user.pk:
        raise NotFound()
    return message


class AnswerRateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringAnswerRateInput"

        rating = serializers.FloatField(min_value=0, max_value=1)

    @extend_schema(request=InputSerializer, responses={200: MessageOutputSerializer})
    def post(self, request: Request, message_id: int) -> Response:
        message = _own_answer(request, message_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        message = services.message_rate(
            message=message, user=_user(request), rating=given.validated_data["rating"]
        )
        return Response(MessageOutputSerializer(message).data)


class AnswerFlagApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringAnswerFlagInput"

        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: MessageOutputSerializer})
    def post(self, request: Request, message_id: int) -> Response:
        message = _own_answer(request, message_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        message = services.message_flag(
            message=message, user=_user(request), reason=given.validated_data["reason"]
        )
        return Response(MessageOutputSerializer(message).data)


class AnswerEndorseApi(APIView):
    """An instructor endorses an answer, or corrects it (``answer``): it becomes an FAQ entry."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringAnswerEndorseInput"

        answer = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=services.FAQ_ANSWER_MAX_CHARACTERS
        )
        question = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringAnswerEndorseOutput"

        faq_id = serializers.IntegerField()
        corrected = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, message_id: int) -> Response:
        message = _answer(request, message_id)
        _staff_course(request, message.conversation.course_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            faq = services.faq_endorse(message=message, user=_user(request), **given.validated_data)
        except DjangoValidationError as error:
            raise ApiValidationError(error.messages) from error
        return Response(
            self.OutputSerializer({"faq_id": faq.pk, "corrected": faq.corrected}).data, status=201
        )


class CourseConversationListApi(APIView):
    """The instructor's view of a course's conversations: pseudonymised, flagged first."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer[Any]):
        class Meta:
            ref_name = "TutoringCourseConversationListOutput"

        id = serializers.IntegerField()
        student = serializers.CharField()
        flagged = serializers.BooleanField()
        messages = InstructorMessageSerializer(many=True)

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request: Request, course_id: int) -> Response:
        course = _staff_course(request, course_id)
        rows = [
            {
                "id": conversation.pk,
                "student": selectors.student_label(course_id=course.pk, user_id=conversation.student_id),
                "flagged": conversation.flagged,
                "messages": list(selectors.conversation_messages(conversation=conversation)),
            }
            for conversation in selectors.course_conversations(course_id=course.pk)[:100]
        ]
        return Response(self.OutputSerializer(rows, many=True).data)
