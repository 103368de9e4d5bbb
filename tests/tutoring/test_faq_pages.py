"""The instructor's FAQ page (list, edit, delete) and material editing, through the real views
(real encoder: an edited entry is embedded again and reaches the FAQ match and the index)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from eduai.audit.models import AuditEntry
from eduai.courses.models import Enrollment
from eduai.ml import runtime
from tests.factories import CourseFactory, EnrollmentFactory
from tutoring import selectors, services, tasks
from tutoring.models import Chunk, FaqEntry, Material, Message

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _endorsed(tutor_course, capture, *, question="What does RuBisCO do?", answer="It fixes CO2."):
    """An answered question, endorsed (as the conversation page does it) and embedded."""
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with capture(execute=False):
        asked = services.question_ask(student=tutor_course.student, course=tutor_course.course, text=question)
    services._answer_finish(asked.answer, text="An enzyme [1].", source="model")
    with capture(execute=False):
        faq = services.faq_endorse(message=asked.answer, user=tutor_course.instructor, answer=answer)
    services.faq_embed(faq_id=faq.pk)
    faq.refresh_from_db()
    return faq


def _answer_to(tutor_course, capture, text):
    services.notice_accept(user=tutor_course.classmate, course=tutor_course.course)
    with capture(execute=False):
        asked = services.question_ask(student=tutor_course.classmate, course=tutor_course.course, text=text)
    return services.answer_generate(answer_id=asked.answer.pk)


def test_the_faq_page_lists_the_entries_and_is_linked_from_the_manage_page(
    tutor_course, django_capture_on_commit_callbacks
):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    teacher = _client(tutor_course.instructor)
    url = f"/tutoring/courses/{tutor_course.course.pk}/manage/faq/"
    assert (
        f'href="{url}"' in teacher.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/").content.decode()
    )
    page = teacher.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "What does RuBisCO do?" in text
    assert "It fixes CO2." in text
    assert "Corrected by an instructor" in text
    assert f'action="/tutoring/faq/{faq.pk}/edit/"' in text
    assert f'action="/tutoring/faq/{faq.pk}/delete/"' in text


def test_an_edited_entry_is_embedded_again_and_answers_the_new_question(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    course_id = tutor_course.course.pk
    before = selectors.course_index(course_id=course_id)
    version = selectors.course_index_version(course_id=course_id)
    old_embedding = bytes(faq.embedding)
    teacher = _client(tutor_course.instructor)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = teacher.post(
            f"/tutoring/faq/{faq.pk}/edit/",
            {
                f"faq-{faq.pk}-question": "Where in the chloroplast does the Calvin cycle run?",
                f"faq-{faq.pk}-answer": "In the stroma.",
            },
        )
    assert saved.status_code == 302
    assert saved["Location"] == f"/tutoring/courses/{course_id}/manage/faq/#faq-{faq.pk}"
    assert len(callbacks) == 1  # the embedding task, sent once the edit is committed
    faq.refresh_from_db()
    assert (faq.question, faq.answer, faq.corrected) == (
        "Where in the chloroplast does the Calvin cycle run?",
        "In the stroma.",
        True,
    )
    assert not faq.embedding  # out of the match until embedded
    assert not faq.passage_embedding
    assert "FAQ entry saved" in teacher.get(f"/tutoring/courses/{course_id}/manage/faq/").content.decode()

    tasks.faq_embed(faq.pk)  # what the worker runs
    faq.refresh_from_db()
    assert faq.embedding
    assert faq.passage_embedding
    assert bytes(faq.embedding) != old_embedding
    assert selectors.course_index_version(course_id=course_id) != version
    after = selectors.course_index(course_id=course_id)
    assert after is not before
    assert after.faqs[-faq.pk].answer == "In the stroma."

    monkeypatch.setattr(runtime, "generator", lambda: pytest.fail("an FAQ answer needs no generation"))
    answer = _answer_to(
        tutor_course,
        django_capture_on_commit_callbacks,
        "Where in the chloroplast does the Calvin cycle run?",
    )
    assert (answer.source, answer.text, answer.faq_id) == (Message.Source.FAQ, "In the stroma.", faq.pk)


def test_an_edited_question_is_redacted(tutor_course, django_capture_on_commit_callbacks):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        _client(tutor_course.instructor).post(
            f"/tutoring/faq/{faq.pk}/edit/",
            {
                f"faq-{faq.pk}-question": "Amelia Okonkwo asked: what does RuBisCO do? amelia@school.test",
                f"faq-{faq.pk}-answer": "It fixes CO2.",
            },
        )
    faq.refresh_from_db()
    assert "RuBisCO" in faq.question
    assert "Amelia" not in faq.question
    assert "Okonkwo" not in faq.question
    assert "amelia@school.test" not in faq.question


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        ("", "An answer.", "This field is required."),
        ("A question?", "   ", "This field is required."),
        ("x" * 2001, "An answer.", "at most 2000 characters"),
        ("A question?", "y" * 8001, "at most 8000 characters"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    tutor_course, django_capture_on_commit_callbacks, question, answer, message
):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refused = _client(tutor_course.instructor).post(
            f"/tutoring/faq/{faq.pk}/edit/",
            {f"faq-{faq.pk}-question": question, f"faq-{faq.pk}-answer": answer},
        )
    assert refused.status_code == 400
    assert message in refused.content.decode()
    assert callbacks == []
    unchanged = FaqEntry.objects.get(pk=faq.pk)
    assert (unchanged.question, unchanged.answer) == (faq.question, faq.answer)
    assert bytes(unchanged.embedding) == bytes(faq.embedding)


def test_delete_removes_the_entry_from_the_page_and_the_match(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    teacher = _client(tutor_course.instructor)
    deleted = teacher.post(f"/tutoring/faq/{faq.pk}/delete/")
    assert deleted.status_code == 302
    assert not FaqEntry.objects.filter(pk=faq.pk).exists()
    page = teacher.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/faq/").content.decode()
    assert "FAQ entry deleted." in page
    assert "No FAQ entries yet" in page
    assert -faq.pk not in selectors.course_index(course_id=tutor_course.course.pk).faqs
    again = _endorsed(tutor_course, django_capture_on_commit_callbacks, question="What is chlorophyll?")
    by_htmx = teacher.post(f"/tutoring/faq/{again.pk}/delete/", HTTP_HX_REQUEST="true")
    assert by_htmx.status_code == 204
    assert by_htmx["HX-Redirect"] == f"/tutoring/courses/{tutor_course.course.pk}/manage/faq/"
    # Endorsing and deleting are in the audit log, by the instructor, with ids and no text.
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.TUTOR_ENDORSE).order_by("id")
    assert [(e.actor_id, e.details["change"], e.details["faq_id"]) for e in entries] == [
        (tutor_course.instructor.pk, "endorsed", faq.pk),
        (tutor_course.instructor.pk, "deleted", faq.pk),
        (tutor_course.instructor.pk, "endorsed", again.pk),
        (tutor_course.instructor.pk, "deleted", again.pk),
    ]
    assert all("RuBisCO" not in str(e.details) + e.target_label for e in entries)


def test_students_and_other_courses_instructors_are_refused(tutor_course, django_capture_on_commit_callbacks):
    faq = _endorsed(tutor_course, django_capture_on_commit_callbacks)
    other_instructor = EnrollmentFactory.create(
        course=CourseFactory.create(), role=Enrollment.Role.INSTRUCTOR
    ).user
    material = tutor_course.material
    for user in (tutor_course.student, other_instructor):
        client = _client(user)
        assert client.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/faq/").status_code == 404
        edit = client.post(
            f"/tutoring/faq/{faq.pk}/edit/",
            {f"faq-{faq.pk}-question": "Hijacked?", f"faq-{faq.pk}-answer": "Hijacked."},
        )
        assert edit.status_code == 404
        assert client.post(f"/tutoring/faq/{faq.pk}/delete/").status_code == 404
        assert client.get(f"/tutoring/materials/{material.pk}/edit/").status_code == 404
        assert (
            client.post(f"/tutoring/materials/{material.pk}/edit/", {"text": "Hijacked."}).status_code == 404
        )
    faq.refresh_from_db()
    assert faq.question == "What does RuBisCO do?"
    material.refresh_from_db()
    assert "Hijacked" not in material.text


# --- Material editing --------------------------------------------------------------------------
def test_a_pasted_material_is_edited_and_ingested_again(tutor_course, django_capture_on_commit_callbacks):
    material = tutor_course.material
    old_chunks = set(material.chunks.values_list("id", flat=True))
    teacher = _client(tutor_course.instructor)
    manage = teacher.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/").content.decode()
    assert f'href="/tutoring/materials/{material.pk}/edit/"' in manage
    form = teacher.get(f"/tutoring/materials/{material.pk}/edit/").content.decode()
    assert "RuBisCO fixes carbon" in form  # the text, to edit
    assert 'type="file"' not in form

    empty = teacher.post(f"/tutoring/materials/{material.pk}/edit/", {"title": "X", "text": "  "})
    assert empty.status_code == 400
    assert "Paste the material&#x27;s text." in empty.content.decode()
    material.refresh_from_db()
    assert material.title == "Photosynthesis"

    new_text = "# Photosynthesis\n\n## Stroma\nThe Calvin cycle runs in the stroma of the chloroplast."
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        saved = teacher.post(
            f"/tutoring/materials/{material.pk}/edit/", {"title": "Photosynthesis, short", "text": new_text}
        )
    assert saved.status_code == 302
    assert len(callbacks) == 1  # the ingestion task
    material.refresh_from_db()
    assert (material.title, material.status) == ("Photosynthesis, short", Material.Status.PENDING)
    assert (
        "Waiting to be processed"
        in teacher.get(f"/tutoring/courses/{tutor_course.course.pk}/manage/materials/").content.decode()
    )
    tasks.material_ingest(material.pk)  # what the worker runs
    material.refresh_from_db()
    assert material.status == Material.Status.READY
    chunks = Chunk.objects.filter(material=material)
    assert chunks.exists()
    assert not set(chunks.values_list("id", flat=True)) & old_chunks
    assert "stroma" in " ".join(chunks.values_list("text", flat=True))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        renamed = teacher.post(
            f"/tutoring/materials/{material.pk}/edit/", {"title": "Light and sugar", "text": new_text}
        )
    assert renamed.status_code == 302
    assert callbacks == []  # same text: nothing to ingest
    material.refresh_from_db()
    assert (material.title, material.status) == ("Light and sugar", Material.Status.READY)


def test_an_uploaded_material_is_replaced_by_a_new_file(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    teacher = _client(tutor_course.instructor)
    with django_capture_on_commit_callbacks(execute=False):
        material = services.material_create(
            course=tutor_course.course,
            user=tutor_course.instructor,
            upload=SimpleUploadedFile("enzymes.md", b"# Enzymes\n\nEnzymes lower activation energy."),
        )
    services.material_ingest(material_id=material.pk)
    old_file = material.file.name
    form = teacher.get(f"/tutoring/materials/{material.pk}/edit/").content.decode()
    assert 'type="file"' in form
    assert "activation energy" not in form  # an upload is replaced, not edited as text

    bad = teacher.post(
        f"/tutoring/materials/{material.pk}/edit/", {"file": SimpleUploadedFile("slides.pptx", b"PK")}
    )
    assert bad.status_code == 400
    assert "not a supported file type" in bad.content.decode().replace("&#x27;", "'")
    nothing = teacher.post(f"/tutoring/materials/{material.pk}/edit/", {"title": ""})
    assert nothing.status_code == 400
    assert "Give a new title or choose a new file." in nothing.content.decode()
    material.refresh_from_db()
    assert (material.file.name, material.status) == (old_file, Material.Status.READY)

    replacement = SimpleUploadedFile(
        "enzymes-v2.md", b"# Enzymes\n\nEnzymes are proteins that speed up reactions."
    )
    sent = []
    monkeypatch.setattr(services, "task_send", lambda task, *args: sent.append((task.name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        saved = teacher.post(f"/tutoring/materials/{material.pk}/edit/", {"title": "", "file": replacement})
    assert saved.status_code == 302
    assert sent == [("tutoring.tasks.material_ingest", (material.pk,))]
    material.refresh_from_db()
    assert material.title == "enzymes"
    assert material.file.name != old_file
    assert "speed up reactions" in material.text
    assert not material.file.storage.exists(old_file)
    tasks.material_ingest(material.pk)
    material.refresh_from_db()
    assert material.status == Material.Status.READY
    assert "speed up reactions" in " ".join(material.chunks.values_list("text", flat=True))
    material.file.delete(save=False)
