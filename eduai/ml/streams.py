"""Token streams from a worker to the web process that serves them as Server-Sent Events.

A worker publishes events (``start``, ``token``, ``end``, ``error``) under a stream id; the web
process reads them in order, waiting for new ones. With Redis configured the events go through
a Redis stream (any number of hosts); the embedded default appends them to a file under
``var/streams/`` (one machine). Events expire after an hour either way.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast
from uuid import UUID

import redis
from django.conf import settings

STREAM_LIFETIME_SECONDS = 3600
UNAVAILABLE = "The answer cannot be shown right now; it will appear in the conversation once ready."
FINAL_EVENTS = {"end", "error"}


@dataclass(frozen=True)
class StreamEvent:
    position: str
    event: str
    data: dict[str, Any]

    def as_sse(self) -> str:
        return f"id: {self.position}\nevent: {self.event}\ndata: {json.dumps(self.data)}\n\n"


class EventStore(Protocol):
    def publish(self, stream_id: UUID, event: str, data: dict[str, Any]) -> None: ...

    def read(self, stream_id: UUID, after: str, wait_seconds: float) -> list[StreamEvent]: ...


class RedisEventStore:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)

    def _key(self, stream_id: UUID) -> str:
        return f"eduai:stream:{stream_id}"

    def publish(self, stream_id: UUID, event: str, data: dict[str, Any]) -> None:
        key = self._key(stream_id)
        pipeline = self._redis.pipeline()
        pipeline.xadd(key, {"event": event, "data": json.dumps(data)})
        pipeline.expire(key, STREAM_LIFETIME_SECONDS)
        pipeline.execute()

    def read(self, stream_id: UUID, after: str, wait_seconds: float) -> list[StreamEvent]:
        reply = cast(
            list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None,
            self._redis.xread({self._key(stream_id): after or "0-0"}, block=int(wait_seconds * 1000)),
        )
        return [
            StreamEvent(
                position=position.decode(), event=fields[b"event"].decode(), data=json.loads(fields[b"data"])
            )
            for _, entries in reply or []
            for position, fields in entries
        ]


class FileEventStore:
    """One JSON line per event; a reader polls the file, so it suits one machine only."""

    POLL_SECONDS = 0.05

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _path(self, stream_id: UUID) -> Path:
        return self._directory / f"{stream_id}.jsonl"

    def publish(self, stream_id: UUID, event: str, data: dict[str, Any]) -> None:
        with self._path(stream_id).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "data": data}) + "\n")

    def read(self, stream_id: UUID, after: str, wait_seconds: float) -> list[StreamEvent]:
        deadline = time.monotonic() + wait_seconds
        seen = int(after or 0)
        while True:
            path = self._path(stream_id)
            # Only newline-terminated lines: the last one may still be being written.
            lines = path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []
            complete = lines[seen:]
            if complete or time.monotonic() >= deadline:
                return [
                    StreamEvent(position=str(seen + offset + 1), **json.loads(line))
                    for offset, line in enumerate(complete)
                ]
            time.sleep(self.POLL_SECONDS)


def event_store() -> EventStore:
    if settings.REDIS_URL:
        return RedisEventStore(settings.REDIS_URL)
    return FileEventStore(settings.VAR_DIR / "streams")


def stream_events(stream_id: UUID, *, after: str = "", timeout_seconds: float = 300) -> Iterator[StreamEvent]:
    """Events of one stream in order, until its final event or ``timeout_seconds`` of silence."""
    store = event_store()
    position = after
    while True:
        try:
            events = store.read(stream_id, position, wait_seconds=timeout_seconds)
        except redis.exceptions.RedisError:
            # Redis is down or restarting: the stream ends with an error the page can show. The
            # answer itself is stored in the database when it is done.
            yield StreamEvent(position=position or "0", event="error", data={"message": UNAVAILABLE})
            return
        if not events:
            yield StreamEvent(
                position=position or "0", event="error", data={"message": "The answer timed out."}
            )
            return
        for event in events:
            yield event
            if event.event in FINAL_EVENTS:
                return
        position = events[-1].position
