"""The tutor's tasks: thin wrappers that take ids and call services (all on the inference queue,
since each one runs the embedding model or the generator)."""

from celery import shared_task

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from . import services


@shared_task(soft_time_limit=1800, time_limit=1900, **IDEMPOTENT, **RETRY_TRANSIENT)
def material_ingest(material_id: int) -> str | None:
    """Chunk and embed one material, replacing its chunks; returns its status."""
    material = services.material_ingest(material_id=material_id)
    return material.status if material is not None else None


@shared_task(soft_time_limit=300, time_limit=330, **IDEMPOTENT, **RETRY_TRANSIENT)
def answer_generate(answer_id: int) -> str:
    """Answer one question, streaming; run again after a worker died, it starts the stream over."""
    return services.answer_generate(answer_id=answer_id).source


@shared_task(soft_time_limit=120, time_limit=150, **IDEMPOTENT, **RETRY_TRANSIENT)
def faq_embed(faq_id: int) -> bool:
    """Embed an endorsed answer's question, so retrieval can match new questions to it."""
    return services.faq_embed(faq_id=faq_id) is not None
