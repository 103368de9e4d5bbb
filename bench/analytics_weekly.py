"""Weekly course metrics benchmark: a course of 500 students and 100,000 events.

    TEST_DATABASE_NAME=bench_weekly nice -n 10 .venv/bin/python bench/analytics_weekly.py
        [--students 500] [--events 100000]

Runs on the test settings' database server (PostgreSQL from TEST_DATABASE_URL, else SQLite in
memory) in a throwaway database that it creates and drops. It builds one course of 15 weeks with
three planned items a week (two materials, one assignment) and 8 knowledge points, inserts the
events in bulk (views, submissions, grades, ratings, questions; a third tagged with knowledge
points), then times (a) the full recompute of every week, flags and knowledge-point metrics, and
(b) the incremental run after 1,000 new events in the latest week. Target: (a) < 5 s on CPU.
"""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings.test")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, models  # noqa: E402

WEEKS = 15
START = date(2026, 1, 5)
VERBS = ["viewed", "submitted", "graded", "rated", "asked", "launched"]
VERB_SHARE = [0.4, 0.1, 0.1, 0.1, 0.2, 0.1]


def build(students: int, events: int, seed: int = 0) -> int:
    from analytics.models import KnowledgePoint, LearningEvent, PlannedItem
    from analytics.weekly_services import course_calendar_set
    from eduai.courses.models import Course, Enrollment
    from grading.models import Assignment
    from tutoring.models import Material

    generator = np.random.default_rng(seed)
    course = Course.objects.create(title="Benchmark course")
    course_calendar_set(course=course, starts_on=START)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench-{index}") for index in range(students)]
    )
    Enrollment.objects.bulk_create([Enrollment(course=course, user=user) for user in users])
    assignments = Assignment.objects.bulk_create(
        [Assignment(course=course, title=f"A{week}", prompt="?") for week in range(1, WEEKS + 1)]
    )
    materials = Material.objects.bulk_create(
        [Material(course=course, title=f"M{index}", text="x") for index in range(2 * WEEKS)]
    )
    PlannedItem.objects.bulk_create(
        [
            PlannedItem(course=course, week=week, assignment=assignments[week - 1])
            for week in range(1, WEEKS + 1)
        ]
        + [
            PlannedItem(course=course, week=index // 2 + 1, material=item)
            for index, item in enumerate(materials)
        ]
    )
    points = KnowledgePoint.objects.bulk_create(
        [KnowledgePoint(course=course, name=f"KP{index}") for index in range(8)]
    )
    origin = datetime(2026, 1, 5, tzinfo=UTC)
    seconds = generator.uniform(0, WEEKS * 7 * 86400, events)
    verbs = generator.choice(len(VERBS), size=events, p=VERB_SHARE)
    who = generator.integers(0, students, events)
    week = (seconds // (7 * 86400)).astype(int)
    rows = []
    for index in range(events):  # building test data, not the measured code
        verb = VERBS[verbs[index]]
        if verb in ("submitted", "graded"):
            kind, object_id = "assignment", str(assignments[week[index]].pk)
        elif verb == "viewed":
            kind, object_id = "material", str(materials[2 * week[index] + int(seconds[index]) % 2].pk)
        else:
            kind, object_id = "answer", str(index)
        score = float(generator.uniform()) if verb in ("graded", "rated") else None
        rows.append(
            LearningEvent(
                user=users[who[index]],
                actor_pseudonym=f"student_{who[index]}",
                course=course,
                verb=verb,
                object_type=kind,
                object_id=object_id,
                result_score=score,
                timestamp=origin + timedelta(seconds=float(seconds[index])),
            )
        )
    stored = LearningEvent.objects.bulk_create(rows, batch_size=5000)
    through = LearningEvent.knowledge_points.through
    through.objects.bulk_create(
        [
            through(learningevent_id=event.pk, knowledgepoint_id=points[event.pk % len(points)].pk)
            for event in stored
            if event.result_score is not None
        ],
        batch_size=5000,
    )
    # History: each event was recorded when it happened (the incremental run looks at new ones).
    LearningEvent.objects.filter(course=course).update(created_at=models.F("timestamp"))
    return course.pk


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--events", type=int, default=100_000)
    arguments = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from analytics.models import CourseWeekMetrics, LearningEvent
        from analytics.weekly_services import course_week_metrics_update
        from eduai.courses.models import Course

        started = time.perf_counter()
        course = Course.objects.get(pk=build(arguments.students, arguments.events))
        print(
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
            f"{connection.vendor}; built {arguments.students} students, {arguments.events} events "
            f"in {time.perf_counter() - started:.1f} s"
        )
        now = datetime(2026, 4, 30, tzinfo=UTC)
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "course_week_metrics_update(course=course, now=now)", globals(), locals(), sort="cumtime"
            )
        weeks = course_week_metrics_update(course=course, now=now)
        full = time.perf_counter() - started
        print(f"(a) full recompute: {len(weeks)} weeks in {full:.2f} s (target < 5 s)")
        users = list(course.enrollments.values_list("user_id", flat=True)[:1000])
        last_week = datetime(2026, 4, 13, 12, tzinfo=UTC)
        LearningEvent.objects.bulk_create(
            [
                LearningEvent(
                    user_id=users[index % len(users)],
                    actor_pseudonym="x",
                    course=course,
                    verb="asked",
                    object_type="answer",
                    object_id=str(index),
                    timestamp=last_week + timedelta(seconds=index),
                )
                for index in range(1000)
            ]
        )
        started = time.perf_counter()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx(
                "course_week_metrics_update(course=course, now=now)", globals(), locals(), sort="tottime"
            )
        weeks = course_week_metrics_update(course=course, now=now)
        incremental = time.perf_counter() - started
        print(f"(b) incremental after 1000 new events: weeks {weeks} in {incremental:.2f} s")
        row = CourseWeekMetrics.objects.get(course=course, week=5)
        print(
            f"week 5: N={row.active_students} L={row.learning_progress:.3f} M={row.feedback:.3f} "
            f"questions={row.tutor_questions}"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
