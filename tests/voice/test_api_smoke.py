import pytest

pytestmark = pytest.mark.django_db


def test_smoke(client_a, tenant_a, tenant_b):
    for url in [
        "/api/v1/voice/organizations/",
        "/api/v1/voice/locations/",
        f"/api/v1/voice/locations/{tenant_a.location.pk}/",
        f"/api/v1/voice/locations/{tenant_a.location.pk}/slots/?service={tenant_a.service.pk}&date_from=2030-01-07&date_to=2030-01-08",
        "/api/v1/voice/services/",
        "/api/v1/voice/providers/",
        "/api/v1/voice/appointments/",
        "/api/v1/voice/configs/",
        "/api/v1/voice/configs/active/",
        f"/api/v1/voice/configs/active/?location={tenant_a.location.pk}",
        "/api/v1/voice/configs/diff/?old=1&new=1",
        "/api/v1/voice/calls/",
        f"/api/v1/voice/calls/{tenant_a.call.pk}/",
        "/api/v1/voice/calls/analytics/",
        "/api/v1/voice/knowledge/",
        "/api/v1/voice/knowledge/lookup/?tags=parking&q=parking",
    ]:
        r = client_a.get(url)
        print(url, r.status_code, r.content[:300])
        assert r.status_code == 200, (url, r.content)
