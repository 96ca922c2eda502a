"""Project-wide conventions the agents endpoints rely on: throttling, page size, the OpenAPI contract,
and brute-force protection of the admin login (django-axes), including behind a reverse proxy."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from collections.abc import Iterator

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import HumanAgent
from tests.factories import HumanAgentFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/agents/"


@pytest.fixture
def empty_cache() -> Iterator[None]:
    """Throttle histories live in the cache; start and end with none."""
    cache.clear()
    yield
    cache.clear()


def _rest_framework(**overrides) -> dict:
    return {**settings.REST_FRAMEWORK, **overrides}


# --- throttling -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("empty_cache")
def test_a_token_client_past_its_rate_gets_429_in_the_error_shape(supervisor_client):
    with override_settings(REST_FRAMEWORK=_rest_framework(DEFAULT_THROTTLE_RATES={"token_client": "2/min"})):
        statuses = [supervisor_client.get(LIST_URL).status_code for _ in range(2)]
        throttled = supervisor_client.get(LIST_URL)

    assert statuses == [200, 200]
    assert throttled.status_code == 429
    body = throttled.json()
    assert set(body) == {"detail", "code", "fields"}
    assert body["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0


@pytest.mark.usefixtures("empty_cache")
def test_supervisors_in_the_browsable_api_are_not_throttled(supervisor_user: User):
    client = APIClient()
    client.force_login(supervisor_user)  # session authentication

    with override_settings(REST_FRAMEWORK=_rest_framework(DEFAULT_THROTTLE_RATES={"token_client": "1/min"})):
        statuses = {client.get(LIST_URL).status_code for _ in range(3)}

    assert statuses == {200}


# --- pagination -------------------------------------------------------------------------------------------


@override_settings(API_MAX_PAGE_SIZE=3)
def test_a_page_size_above_the_maximum_is_capped(supervisor_client):
    HumanAgentFactory.create_batch(5)

    body = supervisor_client.get(LIST_URL, {"page_size": 1000}).json()

    assert len(body["results"]) == 3
    assert body["count"] >= 5
    assert body["next"] is not None


def test_a_page_size_within_the_maximum_is_honoured(supervisor_client):
    HumanAgentFactory.create_batch(4)

    body = supervisor_client.get(LIST_URL, {"page_size": 2}).json()

    assert len(body["results"]) == 2


# --- request bodies: bad input is never a 500 nor an HTML page ----------------------------------------------


@pytest.mark.parametrize("body", ["[" * 5_000 + "]" * 5_000, '{"name":' * 3_000])
def test_json_nested_too_deeply_is_400_in_the_error_shape(supervisor_client, body):
    agents_before = HumanAgent.objects.count()

    response = supervisor_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - nested too deeply.",
        "code": "parse_error",
        "fields": {},
    }
    assert HumanAgent.objects.count() == agents_before


def test_an_oversized_body_is_413_in_the_error_shape(supervisor_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    agent = HumanAgentFactory()

    response = supervisor_client.patch(f"{LIST_URL}{agent.code}/", {"name": "n" * 2_000}, format="json")

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the server accepts.",
        "code": "request_too_large",
        "fields": {},
    }
    agent.refresh_from_db()
    assert agent.name != "n" * 2_000


# --- OpenAPI ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_agents_operation_documents_429_with_retry_after(schema):
    agent_paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/agents")}
    assert len(agent_paths) == 3
    for path, operations in agent_paths.items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            throttled = operation["responses"].get("429")
            assert throttled, f"{method.upper()} {path} does not document 429"
            assert "Retry-After" in throttled.get("headers", {}), f"{method.upper()} {path}"
            assert throttled["content"]["application/json"]["schema"]["$ref"].endswith("/ApiError")


def test_every_agents_operation_with_a_body_documents_413(schema):
    agent_paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/agents")}
    for path, operations in agent_paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert ("413" in responses) == ("requestBody" in operation), f"{method.upper()} {path}"
            assert {"401", "403"} <= set(responses), f"{method.upper()} {path}"


def test_every_operation_documents_414_without_a_json_body(schema):
    """The HTTP server answers a request line it cannot read (schemathesis found one on a voice
    operation), before Django: the schema documents that answer on every operation, with no body."""
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method != "parameters"
    ]
    assert len(operations) > 100
    for path, method, operation in operations:
        too_long = operation["responses"].get("414")
        assert too_long and "content" not in too_long, f"{method.upper()} {path}"


def test_put_availability_requires_status_and_patch_requires_nothing(schema):
    availability = schema["paths"]["/api/v1/agents/{code}/availability/"]
    components = schema["components"]["schemas"]

    def request_schema(method: str) -> dict:
        ref = availability[method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    assert request_schema("put")["required"] == ["status"]
    assert "required" not in request_schema("patch")


# --- admin login brute-force protection (django-axes) -------------------------------------------------


@pytest.fixture
def staff_login(db) -> tuple[str, str]:
    User.objects.create_user("guarded", "guarded@example.com", "correct-horse-battery", is_staff=True)
    return "guarded", "correct-horse-battery"


def _login(client: Client, username: str, password: str):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )


def test_five_failed_admin_logins_lock_the_account_until_the_cool_off_passes(staff_login):
    username, password = staff_login
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert settings.AXES_FAILURE_LIMIT == 5

    # four failures: still the login form
    for _ in range(4):
        assert _login(client, username, "wrong-password").status_code == 200
    # the fifth failure locks, and then even the right password is refused
    assert _login(client, username, "wrong-password").status_code == 429
    locked = _login(client, username, password)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session

    # when the cool-off has passed, the right password works again
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - dt.timedelta(seconds=1)
    )
    response = _login(client, username, password)
    assert response.status_code == 302
    assert response.url == "/admin/"


def test_the_lockout_is_per_user_and_address(staff_login):
    username, password = staff_login
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(5):
        _login(attacker, username, "wrong-password")

    colleague = Client(REMOTE_ADDR="198.51.100.20")  # same user, another address

    assert _login(colleague, username, password).status_code == 302


# --- behind a reverse proxy: the client address axes counts ---------------------------------------------


def _production_settings(monkeypatch: pytest.MonkeyPatch, **env: str):
    monkeypatch.setenv("SECRET_KEY", "test-only-" + "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "switchboard.example.com")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    package = importlib.import_module("config.settings")
    for name in ("config.settings.base", "config.settings.production"):
        if name in sys.modules:  # monkeypatch puts the originals back afterwards
            monkeypatch.setattr(package, name.rsplit(".", 1)[1], sys.modules[name])
            monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("config.settings.production")


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "client_ip"),
    [
        ("0", "198.51.100.9", "10.0.0.2"),  # no proxy: X-Forwarded-For is the client's own claim
        ("1", "198.51.100.9", "198.51.100.9"),
        ("1", "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # a spoofed left-most entry is ignored
        ("2", "6.6.6.6, 198.51.100.9, 192.0.2.1", "198.51.100.9"),
        ("2", "198.51.100.9", "10.0.0.2"),  # did not pass both proxies: trust nothing
    ],
)
def test_production_takes_the_client_address_from_the_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch, proxies: str, forwarded_for: str, client_ip: str
):
    production = _production_settings(monkeypatch, TRUSTED_PROXY_COUNT=proxies)
    request = RequestFactory().get(
        "/admin/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for
    )

    with override_settings(TRUSTED_PROXY_COUNT=production.TRUSTED_PROXY_COUNT):
        from axes.helpers import get_client_ip_address

        with override_settings(AXES_CLIENT_IP_CALLABLE=production.AXES_CLIENT_IP_CALLABLE):
            assert get_client_ip_address(request) == client_ip


def test_production_defaults_to_no_proxy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TRUSTED_PROXY_COUNT", raising=False)
    assert _production_settings(monkeypatch).TRUSTED_PROXY_COUNT == 0
