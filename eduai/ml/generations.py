"""Generation requests from the web: who may read which stream."""

from uuid import UUID, uuid4

from django.core.cache import cache
from django.db import transaction

from .streams import STREAM_LIFETIME_SECONDS
from .tasks import generate_stream


def _owner_key(stream_id: UUID) -> str:
    return f"eduai:stream-owner:{stream_id}"


def generation_start(*, user_id: int, messages: list[dict[str, str]], max_new_tokens: int) -> UUID:
    """Enqueue a streamed generation; only ``user_id`` may read its events."""
    stream_id = uuid4()
    cache.set(_owner_key(stream_id), user_id, timeout=STREAM_LIFETIME_SECONDS)
    transaction.on_commit(lambda: generate_stream.delay(str(stream_id), messages, max_new_tokens))
    return stream_id


def generation_owner(*, stream_id: UUID) -> int | None:
    owner: int | None = cache.get(_owner_key(stream_id))
    return owner
