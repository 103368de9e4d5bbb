"""The tutor's API: who may do what, clear refusals, and nothing lost on a refusal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tutoring import services
from tutoring.models import Material, Message

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_instructors_upload_and_students_cannot(tutor_course, django_capture_on_commit_callbacks):
    course_id = tutor_course.course.pk
    url = f"/api/v1/tutoring/courses/{course_id}/materials/new/"
    teacher = _client(tutor_course.instructor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = teacher.post(
            url, {"file": SimpleUploadedFile("enzymes.txt", b"Enzymes speed up reactions.")}
        )
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending"
    assert len(callbacks) == 1
    bad = teacher.post(url, {"file": SimpleUploadedFile("virus.exe", b"MZ")})
    assert bad.status_code == 400
    assert "not a supported file type" in bad.json()["file"][0]
    assert teacher.post(url, {"text": " "}, format="json").status_code == 400
    assert _client(tutor_course.student).post(url, {"text": "Mine"}, format="json").status_code == 403
    assert (
        _client(UserFactory.create()).get(f"/api/v1/tutoring/courses/{course_id}/materials/").status_code
        == 403
    )
    listed = teacher.get(f"/api/v1/tutoring/courses/{course_id}/materials/").json()
    assert {row["title"] for row in listed} == {"Photosynthesis", "Cell division", "enzymes"}

    material = Material.objects.get(title="enzymes")
    assert (
        _client(tutor_course.student).delete(f"/api/v1/tutoring/materials/{material.pk}/").status_code == 403
    )
    assert teacher.delete(f"/api/v1/tutoring/materials/{material.pk}/").status_code == 204
    assert not Material.objects.filter(pk=material.pk).exists()


def test_settings_api(tutor_course):
    url = f"/api/v1/tutoring/courses/{tutor_course.course.pk}/settings/"
    teacher = _client(tutor_course.instructor)
    assert teacher.get(url).json()["mode"] == "socratic"
    saved = teacher.put(
        url, {"mode": "direct", "daily_quota": 10, "instructions": "Be brief."}, format="json"
    )
    assert saved.status_code == 200
    assert saved.json()["mode"] == "direct"
    assert teacher.put(url, {"mode": "oracle"}, format="json").status_code == 400
    assert teacher.put(url, {"resource_link": 999999}, format="json").status_code == 400
    assert _client(tutor_course.student).put(url, {"enabled": False}, format="json").status_code == 403


def test_asking_refusals_have_clear_reasons_and_codes(tutor_course, django_capture_on_commit_callbacks):
    course_id = tutor_course.course.pk
    student = _client(tutor_course.student)
    url = f"/api/v1/tutoring/courses/{course_id}/questions/"
    refused = student.post(url, {"question": "What is RuBisCO?"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "notice"
    assert student.post(f"/api/v1/tutoring/courses/{course_id}/notice/").status_code == 204
    too_long = student.post(url, {"question": "x" * 2001}, format="json")
    assert too_long.status_code == 400
    assert "2,000 characters" in too_long.json()["detail"]
    services.tutor_settings_update(course=tutor_course.course, burst_limit=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        asked = student.post(
            url, {"messages": [{"role": "user", "content": "What is RuBisCO?"}]}, format="json"
        )
    assert asked.status_code == 202
    assert len(callbacks) == 1
    assert asked.json()["events_url"].startswith("/api/v1/tutoring/answers/")
    burst = student.post(url, {"question": "And chlorophyll?"}, format="json")
    assert burst.status_code == 429
    assert (burst.json()["code"], burst["Retry-After"]) == ("burst", "60")
    # Every question is kept, refused or not.
    assert Message.objects.filter(role="student").count() == 4
    assert _client(tutor_course.instructor).post(url, {"question": "Hi"}, format="json").status_code == 403
    assert student.post(url, {"messages": []}, format="json").status_code == 400


def test_only_the_asker_reads_the_stream_rates_and_flags(tutor_course, django_capture_on_commit_callbacks):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    asked = _client(tutor_course.student).post(
        f"/api/v1/tutoring/courses/{tutor_course.course.pk}/questions/",
        {"question": "I want to die"},
        format="json",
    )
    events_url = asked.json()["events_url"]
    answer_id = asked.json()["answer_id"]
    assert _client(tutor_course.classmate).get(events_url).status_code == 404
    assert APIClient().get(events_url).status_code == 401
    stream = _client(tutor_course.student).get(events_url)
    assert stream["Content-Type"] == "text/event-stream"
    assert b"event: end" in b"".join(stream.streaming_content)

    rate_url = f"/api/v1/tutoring/answers/{answer_id}/rating/"
    assert _client(tutor_course.classmate).post(rate_url, {"rating": 1}, format="json").status_code == 404
    assert _client(tutor_course.student).post(rate_url, {"rating": 1.5}, format="json").status_code == 400
    assert (
        _client(tutor_course.student).post(rate_url, {"rating": 0.5}, format="json").json()["rating"] == 0.5
    )
    flagged = _client(tutor_course.student).post(
        f"/api/v1/tutoring/answers/{answer_id}/flag/", {}, format="json"
    )
    assert flagged.status_code == 200


def test_the_instructor_sees_conversations_pseudonymised(tutor_course, django_capture_on_commit_callbacks):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with django_capture_on_commit_callbacks(execute=False):
        services.question_ask(
            student=tutor_course.student,
            course=tutor_course.course,
            text="Hi, I'm Amelia Okonkwo: what is RuBisCO?",
        )
    url = f"/api/v1/tutoring/courses/{tutor_course.course.pk}/conversations/"
    assert _client(tutor_course.student).get(url).status_code == 403
    (conversation,) = _client(tutor_course.instructor).get(url).json()
    assert conversation["student"] == "Student 1"
    body = str(conversation)
    assert "Amelia" not in body
    assert "Okonkwo" not in body
    own = _client(tutor_course.student).get(
        f"/api/v1/tutoring/courses/{tutor_course.course.pk}/conversation/"
    )
    assert "Amelia Okonkwo" in own.json()[0]["text"]  # the student sees their own words


def test_endorse_api_is_for_instructors(tutor_course, django_capture_on_commit_callbacks):
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with django_capture_on_commit_callbacks(execute=False):
        asked = services.question_ask(
            student=tutor_course.student, course=tutor_course.course, text="I want to die"
        )
    url = f"/api/v1/tutoring/answers/{asked.answer.pk}/endorse/"
    assert _client(tutor_course.student).post(url, {"answer": "x"}, format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = _client(tutor_course.instructor).post(url, {}, format="json")
    assert created.status_code == 201
    assert created.json()["corrected"] is False
    assert len(callbacks) == 1


def test_a_question_costs_a_bounded_number_of_queries(
    tutor_course, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # bench/lti_launch_profile.py: paid at every question. The course roster for redaction is
    # kept per process (eduai/privacy/roster.py) and read again only after it changed.
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    url = f"/api/v1/tutoring/courses/{tutor_course.course.pk}/questions/"
    client = _client(tutor_course.student)
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(url, {"question": "What is RuBisCO?"}, format="json").status_code == 202
        with django_assert_max_num_queries(17):  # 16 + reading the session from the database
            asked = client.post(url, {"question": "Ask Jonas Lindqvist about RuBisCO?"}, format="json")
    assert asked.status_code == 202, asked.content
    question = Message.objects.get(pk=asked.json()["question_id"])
    assert "Jonas" not in question.redacted_text
    assert "Lindqvist" not in question.redacted_text
