"""Typed readers for environment variables.

Every setting that comes from the environment is read through one of these, so a missing or
malformed value stops start-up with a message that names the variable.
"""

import os
import re
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _fail(name: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name} {problem}")


def env_str(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value:
        return value
    if default is None:
        raise _fail(name, "is required but not set.")
    return default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _fail(name, f"must be true or false, not {value!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _fail(name, f"must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise _fail(name, f"must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    value = env_str(name, default)
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise _fail(name, f"must be a URL with one of the schemes {allowed}, not {value!r}.")
    return value


def env_origins(name: str) -> list[str]:
    """Comma-separated origins such as ``https://lms.example.edu``."""
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise _fail(name, f"must list origins like https://lms.example.edu, not {origin!r}.")
    return origins


def env_database(name: str, default: str) -> dict[str, Any]:
    """A Django DATABASES entry from a URL such as ``postgres://user:pass@host:5432/name``."""
    url = env_str(name, default)
    scheme = urlsplit(url).scheme
    if scheme not in _DATABASE_SCHEMES:
        raise _fail(name, f"must be a sqlite:// or postgres:// URL, not {url!r}.")
    try:
        config: dict[str, Any] = environ.Env.db_url_config(url)
    except ValueError as error:
        raise _fail(name, f"is malformed ({error}): {url!r}.") from None
    if not config.get("NAME"):
        raise _fail(name, f"names no database: {url!r}.")
    if scheme != "sqlite" and not config.get("HOST"):
        raise _fail(name, f"names no host: {url!r}.")
    return config


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``HTTP_X_FORWARDED_PROTO,https``: the header a TLS proxy sets, and its secure value."""
    value = _raw(name)
    if not value:
        return None
    header, _, secure_value = value.partition(",")
    if not header.startswith("HTTP_") or not secure_value:
        raise _fail(name, f"must look like HTTP_X_FORWARDED_PROTO,https, not {value!r}.")
    return header.strip(), secure_value.strip()


def env_choice(name: str, default: str, *, choices: set[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise _fail(name, f"must be one of {', '.join(sorted(choices))}, not {value!r}.")
    return value


def env_pattern(name: str, default: str) -> str:
    """A regular expression, checked now so a typo stops start-up instead of a request."""
    value = env_str(name, default)
    try:
        re.compile(value)
    except re.error as error:
        raise _fail(name, f"is not a valid regular expression ({error}): {value!r}.") from None
    return value
