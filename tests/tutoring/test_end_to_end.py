"""The tutor's "done when" path over LTI, through the real worker: upload, ask, stream, cite,
rate, endorse a correction, and the next student gets the endorsed answer."""

import json
import re
import time
from typing import Any

import pytest
from django.test import Client

from tutoring.models import FaqEntry, Material, Message

QUESTION = "Which enzyme fixes carbon dioxide in the Calvin cycle?"
CORRECTED = "RuBisCO. It fixes CO2 in the stroma; the ATP and NADPH come from the light reactions."
MATERIAL = b"""# Photosynthesis

## Light reactions
In the light reactions, chlorophyll in the thylakoid membranes absorbs light, water is split and
oxygen is released.

## The Calvin cycle
The Calvin cycle runs in the stroma of the chloroplast. There the enzyme RuBisCO fixes carbon
dioxide into sugars, using the ATP and NADPH made by the light reactions.
"""


def _sse(response) -> list[tuple[str, dict[str, Any]]]:
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def _wait(condition, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, text[:2000]
    return match.group(1).replace("&amp;", "&")


def _link(page: str, text: str) -> str:
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', page)
    assert match, page[:2000]
    return match.group(1).replace("&amp;", "&")


def _student_asks(lti_flow, user: str) -> tuple[Client, list[tuple[str, dict[str, Any]]], str]:
    client = Client()
    launched = lti_flow.launch(client, user, resource_link_id="rl-tutor").content.decode()
    chat_url = _link(launched, "Open the tutor")
    page = client.get(chat_url).content.decode()
    assert "Before you start: about this AI tutor" in page
    notice = _found(r'<form method="post" action="([^"]+)"', page)
    link = _found(r'name="link" value="(\d+)"', page)
    assert client.post(notice, {"link": link}).status_code == 302
    page = client.get(chat_url).content.decode()
    start_url = _found(r'data-chat-start-url="([^"]+)"', page)
    started = client.post(
        start_url, {"messages": [{"role": "user", "content": QUESTION}]}, content_type="application/json"
    )
    assert started.status_code == 202, started.content
    events = _sse(client.get(started.json()["events_url"]))
    thread_url = _found(r'hx-get="([^"]+)" hx-trigger="load', page)
    return client, events, thread_url


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_student_question_rating_endorsement_and_the_next_student(lti_flow, celery_worker_process):
    # The instructor opens the tutor activity and uploads the material; a worker ingests it.
    teacher = Client()
    page = lti_flow.launch(teacher, "u-teacher", resource_link_id="rl-tutor").content.decode()
    manage_url = _link(page, "Course material, tutor settings and conversations")
    assert teacher.get(manage_url).status_code == 200
    course_id = int(_found(r"/tutoring/courses/(\d+)/", manage_url))
    uploaded = teacher.post(
        f"/tutoring/courses/{course_id}/manage/materials/upload/",
        {"title": "", "text": "", "file": _file("photosynthesis.md", MATERIAL)},
        HTTP_HX_REQUEST="true",
    )
    assert uploaded.status_code == 200
    assert "It is being processed." in uploaded.content.decode()
    material = Material.objects.get(title="photosynthesis")
    _wait(
        lambda: Material.objects.get(pk=material.pk).status == Material.Status.READY,
        timeout=240,
        what="ingestion",
    )
    assert "Ready" in teacher.get(f"/tutoring/courses/{course_id}/manage/materials/").content.decode()

    # A student launched over LTI asks; the answer streams from the worker, cited.
    student, events, thread_url = _student_asks(lti_flow, "u-student")
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert "token" in kinds
    answer = Message.objects.get(pk=events[-1][1]["message_id"])
    assert answer.source == Message.Source.MODEL
    assert answer.text
    assert "".join(data["text"] for kind, data in events if kind == "token").strip() == answer.text
    calvin = material.chunks.get(text__contains="RuBisCO")
    assert calvin.pk in {citation["chunk"] for citation in answer.citations}
    thread = student.get(thread_url).content.decode()
    assert f"/tutoring/passages/{calvin.pk}/" in thread
    assert "RuBisCO fixes carbon" in student.get(f"/tutoring/passages/{calvin.pk}/").content.decode()

    # The student rates it.
    rated = student.post(f"/tutoring/answers/{answer.pk}/rating/", {"rating": "1"}, HTTP_HX_REQUEST="true")
    assert rated.status_code == 200
    assert 'aria-pressed="true"' in rated.content.decode()

    # The instructor sees the rating, pseudonymised, and endorses a corrected answer.
    overview = teacher.get(manage_url).content.decode()
    conversation_url = _link(overview, "Student 1")
    conversation = teacher.get(conversation_url).content.decode()
    assert "Student&#x27;s rating: 1" in conversation or "Student's rating: 1" in conversation
    assert "Stu Dent" not in conversation
    assert "s@school.test" not in conversation
    endorsed = teacher.post(
        f"/tutoring/answers/{answer.pk}/endorse/", {"answer": CORRECTED}, HTTP_HX_REQUEST="true"
    )
    assert endorsed.status_code == 200
    _wait(lambda: FaqEntry.objects.exclude(embedding=b"").exists(), timeout=120, what="the FAQ embedding")

    # The next student asking the same question gets the endorsed answer.
    lti_flow.platform.users["u-next"] = {
        "sub": "u-next",
        "roles": lti_flow.platform.users["u-student"]["roles"],
    }
    _, events, _ = _student_asks(lti_flow, "u-next")
    assert "".join(data["text"] for kind, data in events if kind == "token").strip() == CORRECTED
    assert events[-1][1]["source"] == "faq"


def _file(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/markdown")
