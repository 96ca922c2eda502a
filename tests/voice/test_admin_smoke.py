import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_admin_smoke(manager_a, tenant_a, tenant_b, make_user):
    root = make_user("root", group=None, superuser=True)
    for user in (manager_a, root):
        c = Client()
        c.force_login(user)
        for model, obj in [
            ("location", tenant_a.location),
            ("service", tenant_a.service),
            ("provider", tenant_a.provider),
            ("appointment", tenant_a.appointment),
            ("agentconfig", tenant_a.config),
            ("call", tenant_a.call),
            ("knowledgeentry", tenant_a.knowledge),
        ]:
            for url in [
                reverse(f"admin:voice_{model}_changelist"),
                reverse(f"admin:voice_{model}_change", args=[obj.pk]),
                reverse(f"admin:voice_{model}_history", args=[obj.pk]),
            ]:
                r = c.get(url)
                assert r.status_code == 200, (user, url, r.status_code)
            if model not in ("call",):
                r = c.get(reverse(f"admin:voice_{model}_add"))
                assert r.status_code == 200, (user, model, r.status_code)
        r = c.get(reverse("admin:voice_call_analytics"))
        assert r.status_code == 200
        assert b"<svg" in r.content
        r = c.get(
            reverse("admin:voice_agentconfig_diff") + f"?old={tenant_a.config.pk}&new={tenant_a.config.pk}"
        )
        assert r.status_code == 200
