"""The course's model server is down when a student asks: the answer task fails with a transient
error, the model version's circuit breaker opens (later attempts fail at once, without calling
the server), the task retries with backoff, and when the server is back the breaker lets a trial
call through and the answer is delivered, once. Through a real inference worker (its own, on a
broker of the test's own, with a breaker that opens after one failure and resets after 3 s) and
a real OpenAI-compatible server on loopback serving the bundled model."""

import pytest

from eduai.ml.models import ModelVersion
from eduai.ml.services import model_version_promote
from tests.conftest import wait_for
from tests.eduai.ml.serving import model_server
from tests.faults import celery_producer, free_port
from tutoring import services
from tutoring.models import Message

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_answer_waits_out_a_model_server_outage(
    tutor_course, redis_server, start_inference_worker, tmp_path
):
    port = free_port()  # nothing listens here until the server "comes back"
    model_version_promote(
        version=ModelVersion.objects.create(
            task=ModelVersion.Task.GENERATION,
            scope=f"course:{tutor_course.course.pk}",
            name="smollm2",
            base_model="SmolLM2-135M-Instruct",
            backend=ModelVersion.Backend.OPENAI_COMPATIBLE,
            weights_path=f"http://127.0.0.1:{port}/v1",
        )
    )
    start_inference_worker({"EDUAI_BREAKER_FAILURES": "1", "EDUAI_BREAKER_RESET_SECONDS": "3"})
    log = tmp_path / "inference-0.log"
    services.notice_accept(user=tutor_course.student, course=tutor_course.course)
    with celery_producer(redis_server.url(0)):
        asked = services.question_ask(
            student=tutor_course.student,
            course=tutor_course.course,
            text="Which enzyme fixes carbon dioxide in the Calvin cycle?",
        )

    # The first attempt meets the dead server; the next ones meet the open breaker.
    wait_for(lambda: "cannot be reached" in log.read_text(), timeout=300, what="the first failure")
    wait_for(lambda: "not called again" in log.read_text(), timeout=120, what="the open breaker")
    asked.answer.refresh_from_db()
    assert asked.answer.status != Message.Status.DONE

    with model_server(port):
        answer = wait_for(
            lambda: Message.objects.filter(pk=asked.answer.pk, status=Message.Status.DONE).first(),
            timeout=600,
            what="the answer once the server is back",
        )
    assert answer.source == Message.Source.MODEL
    assert answer.text.strip()
    assert Message.objects.filter(reply_to=asked.question).count() == 1  # one answer, not one per try
    assert "retry: Retry in" in log.read_text()
