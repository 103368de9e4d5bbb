"""Fuzz run: the fuzz harnesses of tests/fuzz/ with a large budget of new random inputs.

    .venv/bin/python bench/fuzz.py [--examples api=200,launch=300,upload=5000] [--seed N]
        [--harness api,launch,upload]

CI runs the same harnesses on a small fixed (derandomised) set of examples; this run explores
new ones, reproducibly: the seed is printed and `--seed` repeats a run. Each harness is one
pytest run of its file with FUZZ_EXAMPLES set, against real PostgreSQL and Redis (a database,
a Redis db and a var/ folder of its own, so a test run at the same time is not disturbed):
- `api`: schemathesis cases for every operation of the OpenAPI schema at /api/schema/, each
  sent as a staff user, a course instructor (course-scoped token) and a learner: no 5xx;
- `launch`: genuine LTI launches from the loopback platform with claims changed at random and
  signed again with the platform's key: accepted or refused with a 4xx, never a 5xx;
- `upload`: arbitrary bytes and damaged real .pdf/.docx/.html/.txt files through the upload
  reader: text or a `DocumentError` with a message, never another exception.
Prints per harness: the tests (an operation each for `api`), the generated cases (passing,
failing, invalid: inputs a strategy discarded), the requests sent, the failures and the time;
exits 1 when any case failed. Results go in docs/benchmarks.md with the machine they ran on.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HARNESSES = {
    "api": "tests/fuzz/test_api_schema.py",
    "launch": "tests/fuzz/test_lti_launch.py",
    "upload": "tests/fuzz/test_upload_parsing.py",
}
DEFAULT_EXAMPLES = {"api": 200, "launch": 300, "upload": 5000}
# Fuzzed requests a case sends: an api case once per role (staff, instructor, learner), a
# launch case its mutated launch post; an upload case calls the reader directly.
REQUESTS_PER_CASE = {"api": 3, "launch": 1, "upload": 0}
CASES = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid test cases")
SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors)\b")


@dataclass
class Outcome:
    tests: int = 0
    passing: int = 0
    failing: int = 0
    invalid: int = 0
    failed_tests: int = 0
    seconds: float = 0.0


def outcome_parse(output: str) -> Outcome:
    """Hypothesis's statistics (one block per test, a line per phase) and pytest's summary."""
    outcome = Outcome()
    blocks = re.split(r"\n(?=\S+::\S.*:\n)", output.split("Hypothesis Statistics", 1)[-1])
    outcome.tests = sum(1 for block in blocks if CASES.search(block))
    for passing, failing, invalid in CASES.findall(output):
        outcome.passing += int(passing)
        outcome.failing += int(failing)
        outcome.invalid += int(invalid)
    for count, kind in SUMMARY.findall(output.splitlines()[-1] if output.strip() else ""):
        if kind != "passed":
            outcome.failed_tests += int(count)
    return outcome


def harness_run(name: str, examples: int, seed: int, services: dict[str, str]) -> tuple[Outcome, str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        HARNESSES[name],
        "-q",
        "-p",
        "no:cacheprovider",
        "--hypothesis-show-statistics",
        f"--hypothesis-seed={seed}",
    ]
    environment = {**os.environ, **services, "FUZZ_EXAMPLES": str(examples)}
    started = time.perf_counter()
    process = subprocess.run(
        command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, check=False
    )
    output = process.stdout + process.stderr
    outcome = outcome_parse(process.stdout)
    outcome.seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):  # 1: tests failed; anything else: pytest could not run
        outcome.failed_tests = max(outcome.failed_tests, 1)
    return outcome, output


def examples_parse(text: str) -> dict[str, int]:
    given = dict(DEFAULT_EXAMPLES)
    for part in filter(None, text.split(",")):
        name, _, count = part.partition("=")
        if name not in HARNESSES or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(
                f"expected NAME=COUNT with NAME in {sorted(HARNESSES)}: {part!r}"
            )
        given[name] = int(count)
    return given


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=examples_parse, default=dict(DEFAULT_EXAMPLES))
    parser.add_argument("--harness", default=",".join(HARNESSES))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--test-database", default="test_eduai_fuzz", help="the database pytest creates")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    options = parser.parse_args()
    names = [name for name in options.harness.split(",") if name]
    unknown = sorted(set(names) - set(HARNESSES))
    if unknown:
        parser.error(f"unknown harness {unknown}; choose from {sorted(HARNESSES)}")
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {seed} (repeat with --seed {seed})", flush=True)

    services = {
        "TEST_DATABASE_NAME": options.test_database,
        "TEST_REDIS_URL": options.redis_url,
        "EDUAI_VAR_DIR": str(PROJECT_ROOT / "var" / "fuzz"),
    }
    failed = False
    rows = []
    for name in names:
        examples = options.examples[name]
        print(f"{name}: up to {examples} examples per test ...", flush=True)
        outcome, output = harness_run(name, examples, seed, services)
        if outcome.failing or outcome.failed_tests:
            failed = True
            print(output[-6000:], flush=True)
        cases = outcome.passing + outcome.failing
        rows.append(
            f"| {name} | {outcome.tests} | {cases:,} | {outcome.invalid:,} | "
            f"{cases * REQUESTS_PER_CASE[name]:,} | {outcome.failing} | {outcome.failed_tests} | "
            f"{outcome.seconds:,.0f} |"
        )
        print(f"  {rows[-1]}", flush=True)
    print()
    print(
        "| harness | tests | cases run | invalid (discarded) | requests | failing cases | failed tests | s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("verdict:", "FAILURES (see the output above)" if failed else "no server errors, no crashes")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
