"""pylti1p3 and django-lti, tightened to what eduai promises about LTI 1.3 launches.

What the libraries leave open, and what is closed here:
- state and nonce live only in the shared Django cache, never in a cookie, so a launch works in
  an LMS iframe whose third-party cookies are blocked; the state must have been issued by our
  own login step and the id_token's nonce must be the one issued with that state; the login
  parameters are kept with the state, so the page can offer to start again in a new window;
- a nonce is used once: pylti1p3 never consumes it, so a replayed id_token would pass;
- exp and iat are required (with a small clock leeway), iat may not be too old, aud may be a
  list only with azp naming our client id, and only RS256 is accepted;
- an unknown or inactive deployment is rejected before any user or course row is written
  (django-lti would create the deployment and sync the user first);
- the platform's JWKS is cached and fetched again, at most once a minute, when a kid is unknown,
  so a platform's key rotation needs no admin action;
- every outgoing HTTP call has a timeout.
"""

import copy
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.core.cache import cache
from lti_tool.models import LtiDeployment, LtiRegistration
from lti_tool.utils import DjangoToolConfig
from pylti1p3.contrib.django.cookie import DjangoCookieService
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.contrib.django.message_launch import DjangoMessageLaunch
from pylti1p3.contrib.django.oidc_login import DjangoOIDCLogin
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException

from .keys import signing_key_ensure

logger = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 10
# Platform and tool clocks drift by a few seconds; PyJWT's default leeway is zero.
ID_TOKEN_LEEWAY_SECONDS = 60
# An id_token is meant to be posted within seconds of being issued.
ID_TOKEN_MAX_AGE_SECONDS = 3600
# How long an issued state/nonce stays usable, and how long a used nonce is remembered. The
# used-nonce memory must outlive the state, or a replay after the state expired would pass.
STATE_LIFETIME_SECONDS = 600
USED_NONCE_LIFETIME_SECONDS = 2 * ID_TOKEN_MAX_AGE_SECONDS
PLATFORM_KEYS_CACHE_SECONDS = 3600
# A kid we do not know makes us fetch the platform's JWKS again, but not more often than this,
# so forged tokens with random kids cannot make us hammer the platform.
PLATFORM_KEYS_REFETCH_SECONDS = 60
ALLOWED_ALGORITHM = "RS256"
LTI_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
# What a login initiation may carry, and so what a new window needs to start the launch again.
LOGIN_PARAMETERS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
    "lti1p3_new_window",
)
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
# Top-level claims that must be strings when present.
STRING_CLAIMS = (
    "sub", "name", "given_name", "family_name", "middle_name", "email", "locale", "picture",
    *(LTI_CLAIM + name for name in ("message_type", "version", "target_link_uri", "deployment_id")),
)  # fmt: skip
# Object claims: (required string fields, optional string fields, list-of-strings fields).
OBJECT_CLAIMS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    LTI_CLAIM + "context": (("id",), ("label", "title"), ("type",)),
    LTI_CLAIM + "resource_link": (("id",), ("title", "description"), ()),
    LTI_CLAIM + "launch_presentation": ((), ("locale", "document_target", "return_url"), ()),
    LTI_CLAIM + "tool_platform": ((), ("guid", "name", "version", "product_family_code", "url"), ()),
    LTI_CLAIM + "lis": (
        (),
        ("person_sourcedid", "course_offering_sourcedid", "course_section_sourcedid"),
        (),
    ),
    LTI_CLAIM + "custom": ((), (), ()),
    AGS_ENDPOINT: ((), ("lineitems", "lineitem"), ("scope",)),
    NRPS_SERVICE: (("context_memberships_url",), (), ("service_versions",)),
    DEEP_LINKING_SETTINGS: (
        ("deep_link_return_url",),
        ("title", "text"),  # "data" is echoed back as it came, whatever its type
        ("accept_types", "accept_presentation_document_targets"),
    ),
}
MAX_DEPLOYMENT_ID_LENGTH = 255  # LtiDeployment.deployment_id; the LTI spec says the same


class DeploymentRejectedError(LtiException):
    """The launch is genuine but its deployment is unknown here or switched off (403, not 400)."""


class TimeoutSession(requests.Session):
    """pylti1p3 calls requests without a timeout; a hung LMS must not hang a worker or request."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return super().request(method, url, *args, **kwargs)


class LaunchStateStorage(DjangoCacheDataStorage):
    """State, nonces and launch data in the Django cache, keyed by unguessable ids only.

    pylti1p3 namespaces these keys by a cookie over HTTPS; inside an iframe without third-party
    cookies that cookie never arrives, so the launch would fail. The state and nonce values are
    random and single use, which is what the cookie was protecting.
    """

    def __init__(self) -> None:
        super().__init__(cache_name="default")

    def get_session_cookie_name(self) -> None:
        return None

    def delete_value(self, key: str) -> None:
        self._get_cache().delete(self._prepare_key(key))


class ToolConfig(DjangoToolConfig):
    """django-lti's registry lookups, without auto-creating deployments that then launch."""

    def find_registration_by_params(self, iss: str, client_id: str | None, *args: Any, **kwargs: Any) -> Any:
        """django-lti's lookup, with the tool's newest key read once instead of twice per request."""
        key = signing_key_ensure()  # django-lti fails when there is no key yet
        lookups: dict[str, Any] = {"issuer": iss, "client_id": client_id}
        if self.registration_uuid is not None:
            lookups["uuid"] = self.registration_uuid
        try:
            self.registration = LtiRegistration.objects.active().get(**lookups)
        except LtiRegistration.DoesNotExist:
            return None
        if self.registration.has_key:  # a key pair of its own
            return self.registration.to_registration()
        # What to_registration() does with the newest key, without querying it again.
        with_key = copy.copy(self.registration)
        with_key.public_key, with_key.private_key = key.public_key, key.private_key
        return with_key.to_registration()

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment:
        return self._active_deployment(deployment_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment:
        return self._active_deployment(deployment_id)

    def _active_deployment(self, deployment_id: str) -> Deployment:
        if not isinstance(deployment_id, str) or len(deployment_id) > MAX_DEPLOYMENT_ID_LENGTH:
            raise LtiException("The deployment_id claim must be a string of at most 255 characters")
        registration: LtiRegistration = self.registration
        deployment, created = LtiDeployment.objects.get_or_create(
            registration=registration, deployment_id=deployment_id
        )
        if not deployment.is_active:
            # Kept (inactive) so an admin sees the new deployment and can switch it on.
            state = "unknown, recorded as inactive" if created else "inactive"
            raise DeploymentRejectedError(
                f"Deployment {deployment_id!r} of {registration.name} is {state}; "
                "an administrator must activate it in the admin."
            )
        self.deployment = deployment
        return Deployment().set_deployment_id(deployment_id)


class _NoStateCookie(DjangoCookieService):
    """pylti1p3 also puts every state in a cookie of its own (five minutes), for a state check
    that eduai replaces with the cache (``MessageLaunch.validate_state``). Never read, those
    cookies only piled up: a browser that launched often sent dozens with every request, until
    gunicorn refused the headers as too large (431, found by bench/load_test.py)."""

    def set_cookie(self, name: str, value: Any, exp: int | None = 3600) -> None:
        return None


class OIDCLogin(DjangoOIDCLogin):
    """Login initiation that remembers, server-side, which nonce belongs to which state."""

    def __init__(self, request: Any, tool_config: ToolConfig) -> None:
        storage = LaunchStateStorage()
        cookies = _NoStateCookie(request if isinstance(request, DjangoRequest) else DjangoRequest(request))
        super().__init__(request, tool_config, cookie_service=cookies, launch_data_storage=storage)
        # pylti1p3 attaches the storage only when redirecting; the lifetime needs it now.
        self.set_launch_data_storage(storage)
        self.set_launch_data_lifetime(STATE_LIFETIME_SECONDS)

    def remember_login(self, path: str, params: Mapping[str, str]) -> None:
        """Keep the login parameters with the state, for the page's "open in a new window" link."""
        login = {name: params[name] for name in LOGIN_PARAMETERS if params.get(name)}
        self.pass_params_to_launch({"login_path": path, "login": login})

    def _generate_nonce(self) -> str:
        nonce: str = super()._generate_nonce()
        # pylti1p3 saves these state params right after generating the nonce.
        self._state_params = {**self._state_params, "nonce": nonce}  # type: ignore[has-type]
        return nonce


def _platform_keys_cache_key(key_set_url: str) -> str:
    return f"eduai-lti-platform-jwks:{key_set_url}"


def platform_keys_forget(key_set_url: str) -> None:
    """Drop a platform's cached JWKS, so the next launch fetches it again."""
    cache.delete_many([_platform_keys_cache_key(key_set_url), _refetch_marker(key_set_url)])


def _refetch_marker(key_set_url: str) -> str:
    return f"eduai-lti-jwks-refetched:{key_set_url}"


class MessageLaunch(DjangoMessageLaunch):
    """A launch validated as the module docstring says; ``validate()`` runs the steps in order."""

    def __init__(self, request: Any, tool_config: ToolConfig | None = None) -> None:
        super().__init__(
            request,
            tool_config or ToolConfig(),
            launch_data_storage=LaunchStateStorage(),
            requests_session=TimeoutSession(),
        )
        self._login_state: dict[str, Any] = {}

    @classmethod
    def restore(
        cls, request: Any, launch_id: str, *, launch_data: dict[str, Any] | None = None
    ) -> "MessageLaunch":
        """A launch validated earlier, from the cache (follow-up requests, deep-link submit);
        ``launch_data``: its claims, when ``launch_data_get`` has read them already."""
        launch = cls(request)
        launch_data = launch_data or launch.get_session_service().get_launch_data(launch_id)
        if not launch_data:
            raise LtiException("Launch data not found")
        launch.set_launch_id(launch_id).set_auto_validation(enable=False)
        launch.set_jwt({"body": launch_data}).set_restored().validate_registration()
        return launch

    @staticmethod
    def launch_data_get(launch_id: str) -> dict[str, Any] | None:
        """The claims a launch validated earlier keeps in the cache, as ``restore`` reads them (the
        same key: no session prefix), without the registration check: for what only needs a
        claim and grants nothing, such as the page language."""
        data = LaunchStateStorage().get_value(launch_id)
        return data if isinstance(data, dict) else None

    def forget(self) -> None:
        """Drop the launch from the cache, so a page built on it cannot be submitted again."""
        self._session_service.data_storage.delete_value(self._launch_id)

    def get_client_id(self) -> str:
        body = self._get_jwt_body()
        audience = body.get("aud")
        if isinstance(audience, list):
            # With several audiences the authorised party says which one we are.
            return str(body.get("azp") or (audience[0] if audience else ""))
        return str(audience or "")

    def validate_state(self) -> "MessageLaunch":
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        # Our login step names every state "state-<uuid>"; other cache keys are not states.
        if not state.startswith("state-"):
            raise LtiException("State not found: not a state this tool issued")
        params = self._session_service.get_state_params(state)
        if not isinstance(params, dict) or not params.get("nonce"):
            raise LtiException("State not found: it expired, was already used or was never issued here")
        self._login_state = params
        return self

    def new_window_url(self) -> str | None:
        """The login initiation again, marked as opened in a new window; None if it already was."""
        login = self._login_state.get("login") or {}
        if not login or "lti1p3_new_window" in login:
            return None
        path = self._login_state.get("login_path", "")
        return f"{path}?{urlencode({**login, 'lti1p3_new_window': '1'})}"

    def validate_jwt_format(self) -> "MessageLaunch":
        super().validate_jwt_format()
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise LtiException("Invalid JWT format: header and body must be JSON objects")
        return self

    def validate_nonce(self) -> "MessageLaunch":
        nonce = self._get_jwt_body().get("nonce")
        if not nonce:
            raise LtiException('"nonce" is empty')
        issued = self._session_service.get_state_params(self._get_request_param("state"))
        if nonce != issued.get("nonce"):
            raise LtiException("Invalid nonce: not the one issued with this state")
        return self

    def get_public_key(self) -> tuple[str, str]:
        header = self._jwt.get("header", {})
        if header.get("alg") != ALLOWED_ALGORITHM:
            raise LtiException(f"Unsupported JWT alg {header.get('alg')!r}; only {ALLOWED_ALGORITHM}")
        if not header.get("kid"):
            raise LtiException("JWT KID not found")
        try:
            key: tuple[str, str] = super().get_public_key()
            return key
        except LtiException as error:
            if "Unable to find public key" not in str(error) or not self._may_refetch_platform_keys():
                raise
        logger.info("LTI: unknown kid %s; fetching the platform JWKS again", header.get("kid"))
        cache.delete(_platform_keys_cache_key(self._registration.get_key_set_url()))
        self._registration.set_key_set(None)
        key = super().get_public_key()
        return key

    def _may_refetch_platform_keys(self) -> bool:
        url = self._registration.get_key_set_url()
        added: bool = cache.add(_refetch_marker(url), True, PLATFORM_KEYS_REFETCH_SECONDS)
        return added

    def fetch_public_key(self, key_set_url: str) -> dict[str, Any]:
        cache_key = _platform_keys_cache_key(key_set_url)
        keys = cache.get(cache_key)
        if keys is None:
            keys = self._download_platform_keys(key_set_url)
            cache.set(cache_key, keys, PLATFORM_KEYS_CACHE_SECONDS)
        return dict(keys)

    def _download_platform_keys(self, key_set_url: str) -> dict[str, Any]:
        try:
            response = self._requests_session.get(key_set_url)
            response.raise_for_status()
            keys = response.json()
        except (requests.RequestException, ValueError) as error:
            raise LtiException(f"Could not fetch the platform keys from {key_set_url}: {error}") from error
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            raise LtiException(f"The platform keys at {key_set_url} are not a JWKS")
        return keys

    def validate_jwt_signature(self) -> "MessageLaunch":
        public_key, _algorithm = self.get_public_key()
        try:
            claims = jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=[ALLOWED_ALGORITHM],
                audience=self._registration.get_client_id(),
                issuer=self._registration.get_issuer(),
                leeway=ID_TOKEN_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as error:
            raise LtiException(f"Can't decode id_token: {error}") from error
        self._validate_token_times_and_parties(claims)
        return self

    def _validate_token_times_and_parties(self, claims: dict[str, Any]) -> None:
        if claims["iat"] < time.time() - ID_TOKEN_MAX_AGE_SECONDS:
            raise LtiException("The id_token was issued too long ago (iat)")
        audience, authorised_party = claims["aud"], claims.get("azp")
        client_id = self._registration.get_client_id()
        if isinstance(audience, list) and len(audience) > 1 and authorised_party is None:
            raise LtiException("The id_token has several audiences but no azp")
        if authorised_party is not None and authorised_party != client_id:
            raise LtiException("The id_token's azp is not our client id")

    def validate_message(self) -> "MessageLaunch":
        body = self._get_jwt_body()
        # Checked first: pylti1p3, django-lti and our services assume these shapes and would
        # crash (or write a broken row) otherwise. Found by tests/fuzz/test_lti_launch.py.
        claims_shape_check(body)
        super().validate_message()
        if body.get(LTI_CLAIM + "message_type") == "LtiDeepLinkingRequest":
            return_url = body[DEEP_LINKING_SETTINGS].get("deep_link_return_url")
            # We post the response there from our page: only a web address will do.
            if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
                raise LtiException("Missing or invalid deep_link_return_url")
        return self

    def save_launch_data(self) -> "MessageLaunch":
        nonce = self._get_jwt_body()["nonce"]
        # cache.add is atomic (SET NX on Redis): of two posts of one id_token, only one wins.
        if not cache.add(f"eduai-lti-used-nonce:{nonce}", True, USED_NONCE_LIFETIME_SECONDS):
            raise LtiException("This launch was already used (replayed id_token)")
        # The state is spent too; pylti1p3 keys state params as "lti1p3-<state>".
        self._session_service.data_storage.delete_value(f"lti1p3-{self._get_request_param('state')}")
        super().save_launch_data()
        return self


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def claims_shape_check(body: dict[str, Any]) -> None:
    """Refuse claims of the wrong JSON type with a message naming them.

    A `null` optional claim or field is treated as absent (and dropped), as platforms send both.
    """
    short = {name: name.rsplit("/", 1)[-1].replace("_", " ") for name in (*STRING_CLAIMS, *OBJECT_CLAIMS)}
    for name in STRING_CLAIMS:
        if body.get(name, "") is None:
            del body[name]
        elif not isinstance(body.get(name, ""), str):
            raise LtiException(f"The {short[name]} claim must be a string")
    roles = body.get(LTI_CLAIM + "roles")
    if not _strings(roles):
        raise LtiException("The roles claim must be a list of strings")
    for name, (required, optional, lists) in OBJECT_CLAIMS.items():
        if name not in body:
            continue
        value = body[name]
        if value is None:
            del body[name]
            continue
        if not isinstance(value, dict):
            raise LtiException(f"The {short[name]} claim must be a JSON object")
        for field in required:
            if not isinstance(value.get(field), str) or not value[field]:
                raise LtiException(f"The {short[name]} claim needs {field} as a non-empty string")
        for field in (*optional, *lists):
            if field in value and value[field] is None:
                del value[field]
        for field in optional:
            if not isinstance(value.get(field, ""), str):
                raise LtiException(f"The {field} of the {short[name]} claim must be a string")
        for field in lists:
            if field in value and not _strings(value[field]):
                raise LtiException(f"The {field} of the {short[name]} claim must be a list of strings")
