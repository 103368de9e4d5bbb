from django.urls import path

from . import views

app_name = "tutoring"

urlpatterns = [
    path("courses/<int:course_id>/", views.chat, name="chat"),
    path("courses/<int:course_id>/thread/", views.thread, name="thread"),
    path("courses/<int:course_id>/notice/", views.notice_accept, name="notice-accept"),
    path("answers/<int:message_id>/rating/", views.answer_rate, name="answer-rate"),
    path("answers/<int:message_id>/flag/", views.answer_flag, name="answer-flag"),
    path("passages/<int:chunk_id>/", views.passage, name="passage"),
    path("courses/<int:course_id>/manage/", views.manage, name="manage"),
    path("courses/<int:course_id>/manage/settings/", views.settings_save, name="settings-save"),
    path("courses/<int:course_id>/manage/materials/", views.materials, name="materials"),
    path("courses/<int:course_id>/manage/materials/upload/", views.material_upload, name="material-upload"),
    path("materials/<int:material_id>/delete/", views.material_delete, name="material-delete"),
    path("materials/<int:material_id>/edit/", views.material_edit, name="material-edit"),
    path("courses/<int:course_id>/manage/faq/", views.faq, name="faq"),
    path("faq/<int:faq_id>/edit/", views.faq_edit, name="faq-edit"),
    path("faq/<int:faq_id>/delete/", views.faq_remove, name="faq-delete"),
    path("conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path("answers/<int:message_id>/endorse/", views.answer_endorse, name="answer-endorse"),
]
