"""The permission matrix: every URL of the project, with each role, and users of another course.

`POLICY` says who may use each URL name, with each method it answers; a URL missing from it fails
the test, so a new page or endpoint has to be placed here. For each URL and method the same
school is built: course A (an instructor, a teaching assistant, the student who owns the data, a
classmate) and course B (an instructor and a student), plus a site admin and an anonymous
visitor; the API's endpoints are also tried with course-scoped API keys (`Bearer`): the owner's
learner key, the instructor's instructor key and learner key (a key never acts above its role),
and course B's instructor key. Allowed users must not be refused (401/403); everyone else must be
refused (a redirect to log in, 401, 403 or 404) and must not see the owner's data.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from lti_tool.models import LtiRegistration

from eduai.courses.models import Enrollment
from eduai.courses.services import api_token_create
from tests.factories import (
    AssignmentFactory,
    ConversationFactory,
    CourseFactory,
    EnrollmentFactory,
    MaterialFactory,
    MessageFactory,
    SubmissionFactory,
    UserFactory,
)
from tutoring.models import Chunk, FaqEntry, Message

pytestmark = pytest.mark.django_db

PUBLIC = "public"  # by design: health, LTI protocol endpoints, the schema, the landing page
LAUNCH = "launch"  # only inside an LTI launch kept in the session; no launch, no page
SIGNED_IN = "signed in"  # any signed-in user, about themselves
SITE_STAFF = "site staff"
COURSE_STAFF = "course staff"  # instructors and TAs of the course, and site staff
MEMBER = "member"  # anyone enrolled in the course (students see only their own data there)
LEARNER = "learner"  # the course's students (the student pages)
OWNER = "owner"  # the student whose data it is (course staff may or may not, per page)

POLICY: dict[str, tuple[str, str]] = {
    "home": (PUBLIC, "GET"),
    "healthz": (PUBLIC, "GET"),
    "readyz": (PUBLIC, "GET"),
    "schema": (PUBLIC, "GET"),
    "api-docs": (PUBLIC, "GET"),
    "lti:login": (PUBLIC, "GET"),
    "lti:login-registration": (PUBLIC, "GET"),
    "lti:launch": (PUBLIC, "POST"),
    "lti:jwks": (PUBLIC, "GET"),
    "lti:register": (PUBLIC, "GET"),
    "lti:canvas-configuration": (PUBLIC, "GET"),
    "lti:resource": (LAUNCH, "GET"),
    "lti:deep-link": (LAUNCH, "POST"),
    "web:components": (SITE_STAFF, "GET"),
    "web:components-submit": (SITE_STAFF, "POST"),
    "web:components-review": (SITE_STAFF, "POST"),
    "lti:setup": (SITE_STAFF, "GET"),
    "api:generation-start": (SITE_STAFF, "POST"),
    "generation-events": (SITE_STAFF, "GET"),
    "api:me": (SIGNED_IN, "GET"),
    "analytics:xapi-statements": (COURSE_STAFF, "POST"),
    "analytics:course-weeks": (COURSE_STAFF, "GET"),
    "analytics:course-mastery": (MEMBER, "GET"),
    "analytics:course-at-risk": (COURSE_STAFF, "GET"),
    "analytics-web:dashboard": (COURSE_STAFF, "GET"),
    "analytics-web:export": (COURSE_STAFF, "GET"),
    "analytics-web:next-step": (MEMBER, "GET"),
    "analytics-web:practice": (LEARNER, "POST"),
    "tutoring-api:material-list": (COURSE_STAFF, "GET"),
    "tutoring-api:material-create": (COURSE_STAFF, "POST"),
    "tutoring-api:material-detail": (COURSE_STAFF, "GET,PATCH,DELETE"),
    "tutoring-api:settings": (COURSE_STAFF, "GET,PUT"),
    "tutoring-api:notice-accept": (LEARNER, "POST"),
    "tutoring-api:question-ask": (LEARNER, "POST"),
    "tutoring-api:conversation": (LEARNER, "GET"),
    "tutoring-api:conversations": (COURSE_STAFF, "GET"),
    "tutoring-api:answer-rate": (OWNER, "POST"),
    "tutoring-api:answer-flag": (OWNER, "POST"),
    "tutoring-api:answer-endorse": (COURSE_STAFF, "POST"),
    "tutoring-api:answer-events": (OWNER, "GET"),
    "tutoring:chat": (LEARNER, "GET"),
    "tutoring:thread": (LEARNER, "GET"),
    "tutoring:notice-accept": (LEARNER, "POST"),
    "tutoring:answer-rate": (OWNER, "POST"),
    "tutoring:answer-flag": (OWNER, "POST"),
    "tutoring:passage": (MEMBER, "GET"),
    "tutoring:manage": (COURSE_STAFF, "GET"),
    "tutoring:settings-save": (COURSE_STAFF, "POST"),
    "tutoring:materials": (COURSE_STAFF, "GET"),
    "tutoring:material-upload": (COURSE_STAFF, "POST"),
    "tutoring:material-delete": (COURSE_STAFF, "POST,DELETE"),
    "tutoring:material-edit": (COURSE_STAFF, "GET,POST"),
    "tutoring:faq": (COURSE_STAFF, "GET"),
    "tutoring:faq-edit": (COURSE_STAFF, "POST"),
    "tutoring:faq-delete": (COURSE_STAFF, "POST"),
    "tutoring:conversation": (COURSE_STAFF, "GET"),
    "tutoring:answer-endorse": (COURSE_STAFF, "POST"),
    "grading-api:submission-create": (LEARNER, "POST"),
    "grading-api:review-queue": (COURSE_STAFF, "GET"),
    "grading-api:bulk-approve": (COURSE_STAFF, "POST"),
    "grading-api:submission": (OWNER, "GET"),
    "grading-api:approve": (COURSE_STAFF, "POST"),
    "grading-api:override": (COURSE_STAFF, "POST"),
    "grading:assignment": (MEMBER, "GET"),
    "grading:submit": (LEARNER, "POST"),
    "grading:review": (COURSE_STAFF, "POST"),
    "grading:rescore": (COURSE_STAFF, "POST"),
    "grading:assignment-edit": (COURSE_STAFF, "GET,POST"),
    "grading:assignment-new": (COURSE_STAFF, "GET,POST"),
    "grading:submission-review": (COURSE_STAFF, "GET,POST"),
}

USERS = (
    "anonymous",
    "owner",
    "classmate",
    "instructor",
    "assistant",
    "other_student",
    "other_instructor",
    "admin",
)
# Course-scoped API keys, tried on the API's endpoints (DRF views) only.
KEYS = ("owner_key", "instructor_key", "instructor_learner_key", "other_instructor_key")
SIGNED_IN_USERS = frozenset(USERS) - {"anonymous"}
# Who must be let in / refused, per rule (users not named may go either way).
ALLOWED = {
    SITE_STAFF: {"admin"},
    SIGNED_IN: {*SIGNED_IN_USERS, *KEYS},
    COURSE_STAFF: {"instructor", "assistant", "admin", "instructor_key"},
    MEMBER: {
        "owner",
        "classmate",
        "instructor",
        "assistant",
        "admin",
        "owner_key",
        "instructor_key",
        "instructor_learner_key",
    },
    LEARNER: {"owner", "classmate", "owner_key"},
    OWNER: {"owner", "owner_key"},
    LAUNCH: set(),
}
REFUSED = {
    SITE_STAFF: {*(frozenset(USERS) - {"admin"}), *KEYS},  # site staff rights never come with a key
    SIGNED_IN: {"anonymous"},
    COURSE_STAFF: {
        "anonymous",
        "owner",
        "classmate",
        "other_student",
        "other_instructor",
        "owner_key",
        "instructor_learner_key",
        "other_instructor_key",
    },
    MEMBER: {"anonymous", "other_student", "other_instructor", "other_instructor_key"},
    LEARNER: {
        "anonymous",
        "instructor",
        "assistant",
        "admin",
        "other_student",
        "other_instructor",
        "instructor_key",
        "instructor_learner_key",  # staff reading as a learner are not students
        "other_instructor_key",
    },
    OWNER: {"anonymous", "classmate", "other_student", "other_instructor", "other_instructor_key"},
    LAUNCH: {"anonymous", "owner", "instructor", "assistant", "other_instructor", "admin"},
}
REFUSALS = {302, 401, 403, 404}
# URLs of one person's own object, which the school has none of for an allowed caller: a 404 is
# right there (the owner's check is tested with the object's own tests).
OWN_OBJECT_ONLY = {"generation-events"}  # a generation's stream, for the staff user who started it
# Without a launch in the session there is nothing to check a role against: a 400 says so.
LAUNCH_REFUSALS = REFUSALS | {400}
# Query strings some URLs need to reach their permission check.
QUERIES = {"analytics:xapi-statements": "?course_id={course_id}"}


def _url_names() -> list[str]:
    def walk(patterns: list[Any], namespace: str | None) -> list[str]:
        names = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
                if str(pattern.pattern).startswith("admin/"):
                    continue  # the Django admin: staff only, by Django
                names += walk(pattern.url_patterns, full)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.append(f"{namespace}:{pattern.name}" if namespace else pattern.name)
        return names

    return sorted(set(walk(get_resolver().url_patterns, None)))


@dataclass
class School:
    users: dict[str, Any]
    keys: dict[str, str]
    kwargs: dict[str, Any]
    private_text: str


def _school() -> School:
    course, other = CourseFactory.create(), CourseFactory.create()
    owner = EnrollmentFactory.create(course=course).user
    classmate = EnrollmentFactory.create(course=course).user
    instructor = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    assistant = EnrollmentFactory.create(course=course, role=Enrollment.Role.TEACHING_ASSISTANT).user
    other_student = EnrollmentFactory.create(course=other).user
    other_instructor = EnrollmentFactory.create(course=other, role=Enrollment.Role.INSTRUCTOR).user
    keys = {
        name: api_token_create(user=user, course=on, role=role, name=name)[1]
        for name, user, on, role in (
            ("owner_key", owner, course, "learner"),
            ("instructor_key", instructor, course, "instructor"),
            ("instructor_learner_key", instructor, course, "learner"),
            ("other_instructor_key", other_instructor, other, "instructor"),
        )
    }
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    assignment = AssignmentFactory.create(course=course)
    private_text = "owner-private-answer-" + uuid.uuid4().hex[:8]
    submission = SubmissionFactory.create(assignment=assignment, student=owner, text=private_text)
    material = MaterialFactory.create(course=course)
    chunk = Chunk.objects.create(
        course=course,
        material=material,
        ordinal=0,
        text="A cell is the unit of life.",
        start=0,
        end=27,
        embedding=np.zeros(4, dtype="<f4").tobytes(),
    )
    conversation = ConversationFactory.create(course=course, student=owner)
    MessageFactory.create(conversation=conversation, text=private_text)
    answer = MessageFactory.create(
        conversation=conversation, role=Message.Role.TUTOR, text="Think about cells.", stream_id=uuid.uuid4()
    )
    faq = FaqEntry.objects.create(
        course=course, question="What is a cell?", answer="The unit of life.", source_message=answer
    )
    key = uuid.uuid4()
    registration = LtiRegistration.objects.create(
        name="LMS", uuid=key, issuer=f"https://lms-{key.hex[:8]}.test", client_id="eduai"
    )
    return School(
        users={
            "anonymous": None,
            "owner": owner,
            "classmate": classmate,
            "instructor": instructor,
            "assistant": assistant,
            "other_student": other_student,
            "other_instructor": other_instructor,
            "admin": admin,
        },
        keys=keys,
        kwargs={
            "course_id": course.pk,
            "material_id": material.pk,
            "message_id": answer.pk,
            "stream_id": answer.stream_id,
            "chunk_id": chunk.pk,
            "conversation_id": conversation.pk,
            "faq_id": faq.pk,
            "registration_uuid": registration.uuid,
            "table": "weeks",
            "assignment": assignment.pk,
            "submission": submission.pk,
        },
        private_text=private_text,
    )


def _path_or_empty(name: str, **kwargs: Any) -> str:
    from django.urls import NoReverseMatch

    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _reverse(name: str, school: School) -> str:
    from django.urls import NoReverseMatch

    kwargs = school.kwargs
    candidates: list[dict[str, Any]] = [{}]
    for key in ("course_id", "material_id", "message_id", "stream_id", "chunk_id", "faq_id"):
        candidates.append({key: kwargs[key]})
    candidates += [
        {"conversation_id": kwargs["conversation_id"]},
        {"registration_uuid": kwargs["registration_uuid"]},
        {"course_id": kwargs["course_id"], "table": kwargs["table"]},
        # `pk` is the submission in URLs under submissions/, else the assignment.
        {
            "pk": kwargs["submission"]
            if "/submissions/0/" in _path_or_empty(name, pk=0)
            else kwargs["assignment"]
        },
    ]
    for candidate in candidates:
        try:
            return reverse(name, kwargs=candidate)
        except NoReverseMatch:
            continue
    raise AssertionError(f"no test arguments fit the URL {name!r}")


def test_every_url_has_a_policy() -> None:
    names = set(_url_names())
    assert names - set(POLICY) == set(), "place these URLs in POLICY"
    assert set(POLICY) - names == set(), "these URLs are gone: remove them from POLICY"


MATRIX = sorted(
    (name, method)
    for name, (rule, methods) in POLICY.items()
    if rule != PUBLIC
    for method in methods.split(",")
)


@pytest.mark.parametrize(("name", "method"), MATRIX)
def test_permission_matrix(name: str, method: str) -> None:
    rule = POLICY[name][0]
    shared = _school()
    first_url = _reverse(name, shared)
    callers: list[str] = list(USERS)
    if hasattr(resolve(first_url).func, "cls"):  # an API view: keys too
        callers += KEYS
    problems = []
    # Refused callers first, on one school; each allowed caller's write (a delete, say) gets a
    # school of its own, so the next allowed caller still finds what it may act on.
    for caller in sorted(callers, key=lambda caller: caller in ALLOWED[rule]):
        allowed_write = caller in ALLOWED[rule] and method != "GET"
        school = _school() if allowed_write else shared
        url = _reverse(name, school) + QUERIES.get(name, "").format(**school.kwargs)
        client = Client()
        authorization = ""
        if caller in KEYS:
            authorization = f"Bearer {school.keys[caller]}"
        elif school.users[caller] is not None:
            client.force_login(school.users[caller])
        response = client.generic(
            method, url, HTTP_ACCEPT="application/json, text/html", HTTP_AUTHORIZATION=authorization
        )
        status = response.status_code
        body = b"" if response.streaming else response.content
        if caller in REFUSED[rule]:
            if status not in (LAUNCH_REFUSALS if rule == LAUNCH else REFUSALS):
                problems.append(f"{caller} was not refused: {status}")
            if school.private_text.encode() in body:
                problems.append(f"{caller} saw the owner's text")
        elif caller in ALLOWED[rule] and status in (
            {401, 403} if name in OWN_OBJECT_ONLY else {401, 403, 404}
        ):
            problems.append(f"{caller} was refused: {status} {body[:200]!r}")
    assert not problems, f"{method} {first_url} ({rule}): " + "; ".join(problems)
