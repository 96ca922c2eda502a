"""The knowledge base: structured, prioritised facts the voice agent quotes.

A fact belongs to an organization and optionally to one location (facts of the organization apply
everywhere). The voice pipeline asks for facts of a category, overlapping some tags, optionally
matching a text query, active only, highest priority first, top N (voice.selectors.knowledge).

Search columns: `search_vector` is a stored generated column the database computes from title and
content (weighted title A, content B, text search configuration `english`) on PostgreSQL, where a GIN
index serves it; `tags` is a JSON array with a GIN index (jsonb_ops, which answers `?|`, "any of").
Both GIN indexes are PostgreSQL-only (migration 0002); SQLite's fallback scans the organization's
facts, which the (organization, category, ...) index narrows to a few hundred rows.

Edits are audited with django-simple-history (who changed what, when) and can be reverted from the
admin's history page.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from agents.models import IsJSONArray
from config.history import HistoricalRecords
from voice.models.common import KnowledgeSearchDocument, SearchDocumentField, tags_normalize, validate_tags
from voice.models.locations import Location
from voice.models.tenancy import Organization

MAX_PRIORITY = 100


class KnowledgeCategory(models.TextChoices):
    BUSINESS_INFO = "business_info", "Business info"
    HOURS = "hours", "Hours"
    POLICIES = "policies", "Policies"
    SERVICES = "services", "Services"
    FAQ = "faq", "FAQ"


class KnowledgeEntry(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="knowledge")
    location = models.ForeignKey(
        Location,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="knowledge",
        help_text="Empty: applies to every location of the organization.",
    )
    category = models.CharField(max_length=20, choices=KnowledgeCategory.choices)
    title = models.CharField(max_length=200)
    content = models.TextField()
    tags = models.JSONField(
        default=list, blank=True, validators=[validate_tags], help_text='e.g. ["hours", "parking"].'
    )
    priority = models.PositiveSmallIntegerField(
        default=50,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_PRIORITY)],
        help_text=f"0-{MAX_PRIORITY}; higher facts are offered first.",
    )
    is_active = models.BooleanField("active", default=True)
    search_vector = models.GeneratedField(
        expression=KnowledgeSearchDocument("title", "content"),
        output_field=SearchDocumentField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["search_vector"])

    class Meta:
        ordering = ["organization_id", "category", "-priority", "pk"]
        verbose_name = "knowledge base entry"
        verbose_name_plural = "knowledge base entries"
        constraints = [
            models.CheckConstraint(condition=IsJSONArray("tags"), name="voice_knowledge_tags_array"),
            models.CheckConstraint(
                condition=Q(priority__gte=0, priority__lte=MAX_PRIORITY),
                name="voice_knowledge_priority_range",
            ),
            models.CheckConstraint(
                condition=Q(category__in=KnowledgeCategory.values), name="voice_knowledge_category_valid"
            ),
        ]
        indexes = [
            # The lookup: organization first, then category and activity, in priority order.
            models.Index(
                "organization",
                "category",
                models.F("priority").desc(),
                name="voice_knowledge_lookup_idx",
                condition=Q(is_active=True),
            ),
            models.Index(fields=["organization", "location"], name="voice_knowledge_org_loc_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.tags = tags_normalize(self.tags)
        super().save(*args, **kwargs)
        # The generated column is computed by the database; a saved instance does not know it.
        self.__dict__.pop("search_vector", None)

    def clean_fields(self, exclude: Any = None) -> None:
        self.tags = tags_normalize(self.tags)
        super().clean_fields(exclude=exclude)
