"""Request and response shapes of the voice API.

Serializers validate and render; they never save: views hand `validated_data` to voice.services.
References to other rows (a location, a service, providers) accept only rows in the caller's scope,
so another organization's id is answered exactly like an id that does not exist. Unknown keys are
refused (voice.api.fields.StrictSerializerMixin).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import Weekday, validate_timezone
from voice.api.fields import (
    NormalizedCharField,
    PoliciesField,
    ScopedPrimaryKeyRelatedField,
    ScriptOverridesField,
    StrictQuerySerializerMixin,
    StrictSerializerMixin,
    TagsField,
)
from voice.models import (
    MAX_PRIORITY,
    AgentConfig,
    Appointment,
    AppointmentStatus,
    KnowledgeCategory,
    KnowledgeEntry,
    Location,
    LocationException,
    LocationHours,
    Organization,
    Provider,
    Service,
)
from voice.models.common import (
    code_normalize,
    phone_normalize,
    region_normalize,
    tags_normalize,
    text_normalize,
    validate_country,
    validate_phone,
)
from voice.models.common import (
    validate_tags as tags_check,
)
from voice.schemas import validate_policies, validate_script_overrides


def _locations(caller: Any) -> Any:
    return caller.scope(Location.objects.all())


def _services(caller: Any) -> Any:
    return caller.scope(Service.objects.all())


def _providers(caller: Any) -> Any:
    return caller.scope(Provider.objects.all())


def _phone_field(**kwargs: Any) -> NormalizedCharField:
    return NormalizedCharField(
        normalize=phone_normalize,
        max_length=20,
        validators=[validate_phone],
        help_text="International format (E.164), e.g. +14155550100; spaces and dashes are removed.",
        **kwargs,
    )


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    pass


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class QuerySerializer(StrictQuerySerializerMixin, serializers.Serializer):
    pass


# --- organizations -----------------------------------------------------------------------------------


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="Your membership role (null for a superuser's view).")

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "is_active", "role"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_role(self, organization: Organization) -> str | None:
        return self.context["caller"].roles.get(organization.pk)


# --- locations ------------------------------------------------------------------------------------------


class LocationHoursSerializer(StrictModelSerializer):
    whole_row = True
    weekday = serializers.ChoiceField(choices=Weekday.choices)

    class Meta:
        model = LocationHours
        fields = ["weekday", "opens_at", "closes_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["opens_at"] >= attrs["closes_at"]:
            raise serializers.ValidationError(
                {"closes_at": ["Must be after opens_at (split an interval past midnight into two days)."]}
            )
        return attrs


class LocationExceptionSerializer(StrictModelSerializer):
    whole_row = True

    class Meta:
        model = LocationException
        fields = ["date", "closed", "opens_at", "closes_at", "reason"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        opens, closes = attrs.get("opens_at"), attrs.get("closes_at")
        if attrs.get("closed"):
            if opens is not None or closes is not None:
                raise serializers.ValidationError({"closed": ["A closed day has no opening times."]})
        elif opens is None or closes is None:
            raise serializers.ValidationError(
                {"opens_at": ["Special hours need opens_at and closes_at (or closed: true)."]}
            )
        elif opens >= closes:
            raise serializers.ValidationError({"closes_at": ["Must be after opens_at."]})
        return attrs


class LocationSerializer(StrictModelSerializer):
    """A location with its hours and exceptions. `hours`, `exceptions`, `service_ids` and
    `provider_ids`, when given, replace the stored set; when omitted they are left alone."""

    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    name = NormalizedCharField(normalize=text_normalize, max_length=120)
    street = NormalizedCharField(normalize=text_normalize, max_length=200)
    city = NormalizedCharField(normalize=text_normalize, max_length=100)
    region = NormalizedCharField(normalize=region_normalize, max_length=100, required=False, allow_blank=True)
    postal_code = NormalizedCharField(
        normalize=code_normalize, max_length=20, required=False, allow_blank=True
    )
    country = NormalizedCharField(
        normalize=code_normalize,
        max_length=2,
        validators=[validate_country],
        help_text="ISO 3166-1 alpha-2 code, e.g. US (case-insensitive on input).",
    )
    time_zone = NormalizedCharField(
        normalize=text_normalize,
        max_length=64,
        validators=[validate_timezone],
        help_text="IANA time zone, e.g. America/New_York.",
    )
    phone = _phone_field(required=False, allow_blank=True)
    hours = LocationHoursSerializer(many=True, required=False, help_text="Opening intervals per weekday.")
    exceptions = LocationExceptionSerializer(many=True, required=False, help_text="Dated exceptions.")
    service_ids = ScopedPrimaryKeyRelatedField(
        model=Service, scoped=_services, many=True, required=False, source="services"
    )
    provider_ids = ScopedPrimaryKeyRelatedField(
        model=Provider, scoped=_providers, many=True, required=False, source="providers"
    )

    class Meta:
        model = Location
        fields = [
            "id",
            "organization",
            "name",
            "street",
            "city",
            "region",
            "postal_code",
            "country",
            "time_zone",
            "phone",
            "is_active",
            "hours",
            "exceptions",
            "service_ids",
            "provider_ids",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []  # (organization, name) uniqueness: the service's full_clean answers it


class ServiceSerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    name = NormalizedCharField(normalize=text_normalize, max_length=120)

    class Meta:
        model = Service
        fields = [
            "id",
            "organization",
            "name",
            "description",
            "duration_minutes",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []


class ProviderSerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    name = NormalizedCharField(normalize=text_normalize, max_length=120)
    phone = _phone_field(required=False, allow_blank=True)
    service_ids = ScopedPrimaryKeyRelatedField(
        model=Service, scoped=_services, many=True, required=False, source="services"
    )
    location_ids = ScopedPrimaryKeyRelatedField(
        model=Location, scoped=_locations, many=True, required=False, source="locations"
    )

    class Meta:
        model = Provider
        fields = [
            "id",
            "organization",
            "name",
            "title",
            "email",
            "phone",
            "is_active",
            "service_ids",
            "location_ids",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        validators: list[Any] = []


class SlotSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="ISO 8601, in the location's time zone.")
    end = serializers.CharField(help_text="ISO 8601, in the location's time zone.")
    provider_ids = serializers.ListField(child=serializers.IntegerField(), help_text="Providers free then.")


class SlotsSerializer(serializers.Serializer):
    location = serializers.IntegerField()
    service = serializers.IntegerField()
    time_zone = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    slots = SlotSerializer(many=True)


class SlotsQuerySerializer(QuerySerializer):
    service = ScopedPrimaryKeyRelatedField(model=Service, scoped=_services)
    date_from = serializers.DateField(help_text="First local date (YYYY-MM-DD).")
    date_to = serializers.DateField(help_text="Last local date, at most 31 days after date_from.")
    provider = ScopedPrimaryKeyRelatedField(model=Provider, scoped=_providers, required=False)
    step_minutes = serializers.IntegerField(min_value=5, max_value=240, default=15)


# --- appointments -----------------------------------------------------------------------------------------


class AppointmentSerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = ScopedPrimaryKeyRelatedField(model=Location, scoped=_locations)
    service = ScopedPrimaryKeyRelatedField(model=Service, scoped=_services)
    provider = ScopedPrimaryKeyRelatedField(model=Provider, scoped=_providers)
    location_name = serializers.CharField(source="location.name", read_only=True)
    service_name = serializers.CharField(source="service.name", read_only=True)
    provider_name = serializers.CharField(source="provider.name", read_only=True)
    customer_name = NormalizedCharField(normalize=text_normalize, max_length=120)
    customer_phone = _phone_field()
    end_at = serializers.DateTimeField(
        required=False, help_text="Defaults to start_at plus the service's duration."
    )
    status = serializers.ChoiceField(
        choices=AppointmentStatus.choices,
        required=False,
        help_text="New appointments are scheduled or confirmed; see the transitions in the description.",
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "organization",
            "location",
            "location_name",
            "service",
            "service_name",
            "provider",
            "provider_name",
            "customer_name",
            "customer_phone",
            "start_at",
            "end_at",
            "status",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AppointmentChangeSerializer(StrictModelSerializer):
    """What PATCH may change: time, provider, status, the customer's details and notes."""

    provider = ScopedPrimaryKeyRelatedField(model=Provider, scoped=_providers, required=False)
    customer_name = NormalizedCharField(normalize=text_normalize, max_length=120, required=False)
    customer_phone = _phone_field(required=False)

    class Meta:
        model = Appointment
        fields = ["start_at", "end_at", "provider", "status", "customer_name", "customer_phone", "notes"]
        extra_kwargs = {name: {"required": False} for name in ["start_at", "end_at", "status", "notes"]}


# --- agent configurations -------------------------------------------------------------------------------


class AgentConfigSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location_name = serializers.SerializerMethodField(help_text="The override's location; null org-wide.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    policies = PoliciesField()
    script_overrides = ScriptOverridesField()

    class Meta:
        model = AgentConfig
        fields = [
            "id",
            "organization",
            "version",
            "location",
            "location_name",
            "policies",
            "script_overrides",
            "notes",
            "is_active",
            "created_by",
            "created_at",
            "activated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_location_name(self, config: AgentConfig) -> str | None:
        if config.location_id is None:
            return None
        # The hot path annotates the name (voice.selectors.configs); lists join the location.
        return getattr(config, "location_name", None) or config.location.name


class AgentConfigPublishSerializer(StrictSerializer):
    location = ScopedPrimaryKeyRelatedField(
        model=Location,
        scoped=_locations,
        required=False,
        allow_null=True,
        help_text="Publish an override for this location; omit for the organization-wide configuration.",
    )
    policies = PoliciesField(default=dict, validators=[validate_policies])
    script_overrides = ScriptOverridesField(default=dict, validators=[validate_script_overrides])
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    activate = serializers.BooleanField(
        default=True, help_text="Make it the active configuration of its scope now (default)."
    )


class ActiveConfigSerializer(serializers.Serializer):
    source = serializers.ChoiceField(
        choices=["location", "organization", "none"],
        help_text="location: the location's override; organization: the organization-wide one; none.",
    )
    config = AgentConfigSerializer(allow_null=True)


class ConfigChangeSerializer(serializers.Serializer):
    path = serializers.CharField(
        help_text="Dotted path, e.g. policies.escalation_policy.max_failed_attempts."
    )
    kind = serializers.ChoiceField(choices=["added", "removed", "changed"])
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)
    text = serializers.CharField(source="describe", help_text="The change in words.")


class ConfigVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    location = serializers.IntegerField(source="location_id", allow_null=True)
    is_active = serializers.BooleanField()


class ConfigDiffSerializer(serializers.Serializer):
    old = ConfigVersionSerializer()
    new = ConfigVersionSerializer()
    changes = ConfigChangeSerializer(many=True)


# --- knowledge base -----------------------------------------------------------------------------------------


class KnowledgeEntrySerializer(StrictModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = ScopedPrimaryKeyRelatedField(
        model=Location,
        scoped=_locations,
        required=False,
        allow_null=True,
        help_text="Empty: the fact applies to every location of the organization.",
    )
    tags = TagsField(required=False, help_text='e.g. ["hours", "parking"]; normalised to lower-case words.')
    priority = serializers.IntegerField(min_value=0, max_value=MAX_PRIORITY, required=False)
    category = serializers.ChoiceField(choices=KnowledgeCategory.choices)

    class Meta:
        model = KnowledgeEntry
        fields = [
            "id",
            "organization",
            "location",
            "category",
            "title",
            "content",
            "tags",
            "priority",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_tags(self, value: Any) -> Any:
        tags = tags_normalize(value)
        tags_check(tags)
        return tags


class KnowledgeFactSerializer(serializers.ModelSerializer):
    """A fact as the voice pipeline receives it."""

    tags = TagsField()

    class Meta:
        model = KnowledgeEntry
        fields = ["id", "location", "category", "title", "content", "tags", "priority", "updated_at"]
        read_only_fields = fields
