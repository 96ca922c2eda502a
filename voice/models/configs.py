"""Versioned voice agent configurations.

A configuration belongs to an organization and optionally to one of its locations (a location
override). Versions count up per organization across all its scopes (v1 org-wide, v2 for Downtown,
v3 org-wide, ...), so a version number names one configuration of the organization. A published
version is never edited: changing what the agent says is publishing a new version, and rolling back
is activating an older one again (voice.services.configs). `is_active` is the only column that
changes after publishing.

Exactly one active configuration per organization (org-wide) and at most one per location override:
two partial unique indexes, which both databases enforce. The hot path (voice.selectors.configs) reads
the location's active override and falls back to the organization's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from voice.models.common import IsJSONObject
from voice.models.locations import Location
from voice.models.tenancy import Organization
from voice.schemas import validate_policies, validate_script_overrides


class AgentConfig(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="agent_configs")
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agent_configs",
        help_text="Empty: the organization-wide configuration. Set: an override for that location.",
    )
    version = models.PositiveIntegerField(editable=False)
    policies = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_policies],
        help_text="Business rules, escalation policy and behaviour settings (schema: voice.schemas.POLICIES_SCHEMA).",
    )
    script_overrides = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_script_overrides],
        help_text="What the agent says instead of its defaults: greeting, closing, after_hours, ...",
    )
    notes = models.TextField(blank=True, help_text="What changed in this version and why.")
    is_active = models.BooleanField("active", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["organization_id", "-version"]
        verbose_name = "agent configuration"
        constraints = [
            models.UniqueConstraint(fields=["organization", "version"], name="voice_config_version_unique"),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_active=True, location__isnull=True),
                name="voice_config_one_active_per_org",
                violation_error_message="The organization already has an active configuration.",
            ),
            models.UniqueConstraint(
                fields=["organization", "location"],
                condition=Q(is_active=True, location__isnull=False),
                name="voice_config_one_active_per_location",
                violation_error_message="The location already has an active configuration override.",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="voice_config_version_positive"),
            models.CheckConstraint(condition=IsJSONObject("policies"), name="voice_config_policies_object"),
            models.CheckConstraint(
                condition=IsJSONObject("script_overrides"), name="voice_config_scripts_object"
            ),
        ]
        indexes = [
            # The hot path: the active configuration(s) of an organization, by location.
            models.Index(
                fields=["organization", "location"],
                condition=Q(is_active=True),
                name="voice_config_active_idx",
            ),
        ]

    def __str__(self) -> str:
        scope = f" ({self.location})" if self.location_id else ""
        return f"v{self.version}{scope}"

    @property
    def scope_label(self) -> str:
        return f"location override: {self.location}" if self.location_id else "organization-wide"
