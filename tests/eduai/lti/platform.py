"""A real LTI 1.3 platform on 127.0.0.1 for the tests, built on lti1p3platform (no framework).

It signs id_tokens with its own RSA key, validates the tool's deep-linking responses and
client-credentials assertions against the tool's JWKS, and serves AGS (line items, scores,
results) and NRPS (memberships) behind bearer tokens, like Moodle or Canvas would. It runs in a
daemon thread with its state in plain dicts behind one lock, and never touches the Django ORM
(another thread would not see the test's transaction).
"""

from __future__ import annotations

import functools
import html
import json
import threading
import uuid
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwcrypto.jwk import JWK
from lti1p3platform.exceptions import LineItemNotFoundException, LtiException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from lti1p3platform.response import Response
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR = ROLE + "Instructor"
LEARNER = ROLE + "Learner"
CONTEXT_ID = "ctx-1"
CONTEXT_TITLE = "Biology 101"


def default_users() -> dict[str, dict[str, Any]]:
    return {
        "u-teacher": {
            "sub": "u-teacher",
            "roles": [INSTRUCTOR],
            "name": "Tea Cher",
            "email": "t@school.test",
        },
        "u-student": {"sub": "u-student", "roles": [LEARNER], "name": "Stu Dent", "email": "s@school.test"},
    }


class WsgiRequest(Request):
    def build_metadata(self, environ: dict[str, Any]) -> dict[str, Any]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        content_type = environ.get("CONTENT_TYPE", "")
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        return {
            "method": environ["REQUEST_METHOD"],
            "form_data": dict(parse_qsl(body.decode())) if "form-urlencoded" in content_type else {},
            "json": json.loads(body) if body and "json" in content_type else None,
            "get_data": dict(parse_qsl(environ.get("QUERY_STRING", ""))),
            "headers": headers,
            "content_type": content_type,
            "path": environ.get("PATH_INFO", "/"),
        }


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, registration: Registration) -> None:
        self._registration = registration

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class OIDCLogin(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = json.dumps(kwargs)

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    platform: LoopbackPlatform

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        platform = self.platform
        hint = json.loads(preflight_response["lti_message_hint"])
        user = platform.users[preflight_response["login_hint"]]
        self.set_user_data(user["sub"], user["roles"], user.get("name"), user.get("email"))
        if hint.get("context", True):
            self.set_launch_context_claim(CONTEXT_ID, context_title=CONTEXT_TITLE, context_label="BIO101")
        self.set_launch_presentation_claim(document_target="iframe", return_url=platform.url + "/return")
        self.set_ags(
            lineitems_url=f"{platform.url}/ctx/{CONTEXT_ID}/lineitems", allow_creating_lineitems=True
        )
        self.set_nrps(f"{platform.url}/ctx/{CONTEXT_ID}/memberships")
        if hint.get("custom"):
            self.set_custom_parameters_claim(hint["custom"])
        if hint.get("message") == "deep_link":
            self.set_dl(
                platform.url + "/deep_link_return",
                title="Add content",
                extra_data={"opaque": "xyz"},
                accept_types={"ltiResourceLink"},
            )
        else:
            self.set_resource_link_claim(hint.get("resource_link_id", "rl-1"), title="Activity")

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        def escape(value: object) -> str:
            return html.escape(str(value), quote=True)

        return (
            f'<form method="POST" action="{escape(launch_data["launch_url"])}">'
            f'<input type="hidden" name="id_token" value="{escape(launch_data["id_token"])}"/>'
            f'<input type="hidden" name="state" value="{escape(launch_data["state"])}"/></form>'
        )


class Ags(AssignmentsGradesService):
    store: dict[str, Any]

    def find_lineitems(
        self, page=1, limit=None, line_item_id=None, resource_link_id=None, resource_id=None, tag=None, **_
    ):
        items = list(self.store["lineitems"].values())
        for key, value in (("resourceLinkId", resource_link_id), ("resourceId", resource_id), ("tag", tag)):
            if value is not None:
                items = [item for item in items if item.get(key) == value]
        return {"content": items, "has_next": False}

    def find_lineitem(self, line_item_id):
        try:
            return self.store["lineitems"][line_item_id]
        except KeyError:
            raise LineItemNotFoundException(line_item_id) from None

    def create_lineitem(self, creation_data):
        line_item_id = uuid.uuid4().hex[:8]
        item = dict(creation_data, id=f"{self.ags.lineitems_url}/{line_item_id}")
        self.store["lineitems"][line_item_id] = item
        return item

    def update_lineitem(self, update_data):
        line_item_id = update_data["id"]
        self.find_lineitem(line_item_id)
        self.store["lineitems"][line_item_id].update({k: v for k, v in update_data.items() if k != "id"})
        return self.store["lineitems"][line_item_id]

    def delete_lineitem(self, line_item_id):
        self.find_lineitem(line_item_id)
        del self.store["lineitems"][line_item_id]

    def update_score(self, line_item_id, score):
        self.find_lineitem(line_item_id)
        self.store["scores"].setdefault(line_item_id, {})[score["userId"]] = score
        self.store["score_posts"].append(dict(score, lineItem=line_item_id))
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None, **_):
        item = self.find_lineitem(line_item_id)
        results = [
            {
                "id": f"{item['id']}/results/{user}",
                "userId": user,
                "resultScore": score.get("scoreGiven"),
                "resultMaximum": score.get("scoreMaximum"),
                "comment": score.get("comment"),
                "scoreOf": item["id"],
            }
            for user, score in self.store["scores"].get(line_item_id, {}).items()
            if user_id is None or user == user_id
        ]
        return {"content": results, "has_next": False}


class Nrps(NamesRoleProvisioningService):
    platform: LoopbackPlatform

    def get_context_by_id(self) -> Context:
        return Context(id=CONTEXT_ID, label="BIO101", title=CONTEXT_TITLE)

    def get_member_data_page(self, page=1, limit=None, role=None, since=None, **_):
        members = [
            {
                "user_id": user["sub"],
                "roles": user["roles"],
                "name": user.get("name"),
                "email": user.get("email"),
                "status": user.get("status", "Active"),
            }
            for user in self.platform.users.values()
        ]
        return {"content": members, "has_next": False}

    def is_resource_link_valid(self, context_id, resource_link_id):
        return True


@functools.lru_cache(maxsize=8)
def _loaded_private_key(private_pem: str) -> RSAPrivateKey:
    """The parsed key: parsing a PEM checks the RSA key, about 28 ms, 100 times the signature."""
    key = load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


@functools.lru_cache(maxsize=8)
def _kid_of(private_pem: str) -> str | None:
    kid: str | None = Registration.get_jwk(private_pem).get("kid")
    return kid


class _KeyCachingRegistration(Registration):
    """lti1p3platform's registration, parsing each platform key once instead of twice per token."""

    def get_kid(self) -> str | None:
        key = self.get_platform_private_key()
        return _kid_of(key) if key else None

    def encode_and_sign(  # a static method in the parent
        self,
        payload: dict[str, Any],
        private_key: str,
        headers: Any = None,
        expiration: int | None = None,
    ) -> str:
        key = _loaded_private_key(private_key)  # PyJWT takes the parsed key as well as a PEM
        signed: str = Registration.encode_and_sign(payload, key, headers, expiration)
        return signed

    def platform_encode_and_sign(self, payload: dict[str, Any], expiration: int | None = None) -> str:
        private_key = self.get_platform_private_key()
        assert private_key is not None, "Platform private key is not set"
        kid = self.get_kid()
        return self.encode_and_sign(payload, private_key, {"kid": kid} if kid else None, expiration)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: many browsers at once (bench/load_test.py)
    # would have their connections refused.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _new_key() -> tuple[str, str]:
    key = JWK.generate(kty="RSA", size=2048)
    return key.export_to_pem(private_key=True, password=None).decode(), key.export_to_pem().decode()


class LoopbackPlatform:
    client_id = "client-1"
    deployment_id = "dep-1"

    def __init__(self) -> None:
        self.private_pem, self.public_pem = _new_key()
        self.lock = threading.Lock()  # lti1p3platform objects keep per-request state
        self.server = make_server(
            "127.0.0.1", 0, self.app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.iss = self.url
        self.configure(tool_jwks={"keys": []})

    def configure(self, *, tool_jwks: dict[str, Any], tool_base: str = "http://testserver") -> None:
        """Per test: the tool's keys and URLs; forgets users, line items, scores and tokens."""
        with self.lock:
            self.tool = {
                "login": f"{tool_base}/lti/login/",
                "launch": f"{tool_base}/lti/launch/",
                "jwks": tool_jwks,
            }
            self.users = default_users()
            self.down = False
            self.store: dict[str, Any] = {
                "lineitems": {},
                "scores": {},
                "score_posts": [],
                "deep_link_responses": [],
                "tokens": [],
                "jwks_fetches": 0,
                "registrations": [],
            }
            self.registration_token = "reg-token-1"

    def rotate_key(self) -> None:
        """The platform signs with a new key from now on (a new kid in its JWKS)."""
        with self.lock:
            self.private_pem, self.public_pem = _new_key()

    def registration(self) -> Registration:
        return (
            _KeyCachingRegistration()
            .set_iss(self.iss)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_launch_url(self.tool["launch"])
            .set_deeplink_launch_url(self.tool["launch"])
            .set_oidc_login_url(self.tool["login"])
            .set_platform_public_key(self.public_pem)
            .set_platform_private_key(self.private_pem)
            .set_tool_key_set(self.tool["jwks"])
        )

    def conf(self) -> PlatformConf:
        return PlatformConf(registration=self.registration())

    @property
    def kid(self) -> str:
        return str(self.registration().get_kid())

    def login_initiation_url(self, user: str, *, message: str = "resource", **hint: Any) -> str:
        """Step 1: where the LMS page sends the browser to start a launch."""
        with self.lock:
            login = OIDCLogin(None, self.conf())
            login.set_lti_message_hint(message=message, **hint)
            if message == "deep_link":
                login.set_deeplinking_launch_url()
            return str(login.initiate_login(user))

    # --- WSGI ------------------------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = WsgiRequest(environ)
        with self.lock:
            try:
                status, content_type, body = self._route(request, request.path.rstrip("/"), request.method)
            except (jwt.InvalidTokenError, LtiException) as error:  # a bad bearer token
                status, content_type, body = self._json({"error": str(error)}, 401)
        start_response(status, [("Content-Type", content_type)])
        return [body.encode()]

    @staticmethod
    def _json(data: Any, code: int = 200, content_type: str = "application/json") -> tuple[str, str, str]:
        return f"{code} {HTTPStatus(code).phrase}", content_type, json.dumps(data) if data is not None else ""

    def _route(self, request: WsgiRequest, path: str, method: str) -> tuple[str, str, str]:
        conf = self.conf()
        if path == "/jwks":
            self.store["jwks_fetches"] += 1
            return self._json(conf.get_jwks())
        if path == "/auth":
            return self._authorize(request, conf)
        if path == "/.well-known/openid-configuration":
            return self._openid_configuration(request)
        if path == "/register" and method == "POST":
            return self._register(request)
        if self.down:
            return self._json({"error": "maintenance"}, 503)
        if path == "/token" and method == "POST":
            return self._token(request, conf)
        if path == "/deep_link_return" and method == "POST":
            return self._deep_link_return(request, conf)
        parts = path.strip("/").split("/")
        if parts[:1] == ["ctx"] and len(parts) >= 3:
            return self._service(request, conf, parts, method)
        return self._json({"error": "not found"}, 404)

    def _authorize(self, request: WsgiRequest, conf: PlatformConf) -> tuple[str, str, str]:
        params = request.get_data or request.form_data
        if params.get("redirect_uri") != self.tool["launch"]:
            return self._json({"error": "invalid redirect_uri"}, 400)
        if params.get("login_hint") not in self.users:
            return self._json({"error": "unknown login_hint"}, 400)
        if params.get("response_type") != "id_token" or params.get("scope") != "openid":
            return self._json({"error": "invalid request"}, 400)
        launch = Launch(request, conf)
        launch.platform = self
        return "200 OK", "text/html", launch.lti_launch()

    def _openid_configuration(self, request: WsgiRequest) -> tuple[str, str, str]:
        if request.headers.get("Authorization") != f"Bearer {self.registration_token}":
            return self._json({"error": "invalid registration token"}, 401)
        return self._json(
            {
                "issuer": self.iss,
                "authorization_endpoint": self.url + "/auth",
                "token_endpoint": self.url + "/token",
                "jwks_uri": self.url + "/jwks",
                "registration_endpoint": self.url + "/register",
                "scopes_supported": ["openid"],
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "loopback",
                    "version": "1.0",
                },
            }
        )

    def _register(self, request: WsgiRequest) -> tuple[str, str, str]:
        if request.headers.get("Authorization") != f"Bearer {self.registration_token}":
            return self._json({"error": "invalid registration token"}, 401)
        self.store["registrations"].append(request.json)
        return self._json(
            {
                **request.json,
                "client_id": "client-dr",
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                    **request.json["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                    "deployment_id": "dep-dr",
                },
            }
        )

    def _token(self, request: WsgiRequest, conf: PlatformConf) -> tuple[str, str, str]:
        try:
            claims = conf.tool_validate_and_decode(request.form_data["client_assertion"])
            if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
                raise ValueError("iss and sub must be the client id")
            if claims.get("aud") not in (self.url + "/token", [self.url + "/token"]):
                raise ValueError("aud must be the token URL")
            token = conf.get_access_token(request.form_data)
        except Exception as error:  # noqa: BLE001 - every refusal is the OAuth error answer
            return self._json({"error": "invalid_client", "error_description": str(error)}, 400)
        self.store["tokens"].append(token)
        return self._json(token)

    def _deep_link_return(self, request: WsgiRequest, conf: PlatformConf) -> tuple[str, str, str]:
        try:
            items = conf.validate_deeplinking_resp(request.form_data)
        except Exception as error:  # noqa: BLE001 - any refusal is a 400 to the tool
            return self._json({"error": str(error)}, 400)
        claims = jwt.decode(request.form_data["JWT"], options={"verify_signature": False})
        self.store["deep_link_responses"].append({"items": items, "claims": claims})
        return self._json({"ok": True, "count": len(items)})

    def _service(
        self, request: WsgiRequest, conf: PlatformConf, parts: list[str], method: str
    ) -> tuple[str, str, str]:
        base = f"{self.url}/ctx/{parts[1]}"
        if parts[2] == "memberships":
            nrps = Nrps(request, conf, base + "/memberships")
            nrps.platform = self
            return self._wrap(nrps.handle_resp(nrps.handle_get_members))
        line_item = parts[3] if len(parts) > 3 else None
        ags = Ags(request, conf, base + "/lineitems", f"{base}/lineitems/{line_item}" if line_item else None)
        ags.store = self.store
        if line_item is None:
            handler = ags.handle_get_lineitems if method == "GET" else ags.handle_create_lineitem
            return self._wrap(ags.handle_resp(handler))
        if parts[4:] == ["scores"]:
            return self._wrap(ags.handle_resp(ags.handle_update_score, line_item_id=line_item))
        if parts[4:] == ["results"]:
            return self._wrap(ags.handle_resp(ags.handle_get_results, line_item_id=line_item))
        handlers = {"GET": ags.handle_get_lineitem, "PUT": ags.handle_update_lineitem}
        return self._wrap(ags.handle_resp(handlers[method], line_item_id=line_item))

    def _wrap(self, response: Response) -> tuple[str, str, str]:
        result = response.result
        data = result["content"] if isinstance(result, dict) and "content" in result else result
        if not 200 <= response.code < 300:
            data = {"error": response.message}
        return self._json(data, response.code, response.media_type)

    def start(self) -> LoopbackPlatform:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
