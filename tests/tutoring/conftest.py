"""A course with an instructor, two students and one ingested material (real encoder); and the
steps of the tutor over LTI that the end-to-end tests share (upload material, ask, read the stream)."""

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eduai.courses.models import Course, Enrollment
from tests.conftest import sse_events, wait_for
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tutoring import services
from tutoring.models import Material

PHOTOSYNTHESIS = """# Photosynthesis

## Light reactions
Photosynthesis turns light energy into chemical energy. In the light reactions, chlorophyll in the
thylakoid membranes absorbs light, water is split, and oxygen is released as a by-product.

## The Calvin cycle
In the Calvin cycle, which runs in the stroma of the chloroplast, the enzyme RuBisCO fixes carbon
dioxide into sugars using the ATP and NADPH made by the light reactions.
"""

MITOSIS = """# Cell division

## Mitosis
Mitosis divides one nucleus into two identical nuclei. Its phases are prophase, metaphase,
anaphase and telophase. In metaphase the chromosomes line up at the cell's equator.
"""


@dataclass
class TutorCourse:
    course: Course
    instructor: User
    student: User
    classmate: User
    material: Material


@pytest.fixture
def tutor_course(db, django_capture_on_commit_callbacks) -> TutorCourse:
    course = CourseFactory.create(title="Biology 101")
    instructor = UserFactory.create(first_name="Tea", last_name="Cher")
    student = UserFactory.create(first_name="Amelia", last_name="Okonkwo", email="amelia@school.test")
    classmate = UserFactory.create(first_name="Jonas", last_name="Lindqvist")
    EnrollmentFactory.create(course=course, user=instructor, role=Enrollment.Role.INSTRUCTOR)
    EnrollmentFactory.create(course=course, user=student)
    EnrollmentFactory.create(course=course, user=classmate)
    with django_capture_on_commit_callbacks(execute=False):
        material = services.material_create(
            course=course, user=instructor, title="Photosynthesis", text=PHOTOSYNTHESIS
        )
        other = services.material_create(course=course, user=instructor, title="Cell division", text=MITOSIS)
    services.material_ingest(material_id=material.pk)
    services.material_ingest(material_id=other.pk)
    material.refresh_from_db()
    return TutorCourse(
        course=course, instructor=instructor, student=student, classmate=classmate, material=material
    )


# --- The tutor over LTI, through the real pages and worker -----------------------------------
QUESTION = "Which enzyme fixes carbon dioxide in the Calvin cycle?"
MATERIAL = b"""# Photosynthesis

## Light reactions
In the light reactions, chlorophyll in the thylakoid membranes absorbs light, water is split and
oxygen is released.

## The Calvin cycle
The Calvin cycle runs in the stroma of the chloroplast. There the enzyme RuBisCO fixes carbon
dioxide into sugars, using the ATP and NADPH made by the light reactions.
"""


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, text[:2000]
    return match.group(1).replace("&amp;", "&")


def link_to(page: str, text: str) -> str:
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', page)
    assert match, page[:2000]
    return match.group(1).replace("&amp;", "&")


def tutor_material_upload(lti_flow, teacher: Client) -> tuple[str, Material]:
    """The instructor opens the tutor activity and uploads MATERIAL; a worker ingests it.
    Returns the tutor's management URL and the ready material."""
    page = lti_flow.launch(teacher, "u-teacher", resource_link_id="rl-tutor").content.decode()
    manage_url = link_to(page, "Course material, tutor settings and conversations")
    assert teacher.get(manage_url).status_code == 200
    course_id = int(found(r"/tutoring/courses/(\d+)/", manage_url))
    upload = SimpleUploadedFile("photosynthesis.md", MATERIAL, content_type="text/markdown")
    uploaded = teacher.post(
        f"/tutoring/courses/{course_id}/manage/materials/upload/",
        {"title": "", "text": "", "file": upload},
        HTTP_HX_REQUEST="true",
    )
    assert uploaded.status_code == 200
    assert "It is being processed." in uploaded.content.decode()
    material = Material.objects.get(title="photosynthesis")
    wait_for(
        lambda: Material.objects.get(pk=material.pk).status == Material.Status.READY,
        timeout=240,
        what="ingestion",
    )
    material.refresh_from_db()
    return manage_url, material


def student_asks(lti_flow, user: str) -> tuple[Client, list[tuple[str, dict[str, Any]]], str]:
    """The student launches the tutor activity, accepts the AI notice and asks QUESTION; returns
    their client, the streamed events of the answer and the thread's URL."""
    client = Client()
    launched = lti_flow.launch(client, user, resource_link_id="rl-tutor").content.decode()
    chat_url = link_to(launched, "Open the tutor")
    page = client.get(chat_url).content.decode()
    assert "Before you start: about this AI tutor" in page
    notice = found(r'<form method="post" action="([^"]+)"', page)
    link = found(r'name="link" value="(\d+)"', page)
    assert client.post(notice, {"link": link}).status_code == 302
    page = client.get(chat_url).content.decode()
    start_url = found(r'data-chat-start-url="([^"]+)"', page)
    started = client.post(
        start_url, {"messages": [{"role": "user", "content": QUESTION}]}, content_type="application/json"
    )
    assert started.status_code == 202, started.content
    events = sse_events(client.get(started.json()["events_url"]))
    thread_url = found(r'hx-get="([^"]+)" hx-trigger="load', page)
    return client, events, thread_url
