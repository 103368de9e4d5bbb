"""The tutor's "done when" path over LTI, through the real worker: upload, ask, stream, cite,
rate, endorse a correction, and the next student gets the endorsed answer."""

import pytest
from django.test import Client

from tests.conftest import wait_for
from tutoring.models import FaqEntry, Message

from .conftest import link_to, student_asks, tutor_material_upload

CORRECTED = "RuBisCO. It fixes CO2 in the stroma; the ATP and NADPH come from the light reactions."


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_student_question_rating_endorsement_and_the_next_student(lti_flow, celery_worker_process):
    # The instructor opens the tutor activity and uploads the material; a worker ingests it.
    teacher = Client()
    manage_url, material = tutor_material_upload(lti_flow, teacher)
    course_id = material.course_id
    assert "Ready" in teacher.get(f"/tutoring/courses/{course_id}/manage/materials/").content.decode()

    # A student launched over LTI asks; the answer streams from the worker, cited.
    student, events, thread_url = student_asks(lti_flow, "u-student")
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
    conversation_url = link_to(overview, "Student 1")
    conversation = teacher.get(conversation_url).content.decode()
    assert "Student&#x27;s rating: 1" in conversation or "Student's rating: 1" in conversation
    assert "Stu Dent" not in conversation
    assert "s@school.test" not in conversation
    endorsed = teacher.post(
        f"/tutoring/answers/{answer.pk}/endorse/", {"answer": CORRECTED}, HTTP_HX_REQUEST="true"
    )
    assert endorsed.status_code == 200
    wait_for(lambda: FaqEntry.objects.exclude(embedding=b"").exists(), timeout=120, what="the FAQ embedding")

    # The next student asking the same question gets the endorsed answer.
    lti_flow.platform.users["u-next"] = {
        "sub": "u-next",
        "roles": lti_flow.platform.users["u-student"]["roles"],
    }
    _, events, _ = student_asks(lti_flow, "u-next")
    assert "".join(data["text"] for kind, data in events if kind == "token").strip() == CORRECTED
    assert events[-1][1]["source"] == "faq"
