"""Writes of the LTI integration: launches, deep linking, grade passback, rosters and keys."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from lti_tool.lti_core.constants import ContextRole, ContextType
from lti_tool.lti_core.utils import normalize_role
from lti_tool.models import (
    LtiContext,
    LtiDeployment,
    LtiLaunch,
    LtiLineItem,
    LtiMembership,
    LtiRegistration,
    LtiResourceLink,
    LtiUser,
)
from lti_tool.utils import (
    _get_ags_props,
    sync_deployment_from_launch,
    sync_platform_instance_from_launch,
)
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem

from analytics.models import LearningEvent
from analytics.services import event_record
from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record
from eduai.celery import task_send
from eduai.courses.models import Course, Enrollment
from grading.models import Assignment

from .clients import ags_client, nrps_client
from .configuration import TOOL_CONFIGURATION_CLAIM, ToolUrls, dynamic_registration_request
from .models import RosterSync, ScorePassback
from .protocol import TimeoutSession
from .roles import enrollment_role_from_claim
from .selectors import LaunchRecord

logger = logging.getLogger(__name__)

CUSTOM_ASSIGNMENT = "eduai_assignment"
CUSTOM_RESOURCE = "eduai_resource"
# The tag on every line item eduai creates, so ours are told apart from the LMS's own columns.
LINE_ITEM_TAG = "eduai-grade"
# A passback claimed by a worker that then died is claimed again after this long. It exceeds
# the send task's hard time limit, so a live worker never loses its claim.
PASSBACK_CLAIM_LEASE = timedelta(minutes=5)
ModelT = TypeVar("ModelT", bound=models.Model)


# --- Launch: who, in which course, with which role, on which resource ----------------------
def _upsert(model: type[ModelT], lookup: dict[str, Any], values: dict[str, Any]) -> ModelT:
    """The row for ``lookup`` with ``values``, written only when something changed.

    Unlike ``update_or_create`` (a row lock and an UPDATE every time), an unchanged row costs one
    SELECT: a launch's course and resource link rows are the same for every student of a class,
    and locking them on every launch made concurrent launches queue behind each other.
    """
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        try:
            with transaction.atomic():
                return model._default_manager.create(**lookup, **values)
        except IntegrityError:  # created by a concurrent launch since the SELECT
            row = model._default_manager.get(**lookup)
    for name, value in lookup.items():
        if isinstance(value, models.Model):
            setattr(row, name, value)  # known already: no query when it is read
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, values[name])
        stamps = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
        row.save(update_fields=[*changed, *stamps])
    return row


def _launch_sync(lti_launch: LtiLaunch) -> None:
    """django-lti's ``sync_data_from_launch`` (same rows, same values), writing only changes.

    The rows found are kept on the launch, so reading ``lti_launch.user`` (or context, resource
    link) afterwards costs no query.
    """
    sync_deployment_from_launch(lti_launch)
    claims = {
        "given_name": lti_launch.get_claim("given_name"),
        "family_name": lti_launch.get_claim("family_name"),
        "name": lti_launch.get_claim("name"),
        "email": lti_launch.get_claim("email"),
        "picture_url": lti_launch.get_claim("picture"),
    }
    lti_user = _upsert(
        LtiUser,
        {"registration": lti_launch.registration, "sub": lti_launch.get_claim("sub")},
        {name: value for name, value in claims.items() if value is not None},
    )
    lti_launch.__dict__["user"] = lti_user  # django-lti's cached_property
    if not lti_launch.is_data_privacy_launch:
        context_claim = lti_launch.context_claim or {}
        types = context_claim.get("type", [])
        nrps_claim = lti_launch.nrps_claim
        context_values = {
            "title": context_claim.get("title", ""),
            "label": context_claim.get("label", ""),
            "is_course_template": ContextType.COURSE_TEMPLATE in types,
            "is_course_offering": ContextType.COURSE_OFFERING in types,
            "is_course_section": ContextType.COURSE_SECTION in types,
            "is_group": ContextType.GROUP in types,
            **({"memberships_url": nrps_claim["context_memberships_url"]} if nrps_claim else {}),
            **_get_ags_props(lti_launch),
        }
        context = _upsert(
            LtiContext,
            {"deployment": lti_launch.deployment, "id_on_platform": context_claim.get("id", "")},
            context_values,
        )
        lti_launch.__dict__["context"] = context
        roles = {normalize_role(role) for role in lti_launch.roles_claim}
        flags = {
            ContextRole.ADMINISTRATOR: "is_administrator",
            ContextRole.CONTENT_DEVELOPER: "is_content_developer",
            ContextRole.INSTRUCTOR: "is_instructor",
            ContextRole.LEARNER: "is_learner",
            ContextRole.MENTOR: "is_mentor",
        }
        # As django-lti: a role the launch names is switched on, never off.
        _upsert(
            LtiMembership,
            {"user": lti_user, "context": context},
            {flag: True for role, flag in flags.items() if role in roles},
        )
        if not lti_launch.is_deep_link_launch:
            link_claim = {k: v for k, v in lti_launch.resource_link_claim.items() if v is not None}
            link = _upsert(
                LtiResourceLink,
                {"context": context, "id_on_platform": link_claim["id"]},
                {"title": link_claim.get("title", ""), "description": link_claim.get("description", "")},
            )
            lti_launch.__dict__["resource_link"] = link
    sync_platform_instance_from_launch(lti_launch)


def user_from_lti_user(*, lti_user: LtiUser) -> User:
    """The Django account of an LMS user, keyed by (issuer, sub) only.

    Names and e-mail addresses change, repeat and may be withheld (anonymous launches), so they
    are stored when given but never used to find the account.
    """
    issuer = lti_user.registration.issuer
    digest = hashlib.sha256(f"{issuer}\n{lti_user.sub}".encode()).hexdigest()[:40]
    user, created = User.objects.get_or_create(username=f"lti-{digest}")
    if created:
        user.set_unusable_password()
    known = (user.first_name, user.last_name, user.email)
    user.first_name = (lti_user.given_name or user.first_name)[:150]
    user.last_name = (lti_user.family_name or user.last_name)[:150]
    if not lti_user.given_name and not lti_user.family_name and lti_user.name:
        user.first_name = lti_user.name[:150]
    user.email = lti_user.email or user.email
    if created or (user.first_name, user.last_name, user.email) != known:
        user.save()
    if lti_user.auth_user_id != user.pk:
        lti_user.auth_user = user
        lti_user.save(update_fields=["auth_user", "datetime_modified"])
    return user


def course_from_context(*, context: LtiContext) -> Course:
    title = context.title or context.label or "Untitled course"
    course, created = Course.objects.get_or_create(
        lti_context=context, defaults={"title": title, "label": context.label[:64]}
    )
    if not created and (course.title, course.label) != (title, context.label[:64]):
        course.title, course.label = title, context.label[:64]
        course.save(update_fields=["title", "label"])
    return course


def _assignment_for_link(
    *, course: Course, resource_link: LtiResourceLink, custom: dict[str, Any]
) -> Assignment | None:
    """The assignment a resource link shows; a deep-linked one is bound on its first launch."""
    bound = Assignment.objects.filter(resource_link=resource_link).first()
    if bound is not None:
        return bound
    assignment_id = str(custom.get(CUSTOM_ASSIGNMENT, ""))
    if not assignment_id.isdigit():
        return None
    # Only an unplaced assignment of this very course: a custom parameter copied into another
    # course must not hand that course someone else's assignment.
    assignment = Assignment.objects.filter(
        pk=int(assignment_id), course=course, resource_link__isnull=True
    ).first()
    if assignment is not None:
        assignment.resource_link = resource_link
        assignment.save(update_fields=["resource_link"])
    return assignment


def _launch_event_record(
    *, user: User, role: Enrollment.Role, course: Course, resource_link: LtiResourceLink | None
) -> None:
    """A student's launch is a learning event (the object: the resource link, else the course)."""
    if role != Enrollment.Role.LEARNER:
        return
    event_record(
        user=user,
        course=course,
        verb=LearningEvent.Verb.LAUNCHED,
        object_type="resource_link" if resource_link is not None else "course",
        object_id=resource_link.id_on_platform if resource_link is not None else str(course.pk),
        timestamp=timezone.now(),
    )


@transaction.atomic
def launch_record(*, lti_launch: LtiLaunch) -> LaunchRecord:
    """Create or update the user, course, enrollment and resource link a validated launch names."""
    _launch_sync(lti_launch)
    user = user_from_lti_user(lti_user=lti_launch.user)
    role = enrollment_role_from_claim(lti_launch.roles_claim or [])
    if lti_launch.context_claim is None:
        # A launch from outside any course (e.g. a site-level link): nobody to enroll.
        return LaunchRecord(user=user, role=role, course=None, resource_link=None, assignment=None)
    course = course_from_context(context=lti_launch.context)
    # The role is set from every launch, so a demoted user is demoted here too.
    _upsert(Enrollment, {"course": course, "user": user}, {"role": role})
    if not lti_launch.is_resource_launch:
        _launch_event_record(user=user, role=role, course=course, resource_link=None)
        return LaunchRecord(user=user, role=role, course=course, resource_link=None, assignment=None)
    resource_link = lti_launch.resource_link
    custom = lti_launch.get_claim("https://purl.imsglobal.org/spec/lti/claim/custom") or {}
    assignment = _assignment_for_link(course=course, resource_link=resource_link, custom=custom)
    _launch_event_record(user=user, role=role, course=course, resource_link=resource_link)
    return LaunchRecord(
        user=user, role=role, course=course, resource_link=resource_link, assignment=assignment
    )


# --- Deep linking: what an instructor places in the course -----------------------------------
@dataclass(frozen=True)
class DeepLinkChoice:
    kind: str  # "tutor" or "assignment"
    title: str = ""
    prompt: str = ""
    max_score: Decimal = Decimal(10)


def deep_link_resources_create(
    *, course: Course, choice: DeepLinkChoice, launch_url: str
) -> list[DeepLinkResource]:
    """The content items for a deep-linking response, creating the assignment when one is placed."""
    if choice.kind == "tutor":
        tutor = DeepLinkResource().set_url(launch_url).set_title(f"{course.title}: AI tutor")
        return [tutor.set_custom_params({CUSTOM_RESOURCE: "tutor"})]
    from grading.services import AssignmentData, assignment_create  # grading imports this module

    # Rubric, reference answers and policies are set next in the instructor page.
    assignment = assignment_create(
        course=course,
        data=AssignmentData(title=choice.title, prompt=choice.prompt, max_score=choice.max_score),
    )
    line_item = (
        LineItem()
        .set_score_maximum(float(assignment.max_score))
        .set_label(assignment.title)
        .set_resource_id(_assignment_resource_id(assignment))
        .set_tag(LINE_ITEM_TAG)
    )
    resource = DeepLinkResource().set_url(launch_url).set_title(assignment.title)
    resource.set_custom_params({CUSTOM_ASSIGNMENT: str(assignment.pk)}).set_lineitem(line_item)
    return [resource]


def _assignment_resource_id(assignment: Assignment) -> str:
    return f"eduai-assignment-{assignment.pk}"


# --- Assignment and Grade Services: line items and the score outbox ---------------------------
class PassbackPermanentError(Exception):
    """Retrying will not help (assignment not placed, student unknown to the LMS, no scope)."""


class PassbackTemporaryError(ConnectionError):
    """The LMS is unreachable or overloaded; a ConnectionError, so the task's retry policy applies."""


def line_item_for_assignment(*, assignment: Assignment) -> LtiLineItem:
    """The LMS gradebook column of an assignment: stored, found in the LMS, or created there."""
    resource_link = assignment.resource_link
    if resource_link is None:
        raise PassbackPermanentError(f"Assignment {assignment.pk} is not placed in an LMS course")
    stored = LtiLineItem.objects.filter(resource_link=resource_link).first()
    if stored is not None:
        return stored
    context = resource_link.context
    wanted = (
        LineItem()
        .set_label(assignment.title)
        .set_score_maximum(float(assignment.max_score))
        .set_resource_id(_assignment_resource_id(assignment))
        .set_resource_link_id(resource_link.id_on_platform)
        .set_tag(LINE_ITEM_TAG)
    )
    found = ags_client(context=context).find_or_create_lineitem(wanted, find_by="resource_id")
    line_item, _ = LtiLineItem.objects.update_or_create(
        url=found.get_id(),
        defaults={
            "context": context,
            "maximum_score": found.get_score_maximum() or float(assignment.max_score),
            "label": found.get_label() or assignment.title,
            "tag": found.get_tag() or "",
            "resource_id": found.get_resource_id() or "",
            "resource_link": resource_link,
        },
    )
    return line_item


def score_passback_enqueue(
    *,
    assignment: Assignment,
    student: User,
    score_given: Decimal,
    comment: str = "",
    activity_progress: str = ScorePassback.ActivityProgress.COMPLETED,
    grading_progress: str = ScorePassback.GradingProgress.FULLY_GRADED,
) -> ScorePassback:
    """Record a score for the LMS gradebook; a task posts it once the transaction commits."""
    if not Decimal(0) <= score_given <= assignment.max_score:
        raise ValueError(f"Score {score_given} is outside 0..{assignment.max_score}")
    passback = ScorePassback.objects.create(
        assignment=assignment,
        student=student,
        score_given=score_given,
        score_maximum=assignment.max_score,
        comment=comment,
        activity_progress=activity_progress,
        grading_progress=grading_progress,
    )
    transaction.on_commit(lambda: _enqueue_send(passback.pk))
    return passback


def _enqueue_send(passback_id: int) -> None:
    """With the broker down the row stays pending; ``score_passback_requeue_stale`` sends it."""
    from .tasks import score_passback_send as send_task  # tasks import this module

    task_send(send_task, passback_id)


def _claim(passback_id: int) -> bool:
    """Take the row for one sender: pending, or sending under a claim whose lease ran out."""
    now = timezone.now()
    claimable = Q(status=ScorePassback.Status.PENDING) | Q(
        status=ScorePassback.Status.SENDING, claimed_at__lt=now - PASSBACK_CLAIM_LEASE
    )
    claimed = ScorePassback.objects.filter(claimable, pk=passback_id).update(
        status=ScorePassback.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1, updated_at=now
    )
    return claimed == 1


def _finish(passback_id: int, status: str, error: str = "") -> None:
    now = timezone.now()
    ScorePassback.objects.filter(pk=passback_id).update(
        status=status,
        last_error=error[:2000],
        updated_at=now,
        sent_at=now if status == ScorePassback.Status.SENT else None,
    )


def _post_score(passback: ScorePassback) -> None:
    line_item = line_item_for_assignment(assignment=passback.assignment)
    context = line_item.context
    lti_user = LtiUser.objects.filter(
        auth_user=passback.student, registration=context.deployment.registration
    ).first()
    if lti_user is None:
        raise PassbackPermanentError(f"{passback.student} has never launched from this LMS")
    grade = (
        Grade()
        .set_score_given(float(passback.score_given))
        .set_score_maximum(float(passback.score_maximum))
        .set_activity_progress(passback.activity_progress)
        .set_grading_progress(passback.grading_progress)
        .set_timestamp(passback.scored_at.isoformat())
        .set_user_id(lti_user.sub)
    )
    if passback.comment:
        grade.set_comment(passback.comment)
    ags_client(context=context).put_grade(grade, LineItem().set_id(line_item.url))


def _is_temporary(error: Exception) -> bool:
    if isinstance(error, LtiServiceException):
        return error.response.status_code >= 500 or error.response.status_code in {408, 429}
    return isinstance(error, requests.RequestException)


def score_passback_send(*, passback_id: int) -> ScorePassback:
    """Post one score to the LMS, unless it was sent already or another worker is sending it."""
    if not _claim(passback_id):
        return ScorePassback.objects.get(pk=passback_id)
    passback = ScorePassback.objects.select_related("assignment__resource_link", "student").get(
        pk=passback_id
    )
    try:
        _post_score(passback)
    except (LtiException, requests.RequestException) as error:
        if not _is_temporary(error):
            _finish(passback_id, ScorePassback.Status.FAILED, str(error))
            logger.warning("Score passback %s failed for good: %s", passback_id, error)
            return ScorePassback.objects.get(pk=passback_id)
        # Back to pending, so the task's retries and the beat sweep send it later.
        _finish(passback_id, ScorePassback.Status.PENDING, str(error))
        raise PassbackTemporaryError(f"LMS unavailable for score passback {passback_id}: {error}") from error
    except PassbackPermanentError as error:
        _finish(passback_id, ScorePassback.Status.FAILED, str(error))
        logger.warning("Score passback %s failed for good: %s", passback_id, error)
        return ScorePassback.objects.get(pk=passback_id)
    _finish(passback_id, ScorePassback.Status.SENT)
    return ScorePassback.objects.get(pk=passback_id)


def score_passback_retry(*, passback_id: int) -> None:
    """An admin's retry of a failed passback (after fixing its cause): back to pending, enqueued."""
    ScorePassback.objects.filter(pk=passback_id, status=ScorePassback.Status.FAILED).update(
        status=ScorePassback.Status.PENDING, updated_at=timezone.now()
    )
    transaction.on_commit(lambda: _enqueue_send(passback_id))


# A passback still pending this long after its last attempt is enqueued again
# (``stale_work_requeue``, eduai/operations/stale_work.py).
STALE_PASSBACK_AFTER = timedelta(minutes=5)


def score_passback_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Enqueue passbacks still waiting after ``older_than`` (retries exhausted, broker lost the task)."""
    cutoff = timezone.now() - older_than
    stale = ScorePassback.objects.filter(
        Q(status=ScorePassback.Status.PENDING, updated_at__lt=cutoff)
        | Q(status=ScorePassback.Status.SENDING, claimed_at__lt=timezone.now() - PASSBACK_CLAIM_LEASE)
    )
    passback_ids = list(stale.values_list("pk", flat=True)[:500])
    for passback_id in passback_ids:
        _enqueue_send(passback_id)
    return passback_ids


# --- Names and Role Provisioning -------------------------------------------------------------
@dataclass(frozen=True)
class RosterSyncResult:
    active: int
    inactive: int


def roster_sync(*, course_id: int) -> RosterSyncResult:
    """Bring a course's enrollments in line with the LMS roster (NRPS); the outcome is recorded
    in the course's RosterSync row either way."""
    course = Course.objects.select_related("lti_context__deployment__registration").get(pk=course_id)
    context = course.lti_context
    if context is None or not context.memberships_url:
        return RosterSyncResult(active=0, inactive=0)
    try:
        # Fetched before the transaction opens: no database transaction waits on the LMS.
        members = [dict(member) for member in nrps_client(context=context).get_members()]
        result = _roster_store(course=course, context=context, members=members)
    except Exception as error:
        _roster_sync_record(course=course, error=f"{type(error).__name__}: {error}")
        raise
    _roster_sync_record(course=course, result=result)
    return result


def _roster_sync_record(
    *, course: Course, result: RosterSyncResult | None = None, error: str = ""
) -> RosterSync:
    now = timezone.now()
    defaults: dict[str, Any] = {"attempted_at": now, "last_error": error[:2000]}
    if result is None:
        defaults["status"] = RosterSync.Status.FAILED
    else:
        defaults |= {
            "status": RosterSync.Status.OK,
            "succeeded_at": now,
            "active_members": result.active,
            "inactive_members": result.inactive,
        }
    sync, _ = RosterSync.objects.update_or_create(course=course, defaults=defaults)
    return sync


@transaction.atomic
def _roster_store(*, course: Course, context: LtiContext, members: list[dict[str, Any]]) -> RosterSyncResult:
    # django-lti records users and memberships, with is_active=False for inactive members.
    context.update_memberships(members)
    registration = context.deployment.registration
    inactive = 0
    for member in members:
        if member.get("status", "Active") != "Active":
            inactive += 1  # kept as an inactive LtiMembership; their enrollment and work stay
            continue
        lti_user = LtiUser.objects.get(registration=registration, sub=member["user_id"])
        user = user_from_lti_user(lti_user=lti_user)
        role = enrollment_role_from_claim(list(member.get("roles", [])))
        Enrollment.objects.update_or_create(course=course, user=user, defaults={"role": role})
    return RosterSyncResult(active=len(members) - inactive, inactive=inactive)


def roster_sync_enqueue_all() -> list[int]:
    from .tasks import roster_sync_course  # tasks import this module

    course_ids = list(
        Course.objects.exclude(lti_context__isnull=True)
        .exclude(lti_context__memberships_url="")
        .values_list("pk", flat=True)
    )
    for course_id in course_ids:
        roster_sync_course.delay(course_id)
    return course_ids


# --- Dynamic Registration ----------------------------------------------------------------------
class RegistrationError(Exception):
    """The platform's registration handshake failed; the message says why, for the admin."""


def _https_or_allowed(url: str, *, allow_http: bool) -> str:
    scheme = urlsplit(url).scheme
    if scheme != "https" and not (allow_http and scheme == "http"):
        raise RegistrationError(f"{url!r} is not an https URL")
    return url


def _platform_json(
    method: str, url: str, *, token: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = TimeoutSession().request(method, url, json=body, headers=headers)
        response.raise_for_status()
        data = response.json()
    except requests.RequestException as error:
        raise RegistrationError(f"{method} {url} failed: {error}") from error
    except ValueError:
        raise RegistrationError(f"{method} {url} did not answer JSON") from None
    if not isinstance(data, dict):
        raise RegistrationError(f"{method} {url} did not answer a JSON object")
    return data


def _required(data: dict[str, Any], key: str, *, allow_http: bool) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RegistrationError(f"The platform's configuration has no {key}")
    return _https_or_allowed(value, allow_http=allow_http)


def platform_register(
    *,
    openid_configuration_url: str,
    registration_token: str,
    urls: ToolUrls,
    allow_http: bool,
    activate: bool,
) -> LtiRegistration:
    """LTI Dynamic Registration: read the platform's configuration, register with it, store the result.

    The registration is inactive unless ``activate``: this endpoint answers anyone, so by default
    an administrator confirms each new platform in the admin before it can launch.
    """
    _https_or_allowed(openid_configuration_url, allow_http=allow_http)
    config = _platform_json("GET", openid_configuration_url, token=registration_token)
    issuer = _required(config, "issuer", allow_http=allow_http)
    # Dynamic Registration 1.0, 3.5.1: the configuration must come from the issuer's own site.
    if not openid_configuration_url.startswith(issuer.rstrip("/") + "/"):
        raise RegistrationError(f"The configuration URL is not under the issuer {issuer}")
    endpoints = {
        key: _required(config, key, allow_http=allow_http)
        for key in ("registration_endpoint", "authorization_endpoint", "token_endpoint", "jwks_uri")
    }
    answer = _platform_json(
        "POST",
        endpoints["registration_endpoint"],
        token=registration_token,
        body=dynamic_registration_request(urls),
    )
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("The platform's answer has no client_id")
    tool_configuration = answer.get(TOOL_CONFIGURATION_CLAIM) or {}
    return _registration_store(
        issuer=issuer,
        client_id=client_id,
        deployment_id=str(tool_configuration.get("deployment_id") or ""),
        config=config,
        endpoints=endpoints,
        activate=activate,
    )


@transaction.atomic
def _registration_store(
    *,
    issuer: str,
    client_id: str,
    deployment_id: str,
    config: dict[str, Any],
    endpoints: dict[str, str],
    activate: bool,
) -> LtiRegistration:
    product = (config.get("https://purl.imsglobal.org/spec/lti-platform-configuration") or {}).get(
        "product_family_code", "LMS"
    )
    registration, created = LtiRegistration.objects.update_or_create(
        issuer=issuer,
        client_id=client_id,
        defaults={
            "auth_url": endpoints["authorization_endpoint"],
            "token_url": endpoints["token_endpoint"],
            "keyset_url": endpoints["jwks_uri"],
            # The aud of our client assertions, when the platform names one (Canvas does).
            "audience": str(config.get("authorization_server") or ""),
        },
        create_defaults={
            "name": f"{product} at {urlsplit(issuer).netloc}"[:255],
            "auth_url": endpoints["authorization_endpoint"],
            "token_url": endpoints["token_endpoint"],
            "keyset_url": endpoints["jwks_uri"],
            "audience": str(config.get("authorization_server") or ""),
            "is_active": activate,
        },
    )
    if deployment_id:
        # Known from the registration itself, so it may launch once the registration is active.
        LtiDeployment.objects.update_or_create(
            registration=registration, deployment_id=deployment_id, defaults={"is_active": True}
        )
    logger.info("LTI platform %s registered client %s (new: %s)", issuer, client_id, created)
    audit_record(
        actor=None,  # the platform's administrator, through LTI Dynamic Registration
        action=AuditEntry.Action.REGISTRATION_CHANGE,
        target=registration,
        details={
            "via": "dynamic registration",
            "created": created,
            "active": registration.is_active,
            "deployment_id": deployment_id,
        },
    )
    return registration
