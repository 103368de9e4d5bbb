"""A streamed generation end to end: API, real worker on the inference queue, SSE back."""

import json
from uuid import uuid4

import pytest
from rest_framework.test import APIClient

from eduai.ml import runtime, tasks
from eduai.ml.generations import generation_start
from eduai.ml.streams import stream_events
from tests.conftest import sse_events
from tests.factories import UserFactory


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_answer_streams_from_the_worker_to_the_browser(celery_worker_process):
    admin = UserFactory.create(is_staff=True)
    client = APIClient()
    client.force_login(admin)
    messages = [
        {"role": "system", "content": "Passage: Mitochondria are the powerhouse of the cell."},
        {"role": "user", "content": "What is the powerhouse of the cell?"},
    ]
    started = client.post("/api/v1/generations/", {"messages": messages, "max_new_tokens": 30}, format="json")
    assert started.status_code == 202, started.content
    response = client.get(started.json()["events_url"])
    assert response["Content-Type"] == "text/event-stream"
    events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "start"
    assert kinds[-1] == "end"
    assert kinds.count("token") > 3
    text = "".join(data["text"] for kind, data in events if kind == "token")
    assert "mitochondria" in text.lower()
    assert 0 < events[-1][1]["completion_tokens"] <= 31


@pytest.mark.django_db
def test_only_staff_may_start_and_only_the_owner_may_read():
    student = UserFactory.create()
    client = APIClient()
    client.force_login(student)
    body = {"messages": [{"role": "user", "content": "Hi"}]}
    assert client.post("/api/v1/generations/", body, format="json").status_code == 403

    stream_id = generation_start(
        user_id=UserFactory.create(is_staff=True).pk, messages=body["messages"], max_new_tokens=5
    )
    assert client.get(f"/api/v1/generations/{stream_id}/events").status_code == 404
    assert APIClient().get(f"/api/v1/generations/{stream_id}/events").status_code == 401


@pytest.mark.django_db
def test_bad_messages_are_refused_with_the_reason():
    client = APIClient()
    client.force_login(UserFactory.create(is_staff=True))
    response = client.post(
        "/api/v1/generations/", {"messages": [{"role": "wizard", "content": "x"}]}, format="json"
    )
    assert response.status_code == 400
    assert "role must be one of" in json.dumps(response.json())


@pytest.mark.django_db
def test_a_model_failure_ends_the_stream_with_an_error_event(monkeypatch):
    class BrokenGenerator:
        def stream(self, request):
            yield "Half an"
            raise RuntimeError("device lost")

    monkeypatch.setattr(runtime, "stream", lambda request, scope="": BrokenGenerator().stream(request))
    stream_id = uuid4()
    with pytest.raises(RuntimeError, match="device lost"):
        tasks.generate_stream.run(str(stream_id), [{"role": "user", "content": "Hi"}], 5)
    events = list(stream_events(stream_id, timeout_seconds=1))
    assert [event.event for event in events] == ["start", "token", "error"]
    assert "could not finish" in events[-1].data["message"]
