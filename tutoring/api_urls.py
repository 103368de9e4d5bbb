from django.urls import path

from . import apis, views

app_name = "tutoring-api"

urlpatterns = [
    path("courses/<int:course_id>/materials/", apis.MaterialListApi.as_view(), name="material-list"),
    path("courses/<int:course_id>/materials/new/", apis.MaterialCreateApi.as_view(), name="material-create"),
    path("materials/<int:material_id>/", apis.MaterialDetailApi.as_view(), name="material-detail"),
    path("courses/<int:course_id>/settings/", apis.TutorSettingsApi.as_view(), name="settings"),
    path("courses/<int:course_id>/notice/", apis.NoticeAcceptApi.as_view(), name="notice-accept"),
    path("courses/<int:course_id>/questions/", apis.QuestionAskApi.as_view(), name="question-ask"),
    path("courses/<int:course_id>/conversation/", apis.ConversationApi.as_view(), name="conversation"),
    path(
        "courses/<int:course_id>/conversations/",
        apis.CourseConversationListApi.as_view(),
        name="conversations",
    ),
    path("answers/<int:message_id>/rating/", apis.AnswerRateApi.as_view(), name="answer-rate"),
    path("answers/<int:message_id>/flag/", apis.AnswerFlagApi.as_view(), name="answer-flag"),
    path("answers/<int:message_id>/endorse/", apis.AnswerEndorseApi.as_view(), name="answer-endorse"),
    # Plain Django view: DRF's content negotiation does not know text/event-stream.
    path("answers/<uuid:stream_id>/events", views.answer_events, name="answer-events"),
]
