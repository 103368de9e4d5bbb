"""The tutor's pages: what students and instructors see, and who may see it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analytics.models import LearningEvent
from eduai.audit.models import AuditEntry
from tests.factories import UserFactory
from tutoring import services
from tutoring.models import Chunk, FaqEntry, Material, TutorSettings

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_chat_page_asks_for_the_notice_once_then_shows_the_chat(tutor_course):
    student = _client(tutor_course.student)
    url = f"/tutoring/courses/{tutor_course.course.pk}/"
    page = student.get(url).content.decode()
    assert "Before you start: about this AI tutor" in page
    assert "data-chat-start-url" not in page
    assert student.post(f"/tutoring/courses/{tutor_course.course.pk}/notice/").status_code == 302
    page = student.get(url).content.decode()
    assert "Before you start" not in page
    assert f'data-chat-start-url="/api/v1/tutoring/courses/{tutor_course.course.pk}/questions/"' in page
    assert "eduai:chat-finished from:body" in page
    assert student.get(url)["Content-Security-Policy"]  # framable LTI page with its CSP
    assert _client(tutor_course.instructor).get(url).status_code == 404
    assert _client(UserFactory.create()).get(url).status_code == 404


def test_a_switched_off_tutor_says_so(tutor_course):
    services.tutor_settings_update(course=tutor_course.course, enabled=False)
    page = _client(tutor_course.student).get(f"/tutoring/courses/{tutor_course.course.pk}/").content.decode()
    assert "The tutor is switched off" in page


def test_the_thread_shows_sources_and_rating_buttons(tutor_course, django_capture_on_commit_callbacks):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with django_capture_on_commit_callbacks(execute=False):
        asked = services.question_ask(
            student=tutor_course.student, course=tutor_course.course, text="What is RuBisCO?"
        )
    chunk = Chunk.objects.filter(material=tutor_course.material).order_by("ordinal")[0]
    services._answer_finish(
        asked.answer,
        text="An enzyme [1].",
        source="model",
        citations=[{"chunk": chunk.pk, "title": "Photosynthesis", "number": 1}],
    )
    student = _client(tutor_course.student)
    thread = student.get(f"/tutoring/courses/{tutor_course.course.pk}/thread/").content.decode()
    assert 'class="chat-text">What is RuBisCO?</p>' in thread
    assert f'href="/tutoring/passages/{chunk.pk}/"' in thread
    assert "[1] Photosynthesis" in thread
    assert f'hx-post="/tutoring/answers/{asked.answer.pk}/rating/"' in thread
    rate_url = f"/tutoring/answers/{asked.answer.pk}/rating/"
    rated = student.post(rate_url, {"rating": "0"}, HTTP_HX_REQUEST="true")
    assert 'value="0" aria-describedby' in rated.content.decode()
    assert "HX-Trigger" in rated.headers
    assert student.post(rate_url, {"rating": "x"}, HTTP_HX_REQUEST="true").status_code == 400
    assert _client(tutor_course.classmate).post(rate_url, {"rating": "1"}).status_code == 404

    def rate_plain(value: str) -> tuple[str, float | None]:
        """A plain form post (htmx has not wired the form yet, or no JavaScript): back to the
        answer on the chat page, with a message; returns the page and the stored rating."""
        response = student.post(rate_url, {"rating": value}, follow=True)
        assert response.redirect_chain == [
            (f"/tutoring/courses/{tutor_course.course.pk}/#message-{asked.answer.pk}", 302)
        ]
        asked.answer.refresh_from_db()
        return response.content.decode(), asked.answer.rating

    page, stored = rate_plain("x")
    assert "A rating is between 0 and 1." in page
    assert stored == 0  # an invalid rating changes nothing
    page, stored = rate_plain("1")
    assert "Thank you for rating this answer." in page
    assert stored == 1
    assert (
        f'method="post" action="/tutoring/answers/{asked.answer.pk}/rating/"'
        in student.get(f"/tutoring/courses/{tutor_course.course.pk}/thread/").content.decode()
    )
    flagged = student.post(
        f"/tutoring/answers/{asked.answer.pk}/flag/", {"reason": "wrong"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "You flagged this answer" in flagged

    passage = student.get(f"/tutoring/passages/{chunk.pk}/")
    assert passage.status_code == 200
    assert chunk.text[:30] in passage.content.decode()
    assert LearningEvent.objects.filter(verb="viewed", object_type="material").count() == 1
    assert _client(UserFactory.create()).get(f"/tutoring/passages/{chunk.pk}/").status_code == 404


def test_the_instructor_page_settings_and_upload(tutor_course, django_capture_on_commit_callbacks):
    teacher = _client(tutor_course.instructor)
    base = f"/tutoring/courses/{tutor_course.course.pk}/manage/"
    page = teacher.get(base).content.decode()
    assert "Photosynthesis" in page
    assert "Tutor settings for the course" in page
    assert _client(tutor_course.student).get(base).status_code == 404

    htmx = {"HTTP_HX_REQUEST": "true"}
    settings_given = {
        "enabled": "on",
        "mode": "direct",
        "instructions": "Short answers.",
        "daily_quota": "20",
        "burst_limit": "3",
    }
    saved = teacher.post(base + "settings/", settings_given, **htmx)
    assert saved.status_code == 200
    assert "HX-Trigger" in saved.headers
    assert TutorSettings.objects.get().mode == "direct"
    (audited,) = AuditEntry.objects.filter(action=AuditEntry.Action.SETTINGS_CHANGE)
    assert (audited.actor_id, audited.course_id) == (tutor_course.instructor.pk, tutor_course.course.pk)
    assert audited.details["changed"] == ["burst_limit", "daily_quota", "instructions", "mode"]
    invalid = teacher.post(
        base + "settings/", {"mode": "oracle", "daily_quota": "-1", "burst_limit": "3"}, **htmx
    )
    assert invalid.status_code == 400
    assert "field-error" in invalid.content.decode()
    # Plain form posts (before htmx has wired the form, or without JavaScript): the whole page,
    # with the errors, or back to it with the notice.
    invalid_plain = teacher.post(
        base + "settings/", {"mode": "oracle", "daily_quota": "-1", "burst_limit": "3"}
    )
    assert invalid_plain.status_code == 400
    assert "field-error" in invalid_plain.content.decode()
    assert "Tutor settings for the course" in invalid_plain.content.decode()
    saved_plain = teacher.post(base + "settings/", {**settings_given, "mode": "socratic"}, follow=True)
    assert saved_plain.redirect_chain == [(base, 302)]
    assert "Tutor settings saved." in saved_plain.content.decode()
    assert TutorSettings.objects.get().mode == "socratic"

    bad = teacher.post(base + "materials/upload/", {"file": SimpleUploadedFile("slides.pptx", b"PK")}, **htmx)
    assert bad.status_code == 400
    assert "not a supported file type" in bad.content.decode().replace("&#x27;", "'")
    empty = teacher.post(base + "materials/upload/", {"title": "Nothing"}, **htmx)
    assert empty.status_code == 400
    assert "Paste the material" in empty.content.decode()
    empty_plain = teacher.post(base + "materials/upload/", {"title": "Nothing"})
    assert empty_plain.status_code == 400
    assert "Paste the material" in empty_plain.content.decode()
    assert "Tutor settings for the course" in empty_plain.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        added = teacher.post(
            base + "materials/upload/", {"title": "Enzymes", "text": "Enzymes are catalysts."}, **htmx
        )
        added_plain = teacher.post(
            base + "materials/upload/", {"title": "Lipids", "text": "Lipids store energy."}, follow=True
        )
    assert added.status_code == 200
    assert "Added: Enzymes" in added.content.decode()
    assert added_plain.redirect_chain == [(base, 302)]
    assert "Added: Lipids. It is being processed." in added_plain.content.decode()
    materials = teacher.get(base + "materials/").content.decode()
    assert "Waiting to be processed" in materials
    assert "every 2s" in materials


def test_deleting_a_material_with_htmx_and_as_a_plain_form(tutor_course):
    teacher = _client(tutor_course.instructor)
    base = f"/tutoring/courses/{tutor_course.course.pk}/manage/"
    kept = services.material_create(
        course=tutor_course.course, user=tutor_course.instructor, title="Enzymes", text="Catalysts."
    )
    url = f"/tutoring/materials/{tutor_course.material.pk}/delete/"
    assert f'method="post" action="{url}"' in teacher.get(base).content.decode()
    assert _client(tutor_course.student).post(url).status_code == 404
    deleted = teacher.post(url, follow=True)
    assert deleted.redirect_chain == [(base, 302)]
    assert "Material deleted: Photosynthesis." in deleted.content.decode()
    assert not Chunk.objects.filter(material_id=tutor_course.material.pk).exists()
    fragment = teacher.post(f"/tutoring/materials/{kept.pk}/delete/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "HX-Trigger" in fragment.headers
    assert 'id="materials"' in fragment.content.decode()
    assert not Material.objects.filter(pk__in=[tutor_course.material.pk, kept.pk]).exists()
    assert Material.objects.filter(course=tutor_course.course).exists()  # the fixture's other one


def test_the_conversation_page_is_pseudonymised(tutor_course, django_capture_on_commit_callbacks):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with django_capture_on_commit_callbacks(execute=False):
        asked = services.question_ask(
            student=tutor_course.student,
            course=tutor_course.course,
            text="I am Amelia Okonkwo, I want to kill myself",
        )
    teacher = _client(tutor_course.instructor)
    overview = teacher.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/").content.decode()
    assert "Student 1" in overview
    assert "Flagged" in overview
    assert "Amelia" not in overview
    page = teacher.get(f"/tutoring/conversations/{asked.question.conversation_id}/").content.decode()
    assert "Conversation of Student 1" in page
    assert "Moderation: self_harm" in page
    assert "Amelia" not in page
    assert "Okonkwo" not in page
    assert (
        _client(tutor_course.student)
        .get(f"/tutoring/conversations/{asked.question.conversation_id}/")
        .status_code
        == 404
    )


def test_endorsing_keeps_a_refused_correction_and_works_without_htmx(
    tutor_course, django_capture_on_commit_callbacks
):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with django_capture_on_commit_callbacks(execute=False):
        asked = services.question_ask(
            student=tutor_course.student, course=tutor_course.course, text="What is RuBisCO?"
        )
    services._answer_finish(asked.answer, text="An enzyme.", source="model", citations=[])
    teacher = _client(tutor_course.instructor)
    url = f"/tutoring/answers/{asked.answer.pk}/endorse/"
    page = teacher.get(f"/tutoring/conversations/{asked.question.conversation_id}/").content.decode()
    assert f'method="post" action="{url}"' in page
    assert ">An enzyme.</textarea>" in page

    too_long = "RuBisCO " * (services.FAQ_ANSWER_MAX_CHARACTERS // 8 + 1)
    refused = teacher.post(url, {"answer": too_long}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert too_long.strip() in refused.content.decode()  # the correction is not lost
    assert not FaqEntry.objects.exists()

    endorsed = teacher.post(url, {"answer": "RuBisCO, the carbon-fixing enzyme."}, follow=True)
    assert endorsed.redirect_chain == [(f"/tutoring/conversations/{asked.question.conversation_id}/", 302)]
    assert "Endorsed: students asking this question get this answer." in endorsed.content.decode()
    assert FaqEntry.objects.get().answer == "RuBisCO, the carbon-fixing enzyme."
