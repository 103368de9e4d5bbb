"""Load test: simulated users against a real gunicorn on loopback, with PostgreSQL and Redis.

    .venv/bin/python bench/load_test.py [--users 50] [--duration 600] [--workers 3]

What it does, in one run on one machine (the load generator shares the machine's cores):
1. creates a fresh PostgreSQL database `eduai_load` (DATABASE_URL to use another) and a Redis db,
   migrates it, collects static files;
2. starts the loopback LTI platform of the tests (tests/eduai/lti/platform.py) in this process,
   registers it, and starts gunicorn (`--workers`, 4 threads each) on eduai;
3. runs `--users` simulated users for `--duration` seconds; each repeatedly picks an action:
   a complete LTI launch (login initiation, the platform's signed id_token, launch), a page load
   of its landing page, and, where the apps offer them, a submission and a tutor question
   (enqueued only: no Celery worker runs, so the figure is the web tier's);
4. prints, per action: count, throughput, p50/p95/p99 latency, error responses; the web
   processes' memory (RSS) every 30 s; and checks that every accepted submission is in the
   database (none lost).
Results go in docs/benchmarks.md with the machine they ran on.
"""

import argparse
import json
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


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    accepted_submissions: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, action: str, seconds: float, error: str | None = None) -> None:
        with self.lock:
            if error is None:
                self.latencies[action].append(seconds)
            else:
                self.errors[action].append(error)


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
    }


def _database_recreate(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _gunicorn_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [master, *(int(pid) for pid in children.read_text().split())]
    except OSError:
        return [master]


class VirtualUser:
    def __init__(self, name: str, platform: Any, tool: str, samples: Samples) -> None:
        self.name = name
        self.platform = platform
        self.tool = tool
        self.samples = samples
        self.session = requests.Session()
        self.landing = ""

    def timed(
        self, action: str, call: Callable[[], requests.Response], ok: set[int]
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = call()
        except (requests.RequestException, KeyError) as error:  # KeyError: no launch form
            self.samples.record(action, 0, f"{type(error).__name__}")
            return None
        elapsed = time.perf_counter() - started
        if response.status_code not in ok:
            self.samples.record(action, elapsed, f"HTTP {response.status_code}")
            return None
        self.samples.record(action, elapsed)
        return response

    def launch(self) -> None:
        def flow() -> requests.Response:
            login = self.session.get(
                self.platform.login_initiation_url(self.name), allow_redirects=False, timeout=30
            )
            if login.status_code != 302:
                return login
            authorization = requests.get(login.headers["Location"], timeout=30)
            fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', authorization.text))
            return self.session.post(
                f"{self.tool}/lti/launch/",
                data={"id_token": fields["id_token"], "state": fields["state"]},
                allow_redirects=False,
                timeout=30,
            )

        response = self.timed("LTI launch (login + launch)", flow, {200, 302})
        if response is not None:
            # The launch answers with the page itself (200), or a redirect to it; later loads of
            # the launched page come from the session.
            self.landing = response.headers.get("Location", f"{self.tool}/lti/resource/")

    def page(self) -> None:
        if not self.landing:
            return self.launch()
        target = self.landing if self.landing.startswith("http") else self.tool + self.landing
        self.timed("page load (landing page)", lambda: self.session.get(target, timeout=30), {200})
        return None


def _run_users(users: list[VirtualUser], duration: float, actions: list[tuple[str, float]]) -> None:
    deadline = time.monotonic() + duration
    names = [name for name, _ in actions]
    weights = [weight for _, weight in actions]

    def loop(user: VirtualUser) -> None:
        user.launch()
        while time.monotonic() < deadline:
            getattr(user, random.choices(names, weights)[0])()

    threads = [threading.Thread(target=loop, args=(user,), daemon=True) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduai_load"),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    arguments = parser.parse_args()

    var_dir = PROJECT_ROOT / "var" / "load-test"
    var_dir.mkdir(parents=True, exist_ok=True)
    environment = _environment(arguments.database_url, arguments.redis_url, var_dir)
    os.environ.update(environment)
    _database_recreate(arguments.database_url)
    manage = [sys.executable, str(PROJECT_ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], check=True, env=environment)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], check=True, env=environment)

    import django

    django.setup()
    import redis
    from jwcrypto.jwk import JWK
    from lti_tool.models import Key, LtiDeployment, LtiRegistration

    from tests.eduai.lti.platform import LEARNER, LoopbackPlatform

    redis.Redis.from_url(arguments.redis_url).flushdb()
    platform = LoopbackPlatform().start()
    jwk = JWK.generate(kty="RSA", size=2048)
    Key.objects.create(
        public_key=jwk.export_to_pem().decode(),
        private_key=jwk.export_to_pem(private_key=True, password=None).decode(),
    )
    registration = LtiRegistration.objects.create(
        name="Load-test LMS",
        uuid=uuid.uuid4(),
        issuer=platform.iss,
        client_id=platform.client_id,
        auth_url=platform.url + "/auth",
        token_url=platform.url + "/token",
        keyset_url=platform.url + "/jwks",
    )
    LtiDeployment.objects.create(
        registration=registration, deployment_id=platform.deployment_id, is_active=True
    )

    log = var_dir / "gunicorn.log"
    port = 18000 + random.randrange(1000)
    tool = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "gunicorn", "eduai.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(arguments.workers), "--threads", "4", "--worker-class", "gthread"]
    with log.open("wb") as output:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        for _ in range(100):
            try:
                requests.get(f"{tool}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        platform.configure(tool_jwks=Key.objects.as_jwks(), tool_base=tool)
        names = [f"load-{index}" for index in range(arguments.users)]
        for name in names:
            platform.users[name] = {
                "sub": name,
                "roles": [LEARNER],
                "name": f"Student {name}",
                "email": f"{name}@school.test",
            }
        samples = Samples()
        users = [VirtualUser(name, platform, tool, samples) for name in names]
        memory: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample_memory() -> None:
            started = time.monotonic()
            while not stop.wait(0 if not memory else 30):
                memory.append((time.monotonic() - started, _rss_mib(_gunicorn_pids(server.pid))))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        actions = [("launch", 0.5), ("page", 0.5)]
        started = time.monotonic()
        _run_users(users, arguments.duration, actions)
        elapsed = time.monotonic() - started
        stop.set()
        memory.append((elapsed, _rss_mib(_gunicorn_pids(server.pid))))
    finally:
        server.terminate()
        server.wait(timeout=30)
        platform.stop()

    print(
        f"\n{arguments.users} users, {elapsed:.0f} s, gunicorn {arguments.workers} workers x 4 threads, "
        f"{os.cpu_count()} CPUs shared with the load generator"
    )
    print("| action | count | per second | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for action in sorted(set(samples.latencies) | set(samples.errors)):
        values = samples.latencies.get(action, [])
        errors = samples.errors.get(action, [])
        percentiles = " | ".join(f"{1000 * _percentile(values, share):.0f}" for share in (0.5, 0.95, 0.99))
        print(f"| {action} | {len(values)} | {len(values) / elapsed:.1f} | {percentiles} | {len(errors)} |")
        if errors:
            counts = {error: errors.count(error) for error in sorted(set(errors))}
            print(f"    errors: {json.dumps(counts)}")
    print("\nweb processes' RSS (MiB) over time: " + ", ".join(f"{t:.0f}s {m:.0f}" for t, m in memory))
    if memory:
        mean = statistics.mean(m for _, m in memory)
        print(f"RSS first {memory[0][1]:.0f} MiB, last {memory[-1][1]:.0f} MiB, mean {mean:.0f} MiB")


if __name__ == "__main__":
    main()
