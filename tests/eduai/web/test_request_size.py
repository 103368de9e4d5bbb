"""Request bodies over their limit are refused with a 413 and a message before anything reads
them (the API's JSON parser would otherwise take any size); a file upload may be as large as
``UPLOAD_MAX_BYTES`` more, and the upload reader's own message says when a file is too large."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eduai.courses.models import Enrollment
from tests.factories import CourseFactory, EnrollmentFactory
from tutoring.models import Material, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    settings.UPLOAD_MAX_BYTES = 50_000
    return settings


def _member(course, role):
    client = Client()
    client.force_login(EnrollmentFactory.create(course=course, role=role).user)
    return client


def test_a_json_body_over_the_limit_is_a_413_before_the_api_reads_it(limits):
    course = CourseFactory.create()
    student = _member(course, Enrollment.Role.LEARNER)
    url = f"/api/v1/tutoring/courses/{course.pk}/questions/"
    response = student.post(url, json.dumps({"question": "x" * 20_000}), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large: at most 10,000 bytes are accepted."}
    assert not Message.objects.exists()
    # Under the limit the API answers as usual (here: the question's own length limit).
    smaller = student.post(url, json.dumps({"question": "x" * 5_000}), content_type="application/json")
    assert smaller.status_code == 400


def test_a_form_over_the_limit_gets_a_page_and_an_upload_may_be_larger(limits):
    course = CourseFactory.create()
    teacher = _member(course, Enrollment.Role.INSTRUCTOR)
    upload_url = f"/tutoring/courses/{course.pk}/manage/materials/upload/"
    # Over the whole limit of a multipart form (the file limit added): refused before reading.
    page = teacher.post(upload_url, {"title": "Notes", "text": "x" * 70_000})
    assert page.status_code == 413
    assert page["Content-Type"].startswith("text/html")
    assert "at most 60,000 bytes" in page.content.decode()
    # Within it, but with more than the fields' limit (files aside): Django refuses it; a 413 too.
    fields = teacher.post(upload_url, {"title": "Notes", "text": "x" * 20_000})
    assert fields.status_code == 413
    assert "at most 10,000 bytes of fields" in fields.content.decode()
    assert not Material.objects.exists()
    big_file = SimpleUploadedFile("notes.txt", b"Cells divide. " * 3_000)  # 42 KB: under the file limit
    accepted = teacher.post(upload_url, {"title": "Cells", "file": big_file}, HTTP_HX_REQUEST="true")
    assert accepted.status_code == 200
    assert Material.objects.filter(title="Cells").exists()
    too_big = SimpleUploadedFile("notes.txt", b"Cells divide. " * 4_000)  # 56 KB: over it
    refused = teacher.post(upload_url, {"title": "More", "file": too_big}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400
    assert "largest file accepted is 50,000 bytes" in refused.content.decode()
