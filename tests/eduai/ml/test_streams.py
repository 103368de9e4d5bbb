import threading
from uuid import uuid4

import pytest
from django.conf import settings

from eduai.ml.streams import FileEventStore, RedisEventStore, stream_events


@pytest.fixture(params=["file", "redis"])
def store(request, tmp_path):
    if request.param == "redis":
        if settings.REDIS_UNAVAILABLE:
            pytest.skip(settings.REDIS_UNAVAILABLE)
        return RedisEventStore(settings.REDIS_URL)
    return FileEventStore(tmp_path / "streams")


def test_events_come_back_in_order_and_resume_after_a_position(store):
    stream_id = uuid4()
    for piece in ["Photo", "synthesis", " uses light"]:
        store.publish(stream_id, "token", {"text": piece})
    events = store.read(stream_id, "", wait_seconds=1)
    assert [event.data["text"] for event in events] == ["Photo", "synthesis", " uses light"]
    later = store.read(stream_id, events[0].position, wait_seconds=1)
    assert [event.data["text"] for event in later] == ["synthesis", " uses light"]


def test_a_reader_waits_for_the_next_event(store):
    stream_id = uuid4()
    threading.Timer(0.3, store.publish, args=(stream_id, "token", {"text": "late"})).start()
    events = store.read(stream_id, "", wait_seconds=10)
    assert [event.data for event in events] == [{"text": "late"}]


def test_a_silent_stream_ends_with_an_error_event(store, monkeypatch):
    monkeypatch.setattr("eduai.ml.streams.event_store", lambda: store)
    events = list(stream_events(uuid4(), timeout_seconds=0.2))
    assert [event.event for event in events] == ["error"]
    assert "timed out" in events[0].data["message"]


def test_stream_events_stop_at_the_final_event(store, monkeypatch):
    monkeypatch.setattr("eduai.ml.streams.event_store", lambda: store)
    stream_id = uuid4()
    store.publish(stream_id, "start", {})
    store.publish(stream_id, "token", {"text": "Hi"})
    store.publish(stream_id, "end", {"completion_tokens": 1})
    store.publish(stream_id, "token", {"text": "never read"})
    events = list(stream_events(stream_id, timeout_seconds=1))
    assert [event.event for event in events] == ["start", "token", "end"]
    assert events[1].as_sse() == f'id: {events[1].position}\nevent: token\ndata: {{"text": "Hi"}}\n\n'


def test_the_file_store_ignores_a_half_written_line(tmp_path):
    store = FileEventStore(tmp_path)
    stream_id = uuid4()
    store.publish(stream_id, "token", {"text": "whole"})
    with (tmp_path / f"{stream_id}.jsonl").open("a") as handle:
        handle.write('{"event": "token", "data": {"text": "hal')
    events = store.read(stream_id, "", wait_seconds=0.2)
    assert [event.data["text"] for event in events] == ["whole"]
    assert store.read(stream_id, events[-1].position, wait_seconds=0.1) == []
