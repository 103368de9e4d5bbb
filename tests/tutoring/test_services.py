"""Materials and their ingestion, the checks on a question, and answers (real models)."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from analytics.models import LearningEvent
from eduai.courses.models import Enrollment
from eduai.documents import DocumentError
from eduai.ml import runtime
from eduai.ml.streams import stream_events
from eduai.privacy.pseudonyms import pseudonym
from tests.factories import AssignmentFactory, CourseFactory, EnrollmentFactory, UserFactory
from tutoring import replies, selectors, services
from tutoring.models import (
    AiNoticeAcceptance,
    Chunk,
    Conversation,
    FaqEntry,
    Material,
    Message,
    TutorSettings,
)

pytestmark = pytest.mark.django_db


def _events(stream_id):
    return list(stream_events(stream_id, timeout_seconds=5))


def _text(events):
    return "".join(event.data["text"] for event in events if event.event == "token")


def _ask(tutor_course, text, *, capture, user=None):
    user = user or tutor_course.student
    services.notice_accept(user=user, course=tutor_course.course)
    with capture(execute=False):
        return services.question_ask(student=user, course=tutor_course.course, text=text)


# --- Materials ---------------------------------------------------------------------------------
def test_ingestion_chunks_by_heading_with_offsets_and_embeddings(tutor_course):
    material = tutor_course.material
    assert (material.status, material.progress, material.indexed_hash) == (
        "ready",
        100,
        material.content_hash,
    )
    chunks = list(material.chunks.all())
    assert len(chunks) >= 2
    assert {chunk.heading for chunk in chunks} >= {"Photosynthesis > The Calvin cycle"} or any(
        "Calvin" in chunk.heading for chunk in chunks
    )
    for chunk in chunks:
        assert material.text[chunk.start : chunk.end] == chunk.text
        assert len(bytes(chunk.embedding)) == 4 * 384  # float32 MiniLM vector
    assert all(chunk.course_id == material.course_id for chunk in chunks)


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (ConnectionError("model server gone"), "pending", "will be retried"),
        (RuntimeError("a bug"), "failed", "Upload the file again"),
    ],
)
def test_a_failed_ingestion_says_whether_it_will_be_retried(
    tutor_course, monkeypatch, django_capture_on_commit_callbacks, error, status, message
):
    material = tutor_course.material
    with django_capture_on_commit_callbacks(execute=False):
        services.material_update(material=material, text=material.text + "\n\nA new paragraph.")

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(services, "embed_passages", broken)
    with pytest.raises(type(error)):
        services.material_ingest(material_id=material.pk)
    material.refresh_from_db()
    assert material.status == status
    assert message in material.error


def test_a_changed_text_is_ingested_again_and_deletion_removes_chunks(
    tutor_course, django_capture_on_commit_callbacks
):
    material = tutor_course.material
    old_ids = set(material.chunks.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.material_update(material=material, text=material.text)  # same text: nothing to do
    assert callbacks == []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.material_update(
            material=material, text="# Photosynthesis\n\nPlants make glucose from light."
        )
    assert len(callbacks) == 1
    assert material.status == Material.Status.PENDING
    services.material_ingest(material_id=material.pk)
    new_ids = set(Chunk.objects.filter(material=material).values_list("id", flat=True))
    assert new_ids
    assert not new_ids & old_ids
    services.material_delete(material=material)
    assert not Chunk.objects.filter(id__in=new_ids).exists()


def test_upload_reads_the_file_and_a_bad_file_is_refused_with_the_reason(
    tutor_course, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("notes.md", b"# Enzymes\n\nEnzymes lower activation energy.")
    with django_capture_on_commit_callbacks(execute=False):
        material = services.material_create(course=tutor_course.course, user=None, upload=upload)
    assert (material.title, material.kind) == ("notes", Material.Kind.MARKDOWN)
    assert "activation energy" in material.text
    with pytest.raises(DocumentError, match="not a supported file type"):
        services.material_create(
            course=tutor_course.course, user=None, upload=SimpleUploadedFile("a.exe", b"MZ")
        )
    with pytest.raises(DocumentError, match="not a PDF"):
        services.material_create(
            course=tutor_course.course, user=None, upload=SimpleUploadedFile("a.pdf", b"hello")
        )
    with pytest.raises(DocumentError):
        services.material_create(course=tutor_course.course, user=None, text="   ")


def test_the_index_is_cached_per_version_and_rebuilt_after_a_change(
    tutor_course, django_capture_on_commit_callbacks
):
    course_id = tutor_course.course.pk
    first = selectors.course_index(course_id=course_id)
    assert selectors.course_index(course_id=course_id) is first
    services.material_delete(material=tutor_course.material)
    second = selectors.course_index(course_id=course_id)
    assert second is not first
    assert len(second.chunks) < len(first.chunks)


# --- Consent to AI use: once per user --------------------------------------------------------
def test_consent_is_asked_once_per_user_and_again_when_the_notice_changes(tutor_course, monkeypatch):
    student = tutor_course.student
    other_course = CourseFactory.create()
    EnrollmentFactory.create(course=other_course, user=student, role=Enrollment.Role.LEARNER)
    assert not selectors.notice_accepted(user=student)
    services.notice_accept(user=student, course=tutor_course.course)
    services.notice_accept(user=student, course=other_course)  # already given: nothing new
    (given,) = AiNoticeAcceptance.objects.filter(user=student)
    assert (given.course_id, given.notice_version) == (tutor_course.course.pk, 1)
    assert selectors.notice_accepted(user=student)  # in every course
    assert not selectors.notice_accepted(user=tutor_course.classmate)
    monkeypatch.setattr(selectors, "NOTICE_VERSION", 2)  # a changed notice is accepted again
    assert not selectors.notice_accepted(user=student)
    services.notice_accept(user=student, course=other_course)
    assert AiNoticeAcceptance.objects.filter(user=student).count() == 2


# --- Asking: stored first, then checked ------------------------------------------------------
def test_a_refused_question_is_stored_with_its_reason(tutor_course, django_capture_on_commit_callbacks):
    course, student = tutor_course.course, tutor_course.student
    with pytest.raises(services.TutorRefusedError) as refused:
        services.question_ask(student=student, course=course, text="What is RuBisCO?")
    assert refused.value.code == "notice"
    question = Message.objects.get(role="student")
    assert (question.text, question.status) == ("What is RuBisCO?", Message.Status.REFUSED)
    assert "AI-use notice" in question.refusal_reason

    services.notice_accept(user=student, course=course)
    services.notice_accept(user=student, course=course)  # once is recorded once
    assert AiNoticeAcceptance.objects.filter(user=student).count() == 1
    services.tutor_settings_update(course=course, enabled=False)
    with pytest.raises(services.TutorRefusedError) as refused:
        services.question_ask(student=student, course=course, text="What is RuBisCO?")
    assert refused.value.code == "disabled"


def test_burst_and_daily_limits(tutor_course, django_capture_on_commit_callbacks):
    course, _student = tutor_course.course, tutor_course.student
    services.tutor_settings_update(course=course, burst_limit=2, daily_quota=3)
    for _ in range(2):
        _ask(tutor_course, "What is RuBisCO?", capture=django_capture_on_commit_callbacks)
    with pytest.raises(services.TutorRefusedError) as refused:
        _ask(tutor_course, "What is RuBisCO?", capture=django_capture_on_commit_callbacks)
    assert refused.value.code == "burst"
    Message.objects.filter(role="student").update(created_at=timezone.now() - timedelta(minutes=2))
    _ask(tutor_course, "What is RuBisCO?", capture=django_capture_on_commit_callbacks)
    with pytest.raises(services.TutorRefusedError) as refused:
        _ask(tutor_course, "What is RuBisCO?", capture=django_capture_on_commit_callbacks)
    assert refused.value.code == "quota"
    # A classmate has a quota of their own.
    _ask(
        tutor_course,
        "What is RuBisCO?",
        capture=django_capture_on_commit_callbacks,
        user=tutor_course.classmate,
    )


def test_only_the_course_students_ask_and_the_link_settings_override_the_course(tutor_course):
    outsider = UserFactory.create()
    with pytest.raises(services.TutorRefusedError) as refused:
        services.question_ask(student=outsider, course=tutor_course.course, text="Hi")
    assert refused.value.code == "not_enrolled"
    with pytest.raises(services.TutorRefusedError):
        services.question_ask(student=tutor_course.instructor, course=tutor_course.course, text="Hi")
    course = tutor_course.course
    services.tutor_settings_update(course=course, mode="direct", instructions="Use metric units.")
    effective = selectors.tutor_settings_get(course_id=course.pk, resource_link_id=12345)
    assert (effective.mode, effective.instructions, effective.enabled) == (
        "direct",
        "Use metric units.",
        True,
    )
    assert selectors.tutor_settings_get(course_id=CourseFactory.create().pk).mode == "socratic"
    assert TutorSettings.objects.count() == 1


def test_student_text_is_redacted_and_the_event_recorded(tutor_course, django_capture_on_commit_callbacks):
    asked = _ask(
        tutor_course,
        "I'm Amelia Okonkwo (amelia@school.test), Jonas said RuBisCO fixes CO2: is that right?",
        capture=django_capture_on_commit_callbacks,
    )
    redacted = asked.question.redacted_text
    course_id = tutor_course.course.pk
    assert "Amelia" not in redacted
    assert "Okonkwo" not in redacted
    assert "Jonas" not in redacted
    assert "amelia@school.test" not in redacted
    assert pseudonym(user_id=tutor_course.classmate.pk, course_id=course_id) in redacted
    assert asked.answer.status == Message.Status.PENDING
    assert asked.answer.stream_id
    event = LearningEvent.objects.get(verb="asked")
    assert event.object_id == str(asked.question.pk)


def test_self_harm_gets_support_at_once_and_flags_the_conversation(
    tutor_course, django_capture_on_commit_callbacks
):
    asked = _ask(
        tutor_course,
        "I can't do this anymore, I want to kill myself",
        capture=django_capture_on_commit_callbacks,
    )
    answer = asked.answer
    assert answer.status == Message.Status.DONE
    assert answer.source == Message.Source.MODERATION
    assert "988" in answer.text
    assert "talk to someone" in answer.text
    assert asked.question.moderation == "self_harm"
    assert Conversation.objects.get().flagged
    events = _events(answer.stream_id)
    assert [events[0].event, events[-1].event] == ["start", "end"]
    assert _text(events) == answer.text


def test_a_student_writing_chinese_gets_the_fixed_replies_in_chinese(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    asked = _ask(tutor_course, "我真的不想活了", capture=django_capture_on_commit_callbacks)
    assert asked.answer.source == Message.Source.MODERATION
    assert "12356" in asked.answer.text
    assert "talk to someone" not in asked.answer.text
    assert _text(_events(asked.answer.stream_id)) == asked.answer.text

    def no_generation():
        raise AssertionError("the generator must not be asked")

    monkeypatch.setattr(runtime, "generator", no_generation)
    asked = _ask(tutor_course, "1998年足球世界杯谁赢了?", capture=django_capture_on_commit_callbacks)
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.source == Message.Source.NOT_FOUND
    assert answer.text != str(replies.NOT_FOUND)  # not the English text
    with translation.override("zh-hans"):
        assert answer.text == str(replies.NOT_FOUND)
    assert "课程材料" in answer.text


def test_harassment_is_refused_without_the_model(tutor_course, django_capture_on_commit_callbacks):
    asked = _ask(tutor_course, "you are a stupid idiot tutor", capture=django_capture_on_commit_callbacks)
    assert asked.answer.source == Message.Source.MODERATION
    assert "respectful" in asked.answer.text


# --- Answers (real encoder and generator) --------------------------------------------------------
def test_an_answer_is_streamed_cited_and_stored(tutor_course, django_capture_on_commit_callbacks):
    asked = _ask(
        tutor_course,
        "Which enzyme fixes carbon dioxide in the Calvin cycle?",
        capture=django_capture_on_commit_callbacks,
    )
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.status == Message.Status.DONE
    assert answer.source == Message.Source.MODEL
    assert answer.text
    assert answer.completion_tokens > 0
    assert answer.prompt_tokens > 50
    cited = {citation["chunk"] for citation in answer.citations}
    calvin = Chunk.objects.get(material=tutor_course.material, text__contains="RuBisCO")
    assert calvin.pk in cited
    events = _events(answer.stream_id)
    assert events[0].event == "start"
    assert events[-1].event == "end"
    assert events[-1].data["message_id"] == answer.pk
    assert _text(events).strip() == answer.text
    # Run again (a redelivered task): the stored answer stands, nothing is generated twice.
    assert services.answer_generate(answer_id=answer.pk).text == answer.text


def test_nothing_relevant_says_so_instead_of_answering(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    def no_generation():
        raise AssertionError("the generator must not be asked")

    monkeypatch.setattr(runtime, "generator", no_generation)
    asked = _ask(
        tutor_course, "Who won the football world cup in 1998?", capture=django_capture_on_commit_callbacks
    )
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.source == Message.Source.NOT_FOUND
    assert "couldn't find this in the course material" in answer.text
    assert answer.citations == []


def test_an_endorsed_answer_is_given_to_the_same_question(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    asked = _ask(tutor_course, "What does RuBisCO do?", capture=django_capture_on_commit_callbacks)
    answer = services.answer_generate(answer_id=asked.answer.pk)
    with pytest.raises(ValidationError):
        services.faq_endorse(message=answer, user=tutor_course.student, answer="Anything")
    with pytest.raises(ValidationError, match="at most 8,000 characters"):
        services.faq_endorse(
            message=answer,
            user=tutor_course.instructor,
            answer="x" * (services.FAQ_ANSWER_MAX_CHARACTERS + 1),
        )
    assert not FaqEntry.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        faq = services.faq_endorse(
            message=answer, user=tutor_course.instructor, answer="RuBisCO fixes CO2 into sugar in the stroma."
        )
    assert faq.corrected
    assert faq.question == "What does RuBisCO do?"
    services.faq_embed(faq_id=faq.pk)

    monkeypatch.setattr(runtime, "generator", lambda: pytest.fail("an FAQ answer needs no generation"))
    again = _ask(
        tutor_course,
        "What does RuBisCO do?",
        capture=django_capture_on_commit_callbacks,
        user=tutor_course.classmate,
    )
    second = services.answer_generate(answer_id=again.answer.pk)
    assert (second.source, second.text, second.faq_id) == ("faq", faq.answer, faq.pk)
    assert _text(_events(second.stream_id)).strip() == faq.answer
    assert FaqEntry.objects.count() == 1


class ScriptedGenerator:
    """Stands in for the model where a test needs a given output (the guard is what is tested)."""

    def __init__(self, text):
        self.text = text

    def stream(self, request):
        self.request = request
        yield from (word + " " for word in self.text.split())

    def count_tokens(self, text):
        return len(text.split())


def test_socratic_mode_replaces_a_leaking_answer_with_a_hint(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    reference = (
        "RuBisCO fixes carbon dioxide into sugars in the stroma using ATP and NADPH from the light reactions."
    )
    AssignmentFactory.create(course=tutor_course.course, reference_answers=[reference])
    generator = ScriptedGenerator("Good question! " + reference + " That is the whole answer.")
    _serve_generator(monkeypatch, generator)
    asked = _ask(
        tutor_course,
        "Which enzyme fixes carbon dioxide in the Calvin cycle?",
        capture=django_capture_on_commit_callbacks,
    )
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.source == Message.Source.HINT
    assert answer.text == str(replies.LEAK_HINT)
    assert answer.leak_score is not None
    assert answer.leak_score >= 0.5
    streamed = _text(_events(answer.stream_id))
    # Held-back words: the reference's wording never reached the student in full.
    assert reference not in streamed
    assert streamed.endswith(str(replies.LEAK_HINT))
    # The reference answers are never in the prompt.
    assert all(reference not in message["content"] for message in generator.request.messages)


def test_direct_mode_does_not_check_for_leaks(tutor_course, django_capture_on_commit_callbacks, monkeypatch):
    reference = (
        "RuBisCO fixes carbon dioxide into sugars in the stroma using ATP and NADPH from the light reactions."
    )
    AssignmentFactory.create(course=tutor_course.course, reference_answers=[reference])
    services.tutor_settings_update(course=tutor_course.course, mode="direct")
    _serve_generator(monkeypatch, ScriptedGenerator(reference))
    asked = _ask(
        tutor_course,
        "Which enzyme fixes carbon dioxide in the Calvin cycle?",
        capture=django_capture_on_commit_callbacks,
    )
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.source == Message.Source.MODEL
    assert answer.leak_score is None


def test_unsafe_model_output_is_withheld_and_flagged(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    _serve_generator(monkeypatch, ScriptedGenerator("Photosynthesis is dull, shut up and go kill yourself."))
    asked = _ask(
        tutor_course,
        "Explain the light reactions of photosynthesis",
        capture=django_capture_on_commit_callbacks,
    )
    answer = services.answer_generate(answer_id=asked.answer.pk)
    assert answer.source == Message.Source.MODERATION
    assert answer.text == str(replies.OUTPUT_REFUSAL)
    assert "kill yourself" not in _text(_events(answer.stream_id))
    assert Conversation.objects.get().flagged


def test_a_model_failure_ends_the_stream_with_an_error(
    tutor_course, django_capture_on_commit_callbacks, monkeypatch
):
    class Broken(ScriptedGenerator):
        def stream(self, request):
            yield "Half"
            raise RuntimeError("device lost")

    _serve_generator(monkeypatch, Broken(""))
    asked = _ask(
        tutor_course,
        "Explain the light reactions of photosynthesis",
        capture=django_capture_on_commit_callbacks,
    )
    with pytest.raises(RuntimeError):
        services.answer_generate(answer_id=asked.answer.pk)
    asked.answer.refresh_from_db()
    assert asked.answer.status == Message.Status.FAILED
    assert _events(asked.answer.stream_id)[-1].event == "error"
    assert Message.objects.get(role="student").text  # the question is kept


def test_multi_turn_history_is_in_the_prompt(tutor_course, django_capture_on_commit_callbacks, monkeypatch):
    generator = ScriptedGenerator("The stroma of the chloroplast [1].")
    _serve_generator(monkeypatch, generator)
    first = _ask(tutor_course, "Where does the Calvin cycle run?", capture=django_capture_on_commit_callbacks)
    services.answer_generate(answer_id=first.answer.pk)
    second = _ask(
        tutor_course, "And which enzyme fixes carbon there?", capture=django_capture_on_commit_callbacks
    )
    services.answer_generate(answer_id=second.answer.pk)
    roles = [message["role"] for message in generator.request.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert "Where does the Calvin cycle run?" in generator.request.messages[1]["content"]
    assert len(Message.objects.get(pk=second.answer.pk).citations) == 1  # only [1] is cited


# --- Feedback ------------------------------------------------------------------------------------
def test_rating_and_flagging(tutor_course, django_capture_on_commit_callbacks):
    asked = _ask(tutor_course, "I want to kill myself", capture=django_capture_on_commit_callbacks)
    answer = asked.answer
    services.message_rate(message=answer, user=tutor_course.student, rating=1)
    assert Message.objects.get(pk=answer.pk).rating == 1
    assert LearningEvent.objects.get(verb="rated").result_score == 1
    with pytest.raises(ValidationError):
        services.message_rate(message=answer, user=tutor_course.student, rating=2)
    with pytest.raises(ValidationError):
        services.message_rate(message=answer, user=tutor_course.classmate, rating=0)
    services.message_flag(message=answer, user=tutor_course.student, reason="Not what I asked")
    assert Message.objects.get(pk=answer.pk).student_flag == "Not what I asked"


def test_students_get_stable_per_course_numbers(tutor_course):
    course_id = tutor_course.course.pk
    first = services.student_number_assign(course_id=course_id, user_id=tutor_course.student.pk)
    second = services.student_number_assign(course_id=course_id, user_id=tutor_course.classmate.pk)
    assert (first, second) == (1, 2)
    assert services.student_number_assign(course_id=course_id, user_id=tutor_course.student.pk) == 1
    assert selectors.student_label(course_id=course_id, user_id=tutor_course.classmate.pk) == "Student 2"


def test_size_limits_are_checked_before_reading(tutor_course, settings):
    settings.UPLOAD_MAX_BYTES = 10
    settings.UPLOAD_MAX_TEXT_CHARS = 20
    with pytest.raises(DocumentError, match="the largest file accepted is 10 bytes"):
        services.material_create(
            course=tutor_course.course, user=None, upload=SimpleUploadedFile("big.txt", b"x" * 11)
        )
    with pytest.raises(DocumentError, match="the most accepted is 20"):
        services.material_create(course=tutor_course.course, user=None, text="y" * 21)
    assert Material.objects.filter(course=tutor_course.course).count() == 2  # the fixture's two


def _serve_generator(monkeypatch: pytest.MonkeyPatch, generator: Any) -> None:
    """The tutor asks the runtime for its generator (token counts) and its stream."""
    monkeypatch.setattr(runtime, "generator", lambda scope="": generator)
    monkeypatch.setattr(runtime, "stream", lambda request, scope="": generator.stream(request))
