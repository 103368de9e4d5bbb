"""Where the time of a complete LTI launch goes (the tool's two requests, the LMS's signature), and
of the requests that follow it.

    .venv/bin/python bench/lti_launch_profile.py [--launches 200] [--users 20] [--top 25]

On a fresh PostgreSQL database (`eduai_launch_profile`; --database-url for another) and a Redis
db, with the tests' loopback LMS (tests/eduai/lti/platform.py) in this process, it runs complete
launches through Django's test client, one at a time, and times each step on its own:
1. the LMS builds the login-initiation URL;
2. the tool's login initiation (state and nonce into the cache, redirect to the LMS);
3. the LMS's authorization (builds and signs the id_token): called in-process, so profiled too;
4. the tool's launch (id_token checks, user/course/enrollment rows, session, the page);
5. a load of the launched page from the session (for comparison);
6. and 7. as the launched student, an answer to an assignment and a tutor question (API).
It prints mean and p95 wall time and this process's CPU time per step (the CPU figure holds on a
busy machine better than the wall time), the SQL queries of each request, and cProfile's top
functions (--sort) for the tool's steps and the LMS's. No gunicorn, no concurrency: the load
test (bench/load_test.py) does that.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from load_test import (  # noqa: E402
    ANSWER,
    _course_setup,
    bench_project_prepare,
    lti_registration_create,
)


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _wsgi_get(app: Any, url: str) -> tuple[str, str]:
    """GET through a WSGI app in this thread (so cProfile sees it); answers (status, body)."""
    from wsgiref.util import setup_testing_defaults

    parts = urlsplit(url)
    environ: dict[str, Any] = {"PATH_INFO": parts.path, "QUERY_STRING": parts.query, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    answered: list[str] = []
    body = b"".join(app(environ, lambda status, headers: answered.append(status)))
    return answered[0], body.decode()


def _expect(condition: bool, detail: object) -> None:
    if not condition:
        raise SystemExit(f"unexpected answer: {detail!r}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True, help="cProfile")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative, tottime, ...")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduai_launch_profile"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    arguments = parser.parse_args()

    bench_project_prepare(
        arguments.database_url,
        arguments.redis_url,
        PROJECT_ROOT / "var" / "launch-profile",
        ALLOWED_HOSTS="testserver",
    )
    import re

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from lti_tool.models import Key

    from tests.eduai.lti.platform import LEARNER, LoopbackPlatform

    platform = LoopbackPlatform().start()
    try:
        lti_registration_create(platform)
        platform.configure(tool_jwks=Key.objects.as_jwks())
        names = [f"profile-{index}" for index in range(arguments.users)]
        for name in names:
            platform.users[name] = {"sub": name, "roles": [LEARNER], "name": f"Student {name}"}
        steps = [
            "LMS: login-initiation URL",
            "tool: login initiation",
            "LMS: authorization (signs)",
            "tool: launch",
            "tool: page load",
            "tool: submission (API)",
            "tool: tutor question (API)",
        ]
        timings: dict[str, list[float]] = {step: [] for step in steps}
        profiles = {step: cProfile.Profile() for step in steps[1:4] + steps[5:]}
        plan: dict[str, int] = {}
        queries: dict[str, list[str]] = {}

        cpu: dict[str, list[float]] = {step: [] for step in steps}

        def timed(step: str, call: Any, *, measure: bool) -> Any:
            profile = profiles.get(step) if measure and arguments.profile else None
            started, cpu_started = time.perf_counter(), time.process_time()
            if profile is not None:
                profile.enable()
            try:
                return call()
            finally:
                if profile is not None:
                    profile.disable()
                if measure:
                    timings[step].append(time.perf_counter() - started)
                    cpu[step].append(time.process_time() - cpu_started)

        client = Client()  # one handler, as in a gunicorn worker (middleware loads once)

        def one_launch(name: str, *, measure: bool, capture: bool = False, api: bool = True) -> None:
            client.cookies.clear()  # a new browser
            url = timed(steps[0], lambda: platform.login_initiation_url(name), measure=measure)
            with CaptureQueriesContext(connection) as login_queries:
                login = timed(steps[1], lambda: client.get(_path_of(url)), measure=measure)
            _expect(login.status_code == 302, login.content[:300])
            status, page = timed(
                steps[2], lambda: _wsgi_get(platform.app, login["Location"]), measure=measure
            )
            _expect(status.startswith("200"), page[:300])
            fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page))
            data = {"id_token": fields["id_token"], "state": fields["state"]}
            with CaptureQueriesContext(connection) as launch_queries:
                launched = timed(steps[3], lambda: client.post("/lti/launch/", data), measure=measure)
            _expect(launched.status_code == 200, launched.content[:300])
            with CaptureQueriesContext(connection) as page_queries:
                again = timed(steps[4], lambda: client.get("/lti/resource/"), measure=measure)
            _expect(again.status_code == 200, again.content[:300])
            if api:  # as the launched student: an answer to the assignment, a tutor question
                course, assignment = plan["course_id"], plan["assignment_id"]
                answer = {"text": f"{ANSWER} ({name})"}
                question = {"question": f"Why do leaves need light? ({name})"}
                with CaptureQueriesContext(connection) as submit_queries:
                    submitted = timed(
                        steps[5],
                        lambda: client.post(
                            f"/api/v1/grading/assignments/{assignment}/submissions/",
                            answer,
                            content_type="application/json",
                        ),
                        measure=measure,
                    )
                _expect(submitted.status_code == 201, submitted.content[:300])
                with CaptureQueriesContext(connection) as ask_queries:
                    asked = timed(
                        steps[6],
                        lambda: client.post(
                            f"/api/v1/tutoring/courses/{course}/questions/",
                            question,
                            content_type="application/json",
                        ),
                        measure=measure,
                    )
                _expect(asked.status_code == 202, asked.content[:300])
                if capture:
                    queries[steps[5]] = [query["sql"] for query in submit_queries.captured_queries]
                    queries[steps[6]] = [query["sql"] for query in ask_queries.captured_queries]
            if capture:
                queries[steps[1]] = [query["sql"] for query in login_queries.captured_queries]
                queries[steps[3]] = [query["sql"] for query in launch_queries.captured_queries]
                queries[steps[4]] = [query["sql"] for query in page_queries.captured_queries]

        for name in names:  # first launches create the users, course and enrollments
            one_launch(name, measure=False, api=False)
        plan.update(_course_setup())
        for name in names:
            one_launch(name, measure=False, api=False)
            accepted = client.post(f"/api/v1/tutoring/courses/{plan['course_id']}/notice/")
            _expect(accepted.status_code == 204, accepted.content[:300])
        one_launch(names[0], measure=False)  # the queries counted: of a returning student's requests
        one_launch(names[0], measure=False, capture=True)
        for index in range(arguments.launches):
            one_launch(names[index % len(names)], measure=True)
    finally:
        platform.stop()

    print(f"{arguments.launches} launches of {arguments.users} returning students, one at a time")
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores shared)\n")
    print("| step | mean ms | p95 ms | CPU ms (this process) | SQL queries |")
    print("|---|---|---|---|---|")
    for step in steps:
        values = sorted(timings[step])
        p95 = values[int(0.95 * (len(values) - 1))]
        count = len(queries[step]) if step in queries else "-"
        mean, used = 1000 * statistics.mean(values), 1000 * statistics.mean(cpu[step])
        print(f"| {step} | {mean:.2f} | {1000 * p95:.2f} | {used:.2f} | {count} |")
    total = sum(statistics.mean(timings[step]) for step in steps[:4])
    used = sum(statistics.mean(cpu[step]) for step in steps[:4])
    print(f"\ncomplete launch (steps 1-4): {1000 * total:.1f} ms, {1000 * used:.1f} ms CPU, one at a time")
    for step, sql in queries.items():
        kinds = Counter(re.sub(r"\s+", " ", statement)[:90] for statement in sql)
        print(f"\n{step}: {len(sql)} queries")
        for statement, count in kinds.most_common():
            print(f"  {count} x {statement}")
    for step, profile in profiles.items() if arguments.profile else ():
        output = io.StringIO()
        pstats.Stats(profile, stream=output).sort_stats(arguments.sort).print_stats(arguments.top)
        print(f"\n--- cProfile, {step} ({arguments.sort}) ---")
        print("\n".join(output.getvalue().splitlines()[6:]))


if __name__ == "__main__":
    main()
