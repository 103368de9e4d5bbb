"""Load test: simulated users against a real gunicorn on loopback, with PostgreSQL and Redis.

    .venv/bin/python bench/load_test.py [--users 50] [--duration 600] [--phases mixed]
        [--workers 3] [--threads 4] [--generators 2]
    e.g. --phases launch@60,submit@150,ask@50,mixed@60,mixed (five phases, paced then flat out)

What it does, in one run on one machine (the load generator shares the machine's cores):
1. creates a fresh PostgreSQL database `eduai_load` (--database-url for another) and empties a
   Redis db (--redis-url), migrates, collects static files;
2. starts the tests' loopback LTI platform (tests/eduai/lti/platform.py) in a process of its
   own, so the id_token signatures and the generator's threads do not share one interpreter;
   registers it; starts gunicorn (gthread: `--workers` x `--threads`, keep-alive longer than
   any pause of a simulated user, so no request meets a connection the server just closed);
   one warm-up launch creates the course, in which an assignment (any number of attempts) and
   tutor settings (quota and burst limit out of the way: the site's abuse limits are measured
   by their own tests) are made as an instructor would;
3. runs `--users` simulated users, spread over `--generators` processes (threads within), for
   `--duration` seconds split evenly over `--phases`. Each user has its own requests.Session
   (keep-alive, cookies) and repeatedly does one action of its phase:
   - `launch`: a complete LTI launch (login initiation at the tool, the platform's signed
     id_token, the launch post that answers the launched page);
   - `page`: a load of the launched page from the session;
   - `submit`: a typed answer to the assignment through the API (201 with its id);
   - `ask`: a tutor question through the API (202: stored and enqueued; no Celery worker
     runs, so the figure is the web tier's);
   phase `mixed` does all four in equal shares, a phase named after one action does only it.
   A plain phase runs the users flat out (no pause: the throughput at saturation, where by
   Little's law the latency is users / throughput); `NAME@RATE` paces the users to start RATE
   actions a second together (e.g. `launch@60`), which is how a latency target at a given rate
   is measured;
4. prints, per phase and action: count, throughput, p50/p95/p99 latency, error responses by
   kind; the web processes' memory (RSS) and the load average every 30 s with a flat-memory
   verdict; the CPU time each part used; checks that every accepted submission and question is
   in the database (none lost); and the figures against the issue's targets.
Results go in docs/benchmarks.md with the machine they ran on.
"""

import argparse
import json
import multiprocessing
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

ACTIONS = ("launch", "page", "submit", "ask")
LABELS = {
    "launch": "LTI launch (login + platform + launch)",
    "page": "page load (launched page)",
    "submit": "submission (API, accepted)",
    "ask": "tutor question (API, enqueued)",
}
# Longer than any pause of a simulated user between two requests, so that the server never
# closes a kept-alive connection just as the client sends on it (a ConnectionError).
KEEP_ALIVE_SECONDS = 75
SAMPLE_SECONDS = 30
PHASE = rf"(mixed|{'|'.join(ACTIONS)})(@\d+(\.\d+)?)?"
ANSWER = "Photosynthesis turns light, water and carbon dioxide into glucose and oxygen. " * 4


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    submissions: list[int] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.latencies[key].append(seconds)
            else:
                self.errors[key].append(error)

    def plain(self) -> dict[str, Any]:
        return {
            "latencies": dict(self.latencies),
            "errors": dict(self.errors),
            "submissions": self.submissions,
            "questions": self.questions,
        }


def _environment(database_url: str, redis_url: str, var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eduai.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "COOKIES_SECURE": "false",
        "EDUAI_VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        # The site-wide daily caps on AI scoring and tutor questions would answer 429 after a
        # few thousand requests; their own tests cover them. 0 is "no limit".
        "GRADING_SCORING_DAILY_PER_STUDENT": "0",
        "GRADING_SCORING_DAILY_PER_COURSE": "0",
        "TUTOR_COURSE_DAILY_QUESTIONS": "0",
        # The per-minute course caps too (they refuse or delay, on purpose, what the run measures).
        "TUTOR_COURSE_QUESTIONS_PER_MINUTE": "0",
        "GRADING_SCORING_PER_MINUTE_PER_STUDENT": "0",
        "GRADING_SCORING_PER_MINUTE_PER_COURSE": "0",
    }


def _database_recreate(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def bench_project_prepare(
    database_url: str, redis_url: str, var_dir: Path, **overrides: str
) -> dict[str, str]:
    """A fresh database (migrated), static files and an empty Redis db for a benchmark of the web
    tier; Django is set up in this process. Returns the environment the servers run with."""
    var_dir.mkdir(parents=True, exist_ok=True)
    environment = {**_environment(database_url, redis_url, var_dir), **overrides}
    os.environ.update(environment)
    _database_recreate(database_url)
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True, env=environment)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True, env=environment)

    import django
    import redis

    django.setup()
    redis.Redis.from_url(redis_url).flushdb()
    return environment


def _proc_status(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_mib(pids: list[int]) -> float:
    return sum(_proc_status(pid, "VmRSS") for pid in pids) / 1024


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (and of their waited-for children)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def _gunicorn_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [master, *(int(pid) for pid in children.read_text().split())]
    except OSError:
        return [master]


def tool_key_create() -> dict[str, Any]:
    """The tool's signing key; answers the tool's JWKS, which the platform checks against."""
    from jwcrypto.jwk import JWK
    from lti_tool.models import Key

    jwk = JWK.generate(kty="RSA", size=2048)
    Key.objects.create(
        public_key=jwk.export_to_pem().decode(),
        private_key=jwk.export_to_pem(private_key=True, password=None).decode(),
    )
    jwks: dict[str, Any] = Key.objects.as_jwks()
    return jwks


def registration_create(*, url: str, iss: str, client_id: str, deployment_id: str) -> None:
    """The loopback platform registered with the tool, with one active deployment."""
    from lti_tool.models import LtiDeployment, LtiRegistration

    registration = LtiRegistration.objects.create(
        name="Load-test LMS",
        uuid=uuid.uuid4(),
        issuer=iss,
        client_id=client_id,
        auth_url=url + "/auth",
        token_url=url + "/token",
        keyset_url=url + "/jwks",
    )
    LtiDeployment.objects.create(registration=registration, deployment_id=deployment_id, is_active=True)


def lti_registration_create(platform: Any) -> None:
    """The tool's key and a registration of an in-process platform (bench/lti_launch_profile.py)."""
    tool_key_create()
    registration_create(
        url=platform.url, iss=platform.iss, client_id=platform.client_id, deployment_id=platform.deployment_id
    )


def _platform_serve(connection: Any, tool_jwks: dict[str, Any], tool_base: str, names: list[str]) -> None:
    """The platform's process: answers its address and each user's login-initiation URL, then serves."""
    from tests.eduai.lti.platform import LEARNER, LoopbackPlatform

    platform = LoopbackPlatform()
    platform.configure(tool_jwks=tool_jwks, tool_base=tool_base)
    for name in names:
        platform.users[name] = {
            "sub": name,
            "roles": [LEARNER],
            "name": f"Student {name}",
            "email": f"{name}@school.test",
        }
    connection.send(
        {
            "url": platform.url,
            "iss": platform.iss,
            "client_id": platform.client_id,
            "deployment_id": platform.deployment_id,
            # The same for every launch of a user (the state and nonce come from the tool).
            "login_urls": {name: platform.login_initiation_url(name) for name in names},
        }
    )
    connection.close()
    platform.server.serve_forever()


class VirtualUser:
    def __init__(self, name: str, login_url: str, tool: str, plan: dict[str, Any], samples: Samples) -> None:
        self.name = name
        self.login_url = login_url
        self.tool = tool
        self.plan = plan
        self.samples = samples
        self.session = requests.Session()  # the browser at the tool: keep-alive and cookies
        self.lms = requests.Session()  # the browser at the LMS
        self.launched = False
        self.phase = "start"

    def _csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.session.cookies.get("csrftoken") or ""}

    def timed(
        self, action: str, call: Callable[[], requests.Response], ok: set[int]
    ) -> requests.Response | None:
        key = f"{self.phase}\t{action}"
        started = time.perf_counter()
        try:
            response = call()
        except (requests.RequestException, KeyError) as error:  # KeyError: no launch form
            self.samples.record(key, 0, f"{type(error).__name__}")
            return None
        elapsed = time.perf_counter() - started
        if response.status_code not in ok:
            self.samples.record(key, elapsed, f"HTTP {response.status_code}")
            return None
        self.samples.record(key, elapsed)
        return response

    def launch(self) -> None:
        def flow() -> requests.Response:
            login = self.session.get(self.login_url, allow_redirects=False, timeout=30)
            if login.status_code != 302:
                return login
            authorization = self.lms.get(login.headers["Location"], timeout=30)
            fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', authorization.text))
            return self.session.post(
                f"{self.tool}/lti/launch/",
                data={"id_token": fields["id_token"], "state": fields["state"]},
                allow_redirects=False,
                timeout=30,
            )

        if self.timed("launch", flow, {200}) is not None:
            self.launched = True

    def page(self) -> None:
        self.timed("page", lambda: self.session.get(f"{self.tool}/lti/resource/", timeout=30), {200})

    def submit(self) -> None:
        url = f"{self.tool}/api/v1/grading/assignments/{self.plan['assignment_id']}/submissions/"
        body = {"text": f"{ANSWER}({self.name}, {uuid.uuid4().hex[:8]})"}
        response = self.timed(
            "submit", lambda: self.session.post(url, json=body, headers=self._csrf(), timeout=30), {201}
        )
        if response is not None:
            with self.samples.lock:
                self.samples.submissions.append(int(response.json()["id"]))

    def ask(self) -> None:
        url = f"{self.tool}/api/v1/tutoring/courses/{self.plan['course_id']}/questions/"
        body = {"question": f"Why do leaves need light? ({self.name}, {uuid.uuid4().hex[:8]})"}
        response = self.timed(
            "ask", lambda: self.session.post(url, json=body, headers=self._csrf(), timeout=30), {202}
        )
        if response is not None:
            with self.samples.lock:
                self.samples.questions.append(int(response.json()["question_id"]))

    def notice_accept(self) -> None:
        url = f"{self.tool}/api/v1/tutoring/courses/{self.plan['course_id']}/notice/"
        self.timed("notice", lambda: self.session.post(url, headers=self._csrf(), timeout=30), {204})


def _phase_actions(phase: str) -> list[str]:
    name = phase.split("@")[0]
    return list(ACTIONS) if name == "mixed" else [name]


def _phase_rate(phase: str) -> float:
    """Actions per second of all users together that a phase paces to ("launch@60"); 0: no pacing."""
    return float(phase.split("@")[1]) if "@" in phase else 0.0


def _generate(plan: dict[str, Any], names: list[str], results: Any) -> None:
    """One generator process: its users as threads, through every phase; puts its samples."""
    samples = Samples()
    users = [VirtualUser(name, plan["login_urls"][name], plan["tool"], plan, samples) for name in names]

    def loop(user: VirtualUser) -> None:
        user.launch()  # every user starts launched, with the AI-use notice accepted
        user.notice_accept()
        due = 0.0
        while True:
            now = time.monotonic()
            current = [(phase, end) for phase, start, end in plan["phases"] if start <= now < end]
            if not current:
                if now >= plan["phases"][-1][2]:
                    return
                time.sleep(0.01)
                continue
            phase, end = current[0]
            rate = _phase_rate(phase)
            if rate:
                # Paced: each user starts an action every users/rate seconds (at a random offset
                # at first), so that all together start `rate` a second; a user whose last action
                # overran starts the next at once, without making up for the ones it missed.
                interval = plan["users"] / rate
                if user.phase != phase:
                    due = now + random.uniform(0, interval)
                if now < due:
                    user.phase = phase
                    time.sleep(min(due, end) - now)
                    continue
                due = max(due + interval, now)
            user.phase = phase
            getattr(user, random.choice(_phase_actions(phase)))()

    threads = [threading.Thread(target=loop, args=(user,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(samples.plain())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _slope_per_minute(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mean_t = statistics.mean(t for t, _ in points)
    mean_m = statistics.mean(m for _, m in points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (m - mean_m) for t, m in points) / spread if spread else 0.0


def _course_setup() -> dict[str, int]:
    """As the course's instructor would: an assignment with any number of attempts, and the
    tutor's per-student quota and burst limit out of the way (their own tests cover them)."""
    from eduai.courses.models import Course
    from grading.services import AssignmentData, assignment_create
    from tutoring.models import TutorSettings

    course = Course.objects.get(lti_context__isnull=False)
    assignment = assignment_create(
        course=course,
        data=AssignmentData(
            title="Photosynthesis",
            prompt="Explain photosynthesis in two sentences.",
            max_attempts=0,
            reference_answers=[ANSWER],
        ),
    )
    TutorSettings.objects.update_or_create(
        course=course, resource_link=None, defaults={"daily_quota": 10**9, "burst_limit": 10**9}
    )
    return {"course_id": course.pk, "assignment_id": assignment.pk}


def _stored(model: str, ids: list[int]) -> int:
    from grading.models import Submission
    from tutoring.models import Message

    found = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = Submission.objects if model == "submissions" else Message.objects
        found += rows.filter(pk__in=chunk).count()
    return found


def _broker_queues() -> dict[str, int]:
    """Messages per Celery queue in the broker (Redis lists): a scoring task per accepted
    submission, an answer task per question."""
    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return {
        key.decode(): int(broker.llen(key))
        for key in broker.scan_iter(count=1000)
        if broker.type(key) == b"list" and not key.startswith(b"_kombu")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600, help="seconds, split evenly over the phases")
    parser.add_argument(
        "--phases",
        default="mixed",
        help=f"comma-separated, of: mixed, {', '.join(ACTIONS)}, each optionally @RATE (default: mixed)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--generators", type=int, default=2, help="load-generator processes")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduai_load"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    arguments = parser.parse_args()
    phases = [phase.strip() for phase in arguments.phases.split(",") if phase.strip()]
    unknown = {phase for phase in phases if not re.fullmatch(PHASE, phase)}
    if unknown or not phases:
        parser.error(f"unknown phase(s) {sorted(unknown)}; choose from mixed, {', '.join(ACTIONS)}")

    var_dir = PROJECT_ROOT / "var" / "load-test"
    environment = bench_project_prepare(arguments.database_url, arguments.redis_url, var_dir)
    from django.db import connections

    context = multiprocessing.get_context("fork")
    port = 18000 + random.randrange(1000)
    tool = f"http://127.0.0.1:{port}"
    names = [f"load-{index}" for index in range(arguments.users)]
    tool_jwks = tool_key_create()
    connections.close_all()  # no database connection is shared with the forked processes
    receiver, sender = context.Pipe(duplex=False)
    platform = context.Process(target=_platform_serve, args=(sender, tool_jwks, tool, names), daemon=True)
    platform.start()
    lms = receiver.recv()
    registration_create(
        url=lms["url"], iss=lms["iss"], client_id=lms["client_id"], deployment_id=lms["deployment_id"]
    )

    log = var_dir / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "eduai.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(arguments.workers), "--threads", str(arguments.threads)]
    command += ["--worker-class", "gthread", "--keep-alive", str(KEEP_ALIVE_SECONDS), "--backlog", "2048"]
    generators: list[Any] = []
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        for _ in range(150):
            try:
                requests.get(f"{tool}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        warm_up = VirtualUser(names[0], lms["login_urls"][names[0]], tool, {}, Samples())
        warm_up.launch()  # creates the course
        if not warm_up.launched:
            raise SystemExit(f"the warm-up launch failed: {dict(warm_up.samples.errors)}; see {log}")
        plan: dict[str, Any] = {"tool": tool, "login_urls": lms["login_urls"], **_course_setup()}
        plan["users"] = len(names)
        connections.close_all()

        memory: list[tuple[float, float, float]] = []
        stop = threading.Event()
        # Every user first launches and accepts the AI-use notice (the "start" rows, all 50 at
        # once); the phases begin once those are through.
        started = time.monotonic() + 10
        length = arguments.duration / len(phases)
        plan["phases"] = [
            (phase, started + index * length, started + (index + 1) * length)
            for index, phase in enumerate(phases)
        ]

        def sample() -> None:
            while True:
                memory.append(
                    (time.monotonic() - started, _rss_mib(_gunicorn_pids(server.pid)), os.getloadavg()[0])
                )
                if stop.wait(SAMPLE_SECONDS):
                    return

        results = context.Queue()
        shares = [names[index :: arguments.generators] for index in range(arguments.generators)]
        for share in shares:
            generators.append(context.Process(target=_generate, args=(plan, share, results), daemon=True))
            generators[-1].start()
        cpu_before = {
            "gunicorn": _cpu_seconds(_gunicorn_pids(server.pid)),
            "platform": _cpu_seconds([int(platform.pid or 0)]),
        }
        sampler = threading.Thread(target=sample, daemon=True)
        while time.monotonic() < started:
            time.sleep(0.01)
        sampler.start()
        time.sleep(max(0.0, plan["phases"][-1][2] - time.monotonic() - 0.5))
        cpu = {
            "gunicorn": _cpu_seconds(_gunicorn_pids(server.pid)) - cpu_before["gunicorn"],
            "platform": _cpu_seconds([int(platform.pid or 0)]) - cpu_before["platform"],
            "generators": _cpu_seconds([int(generator.pid or 0) for generator in generators]),
        }
        collected = [results.get(timeout=120) for _ in generators]
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        memory.append((elapsed, _rss_mib(_gunicorn_pids(server.pid)), os.getloadavg()[0]))
    finally:
        server.terminate()
        server.wait(timeout=30)
        platform.terminate()
        for generator in generators:
            generator.join(timeout=10)

    merged = Samples()
    for part in collected:
        for key, values in part["latencies"].items():
            merged.latencies[key].extend(values)
        for key, values in part["errors"].items():
            merged.errors[key].extend(values)
        merged.submissions.extend(part["submissions"])
        merged.questions.extend(part["questions"])
    _report(arguments, phases, length, elapsed, merged, memory, cpu)


def _report(
    arguments: argparse.Namespace,
    phases: list[str],
    length: float,
    elapsed: float,
    samples: Samples,
    memory: list[tuple[float, float, float]],
    cpu: dict[str, float],
) -> None:
    print(
        f"\n{arguments.users} users in {arguments.generators} generator processes, {elapsed:.0f} s "
        f"({', '.join(phases)}: {length:.0f} s each); gunicorn {arguments.workers} workers x "
        f"{arguments.threads} threads; {os.cpu_count()} CPUs shared with the generator and the LMS"
    )
    load = [entry[2] for entry in memory]
    mean_load = statistics.mean(load)
    print(
        f"load average (1 min) during the run: min {min(load):.2f}, mean {mean_load:.2f}, max {max(load):.2f}"
    )
    print("| phase | action | count | per second | p50 ms | p95 ms | p99 ms | errors | load average |")
    print("|---|---|---|---|---|---|---|---|---|")
    windows = {phase: (index * length, (index + 1) * length) for index, phase in enumerate(phases)}
    figures: dict[tuple[str, str], dict[str, float]] = {}
    for phase in [*phases, "start"]:
        for action in (*ACTIONS, "notice"):
            key = f"{phase}\t{action}"
            values = samples.latencies.get(key, [])
            errors = samples.errors.get(key, [])
            if not values and not errors:
                continue
            rate = len(values) / length if phase != "start" else float("nan")
            p50, p95, p99 = (1000 * _percentile(values, share) for share in (0.5, 0.95, 0.99))
            figures[(phase, action)] = {"rate": rate, "p95": p95, "errors": len(errors)}
            counts = {error: errors.count(error) for error in sorted(set(errors))}
            shown = f"{len(errors)} {json.dumps(counts)}" if errors else "0"
            label = LABELS.get(action, "AI-use notice (once per user)")
            timing = f"{p50:.0f} | {p95:.0f} | {p99:.0f}"
            start, end = windows.get(phase, (0.0, 0.0))
            during = [avg for t, _, avg in memory if start <= t <= end + 1] or [float("nan")]
            row = f"| {phase} | {label} | {len(values)} | {rate:.1f} | {timing} | {shown} |"
            print(f"{row} {statistics.mean(during):.1f} |")
    total_errors = sum(len(errors) for errors in samples.errors.values())
    print(
        f"\nCPU seconds over the run: gunicorn {cpu['gunicorn']:.0f}, generators {cpu['generators']:.0f}, "
        f"LMS {cpu['platform']:.0f} (of {2 * elapsed:.0f} on 2 cores; PostgreSQL and Redis not counted)"
    )
    print(
        "web processes' RSS (MiB) and load average every 30 s: "
        + ", ".join(f"{t:.0f}s {m:.0f} ({avg:.1f})" for t, m, avg in memory)
    )
    # After the first minute (imports, caches and connection pools warm up).
    settled = [(t, m) for t, m, _ in memory if t >= 60] or [(t, m) for t, m, _ in memory[1:]]
    slope = _slope_per_minute(settled)
    if len(settled) >= 3:
        growth = settled[-1][1] - settled[0][1]
        # Flat: the trend over the settled part adds up to at most 20 MiB or 3%.
        flat = abs(slope) * (settled[-1][0] - settled[0][0]) / 60 <= max(20.0, 0.03 * settled[0][1])
        print(
            f"RSS from {settled[0][0]:.0f} s: {settled[0][1]:.0f} -> {settled[-1][1]:.0f} MiB "
            f"({growth:+.0f} MiB, trend {slope:+.1f} MiB/min): {'flat' if flat else 'NOT flat'}"
        )
    else:
        print("memory: too short a run to judge (fewer than 3 samples after the first minute)")
    lost = {}
    for kind in ("submissions", "questions"):
        ids = getattr(samples, kind)
        found = _stored(kind, ids)
        lost[kind] = len(ids) - found
        print(f"{kind}: {len(ids)} accepted, {found} in the database, {lost[kind]} lost")

    def target(action: str, check: Callable[[dict[str, float]], bool], text: str) -> None:
        # The phase of that action alone, else the mixed one (the last of each kind run).
        alone = [phase for phase in phases if _phase_actions(phase) == [action]]
        phase = (alone or [phase for phase in phases if _phase_actions(phase) == list(ACTIONS)] or [""])[-1]
        figure = figures.get((phase, action))
        if figure is not None:
            verdict = "met" if check(figure) else "MISSED"
            print(f"  {text} ({phase} phase: {figure['rate']:.1f}/s, p95 {figure['p95']:.0f} ms): {verdict}")

    queued = _broker_queues()
    print(f"tasks waiting in the broker (no worker ran): {json.dumps(queued)}")
    print("targets (issue 10):")
    target("launch", lambda f: f["rate"] >= 60 and f["p95"] <= 250, ">= 60 launches/s with p95 <= 250 ms")
    none_lost = lost["submissions"] == 0
    target("submit", lambda f: f["rate"] >= 150 and none_lost, ">= 150 submissions/s, none lost")
    target("ask", lambda f: f["p95"] <= 100, "tutor questions enqueued with p95 <= 100 ms")
    print(f"  no error responses: {'met' if total_errors == 0 else f'MISSED ({total_errors})'}")


if __name__ == "__main__":
    main()
