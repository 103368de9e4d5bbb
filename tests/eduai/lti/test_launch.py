"""Launches from a real LTI platform on loopback: the flow, who lands where, and what is stored."""

import html
import re

import pytest
import requests
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from lti_tool.models import LtiMembership, LtiUser

from analytics.models import LearningEvent
from eduai.courses.models import Course, Enrollment
from tests.eduai.lti.conftest import form_of, path_of
from tests.eduai.lti.platform import CONTEXT_TITLE, INSTRUCTOR, LEARNER

pytestmark = pytest.mark.django_db
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def test_a_launch_needs_no_cookie_and_its_page_offers_a_new_window(lti_flow):
    # Inside an iframe that blocks third-party cookies: no cookie goes back with the launch.
    login = lti_flow.login(Client(), "u-teacher", new_window=False)
    assert login.status_code == 302, "no cookie check page in between"
    authorization = requests.get(login["Location"], timeout=10)
    action, fields = form_of(authorization.text)
    response = Client().post(path_of(action), {"id_token": fields["id_token"], "state": fields["state"]})
    assert response.status_code == 200
    page = response.content.decode()
    link = re.search(r'href="(/lti/login/\?[^"]+)" target="_blank"', page)
    assert link, "the page offers to open in a new window"
    new_window = html.unescape(link.group(1))
    assert "lti1p3_new_window=1" in new_window
    assert "login_hint=u-teacher" in new_window
    # Following it starts a launch that is marked as in its own window (no second offer).
    client = Client()
    authorization = requests.get(client.get(new_window)["Location"], timeout=10)
    action, fields = form_of(authorization.text)
    again = client.post(path_of(action), {"id_token": fields["id_token"], "state": fields["state"]})
    assert again.status_code == 200
    assert "new window" not in again.content.decode()


def test_launches_leave_no_cookie_behind_but_the_session(lti_flow):
    # The state lives in the cache; pylti1p3's per-state cookies piled up in a browser that
    # launched often, until its requests' headers were too large for the server.
    client = Client()
    for _ in range(3):
        assert lti_flow.launch(client, "u-student").status_code == 200
    assert {name for name in client.cookies if client.cookies[name].value} <= {"sessionid", "csrftoken"}


def test_login_redirects_to_the_platform_with_state_and_nonce(lti_flow):
    response = lti_flow.login(Client(), "u-teacher")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(lti_flow.platform.url + "/auth?")
    for parameter in ("state=", "nonce=", "redirect_uri=http%3A%2F%2Ftestserver%2Flti%2Flaunch%2F"):
        assert parameter in location


def test_login_by_post_works_too(lti_flow):
    from urllib.parse import parse_qsl, urlsplit

    url = lti_flow.platform.login_initiation_url("u-teacher")
    response = Client().post("/lti/login/?lti1p3_new_window=1", dict(parse_qsl(urlsplit(url).query)))
    assert response.status_code == 302


def test_instructor_launch_shows_the_instructor_page_and_records_the_enrollment(lti_flow):
    client = Client()
    response = lti_flow.launch(client, "u-teacher")
    assert response.status_code == 200, response.content[:500]
    page = response.content.decode()
    assert "Instructor view" in page
    assert CONTEXT_TITLE in page
    course = Course.objects.get(lti_context__id_on_platform="ctx-1")
    enrollment = Enrollment.objects.get(course=course)
    assert enrollment.role == Enrollment.Role.INSTRUCTOR
    assert enrollment.user.email == "t@school.test"
    assert not LearningEvent.objects.exists()
    # The session carries the launch: a follow-up request shows the same page.
    follow_up = client.get("/lti/resource/")
    assert follow_up.status_code == 200
    assert "Instructor view" in follow_up.content.decode()


def test_learner_launch_shows_the_student_page(lti_flow):
    response = lti_flow.launch(Client(), "u-student")
    assert response.status_code == 200
    page = response.content.decode()
    assert "AI tutor" in page
    assert "Instructor view" not in page
    assert Enrollment.objects.get().role == Enrollment.Role.LEARNER
    # A student's launch is a learning event; an instructor's is not (see above).
    launch = LearningEvent.objects.get()
    assert (launch.verb, launch.object_type) == ("launched", "resource_link")
    assert launch.course == Enrollment.objects.get().course


@pytest.mark.parametrize(
    ("roles", "expected_role", "page_marker"),
    [
        pytest.param(
            [LEARNER, INSTRUCTOR], Enrollment.Role.INSTRUCTOR, "Instructor view", id="several roles"
        ),
        pytest.param(
            [LIS + "membership/Instructor#TeachingAssistant"],
            Enrollment.Role.TEACHING_ASSISTANT,
            "Instructor view",
            id="teaching assistant",
        ),
        pytest.param(
            [LIS + "membership#Administrator"], Enrollment.Role.INSTRUCTOR, "Instructor view", id="admin"
        ),
        pytest.param(
            ["http://example.com/roles#Wizard"], Enrollment.Role.LEARNER, "AI tutor", id="unknown role"
        ),
        pytest.param([], Enrollment.Role.LEARNER, "AI tutor", id="no role"),
    ],
)
def test_roles_decide_the_page(lti_flow, roles, expected_role, page_marker):
    lti_flow.platform.users["u-x"] = {"sub": "u-x", "roles": roles, "name": "X"}
    response = lti_flow.launch(Client(), "u-x")
    assert response.status_code == 200, response.content[:500]
    assert page_marker in response.content.decode()
    assert Enrollment.objects.get().role == expected_role


def test_anonymous_launch_without_name_or_email_works(lti_flow):
    lti_flow.platform.users["u-anon"] = {"sub": "u-anon", "roles": [LEARNER]}
    assert lti_flow.launch(Client(), "u-anon").status_code == 200
    user = LtiUser.objects.get(sub="u-anon").auth_user
    assert (user.first_name, user.email) == ("", "")


def test_email_only_launch_works_and_email_is_not_the_key(lti_flow):
    # Two different people, one e-mail address: they must stay two accounts.
    lti_flow.platform.users["u-a"] = {"sub": "u-a", "roles": [LEARNER], "email": "shared@school.test"}
    lti_flow.platform.users["u-b"] = {"sub": "u-b", "roles": [LEARNER], "email": "shared@school.test"}
    assert lti_flow.launch(Client(), "u-a").status_code == 200
    assert lti_flow.launch(Client(), "u-b").status_code == 200
    assert User.objects.filter(email="shared@school.test").count() == 2


def test_same_user_launching_twice_is_one_account_and_a_demotion_sticks(lti_flow):
    lti_flow.launch(Client(), "u-teacher")
    lti_flow.platform.users["u-teacher"]["roles"] = [LEARNER]
    response = lti_flow.launch(Client(), "u-teacher")
    assert "Instructor view" not in response.content.decode()
    assert User.objects.filter(username__startswith="lti-").count() == 1
    assert Enrollment.objects.get().role == Enrollment.Role.LEARNER


def test_a_repeated_launch_writes_only_what_changed(lti_flow):
    # The course's rows are shared by the whole class: an unchanged launch must not lock them.
    lti_flow.launch(Client(), "u-student")
    with CaptureQueriesContext(connection) as again:
        assert lti_flow.launch(Client(), "u-student").status_code == 200
    updates = [query["sql"] for query in again.captured_queries if query["sql"].startswith("UPDATE")]
    assert not [sql for sql in updates if '"lti_tool_' in sql or '"courses_' in sql], updates
    assert not [sql for sql in updates if sql.startswith('UPDATE "auth_user" SET "password"')], updates
    # A changed claim is written: the LMS user's row and the account's name follow the LMS.
    lti_flow.platform.users["u-student"]["name"] = "Stu Renamed"
    lti_flow.launch(Client(), "u-student")
    assert LtiUser.objects.get(sub="u-student").name == "Stu Renamed"
    assert User.objects.get(username__startswith="lti-").first_name == "Stu Renamed"
    assert LtiMembership.objects.get(user__sub="u-student").is_learner


def test_a_first_launch_in_a_browser_writes_its_session_once(lti_flow):
    lti_flow.launch(Client(), "u-student")  # the accounts exist: what is left is the session
    browser = Client()
    with CaptureQueriesContext(connection) as first:
        assert lti_flow.launch(browser, "u-student").status_code == 200
    sessions = [query["sql"] for query in first.captured_queries if '"django_session"' in query["sql"]]
    assert len(sessions) == 1, sessions  # no check that the key is free, no UPDATE after login
    assert sessions[0].startswith('INSERT INTO "django_session"')
    assert browser.get("/lti/resource/").status_code == 200  # the stored session signs in


def test_launching_again_in_the_same_browser_keeps_its_session(lti_flow):
    browser = Client()
    lti_flow.launch(browser, "u-student")
    first = browser.session.session_key
    with CaptureQueriesContext(connection) as again:
        assert lti_flow.launch(browser, "u-student").status_code == 200
    assert browser.session.session_key == first
    sqls = [query["sql"] for query in again.captured_queries]
    assert not [sql for sql in sqls if sql.startswith('UPDATE "auth_user"')]  # no last_login write
    # Someone else launching in that browser gets a session of their own (a new key).
    response = lti_flow.launch(browser, "u-teacher")
    assert response.status_code == 200
    assert "Instructor view" in response.content.decode()
    assert browser.session.session_key != first
    assert str(browser.session["_auth_user_id"]) == str(LtiUser.objects.get(sub="u-teacher").auth_user_id)


def test_launch_without_course_context_works_and_enrolls_nobody(lti_flow):
    response = lti_flow.launch(Client(), "u-student", context=False)
    assert response.status_code == 200, response.content[:500]
    assert "No course" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_aud_as_a_list_with_azp_is_accepted(lti_flow):
    def several_audiences(claims):
        claims.update(aud=["client-1", "another-service"], azp="client-1")

    assert lti_flow.forged_launch(several_audiences).status_code == 200


def test_a_session_whose_launch_expired_asks_for_a_new_launch(lti_flow):
    client = Client()
    lti_flow.launch(client, "u-student")
    cache.delete(client.session["_lti_tool_launch_id"])  # launch data expire from the cache
    response = client.get("/lti/resource/")
    assert response.status_code == 403
    assert "opens from your course in the LMS" in response.content.decode()


def test_the_resource_page_needs_a_launch(client, db):
    assert client.get("/lti/resource/").status_code == 403


def test_requests_that_do_not_read_the_launch_do_not_restore_it(lti_flow):
    # LtiLaunchMiddleware restores the session's launch (its registration check is two queries)
    # only when a view reads request.lti_launch: the JSON API does not.
    client = Client()
    lti_flow.launch(client, "u-student")
    with CaptureQueriesContext(connection) as api:
        assert client.get("/api/v1/me/").status_code == 200
    assert not [query for query in api.captured_queries if "lti_tool_" in query["sql"]]
    with CaptureQueriesContext(connection) as page:
        assert client.get("/lti/resource/").status_code == 200
    assert [query for query in page.captured_queries if "lti_tool_ltiregistration" in query["sql"]]
    lti_flow.registration.is_active = False  # the restore still checks the registration
    lti_flow.registration.save()
    assert client.get("/lti/resource/").status_code == 403
