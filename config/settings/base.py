"""Settings for every environment, read from the environment (django-environ).

Development defaults are safe and local: SQLite in the project folder, DEBUG on, localhost only.
Production (config.settings.production) removes the defaults that must never reach a real host.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-key-change-me-switchboard")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "import_export",
    "axes",
    "django_htmx",  # htmx for the admin's live floor dashboard (static file and {% htmx_script %})
    "config.apps.SwitchboardConfig",  # project-wide system checks (config/checks.py)
    "agents",
    "routing",
    "voice",
    "scoring",
    "dbmove",  # manage.py move_database: the verified SQLite -> PostgreSQL move (no models)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulCharactersMiddleware",  # a NUL in a URL is a 400, never a DataError
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last: it answers lockouts raised by the authentication backend.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when the transaction opens, so concurrent writers queue on the
    # busy timeout instead of failing later with "database is locked" on lock upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    # The queue's covering indexes (Index(include=...)) are a PostgreSQL optimisation; SQLite builds
    # them from their key columns, which serve the same queries, so its warning about that is noise.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    # JIT compilation pays off for long analytical queries, not for this OLTP workload: the routing
    # candidate search crossed jit_above_cost on its estimates and spent ~20 ms compiling a query that
    # runs in ~3 ms. Off for the application's sessions (libpq options; appended to any from the URL).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# Server-side prepared statements for the routing searches (config.prepared); PostgreSQL only. Turn
# off behind a connection pooler that does not keep prepared statements per client (PgBouncer in
# transaction mode before 1.21).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASE_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # Django leaves psycopg's prepare_threshold at None, which refuses even an explicit prepare. A
    # threshold no statement reaches: only config.prepared's cursor prepares (prepare=True); the ORM's
    # client-side-binding cursors never do.
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2**31 - 1)

# --- Read replicas (config.db_router) --------------------------------------------------------------
# Optional PostgreSQL replicas of the primary: lag-tolerant reads (list endpoints, reports) go there,
# everything that writes, locks or decides permissions stays on the primary. None set: nothing changes.
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _replica = env.db_url_config(_url)
    _replica_options = _replica.setdefault("OPTIONS", {})
    _replica_options["options"] = f"{_replica_options.get('options', '')} -c jit=off".strip()
    _replica.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    _replica.setdefault("CONN_HEALTH_CHECKS", True)
    _replica["TEST"] = {"MIRROR": "default"}  # tests read the primary's test database through it
    DATABASES[f"replica_{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica_{_number}")
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["config.db_router.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "config.db_router.ReplicaReadsMiddleware"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

LOGIN_URL = "admin:login"

# --- Django REST framework: conventions live in config/api.py -------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.StrictModelPermissions"],
    # JSON only: a form-encoded or multipart body cannot carry the nested rows and objects the API
    # takes, so it is a 415 rather than half-parsed (the browsable API posts JSON from its raw form).
    "DEFAULT_PARSER_CLASSES": ["config.api.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "config.filters.StrictOrderingFilter",  # an unknown field is a 400, not ignored
        "config.filters.StrictSearchFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.TokenClientThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token_client": env("API_THROTTLE_RATE", default="1200/min")},
    "EXCEPTION_HANDLER": "config.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.openapi.ApiAutoSchema",
    "VIEW_NAME_FUNCTION": "config.api.api_view_name",  # page titles in words ("Route a case")
    "DEFAULT_METADATA_CLASS": "config.api.ApiMetadata",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)

SPECTACULAR_SETTINGS = {
    "TITLE": "Switchboard API",
    "DESCRIPTION": "Agents, routing, voice and scoring back office. Token auth: `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.closed_request_bodies",  # a body key the schema does not name is a 400
    ],
    # Swagger UI served from this host (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Admin brute-force protection (django-axes) ----------------------------------------------------
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Failed logins are counted in the database (AccessAttempt rows), which every server process shares, so
# the lock-out holds across processes and restarts and supervisors see the attempts in the admin.
# config.checks warns (deploy) if this is changed to a handler that counts per process.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# --- Routing ----------------------------------------------------------------------------------------
ROUTING = {
    "DEFAULT_STRATEGY": env("ROUTING_DEFAULT_STRATEGY", default="skill_based"),
    "WEIGHTS": {
        "skill": env.float("ROUTING_WEIGHT_SKILL", default=0.35),
        "performance": env.float("ROUTING_WEIGHT_PERFORMANCE", default=0.20),
        "frustration_fit": env.float("ROUTING_WEIGHT_FRUSTRATION_FIT", default=0.15),
        "fatigue": env.float("ROUTING_WEIGHT_FATIGUE", default=0.15),
        "load_balance": env.float("ROUTING_WEIGHT_LOAD_BALANCE", default=0.15),
    },
    "DIFFICULT_CASE_LOCKOUT": env.int("ROUTING_DIFFICULT_CASE_LOCKOUT", default=3),
    # Rest (on break, offline or off shift) that ends a difficult streak, lockout included.
    "FATIGUE_REST_MINUTES": env.float("ROUTING_FATIGUE_REST_MINUTES", default=15),
    "ACCEPT_TIMEOUT_SECONDS": env.int("ROUTING_ACCEPT_TIMEOUT_SECONDS", default=120),
    "WIDEN_STEP_SECONDS": env.int("ROUTING_WIDEN_STEP_SECONDS", default=300),
    # The pool: eligible agents a routing search scores, least loaded (then longest idle) first; 0 scores
    # every eligible agent (exact, slow at thousands). The trade-off: routing.selectors.candidates.
    "CANDIDATE_POOL": env.int("ROUTING_CANDIDATE_POOL", default=50),
}

# --- Lead routing (routing.engine.lead_score, routing.services.leads) -------------------------------------
LEADS = {
    # The lead score: a weighted mean of five components, each 0..1 (routing.engine.lead_score), x 100.
    "SCORE_WEIGHTS": {
        "segment": env.float("LEAD_WEIGHT_SEGMENT", default=0.15),
        "line": env.float("LEAD_WEIGHT_LINE", default=0.10),
        "source": env.float("LEAD_WEIGHT_SOURCE", default=0.20),
        "recency": env.float("LEAD_WEIGHT_RECENCY", default=0.25),
        "engagement": env.float("LEAD_WEIGHT_ENGAGEMENT", default=0.30),
    },
    # A score at or above HOT is hot, at or above WARM warm, else cold.
    "TIER_HOT": env.float("LEAD_TIER_HOT", default=70),
    "TIER_WARM": env.float("LEAD_TIER_WARM", default=40),
    # Minutes after which a lead's recency component has halved.
    "RECENCY_HALF_LIFE_MINUTES": env.float("LEAD_RECENCY_HALF_LIFE_MINUTES", default=60),
    # Speed-to-lead SLA (minutes) per queue type; a lead past it is escalated by the sweep.
    "SLA_MINUTES": {
        "hot": env.float("LEAD_SLA_HOT_MINUTES", default=5),
        "active": env.float("LEAD_SLA_ACTIVE_MINUTES", default=30),
        "nurture": env.float("LEAD_SLA_NURTURE_MINUTES", default=1440),
        "waiting": env.float("LEAD_SLA_WAITING_MINUTES", default=60),
        "reassignment": env.float("LEAD_SLA_REASSIGNMENT_MINUTES", default=15),
    },
    # Serving order of the hot queue: "score_age" (higher score first, then older) or "lifo" (newest
    # first); the other queues are always score then age.
    "HOT_QUEUE_ORDER": env("LEAD_HOT_QUEUE_ORDER", default="score_age"),
    # The strategy leads are routed with outside an experiment (any registered strategy).
    "DEFAULT_STRATEGY": env("LEAD_DEFAULT_STRATEGY", default="lead_fit"),
}

# The admin index's floor dashboard refreshes itself this often (routing.dashboard).
FLOOR_DASHBOARD_POLL_SECONDS = env.int("FLOOR_DASHBOARD_POLL_SECONDS", default=5)

# --- Automated agents (agents.automation) -------------------------------------------------------------
AUTOMATION = {
    # An agent whose last heartbeat is older than this is marked offline by the sweep.
    "HEARTBEAT_MAX_AGE_SECONDS": env.int("AUTOMATION_HEARTBEAT_MAX_AGE_SECONDS", default=300),
    # A failed message delivery is retried after BASE * 2^(retries - 1) seconds, at most MAX.
    "MESSAGE_RETRY_BASE_SECONDS": env.int("AUTOMATION_MESSAGE_RETRY_BASE_SECONDS", default=30),
    "MESSAGE_RETRY_MAX_SECONDS": env.int("AUTOMATION_MESSAGE_RETRY_MAX_SECONDS", default=3600),
}
# The automation API's choice sets share field names (status, priority) with other apps': name them.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "AutomatedAgentStatusEnum": "agents.models.AutomatedAgentStatus",
        "AutomatedAgentTypeEnum": "agents.models.AutomatedAgentType",
        "TaskStatusEnum": "agents.models.TaskStatus",
        "TaskPriorityEnum": "agents.models.TaskPriority",
        "WorkflowStatusEnum": "agents.models.WorkflowStatus",
        "ExecutionStatusEnum": "agents.models.ExecutionStatus",
        "MessageStatusEnum": "agents.models.MessageStatus",
        "MessagePriorityEnum": "agents.models.MessagePriority",
        "PriorityEnum": "routing.models.Priority",  # routing's keeps the name it had before these
    }
)
# Outbound scoring's choice sets (queue type and outcome are names other apps use too).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "CallQueueTypeEnum": "scoring.models.QueueType",
        "CallOutcomeEnum": "scoring.models.CallOutcome",
        "ConversionTypeEnum": "scoring.models.ConversionType",
    }
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Python's cyclic garbage collector (applied by config.runtime.gc_tune in every entry point) -------
# Thresholds of generations 0, 1 and 2; CPython's own are 700, 10, 10. See config.runtime for why.
GC_THRESHOLDS = env.list("GC_THRESHOLDS", cast=int, default=[50_000, 20, 20])

# --- Voice (voice app) --------------------------------------------------------------------------------
# Feature flags (voice.features): a disabled feature's API answers 404 and its admin pages are hidden;
# its data stays. All on unless set to false.
VOICE_FEATURES = {
    "locations": env.bool("ENABLE_LOCATIONS", default=True),
    "agent_configs": env.bool("ENABLE_AGENT_CONFIGS", default=True),
    "telemetry": env.bool("ENABLE_TELEMETRY", default=True),
    "knowledge_base": env.bool("ENABLE_KNOWLEDGE_BASE", default=True),
}
# Retention periods in days (voice.services.retention; `manage.py retention_cleanup`, run daily).
VOICE_RETENTION = {
    "CALL_DAYS": env.int("VOICE_RETENTION_CALL_DAYS", default=730),
    "FAILED_CALL_DAYS": env.int("VOICE_RETENTION_FAILED_CALL_DAYS", default=90),
    "TURN_DAYS": env.int("VOICE_RETENTION_TURN_DAYS", default=365),
    "CALL_EVENT_DAYS": env.int("VOICE_RETENTION_CALL_EVENT_DAYS", default=180),
    "APPOINTMENT_DAYS": env.int("VOICE_RETENTION_APPOINTMENT_DAYS", default=1825),
    # Transcripts, turn text and caller phone numbers are removed after this many days.
    "SANITIZE_AFTER_DAYS": env.int("VOICE_SANITIZE_AFTER_DAYS", default=90),
}
# OpenAPI enum names of the voice choice sets (several models have a `status`).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "AppointmentStatusEnum": "voice.models.AppointmentStatus",
        "CallStatusEnum": "voice.models.CallStatus",
        "FinalCallStatusEnum": "voice.models.telemetry.FINAL_CALL_STATUS_CHOICES",
        "DayOfWeekEnum": "agents.models.Weekday",  # voice opening hours reuse the agents' weekdays
    }
)
# OpenAPI enum names of the lead routing choice sets (status, language, tier, queue type are shared names).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "LeadStatusEnum": "routing.models.LeadStatus",
        "LeadTierEnum": "routing.models.LeadTier",
        "ExperimentStatusEnum": "routing.models.ExperimentStatus",
        "LeadSourceEnum": "routing.models.LeadSource",
        "QueueTypeEnum": "routing.models.QueueType",
        "LanguageCodeEnum": "agents.languages.LANGUAGE_CHOICES",  # the agents' language codes too
        "LeadOutcomeEnum": ["contacted", "converted", "lost"],
        # The names these sets had before leads shared their field names (outcome, source, language).
        "OutcomeEnum": "routing.models.DecisionOutcome",
        "SourceEnum": ["location", "organization", "none"],
        "LanguageEnum": "agents.languages.ISO_639_1",  # a case's language: the codes, plain
    }
)

# --- Outbound scoring (scoring app) ---------------------------------------------------------------------
SCORING = {
    # Points per factor of the call score (scoring.engine.score); attempts is a penalty.
    "WEIGHTS": {
        "queue_unsigned_users": env.float("SCORING_WEIGHT_QUEUE_UNSIGNED_USERS", default=40.0),
        "queue_outstanding_requests": env.float("SCORING_WEIGHT_QUEUE_OUTSTANDING_REQUESTS", default=30.0),
        "freshness": env.float("SCORING_WEIGHT_FRESHNESS", default=15.0),
        "since_last_call": env.float("SCORING_WEIGHT_SINCE_LAST_CALL", default=15.0),
        "attempts": env.float("SCORING_WEIGHT_ATTEMPTS", default=-20.0),
        "outstanding_documents": env.float("SCORING_WEIGHT_OUTSTANDING_DOCUMENTS", default=10.0),
        "signature": env.float("SCORING_WEIGHT_SIGNATURE", default=10.0),
        "callback_due": env.float("SCORING_WEIGHT_CALLBACK_DUE", default=30.0),
    },
    "CALLING_WINDOW_START": env("SCORING_CALLING_WINDOW_START", default="09:00"),
    "CALLING_WINDOW_END": env("SCORING_CALLING_WINDOW_END", default="21:00"),
    "MAX_ATTEMPTS": env.int("SCORING_MAX_ATTEMPTS", default=6),
    "MIN_RECALL_GAP_MINUTES": env.int("SCORING_MIN_RECALL_GAP_MINUTES", default=240),
    "CALLBACK_HANDOVER_MINUTES": env.int("SCORING_CALLBACK_HANDOVER_MINUTES", default=30),
    "RESET_INTERVAL_DAYS": env.int("SCORING_RESET_INTERVAL_DAYS", default=30),
    "BATCH_SIZE": env.int("SCORING_BATCH_SIZE", default=2000),
}
