"""The stale-work sweep: every kind of durable work is registered, one failing finder does not
stop the others, and each finder sends again only what waited too long, once in a while, and
stops at a broker that refuses."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from analytics import next_step_services
from analytics.models import NextStep
from eduai.celery import app
from eduai.operations import stale_work
from eduai.operations.stale_work import StaleWork, stale_work_kinds, stale_work_requeue
from tests.factories import (
    CourseFactory,
    FaqEntryFactory,
    KnowledgePointFactory,
    MaterialFactory,
    UserFactory,
)
from tutoring import services as tutoring_services
from tutoring.models import Material

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=1)


class Broker:
    """Stands in for ``task_send``: records what was sent; ``down`` refuses it, as task_send
    does when the broker is unreachable."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.down = False

    def __call__(self, task, object_id: int) -> bool:
        if self.down:
            return False
        self.sent.append((task.name, object_id))
        return True


@pytest.fixture
def broker(monkeypatch) -> Broker:
    fake = Broker()
    monkeypatch.setattr(stale_work, "task_send", fake)
    return fake


def _age(model, pk: int, field: str, by: timedelta = LONG_AGO) -> None:
    model.objects.filter(pk=pk).update(**{field: timezone.now() - by})


def test_every_kind_of_lost_work_has_a_finder_and_beat_runs_them():
    assert {kind.name for kind in stale_work_kinds()} == {
        "analytics.next-steps",
        "grading.submissions",
        "lti.score-passbacks",
        "ml.training-runs",
        "tutoring.answers",
        "tutoring.faq-entries",
        "tutoring.materials",
    }
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "eduai.operations.tasks.stale_work_requeue" in tasks
    assert not {name for name in tasks if name.endswith(("_requeue", "_recover"))} - {
        "eduai.operations.tasks.stale_work_requeue"
    }, "one sweep for lost work: register a StaleWork instead of a beat task of its own"


def test_a_failing_finder_neither_stops_nor_hides_the_others(monkeypatch, caplog):
    seen: list[tuple[str, timedelta]] = []

    def fine(*, older_than: timedelta) -> list[int]:
        seen.append(("fine", older_than))
        return [1, 2]

    def broken(*, older_than: timedelta) -> list[int]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(stale_work, "_kinds", {})
    stale_work.stale_work_register(StaleWork("a.broken", broken, after=timedelta(minutes=1)))
    stale_work.stale_work_register(StaleWork("b.fine", fine, after=lambda: timedelta(minutes=7)))
    cache.delete_many(["eduai:resent:stale-work:a.broken", "eduai:resent:stale-work:b.fine"])
    assert stale_work_requeue() == {"a.broken": -1, "b.fine": 2}
    assert seen == [("fine", timedelta(minutes=7))]  # its own threshold (a callable: read each time)
    assert "stale work a.broken could not be sent again" in caplog.text
    # Beat comes back every 2 minutes; each kind runs again only once its own wait is over.
    assert stale_work_requeue() == {}
    assert stale_work_requeue(older_than=timedelta(0)) == {"a.broken": -1, "b.fine": 2}
    assert seen[-1] == ("fine", timedelta(0))
    cache.delete_many(["eduai:resent:stale-work:a.broken", "eduai:resent:stale-work:b.fine"])


def test_stale_materials_are_ingested_again_once_per_period(broker):
    pending = MaterialFactory.create(status=Material.Status.PENDING)
    stuck = MaterialFactory.create(status=Material.Status.PROCESSING)
    fresh = MaterialFactory.create(status=Material.Status.PENDING)
    ready = MaterialFactory.create(status=Material.Status.READY)
    failed = MaterialFactory.create(status=Material.Status.FAILED)
    for material in (pending, stuck, ready, failed):
        _age(Material, material.pk, "updated_at")
    after = tutoring_services.STALE_MATERIAL_AFTER
    assert sorted(tutoring_services.materials_requeue_stale(older_than=after)) == sorted(
        [pending.pk, stuck.pk]
    )
    assert {name for name, _ in broker.sent} == {"tutoring.tasks.material_ingest"}
    assert fresh.pk not in {pk for _, pk in broker.sent}
    # Sent: its clock starts again, so the next sweep leaves it to the task just sent.
    assert tutoring_services.materials_requeue_stale(older_than=after) == []


def test_the_material_sweep_stops_at_a_refusing_broker_and_sends_later(broker):
    material = MaterialFactory.create(status=Material.Status.PENDING)
    _age(Material, material.pk, "updated_at")
    broker.down = True
    assert tutoring_services.materials_requeue_stale(older_than=timedelta(minutes=10)) == []
    broker.down = False  # not touched while refused: the next sweep sends it
    assert tutoring_services.materials_requeue_stale(older_than=timedelta(minutes=10)) == [material.pk]


def test_unembedded_faq_entries_are_embedded_again_once_in_a_while(broker):
    lost = FaqEntryFactory.create()
    fresh = FaqEntryFactory.create()
    embedded = FaqEntryFactory.create(embedding=b"\0" * 8, passage_embedding=b"\0" * 8)
    for faq in (lost, embedded):
        _age(type(faq), faq.pk, "created_at")
    cache.delete(f"eduai:resent:tutoring.faq:{lost.pk}")
    after = tutoring_services.STALE_FAQ_AFTER
    assert tutoring_services.faq_entries_requeue_stale(older_than=after) == [lost.pk]
    assert broker.sent == [("tutoring.tasks.faq_embed", lost.pk)]
    assert fresh.pk not in {pk for _, pk in broker.sent}
    # Not again at the next sweep: a copy may still be running.
    assert tutoring_services.faq_entries_requeue_stale(older_than=after) == []
    cache.delete(f"eduai:resent:tutoring.faq:{lost.pk}")


def test_embedding_an_embedded_faq_entry_again_costs_nothing(monkeypatch):
    faq = FaqEntryFactory.create(embedding=b"\1" * 8, passage_embedding=b"\2" * 8)

    def no_model(*args, **kwargs):
        raise AssertionError("an embedded entry is not embedded again")

    monkeypatch.setattr(tutoring_services, "embed_queries", no_model)
    monkeypatch.setattr(tutoring_services, "embed_passages", no_model)
    assert tutoring_services.faq_embed(faq_id=faq.pk) == faq


def test_pending_next_steps_are_generated_again(broker):
    course = CourseFactory.create()
    point = KnowledgePointFactory.create(course=course)
    lost = NextStep.objects.create(course=course, user=UserFactory.create(), knowledge_point=point)
    fresh = NextStep.objects.create(course=course, user=UserFactory.create(), knowledge_point=point)
    done = NextStep.objects.create(
        course=course, user=UserFactory.create(), knowledge_point=point, status=NextStep.Status.GENERATED
    )
    for step in (lost, done):
        _age(NextStep, step.pk, "updated_at")
    after = next_step_services.PENDING_RETRY_AFTER
    assert next_step_services.next_steps_requeue_stale(older_than=after) == [lost.pk]
    assert broker.sent == [("analytics.tasks.next_step_generate", lost.pk)]
    assert fresh.pk not in {pk for _, pk in broker.sent}
    assert next_step_services.next_steps_requeue_stale(older_than=after) == []
